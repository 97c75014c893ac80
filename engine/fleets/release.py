"""Idle release down to nodes.min: a fleet that keeps nodes (`nodes: {min: 1, max: 3}`)
loses only the instances above nodes.min that are idle past its idle_duration.

    for due in partial_releases(state, now=now):
        release_partially(state, due, driver_for=driver_for)
    times = instance_releases(fleet, instances, now)   # what `dstack fleet` shows

A stack's program numbers its nodes 0..N-1, so fewer nodes means the highest-numbered go:
only a run of idle, due instances at the top is released (a busy instance above an idle one
keeps both), and never so many that fewer than nodes.min stay. The release is an `up` of
the stack spec the fleet was applied with (FleetSpec.stack_spec) with the smaller `nodes`,
then the fleet's spec and outputs, then the released rows `terminated` with reason "idle
duration exceeded" (each an event). A crash after the `up` leaves the rows live: the next
pass finds the same instances due and runs the same `up` again, which changes nothing.
A fleet with nodes.min 0 is released whole (engine/fleets/lifecycle.py idle_fleets).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timedelta

from ...stacks.errors import StackError
from ...stacks.spec import StackSpec, stack_spec_from_json
from ..errors import FleetstackError
from ..models.fleets import FleetSpec
from ..models.json import JSONValue
from ..state import (
    FleetRecord,
    FleetStatus,
    InstanceRecord,
    InstanceStatus,
    State,
    get_fleet,
    instances_of_fleet,
    set_instance_status,
    update_fleet,
)
from ..state.fleets import idle_summaries
from .blocks import is_occupied, occupied_instances
from .lifecycle import FleetDriver, fleet_cloud

REASON = "idle duration exceeded"


@dataclass(frozen=True)
class PartialRelease:
    """A fleet that goes down to `keep` nodes, releasing `released` (its highest-numbered)."""

    fleet: FleetRecord
    released: list[InstanceRecord]
    keep: int


@dataclass(frozen=True)
class InstanceRelease:
    """How idle release sees one instance: idle since, released at (None: kept), why kept."""

    idle_since: datetime | None
    released_at: datetime | None
    kept: str = ""  # "nodes.min 1", "idle_duration off", "a higher instance is busy"


def partial_releases(state: State, *, now: datetime) -> list[PartialRelease]:
    """The fleets with nodes.min > 0 that have instances above it idle past idle_duration."""
    found = []
    occupied: set[str] | None = None
    for summary in idle_summaries(state):  # columns only; instances read for candidates
        spec = FleetSpec.of(summary.spec)
        if spec.idle_duration is None or spec.min_nodes <= 0 or spec.stack_spec is None:
            continue
        window = timedelta(seconds=spec.idle_duration)
        if summary.fleet_idle_since is not None and summary.fleet_idle_since + window > now:
            continue  # an instance's idle time counts from the fleet's at the earliest
        fleet = get_fleet(state, summary.fleet_id)
        if fleet is None or fleet.stack_name is None:
            continue
        live = instances_of_fleet(state, fleet.id)
        if len(live) <= spec.min_nodes:
            continue
        if occupied is None:
            occupied = occupied_instances(state)
        times = instance_releases(fleet, live, now, occupied=occupied)
        due = []
        for instance in reversed(live):  # the highest-numbered first
            at = times[instance.id].released_at
            if at is None or at > now:
                break
            due.append(instance)
        if due:
            found.append(PartialRelease(fleet, due[::-1], keep=len(live) - len(due)))
    return found


def release_partially(
    state: State, due: PartialRelease, *, driver_for: Callable[[str], FleetDriver]
) -> None:
    """`up` the fleet's stack with `due.keep` nodes, then record it (outside any transaction:
    the `up` runs first, the rows follow). FleetstackError when the `up` fails (the fleet
    stays as it was; the next pass tries again)."""
    fleet = due.fleet
    spec = FleetSpec.of(fleet.spec)
    assert spec.stack_spec is not None
    cloud = fleet_cloud(fleet)
    try:
        outputs = driver_for(cloud).up(stack_spec_of(spec.stack_spec, nodes=due.keep))
    except StackError as exc:
        raise FleetstackError(
            f"fleet {fleet.name}: releasing {len(due.released)} idle instance(s) failed: {exc}"
        ) from None
    stack: dict[str, JSONValue] = {**spec.stack_spec, "nodes": due.keep}
    kept = spec.model_copy(update={"nodes": due.keep, "stack_spec": stack})
    update_fleet(state, fleet.id, spec=kept.model_dump(mode="json"), stack_outputs=asdict(outputs))
    for instance in due.released:
        set_instance_status(
            state, instance.id, InstanceStatus.TERMINATED, termination_reason=REASON
        )


def instance_releases(
    fleet: FleetRecord,
    instances: list[InstanceRecord],
    now: datetime,
    *,
    occupied: set[str] | None = None,
) -> dict[str, InstanceRelease]:
    """Each live instance's idle time and when it is released, or why it is kept (a fleet
    with nodes.min > 0; engine/fleets/lifecycle.release_at says it for a whole fleet).
    `occupied`: the ids of instances an unfinished job holds (else read from the rows)."""
    spec = FleetSpec.of(fleet.spec)
    live = sorted(
        (i for i in instances if i.status is not InstanceStatus.TERMINATED),
        key=lambda i: i.instance_num,
    )
    result: dict[str, InstanceRelease] = {}
    later: datetime | None = now  # when every higher-numbered instance is gone
    for position in range(len(live) - 1, -1, -1):
        instance = live[position]
        busy = is_occupied(instance) or (occupied is not None and instance.id in occupied)
        since = None if busy else _since(fleet, instance)
        if fleet.status is not FleetStatus.ACTIVE or busy or since is None:
            result[instance.id] = InstanceRelease(since, None, "")
            later = None
            continue
        if spec.idle_duration is None:
            result[instance.id] = InstanceRelease(since, None, "idle_duration off")
        elif position < spec.min_nodes:
            result[instance.id] = InstanceRelease(since, None, f"nodes.min {spec.min_nodes}")
        elif later is None:
            result[instance.id] = InstanceRelease(since, None, "a higher instance is busy")
        else:
            later = max(later, since + timedelta(seconds=spec.idle_duration))
            result[instance.id] = InstanceRelease(since, later)
    return result


def stack_spec_of(stored: dict[str, JSONValue], *, nodes: int) -> StackSpec:
    """The StackSpec a fleet was applied with (FleetSpec.stack_spec), with `nodes` nodes."""
    return replace(stack_spec_from_json(dict(stored)), nodes=nodes)


def _since(fleet: FleetRecord, instance: InstanceRecord) -> datetime | None:
    times = [t for t in (instance.idle_since, fleet.idle_since) if t is not None]
    return max(times, default=None)
