"""Scammers' identifiers, stored normalised so every spelling of one number meets one row."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

import phonenumbers
from sqlalchemy import func
from sqlmodel import Session, col, select

from db.models import Identifier, IdentifierEvent, Report, ReportIdentifier
from db.upsert import insert_ignore

PHONE, BANK, URL, SOCIAL = "phone", "bank", "url", "social"
# Platforms whose profile links name a person, not a website.
SOCIAL_HOSTS = {
    "facebook.com": "facebook.com",
    "fb.com": "facebook.com",
    "m.facebook.com": "facebook.com",
    "fb.me": "facebook.com",
    "t.me": "t.me",
    "telegram.me": "t.me",
    "zalo.me": "zalo.me",
    "tiktok.com": "tiktok.com",
    "instagram.com": "instagram.com",
    "x.com": "x.com",
    "twitter.com": "x.com",
}
# A report closed as rubbish or as no crime does not count against an identifier.
NOT_COUNTED = ("rac", "khong_co_dau_hieu")
CONFIRMED, WITHDRAWN = "confirm", "withdraw"


@dataclass(frozen=True)
class ParsedIdentifier:
    kind: str
    value: str
    display: str
    bank: str = ""


def phone(text: str) -> ParsedIdentifier | None:
    """A Vietnamese (or international) phone number in E.164, or None if not a real number."""
    try:
        number = phonenumbers.parse(text, "VN")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    style = (
        phonenumbers.PhoneNumberFormat.NATIONAL
        if number.country_code == 84
        else phonenumbers.PhoneNumberFormat.INTERNATIONAL
    )
    return ParsedIdentifier(PHONE, e164, phonenumbers.format_number(number, style))


def bank_account(digits: str, bank: str = "") -> ParsedIdentifier | None:
    clean = "".join(c for c in digits if c.isdigit())
    if not 6 <= len(clean) <= 19:
        return None
    return ParsedIdentifier(BANK, clean, clean, bank)


def link(text: str) -> ParsedIdentifier | None:
    """A URL by host and path (no scheme, no 'www.', no query): the site, not the visit."""
    raw = text.strip().rstrip(".,;:!?)”\"'")
    parts = urlsplit(raw if "://" in raw else f"http://{raw}")
    host = (parts.hostname or "").lower().removeprefix("www.")
    if "." not in host or len(host) > 200:
        return None
    path = parts.path.rstrip("/")
    if host == "zalo.me" and (by_phone := phone(path.strip("/"))):
        return by_phone  # zalo.me/0912345678 is that phone's Zalo: one scammer, one row
    if host in SOCIAL_HOSTS:
        canonical = SOCIAL_HOSTS[host]
        return ParsedIdentifier(
            SOCIAL, f"{canonical}{path}".lower()[:255], f"{canonical}{path}"[:255]
        )
    value = f"{host}{path}"[:255]
    return ParsedIdentifier(URL, value.lower(), value)


def handle(name: str) -> ParsedIdentifier:
    """A Telegram-style @handle, stored as its t.me link."""
    bare = name.lstrip("@")
    return ParsedIdentifier(SOCIAL, f"t.me/{bare.lower()}", f"@{bare}")


def get_or_create(session: Session, parsed: ParsedIdentifier, now: datetime) -> Identifier:
    """The identifier's row, inserted if new; residents naming one new number at the same
    moment (a scam campaign) meet one row instead of colliding on its unique key."""
    insert_ignore(
        session,
        Identifier,
        kind=parsed.kind,
        value=parsed.value,
        bank=parsed.bank,
        display=parsed.display,
        confirmed_scam=False,
        created_at=now,
    )
    return session.exec(
        select(Identifier).where(
            Identifier.kind == parsed.kind,
            Identifier.value == parsed.value,
            Identifier.bank == parsed.bank,
        )
    ).one()


@dataclass(frozen=True)
class Standing:
    """What the records say of an identifier: police-confirmed (and when), and how many
    different residents reported it."""

    confirmed: bool
    reporters: int
    confirmed_at: datetime | None = None


def standing(session: Session, parsed: ParsedIdentifier) -> Standing:
    """For a bank account of unknown bank, every bank's row with that number counts.
    Reporters, not reports, are counted: one account filing ten reports is one voice (and a
    report whose reporter erased their data counts for no one, the safe side)."""
    query = select(Identifier.id, Identifier.confirmed_scam, Identifier.confirmed_at).where(
        Identifier.kind == parsed.kind, Identifier.value == parsed.value
    )
    if parsed.kind == BANK and parsed.bank:
        query = query.where(col(Identifier.bank).in_([parsed.bank, ""]))
    rows = session.exec(query).all()
    if not rows:
        return Standing(False, 0)
    ids = [row[0] for row in rows]
    count = session.exec(
        select(func.count(func.distinct(Report.reporter_tag)))
        .join(ReportIdentifier, col(Report.id) == ReportIdentifier.report_id)
        .where(col(ReportIdentifier.identifier_id).in_(ids), col(Report.status).not_in(NOT_COUNTED))
    ).one()
    confirmed = [row[2] for row in rows if row[1]]
    latest = max((at for at in confirmed if at is not None), default=None)
    return Standing(bool(confirmed), int(count), latest)


def of_report(session: Session, report_id: int, unconfirmed_only: bool = False) -> list[Identifier]:
    """The identifiers a report names (only those police have not confirmed, if asked)."""
    query = (
        select(Identifier)
        .join(ReportIdentifier, col(ReportIdentifier.identifier_id) == Identifier.id)
        .where(ReportIdentifier.report_id == report_id)
    )
    if unconfirmed_only:
        query = query.where(col(Identifier.confirmed_scam).is_(False))
    return list(session.exec(query).all())


def times_reported(session: Session, identifier_id: int, before_report_id: int) -> int:
    """How many earlier reports named this identifier (for the police card)."""
    return int(
        session.exec(
            select(func.count())
            .select_from(ReportIdentifier)
            .where(
                ReportIdentifier.identifier_id == identifier_id,
                col(ReportIdentifier.report_id) < before_report_id,
            )
        ).one()
    )


def confirm(
    session: Session,
    identifier: Identifier,
    officer_id: int | None,
    actor: str,
    reason: str,
    now: datetime,
    report_id: int | None = None,
) -> None:
    """Police confirm this one identifier as a scammer's, with their reason."""
    identifier.confirmed_scam, identifier.confirmed_at = True, now
    identifier.confirmed_by, identifier.confirm_reason = officer_id, reason
    _event(session, identifier, officer_id, actor, CONFIRMED, reason, now, report_id)


def withdraw(
    session: Session,
    identifier: Identifier,
    officer_id: int | None,
    actor: str,
    reason: str,
    now: datetime,
) -> None:
    """A confirmation taken back (a mistake, a number reassigned): /kiemtra stops saying it."""
    identifier.confirmed_scam, identifier.confirmed_at = False, None
    identifier.confirmed_by, identifier.confirm_reason = None, None
    _event(session, identifier, officer_id, actor, WITHDRAWN, reason, now, None)


def history(session: Session, identifier_id: int) -> list[IdentifierEvent]:
    return list(
        session.exec(
            select(IdentifierEvent)
            .where(IdentifierEvent.identifier_id == identifier_id)
            .order_by(col(IdentifierEvent.id))
        ).all()
    )


def _event(
    session: Session,
    identifier: Identifier,
    officer_id: int | None,
    actor: str,
    action: str,
    reason: str,
    now: datetime,
    report_id: int | None,
) -> None:
    assert identifier.id is not None
    session.add(
        IdentifierEvent(
            identifier_id=identifier.id,
            at=now,
            officer_id=officer_id,
            actor=actor[:128],
            action=action,
            reason=reason,
            report_id=report_id,
        )
    )
