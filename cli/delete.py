"""`dstack delete`: delete a finished run (its job files and logs), or with -f FILE what the
configuration created: the fleet a fleet file declares, the finished run a run file names."""

from __future__ import annotations

import typer

from ..engine.errors import FleetstackError
from ..engine.services import runs
from ..engine.services.plan import declared
from .commands import help_of
from .fleet import delete_fleet
from .views.confirm import confirm

app = typer.Typer(add_completion=False)


@app.command("delete", help=help_of("delete"))
def delete_command(
    run_name: str | None = typer.Argument(
        None, metavar="[RUN]", help="The run's name (see `dstack ps -a`)"
    ),
    file: str | None = typer.Option(
        None, "-f", "--file", help="Delete what this configuration created (a fleet or a run)"
    ),
    yes: bool = typer.Option(False, "-y", "--yes", help="Do not ask for confirmation"),
) -> None:
    if (run_name is None) == (file is None):
        raise FleetstackError(
            "give a run's name or -f FILE: dstack delete RUN, dstack delete -f FILE"
        )
    if file is not None:
        target = declared(file)
        if target.kind == "fleet":
            delete_fleet(target.name, yes=yes)
            return
        run_name = target.name
    assert run_name is not None
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
