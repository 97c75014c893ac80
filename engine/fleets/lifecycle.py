"""Fleet lifecycle on Pulumi stacks: apply (up), delete (destroy), idle reaping, listing.
The `fleets.spec` column is a FleetSpec (engine/models/fleets.py), whoever writes it.

Order matters for a crash at any point: the fleet row (with its stack name) is written before
`stack.up()` starts, so a fleet whose up was interrupted is listed and can be deleted, which
destroys whatever the stack created. No network call runs inside a database transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import Protocol

from ...stacks.driver import StackOutputs
from ...stacks.errors import StackError
from ...stacks.spec import StackSpec
from ..errors import FleetstackError
from ..models.fleets import FleetSpec
from ..models.json import JSONObject
from ..models.offers import Offer
from ..models.plan import ResourcePlan
from ..state import (
    FleetRecord,
    FleetStatus,
    InstanceRecord,
    InstanceStatus,
    State,
    create_fleet,
    create_instance,
    get_fleet,
    get_fleet_by_name,
    instances_of_fleet,
    set_fleet_status,
    set_instance_status,
    update_fleet,
)
from ..state.fleets import idle_summaries
from .blocks import BLOCKS_KEY, OFFER_RESOURCES_KEY, is_occupied, occupied_instances
from .stacks import DEFAULT_PROJECT


class FleetDriver(Protocol):
    """What the lifecycle asks of a stack engine (stacks.engine.StackEngine; doubles in tests)."""

    def ensure_ready(self) -> None:
        """StackError with the fix when the engine cannot run here (no `pulumi` CLI)."""

    def up(self, spec: StackSpec, on_output: Callable[[str], None] | None = None) -> StackOutputs:
        """Create or update the fleet's stack; its outputs."""

    def destroy(self, project: str, fleet: str, cloud: str) -> None:
        """Destroy the fleet's stack (idempotent)."""


def apply_fleet(
    state: State,
    rp: ResourcePlan,
    *,
    driver: FleetDriver,
    on_output: Callable[[str], None] | None = None,
    idle_duration: int | None = None,
    min_nodes: int = 0,
    applied: JSONObject | None = None,
) -> FleetRecord:
    """Create or update the fleet's stack (`up`), then record its instances; returns the fleet.

    `applied` (engine/fleets/update.py applied_from) is recorded in the fleet's spec, so the
    next apply of the same file compares with it.

    The engine (the Pulumi CLI) is checked before anything is recorded. A failed up leaves the fleet
    `failed` with the reason; `dstack fleet delete NAME` destroys what was created.
    """
    driver.ensure_ready()
    spec, offer = rp.spec, rp.offer
    record = FleetSpec(
        cloud=spec.cloud,
        region=spec.region,
        instance_type=spec.instance_type,
        nodes=spec.nodes,
        spot=spec.spot,
        price=offer.price,
        idle_duration=idle_duration,
        min_nodes=min_nodes,
        resources=offer.resources_text(),
    ).model_dump(mode="json") | (applied or {})
    fleet = get_fleet_by_name(state, spec.fleet, spec.project)
    if fleet is None or fleet.status.is_finished:
        fleet = create_fleet(
            state,
            name=spec.fleet,
            project=spec.project,
            spec=record,
            backend=spec.cloud,
            stack_name=spec.stack_name,
        )
    else:
        fleet = update_fleet(state, fleet.id, spec=record, stack_name=spec.stack_name)
    try:
        outputs = driver.up(spec, on_output=on_output)
    except StackError as exc:
        set_fleet_status(state, fleet.id, FleetStatus.FAILED, message=str(exc))
        raise FleetstackError(
            f"{exc}\nfleet {spec.fleet} is marked failed; `dstack fleet delete {spec.fleet}` "
            "destroys whatever its stack created"
        ) from None
    for old in instances_of_fleet(state, fleet.id):
        set_instance_status(state, old.id, InstanceStatus.TERMINATED, termination_reason="replaced")
    for num, instance_id in enumerate(outputs.instance_ids):
        create_instance(
            state,
            fleet.id,
            name=f"{spec.fleet}-{num}",
            instance_num=num,
            backend=spec.cloud,
            region=spec.region,
            instance_type=spec.instance_type,
            spot=spec.spot,
            price=offer.price,
            backend_data=_instance_data(instance_id, offer, applied),
            hostname=_at(outputs.public_ips, num),
            internal_ip=_at(outputs.private_ips, num),
            ssh_user=outputs.ssh_user or None,
            ssh_port=22,
            status=InstanceStatus.IDLE,
        )
    update_fleet(state, fleet.id, stack_outputs=asdict(outputs), idle_since=_now())
    return set_fleet_status(state, fleet.id, FleetStatus.ACTIVE, message="")


def record_empty_fleet(state: State, name: str, *, spec: FleetSpec) -> FleetRecord:
    """An elastic fleet (`nodes: 0..N`) that owns no instance yet: a record, no stack."""
    stored = spec.model_dump(mode="json")
    fleet = get_fleet_by_name(state, name)
    if fleet is not None and not fleet.status.is_finished:
        return update_fleet(state, fleet.id, spec=stored)
    return create_fleet(state, name=name, spec=stored, status=FleetStatus.ACTIVE)


def find_fleet(state: State, name: str, project: str = DEFAULT_PROJECT) -> FleetRecord:
    """The live fleet called `name`, or a FleetstackError a user can act on."""
    fleet = get_fleet_by_name(state, name, project)
    if fleet is None or fleet.status is FleetStatus.TERMINATED:
        raise FleetstackError(f"fleet {name} not found; `dstack fleet` lists fleets")
    return fleet


def fleet_cloud(fleet: FleetRecord) -> str:
    """The cloud of the fleet's stack (aws, gcp, azure); "" for a fleet that never had one."""
    return FleetSpec.of(fleet.spec).cloud or fleet.backend or ""


def delete_fleet(
    state: State,
    name: str,
    *,
    driver_for: Callable[[str], FleetDriver],
    project: str = DEFAULT_PROJECT,
    reason: str = "deleted by user",
) -> FleetRecord:
    """Destroy the fleet's stack (idempotent) and mark the fleet and its instances terminated."""
    fleet = find_fleet(state, name, project)
    if fleet.status is not FleetStatus.TERMINATING:
        fleet = set_fleet_status(state, fleet.id, FleetStatus.TERMINATING, message=reason)
    cloud = fleet_cloud(fleet)
    try:
        if fleet.stack_name is not None:  # an elastic fleet that never had instances has none
            driver_for(cloud).destroy(fleet.project, fleet.name, cloud)
    except StackError as exc:
        raise FleetstackError(
            f"{exc}\nfleet {name} stays `terminating`; run `dstack fleet delete {name}` again"
        ) from None
    for instance in instances_of_fleet(state, fleet.id):
        set_instance_status(
            state, instance.id, InstanceStatus.TERMINATED, termination_reason=reason
        )
    return set_fleet_status(state, fleet.id, FleetStatus.TERMINATED, message=reason)


def idle_fleets(state: State, *, now: datetime | None = None) -> list[FleetRecord]:
    """Active fleets whose every instance has been idle longer than the fleet's idle_duration,
    but never one whose nodes.min keeps its instances (released only down to nodes.min)."""
    now = now or _now()
    due = []
    occupied: set[str] | None = None  # read once, only when a fleet is due
    for fleet in idle_summaries(state):  # columns only: a pass over 10,000 fleets stays cheap
        spec = FleetSpec.of(fleet.spec)
        idle_duration = spec.idle_duration
        if idle_duration is None or fleet.busy or spec.min_nodes > 0:
            continue
        since = max(t for t in (fleet.instances_idle_since, fleet.fleet_idle_since or now) if t)
        if now - since >= timedelta(seconds=idle_duration):
            record = get_fleet(state, fleet.fleet_id)
            if occupied is None:
                occupied = occupied_instances(state)
            # an instance split into blocks stays idle while some of its blocks are held
            if record is not None and not any(
                i.id in occupied for i in instances_of_fleet(state, record.id)
            ):
                due.append(record)
    return due


def release_at(
    fleet: FleetRecord, instances: list[InstanceRecord]
) -> tuple[datetime | None, datetime | None]:
    """(idle since, released at) of an active fleet whose instances are all idle, as
    idle_fleets decides; (None, None) for a busy or inactive one, released at None when
    its idle_duration is off."""
    if fleet.status is not FleetStatus.ACTIVE or any(is_occupied(i) for i in instances):
        return None, None
    times = [i.idle_since for i in instances if i.idle_since] + [fleet.idle_since]
    since = max((t for t in times if t), default=None)
    spec = FleetSpec.of(fleet.spec)
    idle_duration = None if spec.min_nodes > 0 else spec.idle_duration
    if since is None or idle_duration is None:
        return since, None
    return since, since + timedelta(seconds=idle_duration)


def reap_idle_fleets(
    state: State,
    *,
    driver_for: Callable[[str], FleetDriver],
    now: datetime | None = None,
    due: list[FleetRecord] | None = None,
) -> list[str]:
    """Destroy the stacks of fleets idle past their idle_duration (`due`, when the caller
    already has idle_fleets' answer); returns their names."""
    reaped = []
    for fleet in idle_fleets(state, now=now) if due is None else due:
        delete_fleet(
            state,
            fleet.name,
            driver_for=driver_for,
            project=fleet.project,
            reason="idle duration exceeded",
        )
        reaped.append(fleet.name)
    return reaped


def _instance_data(instance_id: str, offer: Offer, applied: JSONObject | None) -> JSONObject:
    """A cloud instance's backend_data: its id, the fleet's `blocks` and the resources of the
    offer it was created for (engine/fleets/blocks.py splits the instance by them)."""
    configuration = (applied or {}).get("configuration")
    blocks = configuration.get(BLOCKS_KEY) if isinstance(configuration, dict) else None
    resources = offer.to_json()["resources"]
    return {"instance_id": instance_id, BLOCKS_KEY: blocks, OFFER_RESOURCES_KEY: resources}


def _at(values: list[str], index: int) -> str | None:
    return values[index] if index < len(values) else None


def _now() -> datetime:
    return datetime.now(UTC)
