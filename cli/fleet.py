"""`dstack fleet`: list fleets and their instances."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    app.command("fleet", help="List fleets and their instances.")(fleet_command)


def fleet_command() -> None:
    from fleetstack.engine.errors import FleetstackError

    raise FleetstackError("`dstack fleet` is not available yet in this version of fleetstack.")
