"""`dstack server`: the reconciler in the foreground; `--stop` stops the one running.

Commands that need the reconciler (apply of a run, ps, logs -f, stop) call
`need_server()`, which wakes the running server or starts one in the background.
"""

from __future__ import annotations

import sys

import typer

from ..engine.reconciler import daemon
from .commands import help_of

app = typer.Typer(add_completion=False)


@app.command("server", help=help_of("server"))
def server_command(
    host: str | None = typer.Option(None, "--host", help="Reserved for the later HTTP API"),
    port: int | None = typer.Option(None, "--port", help="Reserved for the later HTTP API"),
    stop: bool = typer.Option(False, "--stop", help="Stop the server of this state database"),
    background: bool = typer.Option(False, daemon.BACKGROUND_FLAG, hidden=True),
    provision: str | None = typer.Option(None, "--provision", hidden=True),
) -> None:
    if provision is not None:  # the server's provisioner of one job (engine/reconciler)
        from ..engine.reconciler.provisioner import provisioner_main

        raise typer.Exit(provisioner_main(provision))
    if stop:
        pid = daemon.stop_server()
        print("No fleetstack server runs for this database." if pid is None else
              f"Stopped the fleetstack server (pid {pid}).")  # fmt: skip
        return
    if host is not None or port is not None:
        print(
            "--host/--port are reserved for the later HTTP API: the server reconciles the "
            "state database and listens on nothing yet.",
            file=sys.stderr,
        )
    # the reconciler loads SQLAlchemy and the whole engine: only when the server runs
    from ..engine.reconciler.loop import serve

    if not background:
        print("fleetstack server: reconciling runs and fleets; Ctrl-C stops it.", flush=True)
    raise typer.Exit(serve(background=background))


def need_server(*, quiet: bool = False) -> str | None:
    """Wake the server of this state database, or start one in the background and say so
    (with its log) on stderr; with `quiet` the line is returned for the caller to print
    once it has something to say (None when no server was started)."""
    lines: list[str] = []
    daemon.ensure_server(say=lines.append)
    for line in lines if not quiet else []:
        print(line, file=sys.stderr, flush=True)
    return lines[0] if quiet and lines else None
