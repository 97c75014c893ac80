"""`dstack run . -f FILE [ARGS]`: dstack's older form of apply, kept for the seeds' scripts.

Everything after the file's options (flags included) is the run's arguments, as in the older
dstack; `dstack apply` is the form with every flag.
"""

from __future__ import annotations

from pathlib import Path

import typer

from ..engine.errors import FleetstackError
from .apply_plan import plan_and_confirm
from .commands import help_of
from .options import Backends, Regions

app = typer.Typer(add_completion=False)


@app.command(
    "run",
    help=help_of("run"),
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
)
def run_command(
    ctx: typer.Context,
    working_dir: str = typer.Argument(..., help="The project folder: . (the current one)"),
    file: str = typer.Option(".dstack.yml", "-f", "--file", help="The configuration file"),
    yes: bool = typer.Option(False, "-y", "--yes", help="Do not ask for confirmation"),
    dry_run: bool = typer.Option(False, "--dry-run", help="Show the plan and exit"),
    detach: bool = typer.Option(False, "-d", "--detach", help="Do not attach to the run"),
    backend: Backends = None,
    region: Regions = None,
    profile: str | None = typer.Option(None, "--profile", help="Profile from .dstack/profiles.yml"),
) -> None:
    if Path(working_dir).resolve() != Path.cwd().resolve():
        raise FleetstackError(
            f"dstack run {working_dir}: the project is the current folder; cd {working_dir} "
            "and run `dstack run . -f FILE`, or use `dstack apply -f FILE`"
        )
    args = [a for a in ctx.args if a != "--"]
    overrides = {"backends": backend or None, "regions": region or None}
    plan_and_confirm(file, args, overrides, yes=yes, dry_run=dry_run, detach=detach,
                     max_offers=3, profile=profile)  # fmt: skip
