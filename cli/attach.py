"""`dstack attach RUN`: forward the run's ports to 127.0.0.1 again, and with --logs follow it."""

from __future__ import annotations

import time

import typer

from ..engine.errors import FleetstackError
from ..engine.services.runs import AttachedRun, check_free, find, forwards_of_run, log_offset
from .apply_run import attach
from .commands import help_of
from .views.output import console as make_console
from .views.output import status_console

app = typer.Typer(add_completion=False)

REFRESH_SECONDS = 1.0


@app.command("attach", help=help_of("attach"))
def attach_command(
    run_name: str = typer.Argument(..., metavar="RUN", help="The run's name (see `dstack ps`)"),
    port: list[str] | None = typer.Option(
        None, "-p", "--port", help="Forward a port of the job to 127.0.0.1: LOCAL:REMOTE"
    ),
    logs: bool = typer.Option(False, "--logs", help="Follow the run's output too"),
    since: str | None = typer.Option(
        None, "--since", help="With --logs: output newer than a duration (5m) or a time"
    ),
    job: int = typer.Option(0, "--job", help="The job (node) whose ports are forwarded"),
) -> None:
    run = find(run_name)
    if run.status.is_finished:
        raise FleetstackError(
            f"run {run.name} is {run.status.value}: nothing to attach to; "
            f"`dstack logs {run.name}` shows its output"
        )
    forwards = forwards_of_run(run, port or [])
    check_free(forwards)
    if logs:
        code = attach(run, make_console(), forwards, offset=log_offset(run, since))
        if code:
            raise SystemExit(code)
        return
    status = status_console()
    attached = AttachedRun(run)
    try:
        with attached.ports(forwards, job_num=job) as opened:
            for forward in opened:
                status.print(f"Forwarding {forward.describe()}", highlight=False)
            status.print(f"Attached to [bold]{run.name}[/bold]; Ctrl-C detaches.")
            while not attached.refresh().status.is_finished:
                time.sleep(REFRESH_SECONDS)
    except KeyboardInterrupt:
        status.print(f"Detached from [bold]{run.name}[/bold]; the run goes on.")
        return
    status.print(f"[bold]{run.name}[/bold] {attached.run.status.value}")
