"""Helpers shared by the repository modules: row lookup, the status gate, field updates."""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models.statuses import (
    FleetStatus,
    IllegalTransitionError,
    InstanceStatus,
    JobStatus,
    JobTerminationReason,
    RunStatus,
    RunTerminationReason,
    check_transition,
)
from .models import FleetRow, InstanceRow, JobRow, RunRow, utcnow

# The tables with an id and a status column; fetch_for_update returns the table it is given.
Row = TypeVar("Row", RunRow, JobRow, FleetRow, InstanceRow)
StatusRow = RunRow | JobRow | FleetRow | InstanceRow
Status = RunStatus | JobStatus | FleetStatus | InstanceStatus
TerminationReason = RunTerminationReason | JobTerminationReason


class RecordNotFoundError(LookupError):
    """No row with that id (the caller holds a stale or wrong id)."""


def fetch_for_update(session: Session, model: type[Row], row_id: str) -> Row:
    """The row, locked for the rest of the transaction on databases that lock rows."""
    row = session.scalars(select(model).where(model.id == row_id).with_for_update()).first()
    if row is None:
        raise RecordNotFoundError(f"no {model.__tablename__[:-1]} with id {row_id}")
    return row


def apply_status(row: StatusRow, new: Status, reason: TerminationReason | None = None) -> bool:
    """The only place a status column is written. Returns False for a repeated status.

    Checks the transition (IllegalTransitionError when forbidden) and, for a final status
    with a termination reason, that the reason leads to that status.
    """
    old = type(new)(row.status)
    changed = check_transition(old, new)
    if new.is_finished and reason is not None and reason.to_status() is not new:
        raise IllegalTransitionError(
            f"termination reason {reason.value} means {reason.to_status().value}, not {new.value}"
        )
    if not changed:
        return False
    row.status = new.value
    row.last_processed_at = utcnow()
    return True


def update_fields(row: StatusRow, fields: Mapping[str, object], forbidden: tuple[str, ...]) -> None:
    """Set plain columns; status columns only change through apply_status."""
    for name, value in fields.items():
        if name in forbidden or name == "status":
            raise TypeError(f"{name} cannot be updated directly")
        if not hasattr(type(row), name):
            raise TypeError(f"{type(row).__name__} has no column {name}")
        if isinstance(value, Enum):
            value = value.value
        setattr(row, name, value)
    row.last_processed_at = utcnow()
