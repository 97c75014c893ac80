"""`dstack schema`: print the JSON Schema of .dstack.yml for editors."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    app.command("schema", help="Print the JSON Schema of .dstack.yml for editors.")(schema_command)


def schema_command() -> None:
    from fleetstack.engine.errors import FleetstackError

    raise FleetstackError("`dstack schema` is not available yet in this version of fleetstack.")
