"""The runs step: every unfinished run follows its jobs (engine/runs/lifecycle.refresh_run):
submitted -> provisioning -> running -> done | failed | terminated, pending while a retry
waits for dstack's backoff, resubmitted after it, and finished when it has no live job."""

from __future__ import annotations

from ..models.statuses import RunStatus
from ..runs.lifecycle import refresh_run
from ..state import latest_jobs_of_runs, list_runs
from ..state.claims import claim, release
from ..state.models import RunRow
from .context import PassContext

_UNFINISHED = [s.value for s in RunStatus if not s.is_finished]


def follow_jobs(ctx: PassContext, *, only: list[str] | None = None) -> None:
    """One lifecycle step for each unfinished run this pass can claim (among `only`)."""
    ids = claim(ctx.state, RunRow, ctx.owner, now=ctx.now, statuses=_UNFINISHED, ids=only)
    if not ids:
        return
    try:
        claimed = set(ids)
        runs = [r for r in list_runs(ctx.state, include_finished=False) if r.id in claimed]
        latest = latest_jobs_of_runs(ctx.state, [r.id for r in runs])  # one query for all
        for run in runs:
            updated = refresh_run(ctx.state, run, now=ctx.now, latest_jobs=latest.get(run.id, []))
            if updated.status is not run.status:
                ctx.report.runs_changed.append(run.id)
    finally:
        release(ctx.state, RunRow, ids, ctx.owner)
