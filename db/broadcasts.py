"""Broadcasts and their deliveries: the rules of an alert's life (who approves, what can be
cancelled), who is in an audience, and the delivery rows workers claim and mark."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    and_,
    bindparam,
    delete,
    func,
    insert,
    literal,
    update,
)
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from db import leases
from db.models import Area, Broadcast, Delivery, Resident

# A draft is still being written by staff; nobody else sees it.
DRAFT, PENDING_APPROVAL, APPROVED, SENDING, DONE = (
    "nhap",
    "cho_duyet",
    "da_duyet",
    "dang_gui",
    "da_gui",
)
REJECTED, CANCELLED = "tu_choi", "da_huy"
CANCELLABLE = (PENDING_APPROVAL, APPROVED)  # sending has not started
# Delivery statuses.
QUEUED, SENT, BLOCKED, FAILED, WAITING = "pending", "sent", "blocked", "failed", "waiting"
ALL = "all"
GIVE_UP_AFTER = 8  # attempts at one delivery (429s don't count: they are the pace, not a fault)


class BroadcastError(ValueError):
    """A broadcast cannot be created or moved as asked; the message says why."""


def parse_audience(raw: str, area_codes: set[str], channels: set[str]) -> str:
    """'all', 'area:<code>' or 'channel:<name>', checked against what exists."""
    raw = raw.strip().lower()
    if raw == ALL:
        return ALL
    kind, _, value = raw.partition(":")
    if kind == "area" and value in area_codes:
        return raw
    if kind == "channel" and value in channels:
        return raw
    raise BroadcastError(
        f"audience must be all, area:<{'|'.join(sorted(area_codes))}> or "
        f"channel:<{'|'.join(sorted(channels))}>, got {raw!r}"
    )


def create(
    session: Session,
    *,
    text: str,
    audience: str,
    send_at: datetime,
    author: str,
    now: datetime,
    author_id: int | None = None,
    photo: bytes | None = None,
    link_url: str | None = None,
    link_label: str | None = None,
    kind: str = "alert",
    status: str = PENDING_APPROVAL,
) -> Broadcast:
    broadcast = Broadcast(
        kind=kind,
        text=text,
        photo=photo,
        link_url=link_url,
        link_label=link_label,
        audience=audience,
        send_at=max(send_at, now),
        status=status,
        author=author,
        author_id=author_id,
        created_at=now,
    )
    session.add(broadcast)
    session.flush()
    return broadcast


def submit(broadcast: Broadcast, now: datetime) -> None:
    """A finished draft goes to the leads; a time already past means as soon as approved."""
    if broadcast.status != DRAFT:
        raise BroadcastError(f"broadcast {broadcast.id} is {broadcast.status}, not a draft")
    broadcast.status, broadcast.created_at = PENDING_APPROVAL, now
    broadcast.send_at = max(broadcast.send_at, now)


def approve(session: Session, broadcast: Broadcast, by: str, now: datetime) -> None:
    _decide(broadcast, APPROVED, by, now)


def reject(session: Session, broadcast: Broadcast, by: str, now: datetime, reason: str) -> None:
    _decide(broadcast, REJECTED, by, now)
    broadcast.reason = reason


def cancel(session: Session, broadcast: Broadcast, by: str, now: datetime) -> None:
    """Until sending starts: waiting for approval, or approved for later."""
    if broadcast.status not in CANCELLABLE:
        raise BroadcastError(f"broadcast {broadcast.id} is {broadcast.status}: too late to cancel")
    broadcast.status, broadcast.decided_by, broadcast.decided_at = CANCELLED, by, now


def _decide(broadcast: Broadcast, status: str, by: str, now: datetime) -> None:
    if broadcast.status != PENDING_APPROVAL:
        raise BroadcastError(
            f"broadcast {broadcast.id} is {broadcast.status}, not awaiting approval"
        )
    broadcast.status, broadcast.decided_by, broadcast.decided_at = status, by, now


def start_due(session: Session, now: datetime) -> list[int]:
    """Approved broadcasts whose time has come: one delivery row per resident in the
    audience, written with the status change, so starting twice is impossible."""
    due = session.exec(
        select(Broadcast)
        .where(Broadcast.status == APPROVED, col(Broadcast.send_at) <= now)
        .with_for_update(skip_locked=True)
    ).all()
    for broadcast in due:
        audience = audience_of(broadcast)
        session.execute(
            insert(Delivery).from_select(
                [
                    "broadcast_id",
                    "resident_id",
                    "channel",
                    "recipient",
                    "status",
                    "attempts",
                    "next_attempt_at",
                ],
                sa_select(
                    literal(broadcast.id),
                    col(Resident.id),
                    col(Resident.channel),
                    col(Resident.user_id),
                    literal(QUEUED),
                    literal(0),
                    literal(now),
                ).where(*audience),
            )
        )
        broadcast.status, broadcast.started_at = SENDING, now
    return [b.id for b in due if b.id is not None]


def subscribed_channels(session: Session) -> list[str]:
    """The channels that have subscribers (an audience of nobody is no choice)."""
    found = session.exec(
        select(Resident.channel).where(col(Resident.subscribed).is_(True)).distinct()
    ).all()
    return sorted(found)


def audience_of(broadcast: Broadcast) -> list[ColumnElement[bool]]:
    """Who receives it: subscribed and reachable residents, filtered by area or channel."""
    where: list[ColumnElement[bool]] = [
        col(Resident.subscribed).is_(True),
        col(Resident.blocked).is_(False),
    ]
    if broadcast.kind == "tip":
        where.append(col(Resident.weekly_tips).is_(True))
    kind, _, value = broadcast.audience.partition(":")
    if kind == "area":
        where.append(col(Resident.area) == value)
    elif kind == "unit":  # the residents of the areas of a unit, or of several ('unit:3,5')
        ids = [int(part) for part in value.split(",") if part.isascii() and part.isdigit()]
        where.append(col(Resident.area).in_(select(Area.code).where(col(Area.unit_id).in_(ids))))
    elif kind == "channel":
        where.append(col(Resident.channel) == value)
    return where


def claim(
    session: Session, channels: list[str], now: datetime, limit: int, lease: timedelta
) -> list[Delivery]:
    """Due deliveries, oldest broadcast first, leased to this worker (others skip them)."""
    where = [col(Delivery.status) == QUEUED, col(Delivery.channel).in_(channels)]
    order = [col(Delivery.broadcast_id), col(Delivery.id)]
    return leases.take(session, Delivery, where, order, now, limit, lease)


def renew(session: Session, delivery_ids: list[int], until: datetime) -> None:
    """Extend this worker's lease on rows it still holds (not ones already marked)."""
    leases.renew(session, Delivery, delivery_ids, until, col(Delivery.status) == QUEUED)


def mark(session: Session, delivery_ids: list[int], status: str, now: datetime) -> None:
    """Outcomes, in one statement built once: at a thousand alerts a second, building an ORM
    UPDATE for every group of outcomes cost as much CPU as running it."""
    if delivery_ids:
        sent_at = now if status == SENT else None
        session.execute(_MARK, {"ids": delivery_ids, "outcome": status, "at": sent_at})


def _mark_statement() -> Any:
    table = Delivery.__table__  # type: ignore[attr-defined]
    ids: BindParameter[list[int]] = bindparam("ids", expanding=True)
    return (
        update(table)
        .where(table.c.id.in_(ids))
        .values(
            status=bindparam("outcome", type_=table.c.status.type),
            sent_at=bindparam("at", type_=table.c.sent_at.type),
            lease_until=None,
        )
    )


_MARK = _mark_statement()


def retry(session: Session, delivery_id: int, error: str, at: datetime, counts: bool) -> None:
    """Back in the queue at `at`; a fault (not a 429) counts toward giving up."""
    row = session.get(Delivery, delivery_id)
    if row is None:
        return
    row.lease_until, row.next_attempt_at, row.last_error = None, at, error[:255]
    if counts:
        row.attempts += 1
        if row.attempts >= GIVE_UP_AFTER:
            row.status = FAILED


def blocked(session: Session, delivery: Delivery, now: datetime) -> None:
    """The platform refuses this resident for good: unsubscribed by the platform."""
    mark(session, [delivery.id or 0], BLOCKED, now)
    session.execute(
        update(Resident).where(col(Resident.id) == delivery.resident_id).values(blocked=True)
    )


def release_waiting(session: Session, channel: str, user_id: str, now: datetime) -> int:
    """The resident wrote again: what waited for that (channels that may only answer recent
    contacts) is due now."""
    result = session.execute(
        update(Delivery)
        .where(
            col(Delivery.status) == WAITING,
            col(Delivery.channel) == channel,
            col(Delivery.recipient) == user_id,
        )
        .values(status=QUEUED, next_attempt_at=now, lease_until=None)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def forget_resident(session: Session, resident_id: int) -> None:
    """A resident erased their data: alerts not yet sent to them never go, and the record of
    those sent keeps its count but no longer says to whom."""
    unsent = (QUEUED, WAITING)
    session.execute(
        delete(Delivery).where(
            col(Delivery.resident_id) == resident_id, col(Delivery.status).in_(unsent)
        )
    )
    session.execute(
        update(Delivery)
        .where(col(Delivery.resident_id) == resident_id)
        .values(resident_id=None, recipient="")
    )


def finish_done(session: Session, now: datetime) -> list[Broadcast]:
    """Broadcasts with nothing left queued are done (waiting deliveries don't hold them)."""
    busy = select(Delivery.id).where(
        and_(col(Delivery.broadcast_id) == col(Broadcast.id), col(Delivery.status) == QUEUED)
    )
    finished = list(
        session.exec(select(Broadcast).where(Broadcast.status == SENDING, ~busy.exists())).all()
    )
    for broadcast in finished:
        broadcast.status, broadcast.finished_at = DONE, now
    return finished


@dataclass(frozen=True)
class Progress:
    total: int
    by_status: Counter[str]

    @property
    def remaining(self) -> int:
        return self.by_status[QUEUED]


def progress(session: Session, broadcast_id: int) -> Progress:
    counted = Counter(
        {
            status: count
            for status, count in session.exec(
                select(Delivery.status, func.count())
                .where(Delivery.broadcast_id == broadcast_id)
                .group_by(col(Delivery.status))
            ).all()
        }
    )
    return Progress(sum(counted.values()), counted)


def discard_draft(session: Session, broadcast_id: int) -> None:
    """A draft its writer cancelled, photo and all (never a submitted broadcast)."""
    session.execute(
        delete(Broadcast).where(col(Broadcast.id) == broadcast_id, col(Broadcast.status) == DRAFT)
    )


def prune_drafts(session: Session, older_than: timedelta, now: datetime) -> int:
    """Drafts abandoned mid-writing (never submitted, never cancelled)."""
    result = session.execute(
        delete(Broadcast).where(
            col(Broadcast.status) == DRAFT, col(Broadcast.created_at) < now - older_than
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)


def find(session: Session, number: str) -> Broadcast | None:
    """A broadcast by the number staff type; drafts are their writer's alone."""
    found = session.get(Broadcast, int(number)) if number.strip().isdigit() else None
    return found if found is not None and found.status != DRAFT else None


def recent(session: Session, limit: int = 20) -> list[Broadcast]:
    """The latest broadcasts, drafts left out."""
    return list(
        session.exec(
            select(Broadcast)
            .where(col(Broadcast.status) != DRAFT)
            .order_by(col(Broadcast.id).desc())
            .limit(limit)
        ).all()
    )
