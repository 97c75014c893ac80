"""Orphans: what fleetstack created in a cloud that no fleet accounts for any more.

- an orphan stack is a fleet stack of the project in a state backend that no live fleet row
  names (a crash between `up` and recording, a row deleted by hand, a destroy that failed
  after its fleet was marked terminated);
- an orphan instance is a live cloud instance tagged owner=fleetstack and project=PROJECT
  that no stack's outputs list, unless its fleet is being brought up right now (its stack has
  not written its outputs yet).

Only resources tagged with the project are ever looked at, so another project's (or another
tool's) resources are never touched. Deleting destroys an orphan stack through its engine and
terminates an orphan instance through its backend.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from ...stacks.engine import StackEngine, StackRef
from ..backends.base import TaggedInstance
from ..models.statuses import FleetStatus
from ..state import FleetRecord

InstanceLister = Callable[[str], list[TaggedInstance]]  # project -> its tagged instances


@dataclass(frozen=True)
class Orphan:
    """One orphaned stack or instance, and why it is one."""

    kind: Literal["stack", "instance"]
    name: str  # the stack's name, or the instance id
    cloud: str
    fleet: str
    region: str
    why: str
    stack: StackRef | None = None
    instance: TaggedInstance | None = None


def orphan_stacks(
    refs: Sequence[StackRef], fleets: Sequence[FleetRecord], project: str
) -> list[Orphan]:
    """The project's stacks in `refs` that no live fleet row (of `fleets`) names."""
    live = {f.stack_name for f in fleets if f.stack_name and not f.status.is_finished}
    ended = {f.stack_name: f for f in fleets if f.stack_name and f.status.is_finished}
    found = []
    for ref in sorted(refs, key=lambda r: r.name):
        if ref.project != project or ref.name in live:
            continue
        fleet = ended.get(ref.name)
        why = (
            f"its fleet is {fleet.status.value}, but the stack was not destroyed"
            if fleet is not None
            else "no fleet of this project names it"
        )
        found.append(Orphan("stack", ref.name, ref.cloud, ref.fleet, "", why, stack=ref))
    return found


def orphan_instances(
    instances: Sequence[TaggedInstance],
    owned_ids: set[str],
    fleets: Sequence[FleetRecord],
    project: str,
    cloud: str,
) -> list[Orphan]:
    """The project's tagged `instances` no stack owns (`owned_ids`: every stack's instance ids),
    leaving out those of fleets being brought up now."""
    coming_up = {f.name for f in fleets if f.status is FleetStatus.SUBMITTED}
    found = []
    for instance in sorted(instances, key=lambda i: (i.region, i.instance_id)):
        if instance.project != project or instance.instance_id in owned_ids:
            continue
        if instance.fleet in coming_up:
            continue
        why = f"tagged fleet={instance.fleet or '?'}, and no stack lists it ({instance.state})"
        found.append(
            Orphan(
                "instance",
                instance.instance_id,
                cloud,
                instance.fleet,
                instance.region,
                why,
                instance=instance,
            )
        )
    return found


def owned_instance_ids(refs: Sequence[StackRef], engines: Mapping[str, StackEngine]) -> set[str]:
    """Every instance id the outputs of the stacks in `refs` list."""
    owned: set[str] = set()
    for ref in refs:
        engine = engines.get(ref.cloud)
        outputs = engine.outputs(ref.project, ref.fleet, ref.cloud) if engine else None
        if outputs is not None:
            owned.update(outputs.instance_ids)
    return owned


def list_stack_refs(engines: Mapping[str, StackEngine]) -> list[StackRef]:
    """The stacks of every engine, once each (clouds may share one state backend)."""
    seen: dict[str, StackRef] = {}
    for engine in engines.values():
        for ref in engine.list_stacks():
            seen.setdefault(ref.name, ref)
    return list(seen.values())
