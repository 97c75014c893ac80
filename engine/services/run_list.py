"""`dstack ps` as a use case: the runs, refreshed, newest first.

Kept apart from runs.py: this path must not import SQLAlchemy (engine/runs/listing.py reads
the default SQLite file with sqlite3 and refreshes only when some run may have changed).
"""

from __future__ import annotations

from ..runs.listing import RunSummary, list_runs_for_ps

__all__ = ["RunSummary", "list_runs"]


def list_runs(*, all_runs: bool, limit: int | None) -> list[RunSummary]:
    """Active runs (or the last finished one), every run with `all_runs`, the last `limit`."""
    return list_runs_for_ps(all_runs=all_runs, limit=limit)
