"""Rows that workers share by leasing them: what makes a row free to take now, and taking
a batch of them; and work only one worker may do at a time (an advisory lock)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Connection,
    bindparam,
    exists,
    or_,
    text,
    update,
)
from sqlmodel import Session, col, select

from db.engine import Database
from db.models import Outbox


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


# Namespaces of the PostgreSQL advisory locks below (the first of their two int keys).
CARD = 1  # posting a report's tip card to the police chat


@asynccontextmanager
async def exclusive(db: Database, namespace: int, key: int) -> AsyncIterator[bool]:
    """Whether this worker may do the work under (namespace, key) now, held until the block
    ends, across every process on the database. On PostgreSQL it is a session advisory lock,
    tried, never waited for (the caller does the work later instead), on a connection of its
    own in autocommit, so no transaction stays open while the block awaits a platform; a
    worker that dies lets go with its connection. On SQLite one process is the only worker."""
    if not db.shared:
        yield True
        return
    conn = await db.run(_connect, db)
    try:
        held = bool(await db.run(_scalar, conn, "pg_try_advisory_lock", namespace, key))
        try:
            yield held
        finally:
            if held:
                await db.run(_scalar, conn, "pg_advisory_unlock", namespace, key)
    finally:
        await db.run(conn.close)


def _connect(db: Database) -> Connection:
    return db.engine.connect().execution_options(isolation_level="AUTOCOMMIT")


def _scalar(conn: Connection, function: str, namespace: int, key: int) -> object:
    return conn.execute(text(f"SELECT {function}(:a, :b)"), {"a": namespace, "b": key}).scalar()


def behind(
    conn: Connection, row_ids: Sequence[int], now: datetime, due_too: bool = True
) -> set[int]:
    """Of these outbox replies, those to a resident who is owed an earlier reply (as urgent
    or more, not among them) that is being sent now, or with `due_too` is due (another
    worker may be claiming it this instant): sent now, they could overtake it. A reply put
    off for a later retry holds nobody back (as in one process)."""
    if not row_ids:
        return set()
    found = conn.execute(_BEHIND[due_too], {"ids": list(row_ids), "now": now})
    return {int(row_id) for row_id in found.scalars()}


def _behind_query(due_too: bool) -> Any:
    """Built once: every turn on PostgreSQL asks it, and building it (two aliases of the
    outbox, adapted column by column) cost more CPU than the rest of a turn's delivery."""
    table = Outbox.__table__  # type: ignore[attr-defined]
    mine, earlier = table.alias("mine"), table.alias("earlier")
    ids: BindParameter[list[int]] = bindparam("ids", expanding=True)
    now = bindparam("now", type_=earlier.c.lease_until.type)
    in_hand = earlier.c.lease_until > now
    return select(mine.c.id).where(
        mine.c.id.in_(ids),
        exists().where(
            earlier.c.channel == mine.c.channel,
            earlier.c.recipient == mine.c.recipient,
            earlier.c.kind == "reply",
            earlier.c.status == "pending",  # db.outbox.PENDING (which imports this)
            earlier.c.priority <= mine.c.priority,
            earlier.c.id < mine.c.id,
            earlier.c.id.not_in(ids),
            or_(in_hand, earlier.c.next_attempt_at <= now) if due_too else in_hand,
        ),
    )


_BEHIND = {due_too: _behind_query(due_too) for due_too in (False, True)}
