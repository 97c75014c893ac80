"""The provisioning step: a submitted job of a run whose plan chose a stack cloud's offer.

    provision_job(ctx, run, job)    # called by the jobs step for such a job

The run's fleet (engine/fleets/for_run.py) is brought up once, by its first job: the job
moves to `provisioning` with this process as its supervisor (a reconciler that dies here
leaves a job the next pass settles as "supervisor vanished", then retried or failed), the
fleet row and its stack name are written before `up` (engine/fleets/lifecycle.apply_fleet),
and the plan's offers are tried in turn while `up` finds no capacity
(engine/fleets/failover.apply_attempts). Then the job's instance (node N of the fleet for
job N) is waited for: SSH with the project key, then cloud-init's own verdict
(engine/fleets/boot.py). With an `image:`, the job is `pulling` while the image comes to
the instance. The job is then started over SSH exactly as on an SSH fleet.

Each step is written to the job's provision.log, which an attached `dstack apply` shows.
A fleet whose provisioning failed is destroyed at once (nothing of a failed run is left
running); a run-created fleet whose run ended before its instances were ready is released
by abandoned_fleets.
"""

from __future__ import annotations

import os
import shlex
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

from ...stacks.spec import StackSpec
from ..errors import FleetstackError
from ..fleets.boot import OUTPUT_TAIL_COMMAND, STATUS_COMMAND, boot_error, parse_status
from ..fleets.failover import Attempt, apply_attempts
from ..fleets.for_run import Provision, provision_of
from ..fleets.lifecycle import FleetDriver, delete_fleet
from ..fleets.placement import node_addresses
from ..models.fleets import FleetSpec
from ..models.json import JSONObject, json_object
from ..models.runs import RunSpec
from ..models.statuses import FleetStatus, InstanceStatus, JobStatus, JobTerminationReason
from ..remote.connection import Connection, SSHError, forget_host_key
from ..remote.start import instance_target
from ..runner.jobcontrol import answer_for
from ..runner.jobfiles import PROVISION_LOG
from ..runs.jobs import with_node_addresses
from ..runs.starter import start_job
from ..state import (
    FleetRecord,
    InstanceRecord,
    JobRecord,
    RunRecord,
    State,
    finish_job,
    get_fleet,
    get_fleet_by_name,
    get_job,
    instances_of_fleet,
    jobs_of_run,
    list_fleets,
    list_runs,
    set_job_status,
    update_run,
)
from .context import PassContext

BOOT_TIMEOUT_ENV = "FLEETSTACK_BOOT_TIMEOUT"
BOOT_TIMEOUT_SECONDS = 600.0  # SSH and cloud-init must answer within this after `up`
_SSH_RETRY_SECONDS = 2.0
PULL_TIMEOUT_SECONDS = 1800.0
_UP_OR_GOING = (FleetStatus.ACTIVE, FleetStatus.TERMINATING)
_LOST = (JobTerminationReason.INSTANCE_UNREACHABLE, JobTerminationReason.INTERRUPTED_BY_NO_CAPACITY)


def needs_provisioning(run: RunRecord) -> bool:
    return RunSpec.of(run.run_spec).provision is not None


def provision_job(
    ctx: PassContext, run: RunRecord, job: JobRecord, driver_for: Callable[[str], FleetDriver]
) -> None:
    """Bring up the run's fleet when it has none yet, wait for the job's instance, start the
    job on it over SSH. A failure ends the job with the reason (no capacity: the run's
    retry decides)."""
    provision = provision_of(RunSpec.of(run.run_spec).provision)
    if provision is None or not provision.stacks:
        finish_job(ctx.state, job.id, JobTerminationReason.EXECUTOR_ERROR,
                   error="the run's fleet has no stack to bring up")  # fmt: skip
        return
    log = ProvisionLog(Path(job.job_dir) if job.job_dir else None)
    if job.status is JobStatus.TERMINATING or job.status.is_finished:
        _stopped(ctx.state, job)
        return
    answer_for(ctx.state, job.id)
    job = set_job_status(ctx.state, job.id, JobStatus.PROVISIONING)
    fleet = run_fleet(ctx.state, run, provision)
    if fleet is None:
        try:
            fleet = _bring_up(ctx.state, run, provision, driver_for, log)
        except FleetstackError as exc:
            _failed(ctx.state, job, provision, driver_for, log, str(exc))
            return
    run = _with_fleet_addresses(ctx.state, run, fleet)
    instance = _instance_for(ctx.state, fleet, job.job_num)
    if instance is None:
        _failed(ctx.state, job, provision, driver_for, log,
                f"fleet {fleet.name} has no node {job.job_num}")  # fmt: skip
        return
    try:
        wait_until_ready(instance, log, still_wanted=lambda: _provisioning(ctx.state, job.id))
    except StoppedMeanwhile:
        _stopped(ctx.state, get_job(ctx.state, job.id))
        return
    except FleetstackError as exc:
        _failed(ctx.state, job, provision, driver_for, log, str(exc))
        return
    job_spec = RunSpec.of(run.run_spec).job
    if job_spec is not None and job_spec.image:
        try:
            pull_image(ctx.state, job, instance, job_spec.image, log)
        except FleetstackError as exc:
            log.say(str(exc))  # the instance stays: it idles, and is released or reused
            finish_job(ctx.state, job.id, JobTerminationReason.CREATING_CONTAINER_ERROR,
                       error=str(exc))  # fmt: skip
            return
    current = get_job(ctx.state, job.id)
    if current is None or current.status not in (JobStatus.PROVISIONING, JobStatus.PULLING):
        _stopped(ctx.state, current)  # the instance idles, and is released after idle_duration
        return
    log.say(f"starting the job on {instance.name} over SSH")
    started = start_job(ctx.state, run, job_num=job.job_num, submission_num=job.submission_num,
                        job=current, instance=instance)  # fmt: skip
    if started.status.is_finished:
        ctx.report.errors.append(f"job {job.id} of {run.name}: {started.error}")
    ctx.report.jobs_started.append(job.id)


def instance_for_retry(
    ctx: PassContext, run: RunRecord, job: JobRecord, instance: InstanceRecord
) -> InstanceRecord | None:
    """The instance of the run's fleet a retry goes back to; None when the fleet must come
    up again: the instance is gone, or the previous submission lost it (a spot interruption,
    an instance that stopped answering), and then that fleet is destroyed first."""
    if instance.status.is_finished:
        return None
    previous = [
        j
        for j in jobs_of_run(ctx.state, run.id)
        if j.job_num == job.job_num and j.submission_num == job.submission_num - 1
    ]
    if not previous or previous[0].termination_reason not in _LOST:
        return instance
    fleet = get_fleet(ctx.state, instance.fleet_id)
    if (
        fleet is not None
        and not fleet.status.is_finished
        and (FleetSpec.of(fleet.spec).run_id == run.id)
    ):
        try:
            delete_fleet(ctx.state, fleet.name, driver_for=ctx.drivers(), project=fleet.project,
                         reason="its instance was lost (interruption)")  # fmt: skip
        except FleetstackError as exc:
            ctx.report.errors.append(str(exc))
    return None


def fleet_is_up(state: State, run: RunRecord) -> bool:
    """Whether the run's fleet is active (brought up by node 0's job)."""
    provision = provision_of(RunSpec.of(run.run_spec).provision)
    return provision is not None and run_fleet(state, run, provision) is not None


def run_fleet(state: State, run: RunRecord, provision: Provision) -> FleetRecord | None:
    """The run's active fleet (brought up by an earlier job or submission of the run)."""
    fleet = get_fleet_by_name(state, provision.fleet)
    if fleet is None or fleet.status is not FleetStatus.ACTIVE:
        return None
    return fleet if FleetSpec.of(fleet.spec).run_id == run.id else None


def abandoned_fleets(ctx: PassContext) -> None:
    """Destroy the fleets created for runs that ended while their fleet was not active yet
    (a reconciler killed during `up`): no stack is left without a run that needs it."""
    coming_up = [s for s in FleetStatus if not s.is_finished and s not in _UP_OR_GOING]
    waiting = [
        f
        for f in list_fleets(ctx.state, statuses=coming_up)
        if FleetSpec.of(f.spec).run_id is not None
    ]
    if not waiting:
        return
    live_runs = {r.id for r in list_runs(ctx.state, include_finished=False)}
    driver_for = ctx.drivers()
    for fleet in waiting:
        if FleetSpec.of(fleet.spec).run_id in live_runs:
            continue
        try:
            delete_fleet(ctx.state, fleet.name, driver_for=driver_for, project=fleet.project,
                         reason="its run ended before the fleet was ready")  # fmt: skip
        except FleetstackError as exc:
            ctx.report.errors.append(str(exc))
            continue
        ctx.report.fleets_released.append(fleet.name)


class StoppedMeanwhile(Exception):
    """The job was stopped while its instance was waited for."""


def wait_until_ready(
    instance: InstanceRecord,
    log: ProvisionLog,
    *,
    still_wanted: Callable[[], bool] = lambda: True,
) -> None:
    """SSH answers with the project key and cloud-init has finished; FleetstackError with
    cloud-init's own error when it failed, or when the instance is not reachable in time;
    StoppedMeanwhile as soon as `still_wanted()` says no (asked between SSH attempts)."""
    try:
        target = instance_target(instance)
    except ValueError:
        raise FleetstackError(
            f"instance {instance.name}: its stack exported no address to reach it over SSH"
        ) from None
    forget_host_key(target)  # a new machine: an earlier one at this address had another key
    log.say(f"waiting for {instance.name} ({target.name}): SSH, then cloud-init")
    deadline = time.monotonic() + float(os.environ.get(BOOT_TIMEOUT_ENV) or BOOT_TIMEOUT_SECONDS)
    last = ""
    while True:
        try:
            with Connection(target) as conn:
                remaining = max(1.0, deadline - time.monotonic())
                result = conn.run(STATUS_COMMAND, timeout=remaining)
                status = parse_status(result.text())
                if status.failed:
                    tail = conn.run(OUTPUT_TAIL_COMMAND, timeout=30.0).text()
                    raise FleetstackError(boot_error(instance.name, status, tail))
                log.say(f"{instance.name} is ready (cloud-init: {status.status})")
                return
        except SSHError as exc:
            last = str(exc)
        if not still_wanted():
            raise StoppedMeanwhile
        if time.monotonic() >= deadline:
            raise FleetstackError(
                f"instance {instance.name} did not answer over SSH in time: {last}"
            )
        time.sleep(_SSH_RETRY_SECONDS)


def pull_image(
    state: State, job: JobRecord, instance: InstanceRecord, image: str, log: ProvisionLog
) -> None:
    """The job is `pulling` while its image comes to the instance (docker's own error when
    it cannot); an image the instance has already is not pulled again."""
    current = get_job(state, job.id)
    if current is None or current.status is not JobStatus.PROVISIONING:
        return  # stopped meanwhile
    set_job_status(state, job.id, JobStatus.PULLING)
    log.say(f"pulling {image} on {instance.name}")
    quoted = shlex.quote(image)
    command = (
        "d=docker; $d info >/dev/null 2>&1 || d='sudo -n docker'; "
        f"if $d image inspect {quoted} >/dev/null 2>&1; then echo present; "
        f"else $d pull --quiet {quoted} 2>&1 && echo pulled; fi"
    )
    with Connection(instance_target(instance)) as conn:
        result = conn.run(command, timeout=PULL_TIMEOUT_SECONDS)
    said = result.text().strip().splitlines()
    if result.returncode != 0:
        raise FleetstackError(
            f"pulling {image} on {instance.name} failed: {said[-1] if said else 'no output'}"
        )
    log.say(f"{image}: {'already on the instance' if said[-1:] == ['present'] else 'pulled'}")


class ProvisionLog:
    """The job's provision.log: one line per step, with the seconds since provisioning began."""

    def __init__(self, job_dir: Path | None) -> None:
        self.path = job_dir / PROVISION_LOG if job_dir is not None else None
        self.started = time.monotonic()

    def say(self, line: str) -> None:
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        elapsed = time.monotonic() - self.started
        with open(self.path, "a") as f:
            f.write(f"[{elapsed:6.1f}s] {line.rstrip()}\n")

    def attempt(self, attempt: Attempt) -> None:
        offer = attempt.offer
        where = f"{offer.backend} {offer.region} {offer.instance_type}"
        if attempt.error is None:
            self.say(f"attempt {attempt.number}: {where}: up")
        else:
            self.say(f"attempt {attempt.number}: {where}: {attempt.error}; trying the next offer")


def _bring_up(
    state: State,
    run: RunRecord,
    provision: Provision,
    driver_for: Callable[[str], FleetDriver],
    log: ProvisionLog,
) -> FleetRecord:
    _, first = provision.stacks[0]
    taken = get_fleet_by_name(state, provision.fleet)
    if (
        taken is not None
        and not taken.status.is_finished
        and (FleetSpec.of(taken.spec).run_id != run.id)
    ):
        raise FleetstackError(
            f"a fleet named {provision.fleet} was created after the run was submitted; "
            "apply the run again (its fleet then gets another name)"
        )
    log.say(f"creating fleet {provision.fleet} for run {run.name}: stack {first.stack_name}")

    def applied_for(spec: StackSpec) -> JSONObject:
        return {"run_id": run.id, "stack_spec": json_object(asdict(spec))}

    return apply_attempts(state, provision.resource_plans(), driver_for=driver_for,
                          on_attempt=log.attempt, on_output=log.say,
                          idle_duration=provision.idle_duration,
                          applied_for=applied_for)  # fmt: skip


def _with_fleet_addresses(state: State, run: RunRecord, fleet: FleetRecord) -> RunRecord:
    """The run, its job's env naming the fleet's nodes (recorded once per fleet: every
    node's job, and a retry on the same fleet, read it from the run)."""
    spec = RunSpec.of(run.run_spec)
    nodes = sorted(
        (i for i in instances_of_fleet(state, fleet.id) if not i.status.is_finished),
        key=lambda i: i.instance_num,
    )
    if spec.job is None or not nodes:
        return run
    job = with_node_addresses(spec.job, node_addresses(nodes))
    if job == spec.job:
        return run
    spec.job = job
    return update_run(state, run.id, run_spec=spec.model_dump(mode="json"))


def _instance_for(state: State, fleet: FleetRecord, node: int) -> InstanceRecord | None:
    for instance in instances_of_fleet(state, fleet.id):
        if instance.instance_num == node and instance.status in (
            InstanceStatus.IDLE,
            InstanceStatus.BUSY,
        ):
            return instance
    return None


def _provisioning(state: State, job_id: str) -> bool:
    job = get_job(state, job_id)
    return job is not None and job.status is JobStatus.PROVISIONING


def _stopped(state: State, job: JobRecord | None) -> None:
    """A job stopped while its fleet came up ends as its stop asked (terminated)."""
    if job is not None and job.status is JobStatus.TERMINATING:
        finish_job(state, job.id, job.termination_reason or JobTerminationReason.TERMINATED_BY_USER)


def _failed(
    state: State,
    job: JobRecord,
    provision: Provision,
    driver_for: Callable[[str], FleetDriver],
    log: ProvisionLog,
    error: str,
) -> None:
    """End the job with `error`; destroy the run's fleet, so nothing of it keeps running."""
    first_line = error.strip().splitlines()[0] if error.strip() else error
    log.say(f"provisioning failed: {error}")
    fleet = get_fleet_by_name(state, provision.fleet)
    ours = fleet is not None and FleetSpec.of(fleet.spec).run_id == job.run_id
    if fleet is not None and ours and not fleet.status.is_finished:
        try:
            delete_fleet(state, fleet.name, driver_for=driver_for, project=fleet.project,
                         reason="provisioning failed")  # fmt: skip
        except FleetstackError as exc:
            log.say(f"destroying fleet {fleet.name} failed: {exc}")
    reason = (
        JobTerminationReason.FAILED_TO_START_DUE_TO_NO_CAPACITY
        if first_line.startswith("no capacity")
        else JobTerminationReason.EXECUTOR_ERROR
    )
    finish_job(state, job.id, reason, error=f"provisioning failed: {first_line}")
