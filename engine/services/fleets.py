"""Fleets as use cases: apply a plan's fleet, delete, cancel a stuck update, list, reap idle.

Each function opens the state itself; what a crash leaves behind is said by
engine/fleets/lifecycle.py (the fleet row is written before its stack's `up`).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from typing import Protocol

from ..backends.base import Capability
from ..backends.config import load_backends_config
from ..backends.registry import get_backend, names_with
from ..config import FleetConfiguration
from ..errors import FleetstackError
from ..fleets.failover import Attempt, apply_with_failover, failover_offers
from ..fleets.lifecycle import (
    apply_fleet,
    delete_fleet,
    find_fleet,
    fleet_cloud,
    idle_fleets,
    reap_idle_fleets,
    record_empty_fleet,
)
from ..fleets.ssh import register_ssh_fleet
from ..fleets.stacks import min_nodes, stack_engine_for
from ..fleets.update import applied_from
from ..fleets.usage import runs_using
from ..models.fleets import FleetSpec
from ..models.plan import Plan, ResourcePlan
from ..runs.control import stop_run
from ..state import (
    FleetRecord,
    InstanceRecord,
    RunRecord,
    instances_of_fleet,
    list_fleets,
    open_state,
)


class ApplyProgress(Protocol):
    """What the caller shows while a fleet is provisioned."""

    def provisioning(self, rp: ResourcePlan) -> None:
        """The stack's `up` starts now."""

    def stack_output(self, line: str) -> None:
        """One line of Pulumi's output."""

    def attempt(self, attempt: Attempt, of: int) -> None:
        """Attempt `attempt.number` of `of` ended (failed over when it has an error)."""


@dataclass(frozen=True)
class FleetApplied:
    fleet: FleetRecord
    instances: list[InstanceRecord]
    failures: list[str] = field(default_factory=list)  # SSH hosts that did not join, and why


@dataclass(frozen=True)
class FleetListing:
    fleet: FleetRecord
    spec: FleetSpec
    instances: list[InstanceRecord]


@dataclass(frozen=True)
class IdleReaping:
    reaped: list[str]  # fleets whose stacks were destroyed now
    blocked: bool  # some fleets are due but the Pulumi CLI is missing


def apply_fleet_plan(plan: Plan, progress: ApplyProgress) -> FleetApplied:
    """Create the plan's fleet: a record for an elastic fleet with no node yet, else `up`
    of the stack planned in plan.resource_plan, then its instances."""
    configuration = plan.configuration
    assert isinstance(configuration, FleetConfiguration)
    if configuration.ssh_config is not None:
        registered = register_ssh_fleet(open_state(), configuration, name=plan.run_name)
        return FleetApplied(registered.fleet, registered.instances, registered.failures)
    rp = plan.resource_plan
    change = plan.fleet_change
    if change is not None and change.action == "none":  # the file is what was applied
        state = open_state()
        fleet = find_fleet(state, plan.run_name)
        return FleetApplied(fleet, instances_of_fleet(state, fleet.id))
    if change is not None and change.action == "recreate":
        delete(plan.run_name, reason="re-created from its configuration")
    if rp is None and plan.is_empty_fleet:
        fleet = record_empty_fleet(open_state(), plan.run_name, spec=_empty_fleet_spec(plan))
        return FleetApplied(fleet, [])
    if rp is None:
        *clouds, last = names_with(Capability.STACK)
        raise FleetstackError(
            f"{plan.configuration_path}: a fleet needs a cloud offer ({', '.join(clouds)} or "
            f"{last}); the local machine is already a fleet of one. Set `backends:` in the file"
        )
    config = load_backends_config()
    stack_engine_for(rp.offer.backend, config).ensure_ready()
    state = open_state()
    progress.provisioning(rp)
    if change is not None and change.action == "update":
        # in place: no failover, which destroys what a failed `up` left (the live instances)
        fleet = apply_fleet(state, rp, driver=stack_engine_for(rp.offer.backend, config),
                            on_output=progress.stack_output,
                            idle_duration=configuration.idle_duration,
                            applied=applied_from(configuration, rp.spec))  # fmt: skip
        return FleetApplied(fleet, instances_of_fleet(state, fleet.id))
    tried = len(failover_offers(plan, rp.offer))
    fleet = apply_with_failover(
        state,
        plan,
        rp,
        driver_for=lambda cloud: stack_engine_for(cloud, config),
        config=config,
        on_attempt=lambda attempt: progress.attempt(attempt, tried),
        on_output=progress.stack_output,
        idle_duration=configuration.idle_duration,
        min_nodes=min_nodes(configuration.nodes),
        applied_for=lambda spec: applied_from(configuration, spec),
    )
    return FleetApplied(fleet, instances_of_fleet(state, fleet.id))


def check_fleet(name: str) -> FleetRecord:
    """The live fleet called `name`; FleetstackError when there is none."""
    return find_fleet(open_state(), name)


def get(name: str) -> FleetListing:
    """The live fleet called `name` with its spec and live instances; FleetstackError if none."""
    state = open_state()
    fleet = find_fleet(state, name)
    return FleetListing(fleet, FleetSpec.of(fleet.spec), instances_of_fleet(state, fleet.id))


def delete_instance(name: str, num: int) -> None:
    """`dstack fleet delete NAME -i N`: refused, saying why for the instance's backend.

    No backend has Capability.INSTANCE_DELETE yet (tests/engine/backends/test_registry.py
    says so): the backend that gains it brings its verb here."""
    listing = get(name)
    instance = next((i for i in listing.instances if i.instance_num == num), None)
    if instance is None:
        nums = ", ".join(str(i.instance_num) for i in listing.instances)
        has = f"its instances are {nums}" if nums else "it has none yet"
        raise FleetstackError(f"fleet {name} has no instance {num}: {has} (see `dstack fleet`)")
    backend = get_backend(instance.backend)
    raise FleetstackError(
        f"fleet {name}: instance {num} cannot be deleted alone on {backend.name}: "
        f"{backend.reason(Capability.INSTANCE_DELETE)}; delete the whole fleet with "
        f"`dstack fleet delete {name}`"
    )


def check_deletable(name: str, *, force: bool = False) -> list[RunRecord]:
    """The runs using the live fleet `name` (stopped first by a forced delete); without
    `force`, FleetstackError naming them when there are any."""
    state = open_state()
    users = runs_using(state, find_fleet(state, name))
    if users and not force:
        names = ", ".join(f"{r.name} ({r.status.value})" for r in users)
        them = "them" if len(users) > 1 else "it"
        raise FleetstackError(
            f"fleet {name} is in use by {names}: stop {them} first "
            f"(`dstack stop {users[0].name}`), or delete with --force, which stops {them} first"
        )
    return users


def delete(name: str, *, force: bool = False, reason: str = "deleted by user") -> FleetRecord:
    """Destroy the fleet's stack and forget the fleet; returns it as terminated. Refused
    while runs use the fleet; `force` stops them first (check_deletable)."""
    config = load_backends_config()
    state = open_state()
    for run in check_deletable(name, force=force):
        stop_run(state, run.name)
    return delete_fleet(
        state, name, driver_for=lambda cloud: stack_engine_for(cloud, config), reason=reason
    )


def cancel(name: str) -> None:
    """Cancel a stuck update of the fleet's stack and release its lock."""
    fleet = find_fleet(open_state(), name)
    cloud = fleet_cloud(fleet)
    stack_engine_for(cloud, load_backends_config()).cancel(fleet.project, fleet.name, cloud)


def reap_idle() -> IdleReaping:
    """Destroy the stacks of fleets idle past their idle_duration (needs the Pulumi CLI)."""
    state = open_state()
    due = idle_fleets(state)
    if not due:
        return IdleReaping([], blocked=False)
    if shutil.which("pulumi") is None:
        return IdleReaping([], blocked=True)
    config = load_backends_config()
    reaped = reap_idle_fleets(state, driver_for=lambda c: stack_engine_for(c, config), due=due)
    return IdleReaping(reaped, blocked=False)


def listing(*, include_finished: bool) -> list[FleetListing]:
    """Fleets (oldest first) with their spec and instances."""
    state = open_state()
    return [
        FleetListing(
            fleet,
            FleetSpec.of(fleet.spec),
            instances_of_fleet(state, fleet.id, include_terminated=include_finished),
        )
        for fleet in list_fleets(state, include_finished=include_finished)
    ]


def _empty_fleet_spec(plan: Plan) -> FleetSpec:
    configuration = plan.configuration
    assert isinstance(configuration, FleetConfiguration)
    nodes = configuration.nodes
    return FleetSpec.model_validate(
        {
            "nodes": 0,
            "max_nodes": None if isinstance(nodes, int) or nodes is None else nodes.max,
            "idle_duration": configuration.idle_duration,
            "resources": plan.requirements.resources.pretty(),
            **applied_from(configuration, None),
        }
    )
