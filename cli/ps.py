"""`dstack ps`: list runs and their statuses."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    app.command(
        "ps",
        help="List runs. By default the active runs, or the last finished one when none is active.",
    )(ps_command)


def ps_command(
    all_runs: bool = typer.Option(False, "-a", "--all", help="Show all runs, finished ones too"),
    watch: bool = typer.Option(False, "-w", "--watch", help="Refresh every 2 s until Ctrl-C"),
    last: int | None = typer.Option(
        None, "-n", "--last", help="Show only the last N runs (implies --all)"
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the runs as JSON"),
    verbose: bool = typer.Option(False, "-v", "--verbose", help="Add the ERROR column"),
) -> None:
    from .views.ps import show_runs

    show_runs(all_runs=all_runs, last=last, watch=watch, as_json=as_json, verbose=verbose)
