"""Run statuses derived from job statuses, final reasons and errors, and retry with backoff.

`refresh_runs(state)` is what every command that shows or waits on runs calls first
(`dstack ps`, `dstack logs -f`, an attached `dstack apply`). It is one step of a status
driven state machine, safe to repeat and to run in several processes at once:

1. supervisor.reconcile_jobs: jobs whose supervisor ended get their recorded final status
   (or `failed`, "supervisor vanished");
2. each unfinished run follows its latest job submissions: submitted -> provisioning ->
   running -> done | failed | terminated, with a termination reason and an error text;
3. a job that failed on an event listed in the run's `retry.on_events` moves the run to
   `pending`; once dstack's backoff delay has passed it is resubmitted (a new job row with
   submission_num + 1, `submitted`: the reconciler starts it), as long as `retry.duration`
   allows;
4. a run with no job at all (a submission interrupted before this version made run and
   jobs one transaction) is finished: failed, or terminated when a stop asked for it.

Retry duration, as dstack counts it: for `no-capacity`, the age of the run; for `error`
and `interruption`, the time since the latest submission that had started ended. So a job
that keeps failing with an error is retried (with growing delays, at most 10 minutes
apart) until it is stopped, while waiting for capacity ends after `duration`.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from ..models.runs import RunSpec
from ..models.statuses import (
    IllegalTransitionError,
    JobStatus,
    JobTerminationReason,
    RunStatus,
    RunTerminationReason,
)
from ..runner.jobfiles import LOG_FILE
from ..runner.supervisor import reconcile_jobs
from ..state import (
    JobRecord,
    RunRecord,
    State,
    create_job,
    finish_run,
    get_run,
    jobs_of_run,
    list_runs,
    set_run_status,
)
from ..state.common import apply_status, fetch_for_update
from ..state.models import RunRow, utcnow
from .backoff import next_attempt
from .backoff import retry_delay as retry_delay  # for its importers
from .errors import job_error_text

# Which retry event a job termination reason is.
_RETRY_EVENTS: dict[JobTerminationReason, str] = {
    JobTerminationReason.FAILED_TO_START_DUE_TO_NO_CAPACITY: "no-capacity",
    JobTerminationReason.WAITING_INSTANCE_LIMIT_EXCEEDED: "no-capacity",
    JobTerminationReason.INTERRUPTED_BY_NO_CAPACITY: "interruption",
    JobTerminationReason.INSTANCE_UNREACHABLE: "interruption",
    JobTerminationReason.CONTAINER_EXITED_WITH_ERROR: "error",
    JobTerminationReason.EXECUTOR_ERROR: "error",
    JobTerminationReason.CREATING_CONTAINER_ERROR: "error",
    JobTerminationReason.PORTS_BINDING_FAILED: "error",
}

# Run termination reason of a run whose job ended this way (failures not listed: job_failed).
_RUN_REASONS: dict[JobTerminationReason, RunTerminationReason] = {
    JobTerminationReason.DONE_BY_RUNNER: RunTerminationReason.ALL_JOBS_DONE,
    JobTerminationReason.TERMINATED_BY_USER: RunTerminationReason.STOPPED_BY_USER,
    JobTerminationReason.ABORTED_BY_USER: RunTerminationReason.ABORTED_BY_USER,
    JobTerminationReason.TERMINATED_BY_SERVER: RunTerminationReason.STOPPED_BY_USER,
    JobTerminationReason.MAX_DURATION_EXCEEDED: RunTerminationReason.MAX_DURATION_EXCEEDED,
}

_ORDER = {
    RunStatus.PENDING: 0,
    RunStatus.SUBMITTED: 1,
    RunStatus.PROVISIONING: 2,
    RunStatus.RUNNING: 3,
    RunStatus.TERMINATING: 4,
}


def refresh_runs(state: State, *, now: datetime | None = None) -> list[RunRecord]:
    """Reconcile jobs, then bring every unfinished run up to date; returns the runs that changed.

    Cheap when nothing is active: two indexed queries.
    """
    reconcile_jobs(state)
    changed = []
    for run in list_runs(state, include_finished=False):
        updated = refresh_run(state, run, now=now)
        if updated.status is not run.status:
            changed.append(updated)
    return changed


def refresh_run(
    state: State,
    run: RunRecord,
    *,
    now: datetime | None = None,
    latest_jobs: list[JobRecord] | None = None,
) -> RunRecord:
    """One step for one run; a concurrent process having moved it first is not an error.
    `latest_jobs`: its jobs' latest submissions when the caller has read them already."""
    for attempt in range(3):
        try:
            return _step(state, run, now or utcnow(), latest_jobs if attempt == 0 else None)
        except IllegalTransitionError:
            fresh = get_run(state, run.id)  # another process moved it meanwhile: look again
            if fresh is None or fresh.status.is_finished:
                return fresh or run
            run = fresh
    return run


def run_error_text(run: RunRecord | None, job: JobRecord | None) -> str:
    """What went wrong, in a few words, as `dstack ps -v` shows it ("" when nothing did):
    the job's end (engine/runs/errors.py), or the run's own error when the job has not ended."""
    if job is None or job.termination_reason is None:
        return (run.error or "") if run is not None else ""
    return job_error_text(
        job.termination_reason.value,
        exit_status=job.exit_status,
        error=job.error,
        log_path=job.log_path,
        job_dir=job.job_dir,
    )


def retry_event(job: JobRecord) -> str | None:
    """The retry event ("no-capacity", "interruption", "error") a finished job's end is."""
    if job.termination_reason is None:
        return None
    return _RETRY_EVENTS.get(job.termination_reason)


# ---------------------------------------------------------------- one step of one run


def _step(
    state: State, run: RunRecord, now: datetime, latest_jobs: list[JobRecord] | None
) -> RunRecord:
    jobs = latest_jobs if latest_jobs is not None else jobs_of_run(state, run.id, latest_only=True)
    if not jobs:
        # submit_run creates a run and its jobs in one transaction: a run without a job was
        # left by an interrupted submission (or an older version). Nothing can run: end it.
        reason = run.termination_reason or RunTerminationReason.SERVER_ERROR
        return finish_run(state, run.id, reason, error="its submission was interrupted")
    if run.status is RunStatus.PENDING:
        return _process_pending(state, run, jobs, now)
    active = [j for j in jobs if not j.status.is_finished]
    if active:
        return _follow_active(state, run, active)
    return _process_finished_jobs(state, run, jobs, now)


def _follow_active(state: State, run: RunRecord, active: list[JobRecord]) -> RunRecord:
    if run.status is RunStatus.TERMINATING:
        return run  # a stop is under way: wait for the jobs to end
    statuses = {j.status for j in active}
    if JobStatus.RUNNING in statuses:
        target = RunStatus.RUNNING
    elif statuses & {JobStatus.PROVISIONING, JobStatus.PULLING}:
        target = RunStatus.PROVISIONING
    elif JobStatus.TERMINATING in statuses:
        target = RunStatus.TERMINATING
    else:
        target = RunStatus.SUBMITTED
    if _ORDER[target] <= _ORDER.get(run.status, 0):
        return run  # never backwards (running -> provisioning) from a stale job
    return set_run_status(state, run.id, target)


def _process_finished_jobs(
    state: State, run: RunRecord, jobs: list[JobRecord], now: datetime
) -> RunRecord:
    failed = [j for j in jobs if j.status is not JobStatus.DONE]
    if not failed:
        if run.status in (RunStatus.SUBMITTED, RunStatus.PROVISIONING):
            run = set_run_status(state, run.id, RunStatus.RUNNING)  # done only follows running
        return finish_run(state, run.id, RunTerminationReason.ALL_JOBS_DONE, error="")
    job = failed[0]
    if run.status is not RunStatus.TERMINATING:
        decision = _retry_decision(run, job, jobs_of_run(state, run.id), now)
        if decision == "retry":  # the error stays visible (`dstack ps -v`) until it is retried
            return set_run_status(state, run.id, RunStatus.PENDING, error=run_error_text(run, job))
    else:
        decision = "no"
    reason = _final_reason(run, job, retry_exhausted=decision == "exhausted")
    return finish_run(state, run.id, reason, error=run_error_text(run, job))


def _process_pending(
    state: State, run: RunRecord, jobs: list[JobRecord], now: datetime
) -> RunRecord:
    latest = max(jobs, key=lambda j: j.submission_num)
    ended = latest.finished_at or latest.last_processed_at
    if now < next_attempt(ended, latest.submission_num):
        return run
    if not _claim_pending(state, run.id):
        return get_run(state, run.id) or run  # another process resubmits it
    _resubmit(state, run, jobs)
    return get_run(state, run.id) or run


def _resubmit(state: State, run: RunRecord, jobs: list[JobRecord]) -> None:
    """A new submission of each job, `submitted`: the reconciler places and starts it."""
    run_dir = RunSpec.of(run.run_spec).run_dir
    for job in jobs:
        job_dir = Path(run_dir) / f"job-{job.job_num}-{job.submission_num + 1}" if run_dir else None
        create_job(
            state,
            run.id,
            job_num=job.job_num,
            replica_num=job.replica_num,
            submission_num=job.submission_num + 1,
            job_spec=job.job_spec,
            job_dir=str(job_dir) if job_dir else None,
            log_path=str(job_dir / LOG_FILE) if job_dir else None,
        )


def _retry_decision(
    run: RunRecord, job: JobRecord, submissions: list[JobRecord], now: datetime
) -> str:
    """ "retry", "exhausted" (retry applies but its duration ran out) or "no".

    `submissions` are all of the run's job submissions, the earlier ones too.
    """
    retry = RunSpec.of(run.run_spec).retry
    event = retry_event(job)
    if retry is None or event is None or event not in retry.on_events:
        return "no"
    duration = retry.duration
    if duration is None:
        return "retry"
    if event == "no-capacity":
        since = run.submitted_at
    else:
        started = [j for j in submissions if j.started_at is not None]
        latest = max(started, key=lambda j: j.submission_num) if started else job
        since = latest.finished_at or latest.last_processed_at
    return "retry" if now - since <= timedelta(seconds=duration) else "exhausted"


def _final_reason(run: RunRecord, job: JobRecord, *, retry_exhausted: bool) -> RunTerminationReason:
    if run.termination_reason is not None:
        return run.termination_reason  # set by whoever asked the run to stop
    if job.termination_reason in _RUN_REASONS:
        return _RUN_REASONS[job.termination_reason]
    if job.status is JobStatus.TERMINATED:
        return RunTerminationReason.STOPPED_BY_USER
    if retry_exhausted:
        return RunTerminationReason.RETRY_LIMIT_EXCEEDED
    return RunTerminationReason.JOB_FAILED


def _claim_pending(state: State, run_id: str) -> bool:
    """Move a pending run to submitted in one transaction; False when another process did."""
    with state.write() as session:
        row = fetch_for_update(session, RunRow, run_id)
        if row.status != RunStatus.PENDING.value:
            return False
        apply_status(row, RunStatus.SUBMITTED)
        row.error = None  # the error was why it waited; the new submission has none yet
        return True
