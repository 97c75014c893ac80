"""A small detached process that carries one run with `retry` through its resubmissions.

Statuses are otherwise derived when someone looks (`dstack ps`, an attached `dstack apply`);
a retry has to happen even when nobody looks, for a detached run or after the attached
CLI was killed. submit_run starts one watcher per run that has `retry`:

    python -m fleetstack.engine.runs.watch --run-id ID [--database-url URL]

It calls refresh_run for that run about once a second and ends with the run.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time

from ..paths import private_process
from ..runner.supervisor import reconcile_jobs
from ..state import get_run, open_state
from .lifecycle import refresh_run

POLL_SECONDS = 1.0


def start_watcher(run_id: str, database_url: str | None = None) -> None:
    """Start the watcher of `run_id`, detached from this process; returns at once."""
    args = [sys.executable, "-m", "fleetstack.engine.runs.watch", "--run-id", run_id, "--detach"]
    if database_url:
        args += ["--database-url", database_url]
    proc = subprocess.Popen(
        args,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        close_fds=True,
    )
    proc.wait()  # the first process forks the watcher and leaves at once


def watch(run_id: str, database_url: str | None = None) -> None:
    """Refresh the run until it has finished (or is gone)."""
    state = open_state(database_url)
    while True:
        run = get_run(state, run_id)
        if run is None or run.deleted or run.status.is_finished:
            return
        try:
            reconcile_jobs(state)
            refresh_run(state, run)
        except Exception:  # noqa: BLE001 - a busy database now is no reason to stop watching
            pass
        time.sleep(POLL_SECONDS)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fleetstack.engine.runs.watch")
    parser.add_argument("--run-id", required=True)
    parser.add_argument("--database-url")
    parser.add_argument("--detach", action="store_true", help="fork and return at once")
    args = parser.parse_args(argv)
    private_process()
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    if args.detach and os.fork():
        os._exit(0)
    watch(args.run_id, args.database_url)
    return 0


if __name__ == "__main__":
    sys.exit(main())
