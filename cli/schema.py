"""`dstack schema`: print the JSON Schema of .dstack.yml for editors."""

from __future__ import annotations

import json
import sys

import typer

from ..engine.config.schema import configuration_schema
from .commands import help_of

app = typer.Typer(add_completion=False)


@app.command("schema", help=help_of("schema"))
def schema_command(
    compact: bool = typer.Option(False, "--compact", help="One line instead of indented"),
) -> None:
    schema = configuration_schema()
    sys.stdout.write(
        json.dumps(schema, separators=(",", ":")) if compact else json.dumps(schema, indent=2)
    )
    sys.stdout.write("\n")
