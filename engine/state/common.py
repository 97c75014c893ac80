"""Helpers shared by the repository modules: row lookup, names, the status gate, field updates."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from enum import Enum
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models.statuses import (
    FleetStatus,
    IllegalTransitionError,
    RunStatus,
    Status,
    TerminationReason,
    check_transition,
)
from .db import State
from .events import record_transition
from .models import FleetRow, InstanceRow, JobRow, RunRow, utcnow
from .names import generate_name

# The tables with an id and a status column; fetch_for_update returns the table it is given.
Row = TypeVar("Row", RunRow, JobRow, FleetRow, InstanceRow)
StatusRow = RunRow | JobRow | FleetRow | InstanceRow
# The tables whose rows have a name unique among the live (not deleted) rows of a project.
NamedRow = TypeVar("NamedRow", RunRow, FleetRow)
Record = TypeVar("Record")


class RecordNotFoundError(LookupError):
    """No row with that id (the caller holds a stale or wrong id)."""


def get_record(
    state: State, model: type[Row], row_id: str, to_record: Callable[[Row], Record]
) -> Record | None:
    """The record of the row with that id, None when there is none."""
    with state.read() as session:
        row = session.get(model, row_id)
        return to_record(row) if row is not None else None


def check_exists(session: Session, model: type[Row], row_id: str) -> None:
    """RecordNotFoundError unless `model` has a row with that id (e.g. the parent of a new row)."""
    if session.get(model, row_id) is None:
        raise RecordNotFoundError(f"no {model.__tablename__[:-1]} with id {row_id}")


def new_row(model: type[Row], row_id: str | None, status: Status, **columns: object) -> Row:
    """A row of `model` (not added yet): a fresh id unless given, `status`, and now as the time
    it was created (submitted_at for runs and jobs, created_at for fleets and instances) and
    last processed."""
    now = utcnow()
    created = "submitted_at" if model in (RunRow, JobRow) else "created_at"
    return model(
        id=row_id or str(uuid.uuid4()),
        status=status.value,
        last_processed_at=now,
        **{created: now},
        **columns,
    )


def insert(session: Session, row: Row) -> Row:
    """`row` added and flushed: a constraint it breaks raises here, inside the transaction."""
    session.add(row)
    session.flush()
    record_transition(row, None, row.status, None, session)
    return row


def live_row(session: Session, model: type[NamedRow], project: str, name: str) -> NamedRow | None:
    """The row of the project called `name` that was not deleted (finished or not)."""
    query = select(model).where(
        model.project == project, model.name == name, model.deleted.is_(False)
    )
    return session.scalars(query).first()


def claim_name(
    session: Session,
    model: type[NamedRow],
    project: str,
    name: str | None,
    in_use: Callable[[str, str], Exception],
) -> str:
    """`name`, or a fresh generated one when None, free for a new row of `model`.

    A finished row holding `name` is marked deleted (its name is reused, as in dstack); an
    unfinished one raises `in_use(name, its status)`.
    """
    if name is None:
        return generate_name(lambda n: live_row(session, model, project, n) is not None)
    existing = live_row(session, model, project, name)
    if existing is not None:
        if not _STATUS_OF[model](existing.status).is_finished:
            raise in_use(name, existing.status)
        existing.deleted = True
        session.flush()
    return name


def fetch_for_update(session: Session, model: type[Row], row_id: str) -> Row:
    """The row, locked for the rest of the transaction on databases that lock rows."""
    row = session.scalars(select(model).where(model.id == row_id).with_for_update()).first()
    if row is None:
        raise RecordNotFoundError(f"no {model.__tablename__[:-1]} with id {row_id}")
    return row


def apply_status(
    row: StatusRow,
    new: Status,
    reason: TerminationReason | None = None,
    *,
    message: str | None = None,
) -> bool:
    """The only place a status column is written. Returns False for a repeated status.

    Checks the transition (IllegalTransitionError when forbidden) and, for a final status
    with a termination reason, that the reason leads to that status. The transition is
    recorded as an event (with `message`, else the reason) in the row's transaction.
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
    record_transition(row, old.value, new.value, message or (reason.value if reason else None))
    return True


def update_record(
    state: State,
    model: type[Row],
    row_id: str,
    fields: Mapping[str, object],
    forbidden: tuple[str, ...],
    to_record: Callable[[Row], Record],
) -> Record:
    """Set plain columns of one row; status columns only change through apply_status."""
    with state.write() as session:
        row = fetch_for_update(session, model, row_id)
        _update_fields(row, fields, forbidden)
        return to_record(row)


def _update_fields(
    row: StatusRow, fields: Mapping[str, object], forbidden: tuple[str, ...]
) -> None:
    for name, value in fields.items():
        if name in forbidden or name == "status":
            raise TypeError(f"{name} cannot be updated directly")
        if not hasattr(type(row), name):
            raise TypeError(f"{type(row).__name__} has no column {name}")
        if isinstance(value, Enum):
            value = value.value
        setattr(row, name, value)
    row.last_processed_at = utcnow()


_STATUS_OF: dict[type[RunRow] | type[FleetRow], type[RunStatus] | type[FleetStatus]] = {
    RunRow: RunStatus,
    FleetRow: FleetStatus,
}
