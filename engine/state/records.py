"""Plain, frozen records returned by the repository: no session, no lazy loading.

Each record is a snapshot taken inside the transaction that read or wrote it. Statuses
and termination reasons come back as the enums of statuses.py.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from ..models.statuses import (
    FleetStatus,
    InstanceStatus,
    JobStatus,
    JobTerminationReason,
    RunStatus,
    RunTerminationReason,
)
from .models import FleetRow, InstanceRow, JobRow, RunRow


@dataclass(frozen=True)
class RunRecord:
    id: str
    project: str
    name: str
    configuration_path: str | None
    configuration: dict[str, Any] | None
    run_spec: dict[str, Any] | None
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
    job_spec: dict[str, Any] | None
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
class FleetRecord:
    id: str
    project: str
    name: str
    status: FleetStatus
    status_message: str | None
    spec: dict[str, Any] | None
    backend: str | None
    stack_name: str | None
    stack_outputs: dict[str, Any] | None
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
    resources: dict[str, Any] | None
    backend_data: dict[str, Any] | None
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


_ENUMS: dict[type, dict[str, type]] = {
    RunRecord: {"status": RunStatus, "termination_reason": RunTerminationReason},
    JobRecord: {"status": JobStatus, "termination_reason": JobTerminationReason},
    FleetRecord: {"status": FleetStatus},
    InstanceRecord: {"status": InstanceStatus},
}
_NAMES: dict[type, tuple[str, ...]] = {cls: tuple(f.name for f in fields(cls)) for cls in _ENUMS}


def _record(cls: type, row: Any) -> Any:
    enums = _ENUMS[cls]
    values = {}
    for name in _NAMES[cls]:
        value = getattr(row, name)
        if value is not None and name in enums:
            value = enums[name](value)
        values[name] = value
    return cls(**values)


def run_record(row: RunRow) -> RunRecord:
    return _record(RunRecord, row)


def job_record(row: JobRow) -> JobRecord:
    return _record(JobRecord, row)


def fleet_record(row: FleetRow) -> FleetRecord:
    return _record(FleetRecord, row)


def instance_record(row: InstanceRow) -> InstanceRecord:
    return _record(InstanceRecord, row)
