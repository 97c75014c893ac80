"""`dstack delete`: delete a run, or a fleet and its stack."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    app.command("delete", help="Delete a run, or a fleet and its stack.")(delete_command)


def delete_command() -> None:
    from fleetstack.engine.errors import FleetstackError

    raise FleetstackError("`dstack delete` is not available yet in this version of fleetstack.")
