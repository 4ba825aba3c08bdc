"""The outbox: messages owed to people, written in the transaction that owes them."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, delete, update
from sqlmodel import Session, col

from db import leases
from db.models import Outbox, Resident

REPLY, BULK = 0, 10  # priorities: an answer someone waits for goes before any broadcast
PENDING, SENT, FAILED, BLOCKED = "pending", "sent", "failed", "blocked"
WAITING = "waiting"  # for the resident's next message (channels with a reply window)
# Attempts before a message to a resident is given up (backoff reaches 10 minutes by then).
GIVE_UP_AFTER = 20


def enqueue(
    session: Session,
    *,
    channel: str,
    recipient: str,
    kind: str,
    payload: dict[str, Any],
    now: datetime,
    priority: int = REPLY,
    report_id: int | None = None,
    leased_for: timedelta | None = None,
) -> Outbox:
    """Add a message; with leased_for, the caller will send it itself right after commit."""
    row = Outbox(
        channel=channel,
        recipient=recipient,
        kind=kind,
        payload=payload,
        priority=priority,
        report_id=report_id,
        next_attempt_at=now,
        created_at=now,
        lease_until=now + leased_for if leased_for else None,
    )
    session.add(row)
    return row


def claim_due(
    session: Session, channels: list[str], now: datetime, limit: int, lease: timedelta
) -> list[Outbox]:
    """Pending messages whose time has come and whose lease (if any) expired, leased to us."""
    where = [col(Outbox.status) == PENDING, col(Outbox.channel).in_(channels)]
    order = [col(Outbox.priority), col(Outbox.id)]
    return leases.take(session, Outbox, where, order, now, limit, lease)


def mark_sent(session: Session | Connection, ids: list[int], now: datetime) -> None:
    if ids:
        session.execute(
            update(Outbox)
            .where(col(Outbox.id).in_(ids))
            .values(status=SENT, sent_at=now, lease_until=None)
        )


def prune_sent(session: Session, older_than: timedelta, now: datetime) -> int:
    """Delivered messages are deleted after a while: their text may hold what residents wrote,
    and nothing needs it once sent."""
    result = session.connection().execute(
        delete(Outbox).where(
            col(Outbox.status).in_([SENT, BLOCKED]), col(Outbox.created_at) < now - older_than
        )
    )
    return max(0, result.rowcount or 0)


def mark_retry(
    session: Session,
    outbox_id: int,
    error: str,
    retry_at: datetime,
    give_up_after: int | None = GIVE_UP_AFTER,
) -> None:
    """Try again at `retry_at`; after `give_up_after` attempts (None: never) mark it failed."""
    row = session.get(Outbox, outbox_id)
    if row is None:
        return
    row.attempts += 1
    row.last_error = error[:255]
    row.lease_until = None
    row.next_attempt_at = retry_at
    if give_up_after is not None and row.attempts >= give_up_after:
        row.status = FAILED


def mark_blocked(session: Session, outbox_id: int, error: str) -> None:
    """The platform refused the recipient for good: this row, and the resident, are blocked."""
    row = session.get(Outbox, outbox_id)
    if row is None:
        return
    row.status, row.last_error, row.lease_until = BLOCKED, error[:255], None
    session.execute(
        update(Resident)
        .where(col(Resident.channel) == row.channel, col(Resident.user_id) == row.recipient)
        .values(blocked=True)
    )


def mark_failed(session: Session, outbox_id: int, error: str) -> None:
    """Never deliverable as it is: kept for the record, not retried."""
    row = session.get(Outbox, outbox_id)
    if row is not None:
        row.status, row.last_error, row.lease_until = FAILED, error[:255], None


def mark_waiting(session: Session, outbox_id: int) -> None:
    row = session.get(Outbox, outbox_id)
    if row is not None:
        row.status, row.lease_until = WAITING, None


def release_waiting(session: Session, channel: str, recipient: str, now: datetime) -> None:
    """The resident wrote again: what waited for that is due now."""
    session.execute(
        update(Outbox)
        .where(
            col(Outbox.status) == WAITING,
            col(Outbox.channel) == channel,
            col(Outbox.recipient) == recipient,
        )
        .values(status=PENDING, next_attempt_at=now, lease_until=None)
    )
