"""Repository of runs and jobs. Every function is one short transaction; records come back.

Status changes go through set_run_status / set_job_status (checked against statuses.py);
other columns through update_run / update_job.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import TypedDict, Unpack

from sqlalchemy import and_, func, select
from sqlalchemy.exc import IntegrityError

from ..errors import FleetstackError
from ..models.json import JSONObject
from ..models.statuses import (
    JobStatus,
    JobTerminationReason,
    RunStatus,
    RunTerminationReason,
)
from .common import (
    apply_status,
    check_exists,
    claim_name,
    fetch_for_update,
    get_record,
    insert,
    live_row,
    new_row,
    update_record,
)
from .db import State
from .models import JobRow, RunRow, utcnow
from .records import JobRecord, RunRecord, job_record, run_record

DEFAULT_PROJECT = "main"
_FINAL_RUN_VALUES = tuple(s.value for s in RunStatus if s.is_finished)


class RunNameInUseError(FleetstackError):
    """A run that has not finished already has this name."""


class RunUpdate(TypedDict, total=False):
    """The plain columns update_run sets (statuses change through set_run_status)."""

    configuration_path: str | None
    configuration: JSONObject | None
    run_spec: JSONObject | None
    error: str | None
    backend: str | None
    region: str | None
    price: float | None
    resources: str | None
    fleet_id: str | None


class JobUpdate(TypedDict, total=False):
    """The plain columns update_job sets (statuses change through set_job_status)."""

    job_spec: JSONObject | None
    instance_id: str | None
    job_dir: str | None
    log_path: str | None
    supervisor_pid: int | None
    supervisor_host: str | None
    supervisor_token: str | None
    error: str | None
    started_at: datetime | None


class NewJob(JobUpdate, total=False):
    """A new job's columns: its place in the run (each 0 by default), then any plain column."""

    job_num: int
    replica_num: int
    submission_num: int


def create_run(
    state: State,
    *,
    name: str | None = None,
    project: str = DEFAULT_PROJECT,
    status: RunStatus = RunStatus.SUBMITTED,
    run_id: str | None = None,
    **columns: Unpack[RunUpdate],
) -> RunRecord:
    """A new run with the plain `columns` given (the others stay NULL). Without `name`, a
    fresh "adjective-animal-N" name is generated.

    A finished run holding the same name is marked deleted (its name is reused, as in
    dstack); an unfinished one makes this raise RunNameInUseError.
    """
    for attempt in range(5):
        try:
            with state.write() as session:
                claimed = claim_name(session, RunRow, project, name, _run_name_in_use)
                row = new_row(RunRow, run_id, status, project=project, name=claimed, **columns)
                return run_record(insert(session, row))
        except IntegrityError as e:
            # Two writers took the same name at once (PostgreSQL only: SQLite serializes
            # writers). A generated name is simply drawn again.
            if name is not None:
                raise RunNameInUseError(f"run {name} was just created by another command") from e
            if attempt == 4:
                raise
    raise AssertionError("unreachable")


def create_run_with_jobs(
    state: State,
    *,
    name: str | None,
    build: Callable[[str, str], tuple[JSONObject, list[NewJob]]],
    project: str = DEFAULT_PROJECT,
    run_id: str | None = None,
    **columns: Unpack[RunUpdate],
) -> tuple[RunRecord, list[JobRecord]]:
    """A new run and its first jobs in ONE transaction (a crash leaves both or neither).

    `build(name, run_id)` returns the run's run_spec and its jobs' columns; it runs inside
    the transaction, so it must be quick and do no I/O. Name rules as in create_run.
    """
    run_id = run_id or str(uuid.uuid4())
    try:
        with state.write() as session:
            claimed = claim_name(session, RunRow, project, name, _run_name_in_use)
            run_spec, jobs = build(claimed, run_id)
            row = new_row(
                RunRow, run_id, RunStatus.SUBMITTED,
                project=project, name=claimed, run_spec=run_spec, **columns,
            )  # fmt: skip
            run = run_record(insert(session, row))
            job_rows = [
                insert(session, new_row(JobRow, None, JobStatus.SUBMITTED, run_id=run_id, **job))
                for job in jobs
            ]
            return run, [job_record(j) for j in job_rows]
    except IntegrityError as e:
        raise RunNameInUseError(f"run {name} was just created by another command") from e


def get_run(state: State, run_id: str) -> RunRecord | None:
    return get_record(state, RunRow, run_id, run_record)


def get_run_by_name(state: State, name: str, project: str = DEFAULT_PROJECT) -> RunRecord | None:
    """The run (not deleted) called `name`, finished or not."""
    with state.read() as session:
        row = live_row(session, RunRow, project, name)
        return run_record(row) if row is not None else None


def list_runs(
    state: State,
    *,
    include_finished: bool = True,
    limit: int | None = None,
    project: str | None = None,
) -> list[RunRecord]:
    """Runs that were not deleted, newest first."""
    query = select(RunRow).where(RunRow.deleted.is_(False))
    if project is not None:
        query = query.where(RunRow.project == project)
    if not include_finished:
        query = query.where(RunRow.status.not_in(_FINAL_RUN_VALUES))
    query = query.order_by(RunRow.submitted_at.desc(), RunRow.id)
    if limit is not None:
        query = query.limit(limit)
    with state.read() as session:
        return [run_record(row) for row in session.scalars(query)]


def set_run_status(
    state: State,
    run_id: str,
    status: RunStatus,
    *,
    termination_reason: RunTerminationReason | None = None,
    error: str | None = None,
) -> RunRecord:
    """Move a run to `status` (checked); sets finished_at on a final status."""
    with state.write() as session:
        row = fetch_for_update(session, RunRow, run_id)
        if apply_status(row, status, termination_reason, message=error) and status.is_finished:
            row.finished_at = utcnow()
        if termination_reason is not None:
            row.termination_reason = termination_reason.value
        if error is not None:
            row.error = error
        return run_record(row)


def finish_run(
    state: State, run_id: str, reason: RunTerminationReason, *, error: str | None = None
) -> RunRecord:
    """Set the final status that `reason` leads to."""
    return set_run_status(state, run_id, reason.to_status(), termination_reason=reason, error=error)


def update_run(state: State, run_id: str, **fields: Unpack[RunUpdate]) -> RunRecord:
    """Set plain columns (backend, price, resources, fleet_id, run_spec, error...)."""
    forbidden = ("id", "termination_reason", "finished_at")
    return update_record(state, RunRow, run_id, fields, forbidden, run_record)


def delete_run(state: State, run_id: str) -> RunRecord:
    """Mark a finished run deleted (`dstack delete`); an unfinished one is refused."""
    with state.write() as session:
        row = fetch_for_update(session, RunRow, run_id)
        if not RunStatus(row.status).is_finished:
            raise FleetstackError(
                f"run {row.name} is still {row.status}: stop it with `dstack stop {row.name}` "
                "before deleting it"
            )
        row.deleted = True
        return run_record(row)


def create_job(
    state: State,
    run_id: str,
    *,
    status: JobStatus = JobStatus.SUBMITTED,
    job_id: str | None = None,
    **columns: Unpack[NewJob],
) -> JobRecord:
    """A new submission of job `job_num` (0 by default) of the run, with the `columns` given."""
    with state.write() as session:
        check_exists(session, RunRow, run_id)
        row = new_row(JobRow, job_id, status, run_id=run_id, **columns)
        return job_record(insert(session, row))


def get_job(state: State, job_id: str) -> JobRecord | None:
    return get_record(state, JobRow, job_id, job_record)


def jobs_of_run(state: State, run_id: str, *, latest_only: bool = False) -> list[JobRecord]:
    """The run's jobs by job_num, replica, submission; `latest_only` keeps the last submission
    of each (job_num, replica)."""
    if latest_only:
        return latest_jobs_of_runs(state, [run_id]).get(run_id, [])
    query = select(JobRow).where(JobRow.run_id == run_id)
    query = query.order_by(JobRow.job_num, JobRow.replica_num, JobRow.submission_num)
    with state.read() as session:
        return [job_record(row) for row in session.scalars(query)]


def latest_jobs_of_runs(state: State, run_ids: list[str]) -> dict[str, list[JobRecord]]:
    """The last submission of each (job_num, replica) of each run, in one query; a run
    without jobs is absent."""
    if not run_ids:
        return {}
    latest = (
        select(
            JobRow.run_id,
            JobRow.job_num,
            JobRow.replica_num,
            func.max(JobRow.submission_num).label("submission_num"),
        )
        .where(JobRow.run_id.in_(run_ids))
        .group_by(JobRow.run_id, JobRow.job_num, JobRow.replica_num)
        .subquery()
    )
    query = select(JobRow).join(
        latest,
        and_(
            JobRow.run_id == latest.c.run_id,
            JobRow.job_num == latest.c.job_num,
            JobRow.replica_num == latest.c.replica_num,
            JobRow.submission_num == latest.c.submission_num,
        ),
    )
    query = query.order_by(JobRow.job_num, JobRow.replica_num, JobRow.submission_num)
    found: dict[str, list[JobRecord]] = {}
    with state.read() as session:
        for row in session.scalars(query):
            found.setdefault(row.run_id, []).append(job_record(row))
    return found


def list_jobs(state: State, *, statuses: list[JobStatus] | None = None) -> list[JobRecord]:
    """Jobs in any of `statuses` (all jobs when None), oldest first."""
    query = select(JobRow)
    if statuses is not None:
        query = query.where(JobRow.status.in_([s.value for s in statuses]))
    with state.read() as session:
        return [job_record(row) for row in session.scalars(query.order_by(JobRow.submitted_at))]


def set_job_status(
    state: State,
    job_id: str,
    status: JobStatus,
    *,
    termination_reason: JobTerminationReason | None = None,
    exit_status: int | None = None,
    error: str | None = None,
) -> JobRecord:
    """Move a job to `status` (checked). Sets started_at on running, finished_at on a final
    status. A repeated status is a no-op apart from filling reason/exit/error left empty."""
    with state.write() as session:
        row = fetch_for_update(session, JobRow, job_id)
        return job_record(_set_job_status(row, status, termination_reason, exit_status, error))


def finish_job(
    state: State,
    job_id: str,
    reason: JobTerminationReason,
    *,
    exit_status: int | None = None,
    error: str | None = None,
) -> JobRecord:
    """Set the final status that `reason` leads to (done, failed or terminated)."""
    return set_job_status(
        state,
        job_id,
        reason.to_status(),
        termination_reason=reason,
        exit_status=exit_status,
        error=error,
    )


def update_job(state: State, job_id: str, **fields: Unpack[JobUpdate]) -> JobRecord:
    """Set plain columns (instance_id, job_dir, log_path, supervisor_pid, job_spec...)."""
    forbidden = ("id", "run_id", "termination_reason")
    return update_record(state, JobRow, job_id, fields, forbidden, job_record)


def _set_job_status(
    row: JobRow,
    status: JobStatus,
    reason: JobTerminationReason | None,
    exit_status: int | None,
    error: str | None,
) -> JobRow:
    changed = apply_status(row, status, reason, message=error)
    if changed and status is JobStatus.RUNNING and row.started_at is None:
        row.started_at = utcnow()
    if changed and status.is_finished:
        row.finished_at = utcnow()
    if reason is not None and (changed or row.termination_reason is None):
        row.termination_reason = reason.value
    if exit_status is not None and (changed or row.exit_status is None):
        row.exit_status = exit_status
    if error is not None and (changed or row.error is None):
        row.error = error
    return row


def _run_name_in_use(name: str, status: str) -> RunNameInUseError:
    return RunNameInUseError(
        f"run {name} is still {status}: stop it with "
        f"`dstack stop {name}` or give the new run another name"
    )
