"""Reports and the rules of their life: receipt codes, creation, and status transitions."""

from __future__ import annotations

import re
import secrets
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import delete, func, update
from sqlmodel import Session, col, select

from content import fold
from db import identifiers, sealing
from db.models import Evidence, Report, ReportEvent, ReportIdentifier, ReportWords

# No 0/O/1/I/L, so a code copied by hand from a phone screen survives.
RECEIPT_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"

NEW, ACCEPTED, VERIFYING = "moi", "da_tiep_nhan", "dang_xac_minh"
REFERRED, RESOLVED, NO_CRIME, DUPLICATE, SPAM = (
    "chuyen_cqdt",
    "da_giai_quyet",
    "khong_co_dau_hieu",
    "trung",
    "rac",
)
OPEN = (NEW, ACCEPTED, VERIFYING)
CLOSED = (REFERRED, RESOLVED, NO_CRIME, DUPLICATE, SPAM)
# The one place that says which status may follow which. A closed report can only be
# reopened for more verification (who may do that is the triage service's rule).
TRANSITIONS: dict[str, frozenset[str]] = {
    NEW: frozenset({ACCEPTED, DUPLICATE, SPAM}),
    ACCEPTED: frozenset({VERIFYING, *CLOSED}),
    VERIFYING: frozenset(CLOSED),
    **{closed: frozenset({VERIFYING}) for closed in CLOSED},
}


class TransitionError(ValueError):
    """A status change the rules do not allow."""


@dataclass(frozen=True)
class Actor:
    """Who did something to a report: an officer by id (their name as it was then, for the
    history), or a role word (the resident, the reporter, the system)."""

    label: str
    officer_id: int | None = None


RESIDENT = Actor("resident")


def record(
    session: Session,
    report: Report,
    actor: Actor,
    action: str,
    now: datetime,
    note: str | None = None,
    from_status: str | None = None,
    to_status: str | None = None,
) -> ReportEvent:
    """One line of a report's history: the audit trail every change writes."""
    assert report.id is not None
    event = ReportEvent(
        report_id=report.id,
        at=now,
        actor=actor.label[:128],
        officer_id=actor.officer_id,
        action=action,
        from_status=from_status,
        to_status=to_status,
        note=note,
    )
    session.add(event)
    return event


def new_receipt_code(session: Session) -> str:
    while True:
        raw = "".join(secrets.choice(RECEIPT_ALPHABET) for _ in range(8))
        code = f"{raw[:4]}-{raw[4:]}"
        if session.exec(select(Report.id).where(Report.receipt_code == code)).first() is None:
            return code


@dataclass
class Draft:
    """A finished draft, as the report flow hands it over."""

    channel: str
    scam_type: str
    account: str
    consent_version: str
    urgent: bool = False
    victim_info: str | None = None
    amount_vnd: int | None = None
    occurred_on: date | None = None
    contact_phone: str | None = None
    identifiers: list[identifiers.ParsedIdentifier] = field(default_factory=list)
    evidence_owner: str | None = None


def create(
    session: Session,
    draft: Draft,
    reporter: str | None,
    now: datetime,
    ack_within: timedelta,
    resolve_within: timedelta,
    area: str | None = None,
    unit_id: int | None = None,
) -> Report:
    report = Report(
        unit_id=unit_id,
        receipt_code=new_receipt_code(session),
        channel=draft.channel,
        reporter=reporter,
        reporter_tag=sealing.reporter_tag(reporter) if reporter else None,
        area=area,
        scam_type=draft.scam_type,
        urgent=draft.urgent,
        account=draft.account,
        victim_info=draft.victim_info,
        amount_vnd=draft.amount_vnd,
        occurred_on=draft.occurred_on,
        anonymous=draft.contact_phone is None,
        contact_phone=draft.contact_phone,
        consent_version=draft.consent_version,
        status=NEW,
        created_at=now,
        updated_at=now,
        ack_due_at=now + ack_within,
        resolve_due_at=now + resolve_within,
    )
    session.add(report)
    session.flush()
    assert report.id is not None
    for parsed in draft.identifiers:
        identifier = identifiers.get_or_create(session, parsed, now)
        assert identifier.id is not None
        session.add(ReportIdentifier(report_id=report.id, identifier_id=identifier.id))
    if draft.evidence_owner:
        session.execute(
            update(Evidence)
            .where(
                col(Evidence.draft_owner) == draft.evidence_owner, col(Evidence.report_id).is_(None)
            )
            .values(report_id=report.id, draft_owner=None)
        )
    session.add(ReportWords(report_id=report.id, words=search_words(report.account)))
    record(session, report, RESIDENT, "created", now, to_status=NEW)
    return report


def amend(session: Session, report: Report, draft: Draft, now: datetime) -> bool:
    """An urgent report saved early takes in what its reporter added since (the story, the
    scammer's identifiers, money, date, a phone to call back); True if anything changed.
    What the reporter gave is only ever added to, never wiped by a field left empty."""
    assert report.id is not None
    changed = False
    for name, value in (
        ("account", draft.account),
        ("victim_info", draft.victim_info),
        ("amount_vnd", draft.amount_vnd),
        ("occurred_on", draft.occurred_on),
        ("contact_phone", draft.contact_phone),
    ):
        if value is not None and getattr(report, name) != value:
            setattr(report, name, value)
            changed = True
    report.anonymous = report.contact_phone is None
    named = {i.id for i in identifiers.of_report(session, report.id)}
    for parsed in draft.identifiers:
        identifier = identifiers.get_or_create(session, parsed, now)
        if identifier.id not in named and identifier.id is not None:
            session.add(ReportIdentifier(report_id=report.id, identifier_id=identifier.id))
            named.add(identifier.id)
            changed = True
    if changed:
        report.updated_at = now
        words = session.get(ReportWords, report.id)
        if words is None:
            session.add(ReportWords(report_id=report.id, words=search_words(report.account)))
        else:
            words.words = search_words(report.account)
    return changed


@dataclass(frozen=True)
class Tally:
    """Reports since a moment: how many, money lost, and counts by status and by type."""

    count: int
    lost: int
    by_status: Counter[str]
    by_type: Counter[str]


def tally(session: Session, since: datetime, unit_ids: frozenset[int] | None = None) -> Tally:
    """Counted by the database (one grouped query), not by loading every report; within
    some units only, when given."""
    where = [col(Report.created_at) >= since]
    if unit_ids is not None:
        where.append(col(Report.unit_id).in_(unit_ids))
    rows = session.exec(
        select(Report.status, Report.scam_type, func.count(), func.sum(Report.amount_vnd))
        .where(*where)
        .group_by(col(Report.status), col(Report.scam_type))
    ).all()
    by_status: Counter[str] = Counter()
    by_type: Counter[str] = Counter()
    for status, scam_type, count, _ in rows:
        by_status[status] += count
        by_type[scam_type] += count
    return Tally(sum(by_status.values()), sum(int(r[3] or 0) for r in rows), by_status, by_type)


def discard_draft_evidence(session: Session, owner: str) -> None:
    """Photos sent for a report that was never submitted (cancelled, or the sender erased)."""
    session.execute(
        delete(Evidence).where(
            col(Evidence.draft_owner) == owner, col(Evidence.report_id).is_(None)
        )
    )


def transition(
    session: Session,
    report: Report,
    to_status: str,
    actor: Actor,
    now: datetime,
    note: str | None = None,
    action: str = "status",
) -> ReportEvent:
    """Move a report to a new status if the rules allow, recording who, when and why."""
    if to_status not in TRANSITIONS.get(report.status, frozenset()):
        raise TransitionError(f"{report.status} -> {to_status}")
    event = record(session, report, actor, action, now, note, report.status, to_status)
    report.status, report.updated_at = to_status, now
    return event


def by_code(session: Session, code: str) -> Report | None:
    return session.exec(select(Report).where(Report.receipt_code == code)).first()


# A run of seven or more digits (a phone or account number, spaced or not): left out of the
# search words, which are stored unsealed; numbers are found through the identifier index.
LONG_NUMBER = re.compile(r"\d(?:[\s.\-]?\d){6,}")


def search_words(account: str) -> str:
    """The account folded for the console's word search (db/queue.py), without numbers."""
    return LONG_NUMBER.sub("#", fold(account))


def was_transferred(session: Session, report: Report) -> bool:
    found = select(ReportEvent.id).where(
        ReportEvent.report_id == report.id, ReportEvent.action == "transfer"
    )
    return session.exec(found.limit(1)).first() is not None


def is_reporter(report: Report, owner: str) -> bool:
    """Whether the account "channel:user_id" filed this report (its keyed tag matches)."""
    return report.reporter_tag is not None and report.reporter_tag in sealing.reporter_tags(owner)


def of_resident(session: Session, owner: str, limit: int = 10) -> list[Report]:
    return list(
        session.exec(
            select(Report)
            .where(col(Report.reporter_tag).in_(sealing.reporter_tags(owner)))
            .order_by(col(Report.created_at).desc())
            .limit(limit)
        ).all()
    )


def recent_of_resident(session: Session, owner: str, since: datetime) -> list[Report]:
    return list(
        session.exec(
            select(Report).where(
                col(Report.reporter_tag).in_(sealing.reporter_tags(owner)),
                col(Report.created_at) >= since,
            )
        ).all()
    )
