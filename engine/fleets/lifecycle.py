"""Fleet lifecycle on Pulumi stacks: apply (up), delete (destroy), idle reaping, listing.

Order matters for a crash at any point: the fleet row (with its stack name) is written before
`stack.up()` starts, so a fleet whose up was interrupted is listed and can be deleted, which
destroys whatever the stack created. No network call runs inside a database transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import Any

from ..errors import FleetstackError
from .stacks import DEFAULT_PROJECT, provider_config


def make_driver(backend: str, config: Any) -> Any:
    """The Automation API driver with the backend's provider settings."""
    from ...stacks.driver import StackDriver

    return StackDriver(provider_config=provider_config(backend, config))


def apply_fleet(
    state: Any,
    rp: Any,
    *,
    driver: Any,
    on_output: Callable[[str], None] | None = None,
    idle_duration: int | None = None,
) -> Any:
    """Create or update the fleet's stack (`up`), then record its instances; returns the fleet.

    The Pulumi CLI is checked before anything is recorded. A failed up leaves the fleet
    `failed` with the reason; `dstack fleet delete NAME` destroys what was created.
    """
    from ...stacks.errors import StackError, ensure_pulumi_cli
    from ..state import (
        FleetStatus,
        InstanceStatus,
        create_fleet,
        create_instance,
        get_fleet_by_name,
        instances_of_fleet,
        set_fleet_status,
        set_instance_status,
        update_fleet,
    )

    ensure_pulumi_cli()
    spec, offer = rp.spec, rp.offer
    record = {
        "cloud": spec.cloud,
        "region": spec.region,
        "instance_type": spec.instance_type,
        "nodes": spec.nodes,
        "spot": spec.spot,
        "price": offer.price,
        "idle_duration": idle_duration,
        "resources": offer.resources_text(),
    }
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
            backend_data={"instance_id": instance_id},
            hostname=_at(outputs.public_ips, num),
            internal_ip=_at(outputs.private_ips, num),
            ssh_user=outputs.ssh_user or None,
            ssh_port=22,
            status=InstanceStatus.IDLE,
        )
    update_fleet(state, fleet.id, stack_outputs=asdict(outputs), idle_since=_now())
    return set_fleet_status(state, fleet.id, FleetStatus.ACTIVE, message="")


def record_empty_fleet(state: Any, name: str, *, spec: dict[str, Any]) -> Any:
    """An elastic fleet (`nodes: 0..N`) that owns no instance yet: a record, no stack."""
    from ..state import FleetStatus, create_fleet, get_fleet_by_name, update_fleet

    fleet = get_fleet_by_name(state, name)
    if fleet is not None and not fleet.status.is_finished:
        return update_fleet(state, fleet.id, spec=spec)
    return create_fleet(state, name=name, spec=spec, status=FleetStatus.ACTIVE)


def find_fleet(state: Any, name: str, project: str = DEFAULT_PROJECT) -> Any:
    """The live fleet called `name`, or a FleetstackError a user can act on."""
    from ..state import FleetStatus, get_fleet_by_name

    fleet = get_fleet_by_name(state, name, project)
    if fleet is None or fleet.status is FleetStatus.TERMINATED:
        raise FleetstackError(f"fleet {name} not found; `dstack fleet` lists fleets")
    return fleet


def fleet_cloud(fleet: Any) -> str:
    """The cloud of the fleet's stack (aws, gcp, azure)."""
    return (fleet.spec or {}).get("cloud") or fleet.backend


def delete_fleet(
    state: Any,
    name: str,
    *,
    driver_for: Callable[[str], Any],
    project: str = DEFAULT_PROJECT,
    reason: str = "deleted by user",
) -> Any:
    """Destroy the fleet's stack (idempotent) and mark the fleet and its instances terminated."""
    from ...stacks.errors import StackError
    from ..state import (
        FleetStatus,
        InstanceStatus,
        instances_of_fleet,
        set_fleet_status,
        set_instance_status,
    )

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


def idle_fleets(state: Any, *, now: datetime | None = None) -> list[Any]:
    """Active fleets whose every instance has been idle longer than the fleet's idle_duration."""
    from ..state import FleetStatus, instances_of_fleet, list_fleets

    now = now or _now()
    due = []
    for fleet in list_fleets(state):
        idle_duration = (fleet.spec or {}).get("idle_duration")
        if fleet.status is not FleetStatus.ACTIVE or idle_duration is None:
            continue
        instances = instances_of_fleet(state, fleet.id)
        if any(i.busy_job_id for i in instances):
            continue
        since = max(
            [i.idle_since for i in instances if i.idle_since] + [fleet.idle_since or now],
        )
        if now - since >= timedelta(seconds=idle_duration):
            due.append(fleet)
    return due


def reap_idle_fleets(
    state: Any,
    *,
    driver_for: Callable[[str], Any],
    now: datetime | None = None,
    due: list[Any] | None = None,
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


def _at(values: list[str], index: int) -> str | None:
    return values[index] if index < len(values) else None


def _now() -> datetime:
    return datetime.now(UTC)
