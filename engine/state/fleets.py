"""Repository of fleets and their instances. One short transaction per function.

A fleet is recorded (with its stack_name) before `stack.up()` starts, so a crash leaves a
row the reconciler can find and destroy.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Required, TypedDict, Unpack

from sqlalchemy import func, select

from ..errors import FleetstackError
from ..models.json import JSONObject
from ..models.statuses import FleetStatus, InstanceStatus
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
from .models import FleetRow, InstanceRow, utcnow
from .records import (
    FleetRecord,
    InstanceRecord,
    fleet_record,
    instance_record,
)

DEFAULT_PROJECT = "main"


class FleetNameInUseError(FleetstackError):
    """A fleet that is not terminated already has this name."""


class FleetUpdate(TypedDict, total=False):
    """The plain columns update_fleet sets (statuses change through set_fleet_status)."""

    status_message: str | None
    spec: JSONObject | None
    backend: str | None
    stack_name: str | None
    stack_outputs: JSONObject | None
    idle_since: datetime | None


class InstanceUpdate(TypedDict, total=False):
    """The plain columns update_instance sets (statuses change through set_instance_status)."""

    region: str | None
    instance_type: str | None
    spot: bool
    price: float | None
    resources: JSONObject | None
    backend_data: JSONObject | None
    hostname: str | None
    internal_ip: str | None
    ssh_user: str | None
    ssh_port: int | None
    idle_since: datetime | None


class NewInstance(InstanceUpdate, total=False):
    """A new instance's columns: its name, backend and number in the fleet, then any other."""

    name: Required[str]
    backend: Required[str]
    instance_num: int


def create_fleet(
    state: State,
    *,
    name: str | None = None,
    project: str = DEFAULT_PROJECT,
    status: FleetStatus = FleetStatus.SUBMITTED,
    fleet_id: str | None = None,
    **columns: Unpack[FleetUpdate],
) -> FleetRecord:
    """A new fleet; a finished fleet with the same name is marked deleted, a live one refused."""
    with state.write() as session:
        claimed = claim_name(session, FleetRow, project, name, _fleet_name_in_use)
        row = new_row(FleetRow, fleet_id, status, project=project, name=claimed, **columns)
        return fleet_record(insert(session, row))


def get_fleet(state: State, fleet_id: str) -> FleetRecord | None:
    return get_record(state, FleetRow, fleet_id, fleet_record)


def get_fleet_by_name(
    state: State, name: str, project: str = DEFAULT_PROJECT
) -> FleetRecord | None:
    with state.read() as session:
        row = live_row(session, FleetRow, project, name)
        return fleet_record(row) if row is not None else None


def list_fleets(
    state: State,
    *,
    include_finished: bool = False,
    project: str | None = None,
    statuses: Sequence[FleetStatus] | None = None,
) -> list[FleetRecord]:
    """Fleets not deleted (only those in `statuses`, when given), oldest first."""
    query = select(FleetRow).where(FleetRow.deleted.is_(False))
    if project is not None:
        query = query.where(FleetRow.project == project)
    if statuses is not None:
        query = query.where(FleetRow.status.in_([s.value for s in statuses]))
    if not include_finished:
        finished = [s.value for s in FleetStatus if s.is_finished]
        query = query.where(FleetRow.status.not_in(finished))
    with state.read() as session:
        return [fleet_record(row) for row in session.scalars(query.order_by(FleetRow.created_at))]


def set_fleet_status(
    state: State, fleet_id: str, status: FleetStatus, *, message: str | None = None
) -> FleetRecord:
    with state.write() as session:
        row = fetch_for_update(session, FleetRow, fleet_id)
        if apply_status(row, status, message=message) and status.is_finished:
            row.terminated_at = utcnow()
        if message is not None:
            row.status_message = message
        return fleet_record(row)


def update_fleet(state: State, fleet_id: str, **fields: Unpack[FleetUpdate]) -> FleetRecord:
    """Set plain columns (spec, stack_name, stack_outputs, idle_since, backend...)."""
    return update_record(state, FleetRow, fleet_id, fields, ("id", "terminated_at"), fleet_record)


def create_instance(
    state: State,
    fleet_id: str,
    *,
    status: InstanceStatus = InstanceStatus.PENDING,
    instance_id: str | None = None,
    **columns: Unpack[NewInstance],
) -> InstanceRecord:
    """A new instance of the fleet with the `columns` given; an idle one is idle from now."""
    if status is InstanceStatus.IDLE:
        columns.setdefault("idle_since", utcnow())
    with state.write() as session:
        check_exists(session, FleetRow, fleet_id)
        row = new_row(InstanceRow, instance_id, status, fleet_id=fleet_id, **columns)
        return instance_record(insert(session, row))


def get_instance(state: State, instance_id: str) -> InstanceRecord | None:
    return get_record(state, InstanceRow, instance_id, instance_record)


def instances_of_fleet(
    state: State, fleet_id: str, *, include_terminated: bool = False
) -> list[InstanceRecord]:
    query = select(InstanceRow).where(InstanceRow.fleet_id == fleet_id)
    if not include_terminated:
        query = query.where(InstanceRow.status != InstanceStatus.TERMINATED.value)
    with state.read() as session:
        rows = session.scalars(query.order_by(InstanceRow.instance_num, InstanceRow.created_at))
        return [instance_record(row) for row in rows]


@dataclass(frozen=True)
class IdleSummary:
    """One active fleet as idle release sees it, read without building its records."""

    fleet_id: str
    spec: JSONObject | None
    fleet_idle_since: datetime | None
    instances_idle_since: datetime | None  # the latest idle_since of its live instances
    busy: bool  # one of its live instances runs a job


def idle_summaries(state: State) -> list[IdleSummary]:
    """Every active fleet with its instances' idle times, in two column-only queries."""
    live = InstanceRow.status != InstanceStatus.TERMINATED.value
    per_fleet = (
        select(
            InstanceRow.fleet_id,
            func.max(InstanceRow.idle_since),
            func.count(InstanceRow.busy_job_id),
        )
        .where(live)
        .group_by(InstanceRow.fleet_id)
    )
    fleets = select(FleetRow.id, FleetRow.spec, FleetRow.idle_since).where(
        FleetRow.deleted.is_(False), FleetRow.status == FleetStatus.ACTIVE.value
    )
    with state.read() as session:
        instances = {row[0]: (row[1], row[2]) for row in session.execute(per_fleet)}
        found = []
        for fleet_id, spec, idle_since in session.execute(fleets):
            latest, busy = instances.get(fleet_id, (None, 0))
            if latest is not None and latest.tzinfo is None:  # SQLite: an aggregate is naive
                latest = latest.replace(tzinfo=UTC)
            found.append(IdleSummary(fleet_id, spec, idle_since, latest, busy > 0))
        return found


def list_instances(
    state: State, *, statuses: list[InstanceStatus] | None = None
) -> list[InstanceRecord]:
    query = select(InstanceRow)
    if statuses is not None:
        query = query.where(InstanceRow.status.in_([s.value for s in statuses]))
    with state.read() as session:
        rows = session.scalars(query.order_by(InstanceRow.created_at))
        return [instance_record(row) for row in rows]


def set_instance_status(
    state: State,
    instance_id: str,
    status: InstanceStatus,
    *,
    busy_job_id: str | None = None,
    termination_reason: str | None = None,
) -> InstanceRecord:
    """Move an instance to `status` (checked). idle sets idle_since and clears busy_job_id;
    busy records `busy_job_id`; terminated sets terminated_at."""
    with state.write() as session:
        row = fetch_for_update(session, InstanceRow, instance_id)
        changed = apply_status(row, status, message=termination_reason)
        if status is InstanceStatus.BUSY:
            row.busy_job_id = busy_job_id
            row.idle_since = None
        elif status is InstanceStatus.IDLE and changed:
            row.busy_job_id = None
            row.idle_since = utcnow()
        if status is InstanceStatus.TERMINATED and changed:
            row.terminated_at = utcnow()
            row.busy_job_id = None
        if termination_reason is not None:
            row.termination_reason = termination_reason
        return instance_record(row)


def update_instance(
    state: State, instance_id: str, **fields: Unpack[InstanceUpdate]
) -> InstanceRecord:
    """Set plain columns (hostname, internal_ip, ssh_user, backend_data, price...)."""
    forbidden = ("id", "fleet_id", "terminated_at")
    return update_record(state, InstanceRow, instance_id, fields, forbidden, instance_record)


def _fleet_name_in_use(name: str, status: str) -> FleetNameInUseError:
    return FleetNameInUseError(
        f"fleet {name} already exists ({status}): delete it with "
        f"`dstack fleet delete {name}` or choose another name"
    )
