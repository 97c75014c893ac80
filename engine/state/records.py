"""Plain, frozen records returned by the repository: no session, no lazy loading.

Each record is a snapshot taken inside the transaction that read or wrote it. Statuses
and termination reasons come back as the enums of statuses.py.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from enum import Enum
from typing import TypeVar

from ..models.json import JSONObject
from ..models.statuses import (
    FleetStatus,
    InstanceStatus,
    JobStatus,
    JobTerminationReason,
    RunStatus,
    RunTerminationReason,
)
from .models import EventRow, FleetRow, InstanceRow, JobRow, RunRow


@dataclass(frozen=True)
class RunRecord:
    id: str
    project: str
    name: str
    configuration_path: str | None
    configuration: JSONObject | None
    run_spec: JSONObject | None
    status: RunStatus
    termination_reason: RunTerminationReason | None
    error: str | None
    backend: str | None
    region: str | None
    price: float | None
    resources: str | None
    fleet_id: str | None
    submitted_at: datetime
    last_processed_at: datetime
    finished_at: datetime | None
    deleted: bool


@dataclass(frozen=True)
class JobRecord:
    id: str
    run_id: str
    job_num: int
    replica_num: int
    submission_num: int
    status: JobStatus
    termination_reason: JobTerminationReason | None
    exit_status: int | None
    error: str | None
    job_spec: JSONObject | None
    instance_id: str | None
    job_dir: str | None
    log_path: str | None
    supervisor_pid: int | None
    supervisor_host: str | None
    supervisor_token: str | None
    submitted_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    last_processed_at: datetime


@dataclass(frozen=True)
class EventRecord:
    """One status transition (engine/state/events.py)."""

    id: int
    entity: str  # run | job | fleet | instance
    entity_id: str
    run_id: str | None  # the run's own id for a run, its run's for a job
    from_status: str | None  # None: the row was created
    to_status: str
    reason: str | None
    at: datetime


@dataclass(frozen=True)
class FleetRecord:
    id: str
    project: str
    name: str
    status: FleetStatus
    status_message: str | None
    spec: JSONObject | None
    backend: str | None
    stack_name: str | None
    stack_outputs: JSONObject | None
    created_at: datetime
    last_processed_at: datetime
    idle_since: datetime | None
    terminated_at: datetime | None
    deleted: bool


@dataclass(frozen=True)
class InstanceRecord:
    id: str
    fleet_id: str
    name: str
    instance_num: int
    backend: str
    region: str | None
    instance_type: str | None
    spot: bool
    status: InstanceStatus
    price: float | None
    resources: JSONObject | None
    backend_data: JSONObject | None
    hostname: str | None
    internal_ip: str | None
    ssh_user: str | None
    ssh_port: int | None
    busy_job_id: str | None
    termination_reason: str | None
    created_at: datetime
    last_processed_at: datetime
    idle_since: datetime | None
    terminated_at: datetime | None


_ENUMS: dict[type, dict[str, type[Enum]]] = {
    RunRecord: {"status": RunStatus, "termination_reason": RunTerminationReason},
    JobRecord: {"status": JobStatus, "termination_reason": JobTerminationReason},
    FleetRecord: {"status": FleetStatus},
    InstanceRecord: {"status": InstanceStatus},
    EventRecord: {},
}
_NAMES: dict[type, tuple[str, ...]] = {cls: tuple(f.name for f in fields(cls)) for cls in _ENUMS}


Record = TypeVar("Record", RunRecord, JobRecord, FleetRecord, InstanceRecord, EventRecord)


def _record(cls: type[Record], row: RunRow | JobRow | FleetRow | InstanceRow | EventRow) -> Record:
    """The record of `row`: its columns of the same names, statuses and reasons as enums."""
    # Copied by name (one mechanism for four tables): the field types are not checked here.
    values = {name: getattr(row, name) for name in _NAMES[cls]}
    for name, enum in _ENUMS[cls].items():
        if values[name] is not None:
            values[name] = enum(values[name])
    return cls(**values)


def run_record(row: RunRow) -> RunRecord:
    return _record(RunRecord, row)


def job_record(row: JobRow) -> JobRecord:
    return _record(JobRecord, row)


def fleet_record(row: FleetRow) -> FleetRecord:
    return _record(FleetRecord, row)


def instance_record(row: InstanceRow) -> InstanceRecord:
    return _record(InstanceRecord, row)


def event_record(row: EventRow) -> EventRecord:
    return _record(EventRecord, row)
