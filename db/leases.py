"""Rows that workers share by leasing them: what makes a row free to take now, and taking
a batch of them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, or_, update
from sqlmodel import Session, col, select


def due_and_free(model: Any, now: datetime) -> list[ColumnElement[bool]]:
    """Its time has come and nobody holds it (no lease, or the holder's lease ran out)."""
    return [
        col(model.next_attempt_at) <= now,
        or_(col(model.lease_until).is_(None), col(model.lease_until) < now),
    ]


def take(
    session: Session,
    model: Any,
    where: Sequence[ColumnElement[bool]],
    order_by: Sequence[Any],
    now: datetime,
    limit: int,
    lease: timedelta,
) -> list[Any]:
    """Up to `limit` rows matching `where` that are due and free, leased to this worker until
    `now + lease`; on PostgreSQL other workers skip them while we take them (SKIP LOCKED),
    on SQLite there is one writer anyway."""
    query = (
        select(model)
        .where(*where, *due_and_free(model, now))
        .order_by(*order_by)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    rows = list(session.exec(query).all())
    if rows:
        session.execute(
            update(model)
            .where(col(model.id).in_([r.id for r in rows]))
            .values(lease_until=now + lease)
        )
    return rows


def renew(
    session: Session,
    model: Any,
    ids: Sequence[int],
    until: datetime,
    still_held: ColumnElement[bool],
) -> None:
    """Extend this worker's lease on rows it still holds (`still_held`: not yet marked)."""
    if ids:
        session.execute(
            update(model).where(col(model.id).in_(ids), still_held).values(lease_until=until)
        )
