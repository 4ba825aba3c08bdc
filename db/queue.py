"""The console's reading of reports: the queue (filters, counts, pages) and search by code,
identifier or words. Indexed so a million reports stay fast (bench/console.py measures)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import and_, func, or_
from sqlmodel import Session, col, select

from content import fold
from db import identifiers, reports, units
from db.clock import VIETNAM
from db.models import Identifier, Report, ReportIdentifier, ReportWords

PAGE = 50
OPEN, CLOSED, ALL = "open", "closed", "all"
MINE, ANYONE, UNASSIGNED = "mine", "anyone", "unassigned"


@dataclass(frozen=True)
class Filters:
    """What the queue shows; every field empty means the open reports, all of them."""

    status: str = OPEN  # OPEN, CLOSED, ALL or one status
    scam_type: str = ""
    urgent: bool = False
    overdue: bool = False
    holder: str = ANYONE  # MINE, ANYONE, UNASSIGNED
    channel: str = ""
    area: str = ""
    unit: int | None = None  # a province officer's choice among the units
    since: date | None = None  # filed on or after (Vietnam days)
    until: date | None = None  # filed on or before
    page: int = 1


@dataclass(frozen=True)
class Page:
    reports: list[Report]
    total: int
    counts: dict[str, int]  # by status, under the other filters, within the status filter
    page: int
    pages: int


def overdue(now: datetime) -> Any:
    """Past the deadline that applies now: acknowledgement while new, resolution while open."""
    return or_(
        and_(col(Report.status) == reports.NEW, col(Report.ack_due_at) <= now),
        and_(col(Report.status).in_(reports.OPEN), col(Report.resolve_due_at) <= now),
    )


def in_scope(scope: units.Scope) -> list[Any]:
    """The condition that keeps an officer to their unit's reports (none for the province)."""
    if scope.units is None:
        return []
    return [col(Report.unit_id).in_(scope.units)]


def _conditions(
    filters: Filters, officer_id: int | None, now: datetime, scope: units.Scope
) -> list[Any]:
    where: list[Any] = in_scope(scope)
    if filters.unit is not None:
        where.append(col(Report.unit_id) == filters.unit)
    if filters.scam_type:
        where.append(col(Report.scam_type) == filters.scam_type)
    if filters.urgent:
        where.append(col(Report.urgent).is_(True))
    if filters.overdue:
        where.append(overdue(now))
    if filters.holder == MINE:
        where.append(col(Report.claimed_by) == officer_id)
    elif filters.holder == UNASSIGNED:
        where.append(col(Report.claimed_by).is_(None))
    if filters.channel:
        where.append(col(Report.channel) == filters.channel)
    if filters.area:
        where.append(col(Report.area) == filters.area)
    if filters.since:
        where.append(col(Report.created_at) >= _day_start(filters.since))
    if filters.until:
        where.append(col(Report.created_at) < _day_start(filters.until + timedelta(days=1)))
    return where


def _status(filters: Filters) -> Any:
    if filters.status == OPEN:
        return col(Report.status).in_(reports.OPEN)
    if filters.status == CLOSED:
        return col(Report.status).in_(reports.CLOSED)
    if filters.status in reports.TRANSITIONS:
        return col(Report.status) == filters.status
    return True  # ALL


def _shows(filters: Filters, status: str) -> bool:
    """Whether a report in this status passes the status filter (as `_status` says)."""
    if filters.status == OPEN:
        return status in reports.OPEN
    if filters.status == CLOSED:
        return status in reports.CLOSED
    if filters.status in reports.TRANSITIONS:
        return status == filters.status
    return True  # ALL


def queue(
    session: Session,
    filters: Filters,
    officer_id: int | None,
    now: datetime,
    scope: units.Scope = units.EVERYWHERE,
) -> Page:
    """One page of reports, urgent first, then the oldest (whose deadlines come first)."""
    where = _conditions(filters, officer_id, now, scope)
    # Counted only within the status filter: the open queue counts its few thousand open
    # reports through the status index, not the million closed ones (absent: not counted).
    counted = session.exec(
        select(Report.status, func.count())
        .where(_status(filters), *where)
        .group_by(col(Report.status))
    ).all()
    counts = {status: int(n) for status, n in counted}
    shown = [_status(filters), *where]
    # The shown reports are those counted under the status filter: their number is a sum of
    # the counts, not a second pass over the table.
    total = sum(n for status, n in counts.items() if _shows(filters, status))
    pages = max(1, -(-total // PAGE))
    page = min(max(1, filters.page), pages)
    rows = session.exec(
        select(Report)
        .where(*shown)
        .order_by(col(Report.urgent).desc(), col(Report.created_at), col(Report.id))
        .offset((page - 1) * PAGE)
        .limit(PAGE)
    ).all()
    return Page(list(rows), total, counts, page, pages)


def by_identifier(
    session: Session,
    candidates: list[identifiers.ParsedIdentifier],
    limit: int = PAGE,
    scope: units.Scope = units.EVERYWHERE,
) -> list[tuple[Identifier, list[Report]]]:
    """Every stored identifier matching one of the readings of what was typed, with the
    reports naming it (newest first)."""
    found: list[tuple[Identifier, list[Report]]] = []
    for parsed in candidates:
        conditions = [col(Identifier.kind) == parsed.kind, col(Identifier.value) == parsed.value]
        if parsed.bank:
            conditions.append(col(Identifier.bank) == parsed.bank)
        for identifier in session.exec(select(Identifier).where(*conditions)).all():
            if all(identifier.id != f.id for f, _ in found):
                found.append((identifier, naming(session, identifier.id or 0, limit, scope)))
    return found


def naming(
    session: Session, identifier_id: int, limit: int = PAGE, scope: units.Scope = units.EVERYWHERE
) -> list[Report]:
    return list(
        session.exec(
            select(Report)
            .join(ReportIdentifier, col(ReportIdentifier.report_id) == col(Report.id))
            .where(col(ReportIdentifier.identifier_id) == identifier_id, *in_scope(scope))
            .order_by(col(Report.created_at).desc())
            .limit(limit)
        ).all()
    )


def by_words(
    session: Session, text: str, limit: int = PAGE, scope: units.Scope = units.EVERYWHERE
) -> list[Report]:
    """Reports whose account holds every word typed, accents and case ignored."""
    words = [w for w in fold(text).split() if len(w) >= 2][:6]
    if not words:
        return []
    likes = [col(ReportWords.words).like(f"%{_escape(w)}%", escape="\\") for w in words]
    return list(
        session.exec(
            select(Report)
            .join(ReportWords, col(ReportWords.report_id) == col(Report.id))
            .where(*likes, *in_scope(scope))
            # Newest first by id (filed in that order): sorted within the narrow index table,
            # not by reading a million reports' filing times.
            .order_by(col(ReportWords.report_id).desc())
            .limit(limit)
        ).all()
    )


def readings(text: str) -> list[identifiers.ParsedIdentifier]:
    """What a typed identifier could be: a phone in any spelling, an account (with or
    without its bank), a link with or without scheme or www."""
    text = text.strip()
    found: list[identifiers.ParsedIdentifier] = []
    number = identifiers.phone(text)
    if number:
        found.append(number)
    # The digits of an account, whatever bank is named beside them (any bank matches).
    account = identifiers.bank_account("".join(c for c in text if c.isdigit()))
    if account and not (number and text.startswith("+")):
        found.append(account)
    if ("." in text or "/" in text) and not text.replace(".", "").replace(" ", "").isdigit():
        address = identifiers.link(text)
        if address:
            found.append(address)
    if text.startswith("@") and len(text) > 1:
        found.append(identifiers.handle(text[1:]))
    return found


def _escape(word: str) -> str:
    return word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=VIETNAM)
