"""`dstack stop`: stop a run."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    app.command("stop", help="Stop a run.")(stop_command)


def stop_command() -> None:
    from fleetstack.engine.errors import FleetstackError

    raise FleetstackError("`dstack stop` is not available yet in this version of fleetstack.")
