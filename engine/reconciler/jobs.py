"""The jobs step: settle jobs whose supervisor ended; place and start submitted jobs.

A submitted job not started yet has no supervisor_pid. It is claimed, placed, and started
through engine/runs/starter.start_job (which names this process as its supervisor until
the real one runs: a crash mid-start is settled as "supervisor vanished" by the next pass,
and retried when the run's retry allows). A job that does not fit anywhere now ends
`failed` with failed_to_start_due_to_no_capacity and the reason; the runs step then
retries it (pending, with backoff) or fails the run.
"""

from __future__ import annotations

import subprocess

from ..fleets.placement import NoCapacity, place_job
from ..models.statuses import JobStatus, JobTerminationReason, RunStatus
from ..remote.start import revive_followers
from ..runner.supervisor import reconcile_jobs
from ..runs.starter import start_job
from ..state import (
    InstanceRecord,
    JobRecord,
    RunRecord,
    finish_job,
    get_instance,
    get_job,
    get_run,
)
from ..state.claims import claim, release
from ..state.models import JobRow
from .context import PassContext
from .provision import fleet_is_up, instance_for_retry, needs_provisioning, provision_job
from .provisioner import spawn_provisioner


def settle_ended(ctx: PassContext) -> None:
    """Jobs of this host whose supervisor has ended get their recorded end (or `failed`);
    a remote job whose follower died first gets a new follower (the job goes on there)."""
    revive_followers(ctx.state)
    ctx.report.jobs_settled += [j.id for j in reconcile_jobs(ctx.state)]


def start_submitted(ctx: PassContext) -> None:
    """Place and start every submitted job nobody has started yet."""
    ids = claim(ctx.state, JobRow, ctx.owner, now=ctx.now, statuses=[JobStatus.SUBMITTED.value])
    try:
        for job_id in ids:
            _start_one(ctx, job_id)
    finally:
        release(ctx.state, JobRow, ids, ctx.owner)


def _start_one(ctx: PassContext, job_id: str) -> None:
    job = get_job(ctx.state, job_id)
    if job is None or job.status is not JobStatus.SUBMITTED or job.supervisor_pid is not None:
        return  # started already (by an earlier pass, or the supervisor is coming up)
    run = get_run(ctx.state, job.run_id)
    if run is None or run.status.is_finished or run.status is RunStatus.TERMINATING:
        finish_job(ctx.state, job.id, JobTerminationReason.TERMINATED_BY_SERVER)
        return
    ctx.touched_runs.add(run.id)
    instance = get_instance(ctx.state, job.instance_id) if job.instance_id else None
    if instance is not None and needs_provisioning(run):  # a retry on the run's own fleet
        instance = instance_for_retry(ctx, run, job, instance)
    if instance is not None:  # submit put this node on a host of a fleet (`fleets:`, SSH)
        _start(ctx, run, job, instance)
        return
    if needs_provisioning(run):  # a fleet created for the run, on a stack cloud
        _provision(ctx, run, job)
        return
    placed = place_job(ctx.state, run, host=ctx.host)
    if isinstance(placed, NoCapacity):
        finish_job(
            ctx.state,
            job.id,
            JobTerminationReason.FAILED_TO_START_DUE_TO_NO_CAPACITY,
            error=placed.reason,
        )
        ctx.report.jobs_without_capacity.append(job.id)
        return
    _start(ctx, run, job, None)


def _provision(ctx: PassContext, run: RunRecord, job: JobRecord) -> None:
    """Bring the run's fleet up and start the job on it: in a provisioner process (the
    server's way: the pass goes on), or in this pass with a stack engine a test gave."""
    if job.job_num > 0 and not fleet_is_up(ctx.state, run):
        return  # node 0's job brings the fleet up; the other nodes wait, `submitted`
    if ctx.driver_for is not None:
        provision_job(ctx, run, job, ctx.driver_for)
        return
    try:
        spawn_provisioner(ctx.state, job)
    except (OSError, RuntimeError, subprocess.TimeoutExpired) as exc:
        finish_job(ctx.state, job.id, JobTerminationReason.EXECUTOR_ERROR,
                   error=f"provisioning did not start: {exc}")  # fmt: skip
        return
    ctx.report.jobs_started.append(job.id)


def _start(
    ctx: PassContext, run: RunRecord, job: JobRecord, instance: InstanceRecord | None
) -> None:
    started = start_job(
        ctx.state,
        run,
        job_num=job.job_num,
        submission_num=job.submission_num,
        job=job,
        instance=instance,
    )
    if started.status.is_finished:
        ctx.report.errors.append(f"job {job.id} of {run.name}: {started.error}")
    ctx.report.jobs_started.append(job.id)
