"""`dstack schema`: print the JSON Schema of .dstack.yml for editors."""

from __future__ import annotations

import json
import sys

import typer

from ..engine.config.schema import configuration_schema
from ..engine.models.plan_schema import PLAN_SCHEMA
from .commands import help_of

app = typer.Typer(add_completion=False)


@app.command("schema", help=help_of("schema"))
def schema_command(
    compact: bool = typer.Option(False, "--compact", help="One line instead of indented"),
    plan: bool = typer.Option(
        False, "--plan", help="The schema of `dstack plan --json` instead (docs/plan.schema.json)"
    ),
) -> None:
    schema = PLAN_SCHEMA if plan else configuration_schema()
    sys.stdout.write(
        json.dumps(schema, separators=(",", ":")) if compact else json.dumps(schema, indent=2)
    )
    sys.stdout.write("\n")
