"""`dstack validate`: validate .dstack.yml files and print what they normalize to."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    app.command("validate", help="Validate .dstack.yml files and print what they normalize to.")(validate_command)


def validate_command() -> None:
    from fleetstack.engine.errors import FleetstackError

    raise FleetstackError("`dstack validate` is not available yet in this version of fleetstack.")
