"""`dstack server`: reconciler passes in a loop, one server per state database.

A pass runs about every POLL_SECONDS, and at once when woken (SIGUSR1: a submit, a stop).
SIGTERM or SIGINT ends the loop after the pass under way. A background server (started by
a command that needed it) leaves after IDLE_EXIT_SECONDS with nothing to do: no unfinished
run and no fleet waiting to be released; the next command that needs one starts it again.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import sys
import time
from types import FrameType

from ..errors import FleetstackError
from ..models.fleets import FleetSpec
from ..state import FleetStatus, State, list_fleets, list_runs, open_state
from . import daemon
from .core import Reconciler
from .leases import LeaseKeeper
from .sweep import OrphanSweeper

POLL_SECONDS = 1.0
IDLE_EXIT_SECONDS = 60.0


class _Flags:
    stop = False


def serve(url: str | None = None, *, background: bool = False) -> int:
    """Run passes until stopped; returns the process exit code."""
    url = url or daemon.default_url()
    # Handlers before the lock: a command wakes (SIGUSR1) only a server holding the lock.
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_r, False)
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGTERM, _on_stop)
    signal.signal(signal.SIGINT, _on_stop)
    signal.signal(signal.SIGUSR1, lambda _s, _f: None)  # wakes the select below
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    fd = daemon.acquire(url)
    if fd is None:
        if background:
            return 0  # another command started one at the same moment: it does the work
        pid = daemon.running_server(url)
        raise FleetstackError(f"a fleetstack server already runs for {url} (pid {pid})")
    leases = LeaseKeeper()
    try:
        _log(f"reconciling {url} (pid {os.getpid()})")
        state = open_state(url)
        reconciler = Reconciler(state, leases=leases)
        sweeper = OrphanSweeper.from_environment(_log)
        warm_up()
        quiet_since = time.monotonic()
        while not _Flags.stop:
            try:
                report = reconciler.run_pass()
                for error in report.errors:
                    _log(error)
                if report.moved:
                    _log(_summary(report.__dict__))
                sweeper.maybe_sweep()
            except Exception as exc:  # noqa: BLE001 - a failed pass is retried, never fatal
                _log(f"pass failed: {exc!r}")
            if _has_work(state):
                quiet_since = time.monotonic()
            elif background and time.monotonic() - quiet_since >= IDLE_EXIT_SECONDS:
                _log("nothing to do: leaving (the next command that needs a server starts one)")
                break
            with contextlib.suppress(InterruptedError):
                select.select([wake_r], [], [], POLL_SECONDS)
            with contextlib.suppress(BlockingIOError, InterruptedError):
                while os.read(wake_r, 512):
                    pass
    finally:
        leases.close()
        daemon.release(url, fd)
    _log("stopped")
    return 0


def warm_up() -> None:
    """Load what starting a job needs (jinja2 and the job template) before the first pass."""
    from ...templates import render  # noqa: F401 - imported for its side effect: loaded


def _has_work(state: State) -> bool:
    """Unfinished runs, or fleets that the server must release later."""
    if list_runs(state, include_finished=False, limit=1):
        return True
    for fleet in list_fleets(state, include_finished=False):
        if fleet.status is FleetStatus.TERMINATING:
            return True
        if FleetSpec.of(fleet.spec).idle_duration is not None:
            return True
    return False


def _on_stop(_signum: int, _frame: FrameType | None) -> None:
    _Flags.stop = True


def _summary(moved: dict[str, list[str]]) -> str:
    return "; ".join(
        f"{k.replace('_', ' ')}: {len(v)}" for k, v in moved.items() if v and k != "errors"
    )


def _log(message: str) -> None:
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    print(f"{stamp} server[{os.getpid()}]: {message}", file=sys.stderr, flush=True)
