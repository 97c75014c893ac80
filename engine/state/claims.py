"""Claims: leases on rows, so two reconcilers never act on the same row at once.

    ids = claim(state, JobRow, owner, now=now, statuses=["submitted"])   # ids now ours
    ...act outside any transaction (start a job, a stack `up`)...
    release(state, JobRow, ids, owner)

A claim is `claimed_by` + `claimed_until` on the row. It is taken in one short write
transaction: on PostgreSQL the candidate rows are selected `FOR UPDATE SKIP LOCKED` (a row
another reconciler is claiming right now is skipped, not waited for); on SQLite the write
transaction itself (BEGIN IMMEDIATE) serializes claimers. A claimer that crashes leaves its
claim, which expires after the lease: the next pass takes the row again (every step is
safe to repeat).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update

from .common import Row
from .db import State

DEFAULT_LEASE = timedelta(seconds=60)


def claim(
    state: State,
    model: type[Row],
    owner: str,
    *,
    now: datetime,
    statuses: Sequence[str] | None = None,
    ids: Sequence[str] | None = None,
    lease: timedelta = DEFAULT_LEASE,
    limit: int | None = None,
) -> list[str]:
    """Claim the rows of `model` in `statuses` (and among `ids`) that nobody else holds;
    returns the ids claimed, oldest first. Rows `owner` already holds are claimed again."""
    free = or_(model.claimed_until.is_(None), model.claimed_until < now, model.claimed_by == owner)
    query = select(model.id).where(free)
    if statuses is not None:
        query = query.where(model.status.in_(list(statuses)))
    if ids is not None:
        query = query.where(model.id.in_(list(ids)))
    query = query.order_by(model.last_processed_at, model.id)
    if limit is not None:
        query = query.limit(limit)
    if not state.is_sqlite:
        query = query.with_for_update(skip_locked=True)
    with state.write() as session:
        claimed = list(session.scalars(query))
        if claimed:
            session.execute(
                update(model)
                .where(model.id.in_(claimed))
                .values(claimed_by=owner, claimed_until=now + lease)
                .execution_options(synchronize_session=False)
            )
        return claimed


def release(state: State, model: type[Row], ids: Sequence[str], owner: str) -> None:
    """Give up `owner`'s claims on `ids` (others' claims are left alone)."""
    if not ids:
        return
    with state.write() as session:
        session.execute(
            update(model)
            .where(model.id.in_(list(ids)), model.claimed_by == owner)
            .values(claimed_by=None, claimed_until=None)
            .execution_options(synchronize_session=False)
        )
