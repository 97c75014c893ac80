"""`dstack delete`: delete a finished run, its job files and logs."""

from __future__ import annotations

import typer

from ..engine.errors import FleetstackError
from ..engine.services import runs
from .commands import help_of
from .views.confirm import confirm

app = typer.Typer(add_completion=False)


@app.command("delete", help=help_of("delete"))
def delete_command(
    run_name: str = typer.Argument(..., metavar="RUN", help="The run's name (see `dstack ps -a`)"),
    yes: bool = typer.Option(False, "-y", "--yes", help="Do not ask for confirmation"),
) -> None:
    run = runs.find(run_name)
    if not run.status.is_finished:
        raise FleetstackError(
            f"run {run.name} is still {run.status.value}: stop it first with "
            f"`dstack stop {run.name}`"
        )
    if not confirm(f"Delete the run {run.name} and its logs?", yes=yes):
        print(f"Run {run.name} kept.")
        raise typer.Exit(1)
    runs.delete(run.name)
    print(f"Run {run.name} deleted.")
