"""How long personal data is kept, and the purge that enforces it (Decree 13/2023/NĐ-CP and
Law 91/2025/QH15: no longer than the purpose needs). One function per kind of data, each
returning how many rows it cleared; `purge` runs them all and records the run."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, delete, exists, or_, select, update
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, col

from db import broadcasts, outbox, sealing
from db.models import (
    AuditEvent,
    Broadcast,
    Consent,
    ConsoleSession,
    Conversation,
    Delivery,
    Evidence,
    FailedUpdate,
    Invite,
    Outbox,
    PurgeRun,
    Report,
    ReportEvent,
    ReportWords,
    Resident,
    SetupToken,
    Throttle,
)
from db.reports import CLOSED, SPAM

# What a closed report's account reads once its retention has run out (shown to officers).
PLACEHOLDER = "[đã xóa theo thời hạn lưu trữ]"
# Sign-in sessions, set-up links and invite codes, once expired or ended, are kept this long
# (to look into a suspicious sign-in), then go.
EXPIRED_CREDENTIALS = timedelta(days=30)
# Every rate-limit window is an hour or less: a counter older than this counts nothing.
OLD_THROTTLE = timedelta(days=2)


@dataclass(frozen=True)
class Policy:
    """Days each kind of data is kept (settings RETENTION_*)."""

    # A conversation left idle (with its half-written report, remembered words and draft
    # photos), and an unsubscribed resident with nothing open.
    draft_days: int = 30
    # A closed report's personal fields, photos and search words, counted from its closing.
    closed_days: int = 365
    # The same for a report closed as rubbish ("rac"): nothing there needs keeping long.
    rubbish_days: int = 90
    # Messages: delivered, failed or waiting outbox rows, alert deliveries, failed updates.
    message_days: int = 30
    # The console's audit log (who opened which report).
    audit_days: int = 730


Kind = Callable[[Session, Policy, datetime], int]


def _count(result: object) -> int:
    return max(0, int(getattr(result, "rowcount", 0) or 0))


def _before(now: datetime, days: int) -> datetime:
    return now - timedelta(days=days)


def idle_conversations(session: Session, policy: Policy, now: datetime) -> int:
    """Conversations untouched for `draft_days` go whole: the abandoned draft, the words the
    resident was remembered by, where they stood. Writing again starts afresh."""
    cutoff = _before(now, policy.draft_days)
    return _count(
        session.connection().execute(
            delete(Conversation).where(col(Conversation.updated_at) < cutoff)
        )
    )


def draft_photos(session: Session, policy: Policy, now: datetime) -> int:
    """Photos of a report never submitted, older than `draft_days`, once the conversation
    that held the draft is gone (idle, erased, or cancelled)."""
    owner = col(Conversation.channel) + ":" + col(Conversation.user_id)
    alive = exists().where(owner == col(Evidence.draft_owner))
    return _count(
        session.connection().execute(
            delete(Evidence).where(
                col(Evidence.draft_owner).is_not(None),
                col(Evidence.report_id).is_(None),
                col(Evidence.created_at) < _before(now, policy.draft_days),
                ~alive,
            )
        )
    )


def idle_residents(session: Session, policy: Policy, now: datetime) -> int:
    """A resident who takes no alerts, has no report linked and no conversation left is kept
    for nothing: the row, its consents and its name on past deliveries go."""
    talking = exists().where(
        col(Conversation.channel) == col(Resident.channel),
        col(Conversation.user_id) == col(Resident.user_id),
    )
    idle = session.execute(
        select(col(Resident.id), col(Resident.channel), col(Resident.user_id)).where(
            col(Resident.subscribed).is_(False),
            col(Resident.created_at) < _before(now, policy.draft_days),
            ~talking,
        )
    ).all()
    # A reporter is kept while a report is theirs (/xoadulieu and /baocao look them up); the
    # link is a keyed tag (db/sealing.py), so it is checked here and not in SQL.
    gone = [
        resident_id
        for resident_id, channel, user_id in idle
        if not session.execute(
            select(col(Report.id))
            .where(col(Report.reporter_tag).in_(sealing.reporter_tags(f"{channel}:{user_id}")))
            .limit(1)
        ).first()
    ]
    for resident_id in gone:
        broadcasts.forget_resident(session, resident_id)
    if gone:
        session.execute(delete(Consent).where(col(Consent.resident_id).in_(gone)))
        session.execute(delete(Resident).where(col(Resident.id).in_(gone)))
    return len(gone)


def _expired_report(policy: Policy, now: datetime) -> ColumnElement[bool]:
    """A report closed (and untouched) for longer than its kind is kept."""
    kept = [status for status in CLOSED if status != SPAM]
    return or_(
        and_(
            col(Report.status).in_(kept),
            col(Report.updated_at) < _before(now, policy.closed_days),
        ),
        and_(
            col(Report.status) == SPAM,
            col(Report.updated_at) < _before(now, policy.rubbish_days),
        ),
    )


def closed_photos(session: Session, policy: Policy, now: datetime) -> int:
    expired = select(col(Report.id)).where(_expired_report(policy, now))
    return _count(
        session.connection().execute(delete(Evidence).where(col(Evidence.report_id).in_(expired)))
    )


def closed_search_words(session: Session, policy: Policy, now: datetime) -> int:
    """The folded copy of the account kept for the console's search."""
    expired = select(col(Report.id)).where(_expired_report(policy, now))
    return _count(
        session.connection().execute(
            delete(ReportWords).where(col(ReportWords.report_id).in_(expired))
        )
    )


def closed_notes(session: Session, policy: Policy, now: datetime) -> int:
    """Free text in a closed report's history (the reporter's additions, officers' questions
    and reasons); who did what and when stays."""
    expired = select(col(Report.id)).where(_expired_report(policy, now))
    return _count(
        session.connection().execute(
            update(ReportEvent)
            .where(col(ReportEvent.report_id).in_(expired), col(ReportEvent.note).is_not(None))
            .values(note=None)
        )
    )


def closed_reports(session: Session, policy: Policy, now: datetime) -> int:
    """A closed report past its time keeps what statistics need (type, dates, amount, status,
    the identifiers it named) and loses what says who and what happened to whom."""
    return _count(
        session.connection().execute(
            update(Report)
            .where(_expired_report(policy, now), col(Report.cleared_at).is_(None))
            .values(
                account=PLACEHOLDER,
                victim_info=None,
                contact_phone=None,
                reporter=None,
                reporter_tag=None,
                cleared_at=now,
            )
        )
    )


def old_messages(session: Session, policy: Policy, now: datetime) -> int:
    """Outbox rows that are done with (sent, blocked, given up) or that waited in vain for the
    resident to write again; their text may hold what residents wrote."""
    done = [outbox.SENT, outbox.BLOCKED, outbox.FAILED, outbox.WAITING]
    return _count(
        session.connection().execute(
            delete(Outbox).where(
                col(Outbox.status).in_(done),
                col(Outbox.created_at) < _before(now, policy.message_days),
            )
        )
    )


def old_deliveries(session: Session, policy: Policy, now: datetime) -> int:
    """An old alert's deliveries keep their count and lose whom they went to; those still
    waiting for the resident to write again never go."""
    old = select(col(Broadcast.id)).where(
        col(Broadcast.send_at) < _before(now, policy.message_days)
    )
    dropped = session.connection().execute(
        delete(Delivery).where(
            col(Delivery.broadcast_id).in_(old), col(Delivery.status) == broadcasts.WAITING
        )
    )
    unlinked = session.connection().execute(
        update(Delivery)
        .where(
            col(Delivery.broadcast_id).in_(old),
            col(Delivery.status) != broadcasts.QUEUED,
            or_(col(Delivery.resident_id).is_not(None), col(Delivery.recipient) != ""),
        )
        .values(resident_id=None, recipient="")
    )
    return _count(dropped) + _count(unlinked)


def failed_updates(session: Session, policy: Policy, now: datetime) -> int:
    """Updates set aside after failing hold a whole platform message, sender included."""
    return _count(
        session.connection().execute(
            delete(FailedUpdate).where(
                col(FailedUpdate.failed_at) < _before(now, policy.message_days)
            )
        )
    )


def audit_log(session: Session, policy: Policy, now: datetime) -> int:
    return _count(
        session.connection().execute(
            delete(AuditEvent).where(col(AuditEvent.at) < _before(now, policy.audit_days))
        )
    )


def credentials(session: Session, policy: Policy, now: datetime) -> int:
    """Console sessions, set-up links and invite codes expired or ended long ago."""
    cutoff = now - EXPIRED_CREDENTIALS
    conn = session.connection()
    sessions = conn.execute(
        delete(ConsoleSession).where(
            or_(col(ConsoleSession.expires_at) < cutoff, col(ConsoleSession.ended_at) < cutoff)
        )
    )
    tokens = conn.execute(delete(SetupToken).where(col(SetupToken.expires_at) < cutoff))
    invites = conn.execute(delete(Invite).where(col(Invite.expires_at) < cutoff))
    return _count(sessions) + _count(tokens) + _count(invites)


def throttles(session: Session, policy: Policy, now: datetime) -> int:
    """Rate-limit counters (keyed by account) whose window ended long ago."""
    return _count(
        session.connection().execute(
            delete(Throttle).where(col(Throttle.window_start) < now - OLD_THROTTLE)
        )
    )


# In this order: conversations and reports let go of people before the residents that
# outlive them are looked at.
KINDS: tuple[tuple[str, Kind], ...] = (
    ("conversations", idle_conversations),
    ("draft_photos", draft_photos),
    ("closed_photos", closed_photos),
    ("closed_search_words", closed_search_words),
    ("closed_notes", closed_notes),
    ("closed_reports", closed_reports),
    ("residents", idle_residents),
    ("messages", old_messages),
    ("deliveries", old_deliveries),
    ("failed_updates", failed_updates),
    ("audit_events", audit_log),
    ("credentials", credentials),
    ("throttles", throttles),
)


def purge(session: Session, policy: Policy, now: datetime, dry_run: bool = False) -> dict[str, int]:
    """Clear everything past its time and record the run. A dry run does the same work inside
    a savepoint and rolls it back, so its counts are exactly what a real run would clear."""
    savepoint = session.begin_nested()
    counts = {name: kind(session, policy, now) for name, kind in KINDS}
    if dry_run:
        savepoint.rollback()
    else:
        savepoint.commit()
    session.add(PurgeRun(at=now, dry_run=dry_run, counts=counts))
    return counts
