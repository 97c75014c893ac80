"""`dstack offer`: list the offers that match the requirements, cheapest first."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    app.command("offer", help="List the offers that match the requirements, cheapest first.")(offer_command)


def offer_command() -> None:
    from fleetstack.engine.errors import FleetstackError

    raise FleetstackError("`dstack offer` is not available yet in this version of fleetstack.")
