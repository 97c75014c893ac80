"""`dstack logs` as a use case: the raw bytes of a run's output, optionally followed."""

from __future__ import annotations

from collections.abc import Iterator

from ..runs.control import find_run
from ..runs.logs import parse_since, run_logs
from ..state import open_state


def stream_logs(name: str, *, since: str | None, follow: bool, diagnose: bool) -> Iterator[bytes]:
    """The run's log bytes (its supervisor's log with `diagnose`); raises FleetstackError for
    an unknown run or a bad --since before yielding anything."""
    start = parse_since(since)
    state = open_state()
    run = find_run(state, name)
    return run_logs(state, run, since=start, follow=follow, diagnose=diagnose)
