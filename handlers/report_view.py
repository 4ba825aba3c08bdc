"""A report as officers see it, as plain data: what the Telegram card and the console page
both show. Rules (who may do what) are handlers/triage.py's; drawing is each renderer's."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, col, select

from content import Content
from db import identifiers, outbox, units
from db.models import Evidence, Identifier, Officer, Report, ReportEvent, ReportIdentifier
from handlers import police


@dataclass(frozen=True)
class Named:
    """An identifier the report names: shown with its bank, how many reports named it
    before this one and in all."""

    identifier: Identifier
    shown: str
    before: int
    reports: int


@dataclass(frozen=True)
class Photo:
    id: int
    size: int
    mime: str
    at: datetime


@dataclass(frozen=True)
class ReportView:
    report: Report
    named: list[Named]
    events: list[ReportEvent]
    photos: list[Photo]
    undelivered: int  # notices that never reached the reporter
    holder: Officer | None
    area: str  # the reporter's area as they chose it, or ""


def build(session: Session, content: Content, report: Report, photos: bool = True) -> ReportView:
    assert report.id is not None
    named = [
        Named(
            i,
            shown(content, i),
            identifiers.times_reported(session, i.id or 0, report.id),
            reports_naming(session, i.id or 0),
        )
        for i in identifiers.of_report(session, report.id)
    ]
    events = list(
        session.exec(
            select(ReportEvent)
            .where(ReportEvent.report_id == report.id)
            .order_by(col(ReportEvent.id))
        ).all()
    )
    pictures = (
        [
            Photo(row[0], row[1], row[2], row[3])
            for row in session.exec(
                select(Evidence.id, Evidence.size, Evidence.mime, Evidence.created_at)
                .where(Evidence.report_id == report.id)
                .order_by(col(Evidence.id))
            ).all()
            if row[0] is not None
        ]
        if photos
        else []
    )
    holder = session.get(Officer, report.claimed_by) if report.claimed_by else None
    area = units.place(session, report.area, content.areas) if report.area else None
    return ReportView(
        report,
        named,
        events,
        pictures,
        outbox.undelivered(session, report.id, police.POLICE),
        holder,
        area.name if area else "",
    )


def shown(content: Content, identifier: Identifier) -> str:
    bank = content.bank(identifier.bank)
    return f"{identifier.display} ({bank['name']})" if bank else identifier.display


def reports_naming(session: Session, identifier_id: int) -> int:
    return int(
        session.exec(
            select(func.count())
            .select_from(ReportIdentifier)
            .where(ReportIdentifier.identifier_id == identifier_id)
        ).one()
    )
