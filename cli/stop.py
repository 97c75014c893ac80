"""`dstack stop`: stop a run (SIGTERM, then kill after the grace period) or abort it (-x)."""

from __future__ import annotations

import typer

from ..engine.services import runs
from .commands import help_of
from .server import need_server
from .views.confirm import confirm

app = typer.Typer(add_completion=False)


@app.command("stop", help=help_of("stop"))
def stop_command(
    run_name: str = typer.Argument(..., metavar="RUN", help="The run's name (see `dstack ps`)"),
    abort: bool = typer.Option(False, "-x", "--abort", help="Kill the run now, without a grace"),
    yes: bool = typer.Option(False, "-y", "--yes", help="Do not ask for confirmation"),
) -> None:
    run = runs.find(run_name)
    if run.status.is_finished:
        print(f"Run {run.name} has already finished ({run.status.value}): nothing to stop.")
        return
    question = f"Abort the run {run.name} (kill it now)?" if abort else f"Stop the run {run.name}?"
    if not confirm(question, yes=yes):
        print(f"Run {run.name} left {run.status.value}.")
        raise typer.Exit(1)
    print(f"{'Aborting' if abort else 'Stopping'} {run.name}...", flush=True)
    need_server()  # it finishes what the stop leaves (a job that outlives the wait)
    run = runs.stop(run.name, abort=abort)
    if run.status.is_finished:
        print(f"Run {run.name} {'aborted' if abort else 'stopped'}: {run.status.value}.")
    else:
        print(
            f"Run {run.name} is {run.status.value}: its job has not ended yet and is killed at "
            f"the end of its grace period; `dstack ps` shows when; `dstack stop {run.name} -x` "
            "kills it now."
        )
