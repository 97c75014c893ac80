"""`dstack ps`: list runs and their statuses."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    app.command("ps", help="List runs and their statuses.")(ps_command)


def ps_command() -> None:
    from fleetstack.engine.errors import FleetstackError

    raise FleetstackError("`dstack ps` is not available yet in this version of fleetstack.")
