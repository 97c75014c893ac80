"""`dstack logs`: print the output of a run (raw bytes), or follow it with -f."""

from __future__ import annotations

import os
import sys

import typer

from ..engine.services.logs import stream_logs
from .commands import help_of
from .server import need_server

app = typer.Typer(add_completion=False)


@app.command("logs", help=help_of("logs"))
def logs_command(
    run_name: str = typer.Argument(..., metavar="RUN", help="The run's name (see `dstack ps`)"),
    since: str | None = typer.Option(
        None,
        "--since",
        help="Only output newer than a duration (10s, 5m, 1d) or a time (2026-11-23T09:30:00Z)",
    ),
    follow: bool = typer.Option(False, "-f", "--follow", help="Keep printing until the run ends"),
    diagnose: bool = typer.Option(
        False, "-d", "--diagnose", help="Show the job supervisor's own log instead"
    ),
) -> None:
    if follow:
        need_server()  # the run must move while we follow it
    chunks = stream_logs(run_name, since=since, follow=follow, diagnose=diagnose)
    out = sys.stdout.buffer
    try:
        for chunk in chunks:
            out.write(chunk)
            out.flush()
    except KeyboardInterrupt:
        return
    except BrokenPipeError:
        # The reader left (`| head`): stop quietly, and keep Python from complaining at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
