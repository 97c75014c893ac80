"""`dstack delete`: delete a finished run, its job files and logs."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    app.command("delete", help="Delete a finished run with its logs (stop an active one first).")(
        delete_command
    )


def delete_command(
    run_name: str = typer.Argument(..., metavar="RUN", help="The run's name (see `dstack ps -a`)"),
    yes: bool = typer.Option(False, "-y", "--yes", help="Do not ask for confirmation"),
) -> None:
    from ..engine.errors import FleetstackError
    from ..engine.runs.control import delete_run, find_run
    from ..engine.state import open_state
    from .views.confirm import confirm

    state = open_state()
    run = find_run(state, run_name)
    if not run.status.is_finished:
        raise FleetstackError(
            f"run {run.name} is still {run.status.value}: stop it first with "
            f"`dstack stop {run.name}`"
        )
    if not confirm(f"Delete the run {run.name} and its logs?", yes=yes):
        print(f"Run {run.name} kept.")
        raise typer.Exit(1)
    delete_run(state, run.name)
    print(f"Run {run.name} deleted.")
