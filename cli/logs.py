"""`dstack logs`: show the logs of a run."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    app.command("logs", help="Show the logs of a run.")(logs_command)


def logs_command() -> None:
    from fleetstack.engine.errors import FleetstackError

    raise FleetstackError("`dstack logs` is not available yet in this version of fleetstack.")
