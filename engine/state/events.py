"""The events table: every status transition of a run, job, fleet or instance.

apply_status (common.py), the one place a status column is written, adds the event in the
same transaction as the change, so an event exists exactly when the transition happened.
`dstack event` reads them back with list_events.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, object_session

from .db import State
from .models import EventRow, FleetRow, InstanceRow, JobRow, RunRow, utcnow
from .records import EventRecord, event_record

_ENTITY = {RunRow: "run", JobRow: "job", FleetRow: "fleet", InstanceRow: "instance"}


def record_transition(
    row: RunRow | JobRow | FleetRow | InstanceRow,
    old: str | None,
    new: str,
    reason: str | None,
    session: Session | None = None,
) -> None:
    """Add the event of `row` moving from `old` to `new` to the row's own transaction."""
    session = session or object_session(row)
    if session is None:
        return  # a row not attached to a session is not being written
    run_id = row.id if isinstance(row, RunRow) else row.run_id if isinstance(row, JobRow) else None
    session.add(
        EventRow(
            entity=_ENTITY[type(row)],
            entity_id=row.id,
            run_id=run_id,
            from_status=old,
            to_status=new,
            reason=reason or None,
            at=utcnow(),
        )
    )


def list_events(
    state: State,
    *,
    run_ids: list[str] | None = None,
    after_id: int = 0,
    limit: int | None = None,
) -> list[EventRecord]:
    """Events oldest first, after `after_id`; only those of `run_ids` (runs and their jobs)."""
    conditions = [EventRow.id > after_id]
    if run_ids is not None:
        conditions.append(EventRow.run_id.in_(run_ids))
    if limit is None:
        query = select(EventRow).where(*conditions).order_by(EventRow.id)
    else:  # the last `limit` events, still oldest first
        last = select(EventRow.id).where(*conditions).order_by(EventRow.id.desc()).limit(limit)
        query = select(EventRow).where(EventRow.id.in_(last)).order_by(EventRow.id)
    with state.read() as session:
        return [event_record(row) for row in session.scalars(query)]
