"""The figures of a reporting period, counted by the database, for the periodic report, its
spreadsheet and the console: one module, so they can never disagree.

Counting rules (also in the README):
- A period is whole days of Vietnam time, both ends included (``2026``, ``2026-H1``,
  ``2026-Q3``, ``2026-11``, or two dates).
- Everything is counted as the records stood at the period's end: events after it are
  ignored, so a period's report reads the same whenever it is made.
- Tips received: reports created in the period, whatever became of them (duplicates and
  rubbish included; they are counted again under handling). Area: the reporter's chosen
  area; ``None`` ("không rõ") when they chose none or erased their data.
- Money reported lost: the amounts of the period's reports, except those that were
  duplicates (the loss is already counted in the original) or rubbish at the period's end.
- Acknowledged: the first status change out of "mới" (claimed, or closed as duplicate or
  rubbish); within the deadline when it came no later than the report's ``ack_due_at``.
  The share is of all the period's reports.
- Decided: the first status change into a closed status (referred, resolved, no crime,
  duplicate, rubbish); within the 20-day limit when no later than ``resolve_due_at``.
- Outcomes (referred, resolved, no crime, duplicate, rubbish): the period's reports by their
  status at the period's end (a reopened report counts by where it stood then).
- Still open at the end: every report received up to the period's end (earlier ones too)
  whose status then was open; overdue: those past their resolution deadline at the end.
- Medians: over the period's reports acknowledged (decided) before the period's end.
- Alerts: broadcasts of kind "alert" started in the period; residents reached: their
  deliveries marked sent in the period (weekly tips are counted apart).
- Subscribers at a moment: residents subscribed now whose subscription began before it
  (an unsubscription keeps no date, so one who left counts at neither end).
- Quiz: rounds finished in the period (a round left half-way is not counted); the average
  score is the mean of each round's score out of 10; the share of right answers is all right
  answers over all questions of those rounds. Nothing records who played.
- Scam tricks viewed: openings of a trick's page on the period's days (Vietnam time), the
  most viewed first (at most 10); a daily counter per trick, nothing about who opened it.
- Identifiers confirmed: distinct identifiers with a "confirm" event in the period. Most
  reported: by distinct reporters among the period's reports that were neither rubbish nor
  "no crime" at the end, as in /kiemtra (a report whose reporter erased their data counts
  for no one).
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, TypeVar

from sqlalchemy import (
    ColumnElement,
    Float,
    Select,
    Table,
    and_,
    case,
    cast,
    func,
    literal,
    literal_column,
    or_,
    select,
)
from sqlalchemy.sql import Subquery
from sqlmodel import Session, SQLModel

from db.clock import VIETNAM
from db.models import (
    Broadcast,
    Delivery,
    Identifier,
    IdentifierEvent,
    Officer,
    QuizRound,
    Report,
    ReportEvent,
    ReportIdentifier,
    Resident,
    ScamView,
)
from db.reports import CLOSED, DUPLICATE, NEW, NO_CRIME, OPEN, REFERRED, RESOLVED, SPAM


def _table(model: type[SQLModel]) -> Table:
    table = getattr(model, "__table__")  # noqa: B009 (SQLModel does not declare it)
    assert isinstance(table, Table)
    return table


REPORT_IDENTIFIER = _table(ReportIdentifier)
REPORT_EVENT = _table(ReportEvent)
IDENTIFIER_EVENT = _table(IdentifierEvent)
IDENTIFIER = _table(Identifier)
REPORT = _table(Report)
RESIDENT = _table(Resident)
OFFICER = _table(Officer)
BROADCAST = _table(Broadcast)
DELIVERY = _table(Delivery)
QUIZ_ROUND = _table(QuizRound)
SCAM_VIEW = _table(ScamView)

# Statuses whose reports name no identifiers worth counting (the rule of /kiemtra).
NOT_COUNTED = (SPAM, NO_CRIME)
# Statuses whose amounts are not counted as money lost.
NO_LOSS = (DUPLICATE, SPAM)
TOP_IDENTIFIERS = 10
TOP_SCAM_VIEWS = 10
K = TypeVar("K", str, str | None)


class PeriodError(ValueError):
    """A period that cannot be read; the message says what is expected."""


@dataclass(frozen=True)
class Period:
    """Whole days of Vietnam time, ``first`` to ``last`` inclusive; the reports of some units
    only when ``units`` is given (a unit's report; None: the whole deployment, summed)."""

    first: date
    last: date
    units: frozenset[int] | None = None

    def __post_init__(self) -> None:
        if self.last < self.first:
            raise PeriodError(f"the period ends ({self.last}) before it starts ({self.first})")

    @property
    def start(self) -> datetime:
        """The first moment of the period, in UTC."""
        return datetime.combine(self.first, time(), VIETNAM).astimezone(UTC)

    @property
    def end(self) -> datetime:
        """The first moment after the period, in UTC."""
        return datetime.combine(self.last + timedelta(days=1), time(), VIETNAM).astimezone(UTC)

    def months(self) -> list[str]:
        """Every month the period touches, as ``YYYY-MM``."""
        found, year, month = [], self.first.year, self.first.month
        while (year, month) <= (self.last.year, self.last.month):
            found.append(f"{year:04d}-{month:02d}")
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        return found


def _month_end(year: int, month: int) -> date:
    following = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
    return following - timedelta(days=1)


def parse_period(text: str) -> Period:
    """``2026``, ``2026-H1``/``H2``, ``2026-Q1``..``Q4``, ``2026-11``, or ``D..D`` / ``D:D``
    with ISO dates (both included)."""
    raw = text.strip().upper()
    if m := re.fullmatch(r"(\d{4})", raw):
        year = int(m[1])
        return Period(date(year, 1, 1), date(year, 12, 31))
    if m := re.fullmatch(r"(\d{4})-H([12])", raw):
        year, half = int(m[1]), int(m[2])
        return Period(date(year, 6 * half - 5, 1), _month_end(year, 6 * half))
    if m := re.fullmatch(r"(\d{4})-Q([1-4])", raw):
        year, quarter = int(m[1]), int(m[2])
        return Period(date(year, 3 * quarter - 2, 1), _month_end(year, 3 * quarter))
    if m := re.fullmatch(r"(\d{4})-(\d{1,2})", raw):
        year, month = int(m[1]), int(m[2])
        if not 1 <= month <= 12:
            raise PeriodError(f"no month {month}")
        return Period(date(year, month, 1), _month_end(year, month))
    if m := re.fullmatch(r"(\d{4}-\d{2}-\d{2})\s*(?:\.\.|:)\s*(\d{4}-\d{2}-\d{2})", raw):
        return between(m[1], m[2])
    raise PeriodError(
        f"unknown period {text!r}: use 2026, 2026-H1, 2026-Q3, 2026-11 or 2026-01-01..2026-03-31"
    )


def between(first: str | date, last: str | date) -> Period:
    """Two dates (ISO text or dates), both included."""
    try:
        a = first if isinstance(first, date) else date.fromisoformat(first.strip())
        b = last if isinstance(last, date) else date.fromisoformat(last.strip())
    except ValueError as error:
        raise PeriodError(f"dates are written YYYY-MM-DD: {error}") from error
    return Period(a, b)


# --- the figures ------------------------------------------------------------------------


@dataclass(frozen=True)
class Month:
    month: str  # YYYY-MM, Vietnam time
    received: int
    lost_vnd: int


@dataclass(frozen=True)
class Tips:
    received: int
    urgent: int
    by_type: dict[str, int]
    by_channel: dict[str, int]
    by_area: dict[str | None, int]
    lost_vnd: int
    reports_with_loss: int
    lost_by_type: dict[str, int]
    by_month: list[Month]


@dataclass(frozen=True)
class Handling:
    received: int
    acknowledged: int
    acknowledged_in_time: int
    decided: int
    decided_in_time: int
    referred: int
    resolved: int
    no_crime: int
    duplicates: int
    rubbish: int
    # Of the period's own reports, still open at its end.
    open_of_period: int
    # Every report received up to the end and open then (the backlog), and those overdue.
    open_at_end: int
    overdue_at_end: int
    median_ack: timedelta | None
    median_decision: timedelta | None

    @property
    def acknowledged_in_time_share(self) -> float | None:
        return self.acknowledged_in_time / self.received if self.received else None

    @property
    def decided_in_time_share(self) -> float | None:
        return self.decided_in_time / self.received if self.received else None


@dataclass(frozen=True)
class Quiz:
    rounds: int
    questions: int
    right: int
    average: float | None  # the mean round's score out of 10
    by_channel: dict[str, tuple[int, float]]  # rounds and average score, most rounds first

    @property
    def right_share(self) -> float | None:
        return self.right / self.questions if self.questions else None


@dataclass(frozen=True)
class Propaganda:
    alerts: int
    reached: int
    reached_by_channel: dict[str, int]
    reached_by_area: dict[str | None, int]
    tips_sent: int
    subscribers_at_start: int
    subscribers_at_end: int
    quiz: Quiz
    scam_views: dict[str, int]  # by trick id, most viewed first (at most TOP_SCAM_VIEWS)


@dataclass(frozen=True)
class TopIdentifier:
    kind: str
    display: str
    reporters: int
    reports: int
    confirmed: bool


@dataclass(frozen=True)
class Identifiers:
    confirmed: int
    confirmed_by_kind: dict[str, int]
    top: dict[str, list[TopIdentifier]]  # by kind, most reporters first


@dataclass(frozen=True)
class Statistics:
    period: Period
    tips: Tips
    handling: Handling
    propaganda: Propaganda
    identifiers: Identifiers


def nothing(period: Period) -> Statistics:
    """The figures of a period in which nothing happened (what `content check` draws the
    report with, to find a missing word without a database)."""
    return Statistics(
        period=period,
        tips=Tips(0, 0, {}, {}, {}, 0, 0, {}, [Month(m, 0, 0) for m in period.months()]),
        handling=Handling(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, None, None),
        propaganda=Propaganda(0, 0, {}, {}, 0, 0, 0, Quiz(0, 0, 0, None, {}), {}),
        identifiers=Identifiers(0, {}, {}),
    )


@dataclass(frozen=True)
class ReportRow:
    """One report of the period, without anything personal."""

    receipt_code: str
    created_at: datetime
    occurred_on: date | None
    scam_type: str
    urgent: bool
    area: str | None
    channel: str
    status: str  # at the period's end
    amount_vnd: int | None


# --- SQL pieces ----------------------------------------------------------------------------


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def _month(session: Session, moment: ColumnElement[datetime]) -> ColumnElement[str]:
    """The Vietnam-time month of a stored moment, as YYYY-MM (Vietnam keeps no summer time)."""
    if _dialect(session) == "sqlite":
        return func.strftime(literal_column("'%Y-%m'"), moment, literal_column("'+7 hours'"))
    # Constants inline, not bound: PostgreSQL must see the same expression in GROUP BY.
    return func.to_char(
        func.timezone(literal_column("'Asia/Ho_Chi_Minh'"), moment), literal_column("'YYYY-MM'")
    )


def _seconds(
    session: Session, later: ColumnElement[Any], earlier: ColumnElement[Any]
) -> ColumnElement[float]:
    if _dialect(session) == "sqlite":
        return (func.julianday(later) - func.julianday(earlier)) * 86400.0
    return cast(func.extract("epoch", later - earlier), Float)


def _facts(end: datetime, where: ColumnElement[bool], *, times: bool = False) -> Subquery:
    return _facts_query(end, where, times=times).subquery("facts")


def _facts_query(end: datetime, where: ColumnElement[bool], *, times: bool = False) -> Select[Any]:
    """One row per report matching ``where``: what the figures need of it, and its status
    as it stood at ``end`` (and, with ``times``, when it was first acknowledged and first
    decided before ``end``).

    The status then is the report's status now unless a status change came at or after
    ``end``; only those reports look up their last change before it (through the index on
    ``report_event.report_id``), so a period that has just ended costs no look-up at all."""
    last = REPORT_EVENT.alias("last_change")
    then = (
        select(last.c.to_status)
        .where(last.c.report_id == REPORT.c.id, last.c.to_status.is_not(None), last.c.at < end)
        .order_by(last.c.id.desc())
        .limit(1)
        .correlate(REPORT)
        .scalar_subquery()
    )
    status = case(
        (REPORT.c.id.in_(_changed_since(end)), func.coalesce(then, literal(NEW))),
        else_=REPORT.c.status,
    )
    query = select(
        REPORT.c.id,
        REPORT.c.receipt_code,
        REPORT.c.created_at,
        REPORT.c.occurred_on,
        REPORT.c.scam_type,
        REPORT.c.urgent,
        REPORT.c.area,
        REPORT.c.channel,
        REPORT.c.amount_vnd,
        REPORT.c.ack_due_at,
        REPORT.c.resolve_due_at,
        REPORT.c.reporter_tag,
        status.label("status"),
    ).where(where)
    if times:
        event = REPORT_EVENT.alias("event")
        query = (
            query.add_columns(
                func.min(case((event.c.from_status == NEW, event.c.at))).label("ack_at"),
                func.min(case((event.c.to_status.in_(CLOSED), event.c.at))).label("decided_at"),
            )
            .select_from(REPORT)
            .outerjoin(event, and_(event.c.report_id == REPORT.c.id, event.c.at < end))
            .group_by(REPORT.c.id)
        )
    return query


def _changed_since(end: datetime) -> Select[Any]:
    """Reports whose status changed at or after ``end``."""
    return select(REPORT_EVENT.c.report_id).where(
        REPORT_EVENT.c.at >= end, REPORT_EVENT.c.to_status.is_not(None)
    )


def _in_period(period: Period) -> ColumnElement[bool]:
    within = and_(REPORT.c.created_at >= period.start, REPORT.c.created_at < period.end)
    if period.units is None:
        return within
    return and_(within, REPORT.c.unit_id.in_(sorted(period.units)))


def _median(seconds: ColumnElement[float]) -> ColumnElement[float]:
    """The median of a per-report duration (NULL where it does not apply), as a scalar
    subquery: the mean of the middle one or two values in order (SQLite has no percentile
    function, but both databases have window functions)."""
    ranked = (
        select(
            seconds.label("s"),
            func.row_number().over(order_by=seconds).label("n"),
            func.count().over().label("total"),
        )
        .where(seconds.is_not(None))
        .subquery()
    )
    middle = ranked.c.n.in_([(ranked.c.total + 1) // 2, (ranked.c.total + 2) // 2])
    return select(func.avg(ranked.c.s)).where(middle).scalar_subquery()


# --- counting ------------------------------------------------------------------------------


def compute(session: Session, period: Period) -> Statistics:
    """Every figure of the period, each by an aggregate query."""
    return Statistics(
        period=period,
        tips=_tips(session, period),
        handling=_handling(session, period),
        propaganda=_propaganda(session, period),
        identifiers=_identifiers(session, period),
    )


def _tips(session: Session, period: Period) -> Tips:
    facts = _facts(period.end, _in_period(period))
    lost = case((facts.c.status.in_(NO_LOSS), None), else_=facts.c.amount_vnd)
    month = _month(session, facts.c.created_at)
    rows = session.execute(
        select(
            facts.c.scam_type,
            facts.c.channel,
            facts.c.area,
            facts.c.urgent,
            month,
            func.count(),
            func.sum(lost),
            func.count(lost),
        ).group_by(
            facts.c.scam_type,
            facts.c.channel,
            facts.c.area,
            facts.c.urgent,
            month,
        )
    ).all()
    by_type: dict[str, int] = defaultdict(int)
    by_channel: dict[str, int] = defaultdict(int)
    by_area: dict[str | None, int] = defaultdict(int)
    lost_by_type: dict[str, int] = defaultdict(int)
    months = {m: [0, 0] for m in period.months()}
    urgent = with_loss = 0
    for scam_type, channel, area, is_urgent, in_month, count, amount, losses in rows:
        amount = int(amount or 0)
        by_type[scam_type] += count
        by_channel[channel] += count
        by_area[area or None] += count
        urgent += count if is_urgent else 0
        with_loss += losses
        if amount:
            lost_by_type[scam_type] += amount
        months[in_month][0] += count
        months[in_month][1] += amount
    return Tips(
        received=sum(by_type.values()),
        urgent=urgent,
        by_type=_ranked(by_type),
        by_channel=_ranked(by_channel),
        by_area=_ranked(by_area),
        lost_vnd=sum(lost_by_type.values()),
        reports_with_loss=with_loss,
        lost_by_type=_ranked(lost_by_type),
        by_month=[Month(m, n, v) for m, (n, v) in months.items()],
    )


def _ranked(counts: dict[K, int]) -> dict[K, int]:
    """Largest first, then by key, so every rendering lists them alike."""
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0] or "")))


def _handling(session: Session, period: Period) -> Handling:
    end = period.end
    # Computed once for all the figures below (a report's first acknowledgement and decision
    # are the costly part): MATERIALIZED keeps both databases from inlining it thrice.
    facts = (
        _facts_query(end, _in_period(period), times=True).cte("facts").prefix_with("MATERIALIZED")
    )
    status, ack_at, decided_at = facts.c.status, facts.c.ack_at, facts.c.decided_at

    def counted(condition: ColumnElement[bool]) -> ColumnElement[int]:
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    row = session.execute(
        select(
            func.count(),
            func.count(ack_at),
            counted(and_(ack_at.is_not(None), ack_at <= facts.c.ack_due_at)),
            func.count(decided_at),
            counted(and_(decided_at.is_not(None), decided_at <= facts.c.resolve_due_at)),
            counted(status == REFERRED),
            counted(status == RESOLVED),
            counted(status == NO_CRIME),
            counted(status == DUPLICATE),
            counted(status == SPAM),
            counted(status.in_(OPEN)),
            _median(_seconds(session, ack_at, facts.c.created_at)),
            _median(_seconds(session, decided_at, facts.c.created_at)),
        ).select_from(facts)
    ).one()
    received, acked, acked_in_time, decided, decided_in_time = (int(v) for v in row[:5])
    referred, resolved, no_crime, duplicates, rubbish, open_of_period = (int(v) for v in row[5:11])
    median_ack, median_decision = (
        None if v is None else timedelta(seconds=round(float(v))) for v in row[11:]
    )

    # Open at the end: open now, or changed since (the only ones that can have been open).
    maybe_open = or_(REPORT.c.status.in_(OPEN), REPORT.c.id.in_(_changed_since(end)))
    earlier = _facts(end, and_(REPORT.c.created_at < end, maybe_open))
    backlog = session.execute(
        select(func.count(), counted(earlier.c.resolve_due_at < end)).where(
            earlier.c.status.in_(OPEN)
        )
    ).one()

    return Handling(
        received=received,
        acknowledged=acked,
        acknowledged_in_time=acked_in_time,
        decided=decided,
        decided_in_time=decided_in_time,
        referred=referred,
        resolved=resolved,
        no_crime=no_crime,
        duplicates=duplicates,
        rubbish=rubbish,
        open_of_period=open_of_period,
        open_at_end=int(backlog[0]),
        overdue_at_end=int(backlog[1]),
        median_ack=median_ack,
        median_decision=median_decision,
    )


def _propaganda(session: Session, period: Period) -> Propaganda:
    alerts = session.execute(
        select(func.count())
        .select_from(BROADCAST)
        .where(
            BROADCAST.c.kind == "alert",
            BROADCAST.c.started_at >= period.start,
            BROADCAST.c.started_at < period.end,
        )
    ).scalar_one()
    rows = session.execute(
        select(BROADCAST.c.kind, DELIVERY.c.channel, RESIDENT.c.area, func.count())
        .select_from(DELIVERY)
        .join(BROADCAST, BROADCAST.c.id == DELIVERY.c.broadcast_id)
        .outerjoin(RESIDENT, RESIDENT.c.id == DELIVERY.c.resident_id)
        .where(
            DELIVERY.c.status == "sent",
            DELIVERY.c.sent_at >= period.start,
            DELIVERY.c.sent_at < period.end,
        )
        .group_by(BROADCAST.c.kind, DELIVERY.c.channel, RESIDENT.c.area)
    ).all()
    by_channel: dict[str, int] = defaultdict(int)
    by_area: dict[str | None, int] = defaultdict(int)
    tips_sent = 0
    for kind, channel, area, count in rows:
        if kind != "alert":
            tips_sent += count
            continue
        by_channel[channel] += count
        by_area[area or None] += count

    def subscribers(at: datetime) -> int:
        return int(
            session.execute(
                select(func.count())
                .select_from(RESIDENT)
                .where(RESIDENT.c.subscribed.is_(True), RESIDENT.c.subscribed_at < at)
            ).scalar_one()
        )

    return Propaganda(
        quiz=_quiz(session, period),
        scam_views=_scam_views(session, period),
        alerts=int(alerts),
        reached=sum(by_channel.values()),
        reached_by_channel=_ranked(by_channel),
        reached_by_area=_ranked(by_area),
        tips_sent=tips_sent,
        subscribers_at_start=subscribers(period.start),
        subscribers_at_end=subscribers(period.end),
    )


def _quiz(session: Session, period: Period) -> Quiz:
    out_of_ten = 10.0 * cast(QUIZ_ROUND.c.score, Float) / func.nullif(QUIZ_ROUND.c.total, 0)
    rows = session.execute(
        select(
            QUIZ_ROUND.c.channel,
            func.count(),
            func.coalesce(func.sum(QUIZ_ROUND.c.total), 0),
            func.coalesce(func.sum(QUIZ_ROUND.c.score), 0),
            func.sum(out_of_ten),
        )
        .where(QUIZ_ROUND.c.finished_at >= period.start, QUIZ_ROUND.c.finished_at < period.end)
        .group_by(QUIZ_ROUND.c.channel)
    ).all()
    rounds = sum(int(r[1]) for r in rows)
    points = sum(float(r[4] or 0) for r in rows)
    by_channel = {
        channel: (int(n), round(float(total or 0) / int(n), 1))
        for channel, n, _, _, total in sorted(rows, key=lambda r: (-int(r[1]), r[0]))
    }
    return Quiz(
        rounds=rounds,
        questions=sum(int(r[2]) for r in rows),
        right=sum(int(r[3]) for r in rows),
        average=round(points / rounds, 1) if rounds else None,
        by_channel=by_channel,
    )


def _scam_views(session: Session, period: Period) -> dict[str, int]:
    views = func.sum(SCAM_VIEW.c.count)
    rows = session.execute(
        select(SCAM_VIEW.c.scam, views)
        .where(SCAM_VIEW.c.day >= period.first, SCAM_VIEW.c.day <= period.last)
        .group_by(SCAM_VIEW.c.scam)
        .order_by(views.desc(), SCAM_VIEW.c.scam)
        .limit(TOP_SCAM_VIEWS)
    ).all()
    return {scam: int(n) for scam, n in rows}


def _identifiers(session: Session, period: Period) -> Identifiers:
    confirmations = (
        select(IDENTIFIER.c.kind, func.count(func.distinct(IDENTIFIER.c.id)))
        .join(IDENTIFIER_EVENT, IDENTIFIER_EVENT.c.identifier_id == IDENTIFIER.c.id)
        .where(
            IDENTIFIER_EVENT.c.action == "confirm",
            IDENTIFIER_EVENT.c.at >= period.start,
            IDENTIFIER_EVENT.c.at < period.end,
        )
        .group_by(IDENTIFIER.c.kind)
    )
    if period.units is not None:  # confirmed by the unit's own officers
        confirmations = confirmations.join(
            OFFICER, OFFICER.c.id == IDENTIFIER_EVENT.c.officer_id
        ).where(func.coalesce(OFFICER.c.unit_id, 1).in_(sorted(period.units)))
    confirmed_rows = session.execute(confirmations).all()
    by_kind = _ranked({kind: int(n) for kind, n in confirmed_rows})

    facts = _facts(period.end, _in_period(period))
    reporters = func.count(func.distinct(facts.c.reporter_tag))
    named = func.count(func.distinct(facts.c.id))
    counts = (
        select(
            IDENTIFIER.c.id,
            IDENTIFIER.c.kind,
            IDENTIFIER.c.display,
            reporters.label("reporters"),
            named.label("reports"),
            func.row_number()
            .over(
                partition_by=IDENTIFIER.c.kind,
                order_by=(reporters.desc(), named.desc(), IDENTIFIER.c.display),
            )
            .label("place"),
        )
        .select_from(IDENTIFIER)
        .join(REPORT_IDENTIFIER, REPORT_IDENTIFIER.c.identifier_id == IDENTIFIER.c.id)
        .join(facts, facts.c.id == REPORT_IDENTIFIER.c.report_id)
        .where(~facts.c.status.in_(NOT_COUNTED))
        .group_by(IDENTIFIER.c.id, IDENTIFIER.c.kind, IDENTIFIER.c.display)
        .having(reporters > 0)
        .subquery()
    )
    # Police confirmation as it stood at the period's end (the last word before it), looked
    # up for the few listed only.
    last_word = (
        select(IDENTIFIER_EVENT.c.action)
        .where(
            IDENTIFIER_EVENT.c.identifier_id == counts.c.id,
            IDENTIFIER_EVENT.c.at < period.end,
        )
        .order_by(IDENTIFIER_EVENT.c.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    ranked = session.execute(
        select(
            counts.c.kind,
            counts.c.display,
            counts.c.reporters,
            counts.c.reports,
            func.coalesce(last_word, "") == "confirm",
        )
        .where(counts.c.place <= TOP_IDENTIFIERS)
        .order_by(counts.c.reporters.desc(), counts.c.reports.desc(), counts.c.display)
    ).all()
    top: dict[str, list[TopIdentifier]] = {}
    for kind, display, n_reporters, n_reports, confirmed in ranked:
        listed = top.setdefault(kind, [])
        if len(listed) < TOP_IDENTIFIERS:
            listed.append(
                TopIdentifier(kind, display, int(n_reporters), int(n_reports), bool(confirmed))
            )
    return Identifiers(sum(by_kind.values()), by_kind, top)


def reports_of(session: Session, period: Period) -> list[ReportRow]:
    """The period's reports for the spreadsheet: codes, dates, kinds and amounts only."""
    facts = _facts(period.end, _in_period(period))
    rows = session.execute(
        select(
            facts.c.receipt_code,
            facts.c.created_at,
            facts.c.occurred_on,
            facts.c.scam_type,
            facts.c.urgent,
            facts.c.area,
            facts.c.channel,
            facts.c.status,
            facts.c.amount_vnd,
        ).order_by(facts.c.created_at, facts.c.id)
    ).all()
    return [
        ReportRow(
            code,
            created if created.tzinfo else created.replace(tzinfo=UTC),
            occurred,
            scam_type,
            bool(urgent),
            area or None,
            channel,
            state,
            amount,
        )
        for code, created, occurred, scam_type, urgent, area, channel, state, amount in rows
    ]
