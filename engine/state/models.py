"""ORM tables: runs, jobs, fleets, instances, events. Portable between SQLite and PostgreSQL.

Only portable types: String, Text, Integer, Float, Boolean, JSON and timezone-aware
timestamps stored as UTC. The schema itself is created by the alembic migrations in
fleetstack.engine.state.migrations; these classes must stay in step with them (a test compares).
Status columns hold the enum values as plain strings; only the repository writes them.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    false,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from ..models.json import JSONObject

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that always comes back timezone-aware in UTC (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: pass a timezone-aware UTC time")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def _unique_live_name(table: str, deleted: Mapped[bool]) -> Index:
    """A name is unique among the rows of a project that were not deleted (finished included)."""
    live = deleted == false()
    return Index(
        f"ix_{table}_project_name_live",
        "project",
        "name",
        unique=True,
        sqlite_where=live,
        postgresql_where=live,
    )


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class RunRow(Base):
    __tablename__ = "runs"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    project: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(100))
    configuration_path: Mapped[str | None] = mapped_column(Text)
    configuration: Mapped[JSONObject | None] = mapped_column(JSON)
    run_spec: Mapped[JSONObject | None] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(20))
    termination_reason: Mapped[str | None] = mapped_column(String(50))
    error: Mapped[str | None] = mapped_column(Text)
    backend: Mapped[str | None] = mapped_column(String(50))
    region: Mapped[str | None] = mapped_column(String(100))
    price: Mapped[float | None] = mapped_column(Float)
    resources: Mapped[str | None] = mapped_column(Text)
    fleet_id: Mapped[str | None] = mapped_column(String(36))
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_processed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        _unique_live_name("runs", deleted),
        Index("ix_runs_submitted_at", "submitted_at"),
        Index("ix_runs_status", "status"),
    )


class JobRow(Base):
    __tablename__ = "jobs"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"))
    job_num: Mapped[int] = mapped_column(Integer, default=0)
    replica_num: Mapped[int] = mapped_column(Integer, default=0)
    submission_num: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(20))
    termination_reason: Mapped[str | None] = mapped_column(String(50))
    exit_status: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    job_spec: Mapped[JSONObject | None] = mapped_column(JSON)
    instance_id: Mapped[str | None] = mapped_column(String(36))
    job_dir: Mapped[str | None] = mapped_column(Text)
    log_path: Mapped[str | None] = mapped_column(Text)
    supervisor_pid: Mapped[int | None] = mapped_column(Integer)
    supervisor_host: Mapped[str | None] = mapped_column(String(255))
    supervisor_token: Mapped[str | None] = mapped_column(String(100))
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_processed_at: Mapped[datetime] = mapped_column(UTCDateTime)

    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        Index("ix_jobs_run_id", "run_id"),
        Index("ix_jobs_status", "status"),
    )


class FleetRow(Base):
    __tablename__ = "fleets"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    project: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20))
    status_message: Mapped[str | None] = mapped_column(Text)
    spec: Mapped[JSONObject | None] = mapped_column(JSON)
    backend: Mapped[str | None] = mapped_column(String(50))
    stack_name: Mapped[str | None] = mapped_column(String(255))
    stack_outputs: Mapped[JSONObject | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_processed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    idle_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    terminated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (_unique_live_name("fleets", deleted),)


class InstanceRow(Base):
    __tablename__ = "instances"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    fleet_id: Mapped[str] = mapped_column(ForeignKey("fleets.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(255))
    instance_num: Mapped[int] = mapped_column(Integer, default=0)
    backend: Mapped[str] = mapped_column(String(50))
    region: Mapped[str | None] = mapped_column(String(100))
    instance_type: Mapped[str | None] = mapped_column(String(100))
    spot: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    status: Mapped[str] = mapped_column(String(20))
    price: Mapped[float | None] = mapped_column(Float)
    resources: Mapped[JSONObject | None] = mapped_column(JSON)
    backend_data: Mapped[JSONObject | None] = mapped_column(JSON)
    hostname: Mapped[str | None] = mapped_column(String(255))
    internal_ip: Mapped[str | None] = mapped_column(String(64))
    ssh_user: Mapped[str | None] = mapped_column(String(64))
    ssh_port: Mapped[int | None] = mapped_column(Integer)
    busy_job_id: Mapped[str | None] = mapped_column(String(36))
    termination_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_processed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    idle_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    terminated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        Index("ix_instances_fleet_id", "fleet_id"),
        Index("ix_instances_status", "status"),
    )


class EventRow(Base):
    """One status transition of a run, job, fleet or instance (`dstack event`)."""

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    entity: Mapped[str] = mapped_column(String(20))
    entity_id: Mapped[str] = mapped_column(String(36))
    run_id: Mapped[str | None] = mapped_column(String(36))
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        Index("ix_events_at", "at"),
        Index("ix_events_run_id", "run_id"),
    )
