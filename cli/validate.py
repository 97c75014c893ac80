"""`dstack validate`: validate .dstack.yml files and print what they normalize to."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    app.command("validate", help="Validate .dstack.yml files and print what they normalize to.")(
        validate_command
    )


def validate_command(
    files: list[str] | None = typer.Option(
        None, "-f", "--file", help="Configuration file (repeatable; default .dstack.yml)"
    ),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per line per file"),
    profile: str | None = typer.Option(None, "--profile", help="Profile from profiles.yml"),
) -> None:
    import json
    import sys

    from ..engine.config.validation import validate_file

    ok = True
    for file in files or [".dstack.yml"]:
        report = validate_file(file, profile=profile)
        ok = ok and report.ok
        line = json.dumps(report.as_json()) if as_json else report.text()
        sys.stdout.write(line + "\n")
    if not ok:
        raise typer.Exit(1)
