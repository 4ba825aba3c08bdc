"""Ward staff and their roles; what each role may do is decided here, at the time of acting."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from db.models import Invite, Officer
from db.reports import RECEIPT_ALPHABET

OFFICER, LEAD, STAFF, ADMIN = "officer", "lead", "staff", "admin"
ROLES = (OFFICER, LEAD, STAFF, ADMIN)
# Who may work reports; propaganda staff broadcast only and never see reports.
TRIAGE_ROLES = frozenset({OFFICER, LEAD, ADMIN})
# Who may reopen a closed report and receives escalations.
LEAD_ROLES = frozenset({LEAD, ADMIN})
# Who may write broadcasts (a lead still approves them).
BROADCAST_ROLES = frozenset({STAFF, LEAD, ADMIN})
INVITE_LIFETIME = timedelta(hours=24)
# The messenger channels whose accounts an officer may link to their console account.
TELEGRAM_LINK, ZALO_LINK = "telegram", "zalo_oa"


class OfficerError(ValueError):
    """A request about staff that cannot be carried out (unknown role, duplicate id...)."""


def by_telegram(session: Session, telegram_id: int) -> Officer | None:
    """The active officer with this Telegram account, if any."""
    return session.exec(
        select(Officer).where(Officer.telegram_id == telegram_id, col(Officer.active).is_(True))
    ).first()


def by_sender(session: Session, channel: str, user_id: str) -> Officer | None:
    """The active officer behind a message from a messenger account they linked (an
    officer is a console account; Telegram and Zalo are optional links to it)."""
    if channel == TELEGRAM_LINK and user_id.isdigit():
        return by_telegram(session, int(user_id))
    if channel == ZALO_LINK and user_id:
        return session.exec(
            select(Officer).where(Officer.zalo_id == user_id, col(Officer.active).is_(True))
        ).first()
    return None


def may_triage(officer: Officer | None) -> bool:
    return officer is not None and officer.active and officer.role in TRIAGE_ROLES


def may_lead(officer: Officer | None) -> bool:
    return may_triage(officer) and officer is not None and officer.role in LEAD_ROLES


def leads(session: Session) -> list[Officer]:
    """The active leads: escalations and broadcasts to approve go to each of them."""
    return list(
        session.exec(
            select(Officer).where(col(Officer.active).is_(True), col(Officer.role).in_(LEAD_ROLES))
        ).all()
    )


def add(session: Session, name: str, role: str, telegram_id: int | None) -> Officer:
    if role not in ROLES:
        raise OfficerError(f"role must be one of {', '.join(ROLES)}")
    if not name.strip() or len(name.strip()) > 128:
        raise OfficerError("the name must be 1–128 characters")
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


def create_invite(
    session: Session,
    admin: Officer,
    role: str,
    now: datetime,
    valid_for: timedelta = INVITE_LIFETIME,
) -> Invite:
    """A one-time code for a new officer of `role`; only an admin may make one."""
    if admin.role != ADMIN or not admin.active:
        raise OfficerError("only an admin may invite")
    if role not in ROLES:
        raise OfficerError(f"role must be one of {', '.join(ROLES)}")
    raw = "".join(secrets.choice(RECEIPT_ALPHABET) for _ in range(8))
    invite = Invite(
        code=f"{raw[:4]}-{raw[4:]}",
        role=role,
        created_by=admin.id or 0,
        created_at=now,
        expires_at=now + valid_for,
    )
    session.add(invite)
    return invite


def redeem(session: Session, code: str, telegram_id: int, name: str, now: datetime) -> Officer:
    """Bind a Telegram account as an officer with the invite's role; the code then dies.
    Unknown, used and expired codes fail alike, so codes cannot be probed."""
    invite = session.get(Invite, code, with_for_update=True)
    if invite is None or invite.used_by is not None or invite.expires_at <= now:
        raise OfficerError("invalid invite")
    officer = add(session, name, invite.role, telegram_id)
    invite.used_by, invite.used_at = officer.id, now
    return officer
