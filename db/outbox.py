"""The outbox: messages owed to people, written in the transaction that owes them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import BindParameter, Connection, bindparam, case, delete, exists, func, update
from sqlmodel import Session, col, select

from db import leases
from db.models import Conversation, Outbox, Resident

REPLY, BULK = 0, 10  # priorities: an answer someone waits for goes before any broadcast
PENDING, SENT, FAILED, BLOCKED = "pending", "sent", "failed", "blocked"
WAITING = "waiting"  # for the resident's next message (channels with a reply window)
# Attempts before a reply to a resident is given up (backoff reaches 10 minutes by then).
GIVE_UP_AFTER = 20
# A notice about a resident's own report (an officer's question, a decision) matters for
# longer than any outage: it keeps trying this long, then the officer is shown it failed.
NOTICE_PATIENCE = timedelta(days=7)

POLICE_CHAT = "police"  # the outbox channel and recipient of the police chat


@dataclass(frozen=True)
class Message:
    """A message owed to someone, before it is written: every part of the app (turns, the
    console, the scheduler, the broadcaster, the command line) makes these, and `enqueue`
    alone writes them. `coalesce`: it only shows a report's latest state (a card refresh),
    so it is not added while an equal one still waits."""

    channel: str
    recipient: str
    kind: str
    payload: dict[str, Any] = field(default_factory=dict)
    report_id: int | None = None
    priority: int = REPLY
    coalesce: bool = False


def enqueue(
    session: Session,
    message: Message,
    now: datetime,
    leased_for: timedelta | None = None,
) -> Outbox:
    """Add a message; with leased_for, the caller will send it itself right after commit."""
    channel, recipient, kind = message.channel, message.recipient, message.kind
    payload, priority, report_id = message.payload, message.priority, message.report_id
    coalesce = message.coalesce
    if coalesce and report_id is not None:
        waiting = session.exec(
            select(Outbox).where(
                Outbox.channel == channel,
                Outbox.recipient == recipient,
                Outbox.kind == kind,
                Outbox.report_id == report_id,
                Outbox.status == PENDING,
                col(Outbox.lease_until).is_(None),
            )
        ).first()
        if waiting is not None:
            waiting.priority = min(waiting.priority, priority)
            return waiting
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
    """Sent. Delivered, a message to a person needs its report no more: kept beside its
    recipient, the two would say whose the report is (the police chat names no one). A reply
    to someone with no conversation left (the farewell after they erased their data) is
    deleted instead of kept: its recipient would still name them.
    Two statements built once: this runs after every reply, and building the ORM
    statements afresh each time cost as much CPU as running them."""
    if ids:
        session.execute(_SENT, {"ids": ids, "now": now})
        session.execute(_FORGET_SENT, {"ids": ids})


def _sent_statements() -> tuple[Any, Any]:
    table = Outbox.__table__  # type: ignore[attr-defined]
    talks = Conversation.__table__  # type: ignore[attr-defined]
    ids: BindParameter[list[int]] = bindparam("ids", expanding=True)
    sent = (
        update(table)
        .where(table.c.id.in_(ids))
        .values(
            status=SENT,
            sent_at=bindparam("now", type_=table.c.sent_at.type),
            lease_until=None,
            report_id=case((table.c.channel == POLICE_CHAT, table.c.report_id), else_=None),
        )
    )
    talking = exists().where(
        talks.c.channel == table.c.channel, talks.c.user_id == table.c.recipient
    )
    forget = delete(table).where(table.c.id.in_(ids), table.c.kind == "reply", ~talking)
    return sent, forget


_SENT, _FORGET_SENT = _sent_statements()


def forget_recipient(session: Session, channel: str, recipient: str) -> None:
    """Everything owed to, or once sent to, someone who erased their data: pending replies,
    notices carrying their receipt code, messages waiting for them to write again."""
    session.execute(
        delete(Outbox)
        .where(col(Outbox.channel) == channel, col(Outbox.recipient) == recipient)
        .execution_options(synchronize_session=False)
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
    never_give_up: bool = False,
) -> Outbox | None:
    """Try again at `retry_at`, unless the message has been tried long enough (a reply:
    GIVE_UP_AFTER attempts; a notice about a report: NOTICE_PATIENCE); returns the row when
    this gave it up."""
    row = session.get(Outbox, outbox_id)
    if row is None:
        return None
    row.attempts += 1
    row.last_error = error[:255]
    row.lease_until = None
    row.next_attempt_at = retry_at
    if never_give_up:
        return None
    spent = (
        retry_at - row.created_at >= NOTICE_PATIENCE
        if row.report_id is not None
        else row.attempts >= GIVE_UP_AFTER
    )
    if spent:
        row.status = FAILED
        return row
    return None


def pending(session: Session, channel: str, kind: str, report_id: int) -> bool:
    """A message of this kind about this report is still on its way."""
    return (
        session.exec(
            select(Outbox.id).where(
                Outbox.channel == channel,
                Outbox.kind == kind,
                Outbox.report_id == report_id,
                Outbox.status == PENDING,
            )
        ).first()
        is not None
    )


def renew(session: Session, outbox_ids: list[int], until: datetime) -> None:
    """Extend this sender's lease on rows it still holds (not ones already marked)."""
    leases.renew(session, Outbox, outbox_ids, until, col(Outbox.status) == PENDING)


def undelivered(session: Session, report_id: int, police_channel: str) -> int:
    """Notices about a report that never reached its reporter (given up, or blocked)."""
    return int(
        session.exec(
            select(func.count())
            .select_from(Outbox)
            .where(
                Outbox.report_id == report_id,
                Outbox.channel != police_channel,
                col(Outbox.status).in_([FAILED, BLOCKED]),
            )
        ).one()
    )


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
