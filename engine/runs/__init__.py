"""The run lifecycle on top of engine/state and engine/supervisor.

    from fleetstack.engine.runs import submit_run, refresh_runs, run_error_text
    run = submit_run(plan, run_args=[...])     # run + job rows, code copy, supervisor started
    refresh_runs(state)                         # reconcile jobs, derive run statuses, retry

Modules: code.py (project copy honouring .gitignore/.dstackignore), jobs.py (the one job
builder, for this machine and cloud instances), starter.py (one submission of a job),
submit.py (submit_run), lifecycle.py (refresh_runs, run_error_text, retry with dstack's
backoff), errors.py (the one error text), listing.py (`dstack ps`'s fast read path).
The names below load on first use: lifecycle and submit import the state layer
(SQLAlchemy, ~0.35 s), and `dstack ps` imports engine.runs.listing without it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # what the names below are, for a type checker (loaded on first use)
    from .lifecycle import refresh_run, refresh_runs, run_error_text
    from .submit import submit_run

__all__ = ["refresh_run", "refresh_runs", "run_error_text", "submit_run"]


def __getattr__(name: str) -> object:
    if name in ("refresh_runs", "refresh_run", "run_error_text"):
        from . import lifecycle

        return getattr(lifecycle, name)
    if name == "submit_run":
        from .submit import submit_run

        return submit_run
    raise AttributeError(name)
