"""The console's audit log: every action, and every opening of a report's personal data."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, col, select

from db.models import AuditEvent

OPEN_REPORT, OPEN_PHOTO = "open_report", "open_photo"
PAGE = 100


def record(
    session: Session,
    officer_id: int | None,
    action: str,
    now: datetime,
    report_id: int | None = None,
    detail: str | None = None,
    address: str = "",
) -> None:
    session.add(
        AuditEvent(
            at=now,
            officer_id=officer_id,
            action=action[:32],
            report_id=report_id,
            detail=detail,
            address=address[:64],
        )
    )


def search(
    session: Session,
    officer_id: int | None = None,
    report_id: int | None = None,
    page: int = 1,
) -> tuple[list[AuditEvent], int]:
    where = []
    if officer_id is not None:
        where.append(col(AuditEvent.officer_id) == officer_id)
    if report_id is not None:
        where.append(col(AuditEvent.report_id) == report_id)
    total = int(session.exec(select(func.count()).select_from(AuditEvent).where(*where)).one())
    rows = session.exec(
        select(AuditEvent)
        .where(*where)
        .order_by(col(AuditEvent.id).desc())
        .offset((max(1, page) - 1) * PAGE)
        .limit(PAGE)
    ).all()
    return list(rows), total
