"""`dstack schema`: print the JSON Schema of .dstack.yml for editors."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    app.command("schema", help="Print the JSON Schema of .dstack.yml for editors.")(schema_command)


def schema_command(
    compact: bool = typer.Option(False, "--compact", help="One line instead of indented"),
) -> None:
    import json
    import sys

    from ..engine.config.schema import configuration_schema

    schema = configuration_schema()
    sys.stdout.write(
        json.dumps(schema, separators=(",", ":")) if compact else json.dumps(schema, indent=2)
    )
    sys.stdout.write("\n")
