"""The fleets step: instances follow the jobs on them (busy while an unfinished job has the
instance, idle from the pass that sees its last job end), then fleets idle past their
idle_duration are destroyed (their stack's destroy runs outside any transaction;
engine/fleets/lifecycle.delete_fleet records each step, so a crash mid-destroy leaves the
fleet `terminating` and the next pass destroys it again: destroy is idempotent)."""

from __future__ import annotations

from ..errors import FleetstackError
from ..fleets.blocks import BLOCKS_BUSY_KEY, Holding, held_count, holdings, total_blocks
from ..fleets.lifecycle import idle_fleets, reap_idle_fleets
from ..fleets.release import partial_releases, release_partially
from ..models.statuses import InstanceStatus
from ..state import (
    FleetStatus,
    InstanceRecord,
    get_job,
    list_fleets,
    list_instances,
    set_instance_status,
    update_instance,
)
from ..state.claims import claim, release
from ..state.models import FleetRow
from .context import PassContext


def follow_jobs_on_instances(ctx: PassContext) -> None:
    """busy <- an unfinished job has the instance (every block of one split into blocks);
    idle (since this pass) <- none has (some of its blocks are free)."""
    instances = list_instances(ctx.state, statuses=[InstanceStatus.IDLE, InstanceStatus.BUSY])
    held = holdings(ctx.state, instances)
    for instance in instances:
        total = total_blocks(instance)
        if total > 1:
            _follow_blocks(ctx, instance, held[instance.id], total)
            continue
        job_id = held[instance.id][-1].job_id if held[instance.id] else None
        if job_id is not None and instance.busy_job_id != job_id:
            set_instance_status(ctx.state, instance.id, InstanceStatus.BUSY, busy_job_id=job_id)
        elif job_id is None and instance.status is InstanceStatus.BUSY and _ended(ctx, instance):
            set_instance_status(ctx.state, instance.id, InstanceStatus.IDLE)
            update_instance(ctx.state, instance.id, idle_since=ctx.now)  # the pass's clock


def _follow_blocks(
    ctx: PassContext, instance: InstanceRecord, held: list[Holding], total: int
) -> None:
    """An instance split into blocks: how many are held (backend_data), busy while all are;
    its idle time starts when the last block is freed."""
    count = min(total, held_count(held))
    data = instance.backend_data or {}
    if data.get(BLOCKS_BUSY_KEY, 0) != count:
        instance = update_instance(
            ctx.state, instance.id, backend_data={**data, BLOCKS_BUSY_KEY: count}
        )
        if count == 0:
            instance = update_instance(ctx.state, instance.id, idle_since=ctx.now)
    holders = [h.job_id for h in held]
    if count == total and instance.busy_job_id not in holders:
        set_instance_status(ctx.state, instance.id, InstanceStatus.BUSY, busy_job_id=holders[0])
    elif count < total and instance.status is InstanceStatus.BUSY:
        set_instance_status(ctx.state, instance.id, InstanceStatus.IDLE)
        update_instance(ctx.state, instance.id, idle_since=ctx.now)


def _ended(ctx: PassContext, instance: InstanceRecord) -> bool:
    """The job the instance is busy with has ended (a mark naming no job row stays: this
    step marks instances only for jobs it sees)."""
    job = get_job(ctx.state, instance.busy_job_id) if instance.busy_job_id else None
    return job is not None and job.status.is_finished


def release_idle(ctx: PassContext) -> None:
    """Destroy the fleets idle past their idle_duration; finish interrupted destroys; take
    fleets that keep nodes (nodes.min > 0) down to nodes.min (engine/fleets/release.py)."""
    due = idle_fleets(ctx.state, now=ctx.now)
    due += [f for f in list_fleets(ctx.state) if f.status is FleetStatus.TERMINATING]
    partial = partial_releases(ctx.state, now=ctx.now)
    if not due and not partial:
        return
    wanted = [f.id for f in due] + [p.fleet.id for p in partial]
    ids = claim(ctx.state, FleetRow, ctx.owner, now=ctx.now, ids=wanted)
    try:
        for shrink in (p for p in partial if p.fleet.id in ids):
            try:
                release_partially(ctx.state, shrink, driver_for=ctx.drivers())
            except FleetstackError as exc:
                ctx.report.errors.append(str(exc))
                continue
            ctx.report.instances_released += [i.name for i in shrink.released]
        mine = [f for f in due if f.id in ids]
        if not mine:
            return
        try:
            released = reap_idle_fleets(ctx.state, driver_for=ctx.drivers(), now=ctx.now, due=mine)
        except FleetstackError as exc:
            ctx.report.errors.append(str(exc))
            return
        ctx.report.fleets_released += released
    finally:
        release(ctx.state, FleetRow, ids, ctx.owner)
