"""`dstack validate`: validate .dstack.yml files and print what they normalize to."""

from __future__ import annotations

import json
import sys

import typer

from ..engine.config.validation import validate_file
from .commands import help_of

app = typer.Typer(add_completion=False)


@app.command("validate", help=help_of("validate"))
def validate_command(
    files: list[str] | None = typer.Option(
        None, "-f", "--file", help="Configuration file (repeatable; default .dstack.yml)"
    ),
    more: list[str] | None = typer.Argument(
        None, help="More configuration files (so `-f examples/*.dstack.yml` works)"
    ),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per line per file"),
    profile: str | None = typer.Option(None, "--profile", help="Profile from profiles.yml"),
) -> None:
    ok = True
    for file in [*(files or []), *(more or [])] or [".dstack.yml"]:
        report = validate_file(file, profile=profile)
        ok = ok and report.ok
        line = json.dumps(report.as_json()) if as_json else report.text()
        sys.stdout.write(line + "\n")
    if not ok:
        raise typer.Exit(1)
