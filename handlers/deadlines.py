"""What the clock owes the police: reminders for urgent tips nobody has claimed, their
escalation to the leads, the morning digest, and the leads' reminders before the periodic
report is due upward. Each run is keyed in the job ledger within
the same transaction as its messages, so it happens once however many processes tick."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from sqlalchemy import or_
from sqlmodel import Session, col, select

from content import Content
from db import jobs, officers, queue, reports, units
from db.clock import to_vietnam
from db.models import Report
from db.outbox import Message
from handlers import notify, police, triage
from handlers.kinds import type_label
from handlers.types import Reply

RENOTIFY_EVERY = timedelta(minutes=5)
DIGEST_CODES = 15  # codes listed per line of the digest; the count says the rest
# When the periodic report is due upward, (day, month): the ward's yearly report before
# 05/12 (plan 000, VI.1), the province's half-year and yearly before 15/06 and 15/12 (plan
# 003, IV.1). REPORT_DUE_DATES in the settings replaces them.
REPORT_DUE = ((15, 6), (5, 12), (15, 12))
# Days before a due date on which the leads are reminded.
REPORT_REMINDERS = (7, 1)


def due(
    session: Session,
    content: Content,
    now: datetime,
    digest_at: time,
    report_due: tuple[tuple[int, int], ...] = REPORT_DUE,
) -> list[Message]:
    """Everything due at `now` that no process has done yet, as outbox rows."""
    return [
        *_urgent_reminders(session, content, now),
        *_escalations(session, content, now),
        *_digest(session, content, now, digest_at),
        *report_reminders(session, content, now, digest_at, report_due),
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


def _urgent_reminders(session: Session, content: Content, now: datetime) -> list[Message]:
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
            effects += [
                police.note(text, report, urgent=True),
                *police.to_province(session, report, text),
            ]
            title = content.text("police.push_urgent", code=report.receipt_code)
            notice = notify.about_report(
                title, report, Reply(text), urgent=True, in_police_chat=True
            )
            effects += notify.to_all(session, notify.triage_officers(session, report), notice)
    return effects


def _escalations(session: Session, content: Content, now: datetime) -> list[Message]:
    """An urgent tip still unclaimed at its acknowledgement deadline goes to the leads."""
    effects: list[Message] = []
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


def _digest(session: Session, content: Content, now: datetime, digest_at: time) -> list[Message]:
    """Once a day from `digest_at` (Vietnam time), in each police group, for the reports of
    its units: new in 24 hours, unclaimed, overdue. A process that was down at that moment
    sends it when it comes back."""
    local = to_vietnam(now)
    if local.time() < digest_at or not jobs.take(session, f"digest:{local.date()}", now):
        return []
    found = units.groups(session)
    return [
        police.note(_digest_text(session, content, now, group, len(found) > 1), group=group.unit_id)
        for group in found
    ]


def _digest_text(
    session: Session, content: Content, now: datetime, group: units.Group, named: bool
) -> str:
    mine = queue.in_scope(group.scope)
    new = session.exec(
        select(Report.receipt_code).where(col(Report.created_at) >= now - timedelta(days=1), *mine)
    ).all()
    unclaimed = session.exec(
        select(Report.receipt_code)
        .where(Report.status == reports.NEW, *mine)
        .order_by(col(Report.urgent).desc(), col(Report.created_at))
    ).all()
    overdue = session.exec(
        select(Report.receipt_code)
        .where(
            or_(
                (col(Report.status) == reports.NEW) & (col(Report.ack_due_at) < now),
                col(Report.status).in_(reports.OPEN) & (col(Report.resolve_due_at) < now),
            ),
            *mine,
        )
        .order_by(col(Report.created_at))
    ).all()
    lines = [
        content.text(
            "police.digest",
            day=to_vietnam(now).strftime("%d/%m/%Y"),
            new=len(new),
            unclaimed=len(unclaimed),
            overdue=len(overdue),
        )
    ]
    if named and group.scope.units is not None:  # several groups: say whose this one is
        lines.append(content.text("police.digest_unit", unit=", ".join(group.names)))
    for key, codes in (("police.digest_unclaimed", unclaimed), ("police.digest_overdue", overdue)):
        if codes:
            shown = ", ".join(codes[:DIGEST_CODES]) + ("…" if len(codes) > DIGEST_CODES else "")
            lines.append(content.text("police.digest_codes", label=content.text(key), codes=shown))
    return "\n".join(lines)


def report_period(due_on: date) -> tuple[date, date]:
    """The days a report due on `due_on` covers: from 1 January to the day before it is due;
    one due in January covers the whole year before."""
    if due_on.month == 1:
        return date(due_on.year - 1, 1, 1), date(due_on.year - 1, 12, 31)
    return date(due_on.year, 1, 1), due_on - timedelta(days=1)


def statistics_path(first: date, last: date) -> str:
    """The console's statistics page for these days."""
    return f"/statistics?from={first.isoformat()}&to={last.isoformat()}"


def report_reminders(
    session: Session,
    content: Content,
    now: datetime,
    at: time,
    due_dates: tuple[tuple[int, int], ...],
) -> list[Message]:
    """The leads hear, from `at` (Vietnam time) on the 7th and the 1st day before each due
    date, what is due and how to make it: once each, whichever process gets there first. A
    process that was down on the 7th day sends the week's reminder when it is back, up to
    the 2nd day before; from the day before, only the last reminder."""
    local = to_vietnam(now)
    if local.time() < at:
        return []
    today = local.date()
    effects: list[Message] = []
    for day, month in due_dates:
        for year in (today.year, today.year + 1):
            try:
                due_on = date(year, month, day)
            except ValueError:  # 29-02 in a common year
                continue
            left = (due_on - today).days
            # The latest reminder whose day has come (7 days before, then 1 day before).
            ahead = min((d for d in REPORT_REMINDERS if d >= left), default=None)
            if left < 1 or ahead is None:
                continue
            if not jobs.take(session, f"report-due:{due_on.isoformat()}:{ahead}", now):
                continue
            effects += _report_reminder(session, content, due_on, left)
    return effects


def _report_reminder(session: Session, content: Content, due_on: date, left: int) -> list[Message]:
    first, last = report_period(due_on)
    path = statistics_path(first, last)
    text = content.text(
        "reports.due_notice",
        days=left,
        due=due_on.strftime("%d/%m/%Y"),
        first=first.strftime("%d/%m/%Y"),
        last=last.strftime("%d/%m/%Y"),
        path=path,
        start=first.isoformat(),
        end=last.isoformat(),
        year=first.year,
    )
    title = content.text("reports.due_title", due=due_on.strftime("%d/%m/%Y"), days=left)
    notice = notify.Notice(title, path, (Reply(text),), tag=f"report-due-{due_on.isoformat()}")
    return notify.to_all(session, officers.leads(session), notice)
