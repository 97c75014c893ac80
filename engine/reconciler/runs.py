"""The runs step: every unfinished run follows its jobs (engine/runs/lifecycle.refresh_run):
submitted -> provisioning -> running -> done | failed | terminated, pending while a retry
waits for dstack's backoff, resubmitted after it, and finished when it has no live job."""

from __future__ import annotations

from ..models.statuses import RunStatus
from ..runs.lifecycle import refresh_run
from ..state import get_run
from ..state.claims import claim, release
from ..state.models import RunRow
from .context import PassContext

_UNFINISHED = [s.value for s in RunStatus if not s.is_finished]


def follow_jobs(ctx: PassContext) -> None:
    """One lifecycle step for each unfinished run this pass can claim."""
    ids = claim(ctx.state, RunRow, ctx.owner, now=ctx.now, statuses=_UNFINISHED)
    try:
        for run_id in ids:
            run = get_run(ctx.state, run_id)
            if run is None or run.status.is_finished:
                continue
            updated = refresh_run(ctx.state, run, now=ctx.now)
            if updated.status is not run.status:
                ctx.report.runs_changed.append(run_id)
    finally:
        release(ctx.state, RunRow, ids, ctx.owner)
