"""What the clock owes the police: reminders for urgent tips nobody has claimed, their
escalation to the leads, and the morning digest. Each run is keyed in the job ledger within
the same transaction as its messages, so it happens once however many processes tick."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import or_
from sqlmodel import Session, col, select

from content import Content
from db import jobs, reports
from db.clock import to_vietnam
from db.models import Report
from handlers import police, triage
from handlers.report import type_label

RENOTIFY_EVERY = timedelta(minutes=5)
DIGEST_CODES = 15  # codes listed per line of the digest; the count says the rest


def due(session: Session, content: Content, now: datetime, digest_at: time) -> list[dict[str, Any]]:
    """Everything due at `now` that no process has done yet, as outbox rows."""
    return [
        *_urgent_reminders(session, content, now),
        *_escalations(session, content, now),
        *_digest(session, content, now, digest_at),
    ]


def _unclaimed_urgent(session: Session, since: datetime) -> list[Report]:
    return list(
        session.exec(
            select(Report).where(
                col(Report.urgent).is_(True),
                Report.status == reports.NEW,
                col(Report.created_at) <= since,
            )
        ).all()
    )


def _urgent_reminders(session: Session, content: Content, now: datetime) -> list[dict[str, Any]]:
    """Every five minutes an urgent tip stays unclaimed, the police chat hears of it again.
    Only the current five-minute mark counts: after downtime, one reminder, not a burst."""
    effects = []
    for report in _unclaimed_urgent(session, now - RENOTIFY_EVERY):
        mark = int((now - report.created_at) / RENOTIFY_EVERY)
        if jobs.take(session, f"renotify:{report.id}:{mark}", now):
            text = content.text(
                "police.renotify",
                code=report.receipt_code,
                type=type_label(content, report.scam_type),
                minutes=mark * int(RENOTIFY_EVERY.total_seconds() // 60),
            )
            effects.append(police.note(text, report, urgent=True))
    return effects


def _escalations(session: Session, content: Content, now: datetime) -> list[dict[str, Any]]:
    """An urgent tip still unclaimed at its acknowledgement deadline goes to the leads."""
    effects: list[dict[str, Any]] = []
    for report in _unclaimed_urgent(session, now):
        overdue = report.ack_due_at is not None and report.ack_due_at <= now
        if (
            overdue
            and report.escalated_at is None
            and jobs.take(session, f"escalate:{report.id}", now)
        ):
            system = reports.Actor(content.text("police.actor_system"))
            effects += triage.escalate(session, content, report, now, system)
    return effects


def _digest(
    session: Session, content: Content, now: datetime, digest_at: time
) -> list[dict[str, Any]]:
    """Once a day from `digest_at` (Vietnam time): new in 24 hours, unclaimed, overdue. A
    process that was down at that moment sends it when it comes back."""
    local = to_vietnam(now)
    if local.time() < digest_at or not jobs.take(session, f"digest:{local.date()}", now):
        return []
    new = session.exec(
        select(Report.receipt_code).where(col(Report.created_at) >= now - timedelta(days=1))
    ).all()
    unclaimed = session.exec(
        select(Report.receipt_code)
        .where(Report.status == reports.NEW)
        .order_by(col(Report.urgent).desc(), col(Report.created_at))
    ).all()
    overdue = session.exec(
        select(Report.receipt_code)
        .where(
            or_(
                (col(Report.status) == reports.NEW) & (col(Report.ack_due_at) < now),
                col(Report.status).in_(reports.OPEN) & (col(Report.resolve_due_at) < now),
            )
        )
        .order_by(col(Report.created_at))
    ).all()
    lines = [
        content.text(
            "police.digest",
            day=local.strftime("%d/%m/%Y"),
            new=len(new),
            unclaimed=len(unclaimed),
            overdue=len(overdue),
        )
    ]
    for key, codes in (("police.digest_unclaimed", unclaimed), ("police.digest_overdue", overdue)):
        if codes:
            shown = ", ".join(codes[:DIGEST_CODES]) + ("…" if len(codes) > DIGEST_CODES else "")
            lines.append(content.text("police.digest_codes", label=content.text(key), codes=shown))
    return [police.note("\n".join(lines))]
