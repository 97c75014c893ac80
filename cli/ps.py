"""`dstack ps`: list runs and their statuses."""

from __future__ import annotations

import typer

from ..engine.reconciler.daemon import may_have_work
from .commands import help_of
from .server import need_server
from .views.ps import show_runs

app = typer.Typer(add_completion=False)


@app.command("ps", help=help_of("ps"))
def ps_command(
    all_runs: bool = typer.Option(False, "-a", "--all", help="Show all runs, finished ones too"),
    watch: bool = typer.Option(False, "-w", "--watch", help="Refresh every 2 s until Ctrl-C"),
    last: int | None = typer.Option(
        None, "-n", "--last", help="Show only the last N runs (implies --all)"
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the runs as JSON"),
    verbose: bool = typer.Option(False, "-v", "--verbose", help="Add the ERROR column"),
) -> None:
    if may_have_work():
        need_server()
    show_runs(all_runs=all_runs, last=last, watch=watch, as_json=as_json, verbose=verbose)
