"""What a user does to one run by name: find it, stop or abort it, delete it.

    run = find_run(state, "brave-otter-1")            # FleetstackError when there is none
    run = stop_run(state, run.name, abort=False)       # SIGTERM, grace, SIGKILL; waits for the end
    delete_run(state, run.name)                        # finished runs only; removes its files

Stopping goes through the job supervisors (engine/supervisor.py): the run moves to
terminating at once, each live job gets SIGTERM (or SIGKILL with `abort`), and the run
becomes terminated (stopped_by_user / aborted_by_user) once its jobs have ended.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import time
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import FleetstackError
from ..models.runs import RunSpec
from ..models.statuses import (
    IllegalTransitionError,
    JobStatus,
    JobTerminationReason,
    RunStatus,
    RunTerminationReason,
)
from ..paths import dstack_home
from ..runner import jobfiles, supervisor
from ..secrets import forget_run_values
from ..state import delete_run as _delete_run_row
from ..state import (
    finish_job,
    get_run,
    get_run_by_name,
    jobs_of_run,
    set_job_status,
    set_run_status,
)
from .lifecycle import refresh_run

if TYPE_CHECKING:  # hints only
    from ..state import JobRecord, RunRecord, State

STOP_MARGIN_SECONDS = 5.0  # beyond the grace period: the supervisor kills, then records
# A stop waits at most this (plus the margin) for the jobs to end: a job that ignores SIGTERM
# is killed by its supervisor after its grace period (5 min by default) whether we wait or not.
MAX_WAIT_SECONDS = 10.0
_POLL_SECONDS = 0.1


def find_run(state: State, name: str) -> RunRecord:
    """The run called `name` (finished or not, not deleted); FleetstackError when none."""
    run = get_run_by_name(state, name)
    if run is None:
        raise FleetstackError(f"run {name} not found; `dstack ps -a` lists runs")
    return run


def stop_run(
    state: State, name: str, *, abort: bool = False, timeout: float | None = None
) -> RunRecord:
    """Stop (SIGTERM, then SIGKILL after the grace period) or abort (SIGKILL now) a run.

    Returns the run as it is after waiting up to `timeout` seconds (default: the jobs'
    grace period, at most MAX_WAIT_SECONDS, plus a margin) for its jobs to end: terminated
    when they did, still terminating otherwise (its supervisors kill the jobs after the
    grace period in any case). A run that has already finished is returned unchanged.
    """
    run = find_run(state, name)
    if run.status.is_finished:
        return run
    run_reason = (
        RunTerminationReason.ABORTED_BY_USER if abort else RunTerminationReason.STOPPED_BY_USER
    )
    job_reason = (
        JobTerminationReason.ABORTED_BY_USER if abort else JobTerminationReason.TERMINATED_BY_USER
    )
    run = _set_run_terminating(state, run, run_reason)
    if run.status.is_finished:
        return run
    _stop_jobs(state, run, job_reason, abort=abort, timeout=timeout)
    return _settle_run(state, run.id)


def delete_run(state: State, name: str) -> None:
    """Delete a finished run: it leaves `dstack ps -a`, and its job dirs and logs go too.

    An active run is refused with a FleetstackError that says to stop it first.
    """
    run = find_run(state, name)
    if not run.status.is_finished:
        raise FleetstackError(
            f"run {name} is still {run.status.value}: stop it first with `dstack stop {name}`"
        )
    jobs = jobs_of_run(state, run.id)
    _delete_run_row(state, run.id)
    forget_run_values(run)
    remove_run_files(run, jobs)


def remove_run_files(run: RunRecord, jobs: list[JobRecord]) -> None:
    """Remove a finished run's folder (code copies, job scripts, logs) under $DSTACK_HOME/runs.

    The retention rule: a finished run's files stay until `dstack delete` removes the run,
    or until a new run takes its name (submit_run then removes them).
    """
    for path in _run_dirs(run, jobs):
        shutil.rmtree(path, ignore_errors=True)


# ---------------------------------------------------------------- helpers


def _set_run_terminating(state: State, run: RunRecord, reason: RunTerminationReason) -> RunRecord:
    try:
        return set_run_status(state, run.id, RunStatus.TERMINATING, termination_reason=reason)
    except IllegalTransitionError:
        # Another process finished it a moment ago: a stop of a finished run is a no-op.
        current = get_run(state, run.id)
        if current is None or not current.status.is_finished:
            raise
        return current


def _stop_job(
    state: State, run: RunRecord, job: JobRecord, reason: JobTerminationReason, *, abort: bool
) -> float:
    """Ask the job's supervisor to stop it; returns the grace period the supervisor applies."""
    with contextlib.suppress(IllegalTransitionError):  # it may have ended just now
        set_job_status(state, job.id, JobStatus.TERMINATING, termination_reason=reason)
    job_dir = job_dir_of(run, job)
    if supervisor.stop_job(job_dir, abort=abort):
        return _grace_seconds(job_dir)
    if jobfiles.read_exit_status(job_dir) is not None or job.supervisor_pid is not None:
        return 0.0  # it has ended, or its supervisor vanished: reconciling settles it
    # Never started (or not yet): end it here. A supervisor starting later sees a final
    # job and does not run it; one starting right now sees `terminating` and stops at once.
    with contextlib.suppress(IllegalTransitionError):
        finish_job(state, job.id, reason)
    return 0.0


def _grace_seconds(job_dir: Path) -> float:
    try:
        spec = json.loads((job_dir / jobfiles.SPEC_FILE).read_text())
        return float(spec.get("grace_seconds") or supervisor.DEFAULT_GRACE_SECONDS)
    except (OSError, ValueError, TypeError):
        return supervisor.DEFAULT_GRACE_SECONDS


def _stop_jobs(
    state: State,
    run: RunRecord,
    reason: JobTerminationReason,
    *,
    abort: bool,
    timeout: float | None,
) -> None:
    """Stop the run's live jobs and wait for them to end. Jobs are listed again while
    waiting: a retry submitted at the moment of the stop is stopped as well."""
    stopped: set[str] = set()
    deadline: float | None = None
    while True:
        supervisor.reconcile_jobs(state)  # a supervisor that died is settled, not waited for
        live = [j for j in jobs_of_run(state, run.id, latest_only=True) if not j.status.is_finished]
        grace = 0.0
        for job in live:
            if job.id not in stopped:
                stopped.add(job.id)
                grace = max(grace, _stop_job(state, run, job, reason, abort=abort))
        if deadline is None:
            wait = timeout
            if wait is None:
                wait = (0.0 if abort else min(grace, MAX_WAIT_SECONDS)) + STOP_MARGIN_SECONDS
            deadline = time.monotonic() + wait
        if not live or time.monotonic() >= deadline:
            return
        time.sleep(_POLL_SECONDS)


def _settle_run(state: State, run_id: str) -> RunRecord:
    """Finish a terminating run whose jobs have all ended (one lifecycle step)."""
    run = get_run(state, run_id)
    assert run is not None
    if run.status.is_finished:
        return run
    return refresh_run(state, run)


def _run_dirs(run: RunRecord, jobs: list[JobRecord]) -> list[Path]:
    """The run's own directories under $DSTACK_HOME/runs (never anything outside it)."""
    runs_root = (dstack_home() / "runs").resolve()
    candidates = [job_dir_of(run, job) for job in jobs]
    run_dir = RunSpec.of(run.run_spec).run_dir
    if run_dir:
        candidates.append(Path(run_dir))
    found: list[Path] = []
    for candidate in candidates:
        path = candidate.resolve()
        if runs_root not in path.parents:
            continue
        # $DSTACK_HOME/runs/<run>/<job>: the run's folder holds its jobs and their code copies.
        top = runs_root / path.relative_to(runs_root).parts[0]
        if top not in found:
            found.append(top)
    return found


def job_dir_of(run: RunRecord, job: JobRecord) -> Path:
    """Where the job's files are: as recorded, else the default place."""
    if job.job_dir:
        return Path(job.job_dir)
    return jobfiles.default_job_dir(run.name, job.job_num, job.submission_num)
