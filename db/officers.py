"""Ward staff and their roles; what each role may do is decided here, at the time of acting."""

from __future__ import annotations

from sqlmodel import Session, col, select

from db.models import Officer

OFFICER, LEAD, STAFF, ADMIN = "officer", "lead", "staff", "admin"
ROLES = (OFFICER, LEAD, STAFF, ADMIN)
# Who may work reports; propaganda staff broadcast only and never see reports.
TRIAGE_ROLES = frozenset({OFFICER, LEAD, ADMIN})


class OfficerError(ValueError):
    """A request about staff that cannot be carried out (unknown role, duplicate id...)."""


def by_telegram(session: Session, telegram_id: int) -> Officer | None:
    """The active officer with this Telegram account, if any."""
    return session.exec(
        select(Officer).where(Officer.telegram_id == telegram_id, col(Officer.active).is_(True))
    ).first()


def may_triage(officer: Officer | None) -> bool:
    return officer is not None and officer.active and officer.role in TRIAGE_ROLES


def add(session: Session, name: str, role: str, telegram_id: int | None) -> Officer:
    if role not in ROLES:
        raise OfficerError(f"role must be one of {', '.join(ROLES)}")
    if (
        telegram_id is not None
        and session.exec(select(Officer).where(Officer.telegram_id == telegram_id)).first()
    ):
        raise OfficerError(f"Telegram id {telegram_id} already belongs to an officer")
    officer = Officer(name=name.strip(), role=role, telegram_id=telegram_id)
    session.add(officer)
    session.flush()
    return officer


def every(session: Session) -> list[Officer]:
    return list(session.exec(select(Officer).order_by(col(Officer.id))).all())


def set_role(session: Session, officer_id: int, role: str) -> Officer:
    if role not in ROLES:
        raise OfficerError(f"role must be one of {', '.join(ROLES)}")
    officer = _get(session, officer_id)
    officer.role = role
    return officer


def deactivate(session: Session, officer_id: int) -> Officer:
    """Officers are deactivated, not deleted: the audit trail keeps naming them."""
    officer = _get(session, officer_id)
    officer.active = False
    return officer


def _get(session: Session, officer_id: int) -> Officer:
    officer = session.get(Officer, officer_id)
    if officer is None:
        raise OfficerError(f"no officer with id {officer_id}")
    return officer
