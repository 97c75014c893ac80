"""`dstack logs`: print the output of a run (raw bytes), or follow it with -f."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    app.command("logs", help="Show the output of a run; -f follows it until the run ends.")(
        logs_command
    )


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
    import os
    import sys

    from ..engine.runs.control import find_run
    from ..engine.runs.logs import parse_since, run_logs
    from ..engine.state import open_state

    start = parse_since(since)
    state = open_state()
    run = find_run(state, run_name)
    out = sys.stdout.buffer
    try:
        for chunk in run_logs(state, run, since=start, follow=follow, diagnose=diagnose):
            out.write(chunk)
            out.flush()
    except KeyboardInterrupt:
        return
    except BrokenPipeError:
        # The reader left (`| head`): stop quietly, and keep Python from complaining at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
