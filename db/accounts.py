"""Officers' console accounts: passwords (argon2id), the TOTP second factor (RFC 6238),
one-time set-up links and browser sessions. Only hashes of tokens are stored, so a copy of
the database cannot be used to sign in."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import struct
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import quote

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import update
from sqlmodel import Session, col, select

from db import officers
from db.models import ConsoleSession, Officer, SetupToken
from db.reports import RECEIPT_ALPHABET

SETUP_LIFETIME = timedelta(hours=24)
SESSION_IDLE = timedelta(hours=12)  # a shared police-post computer is not left signed in
SESSION_LIFETIME = timedelta(days=7)
MIN_PASSWORD = 10
MAX_PASSWORD = 256  # argon2 hashes anything; a cap keeps a megabyte "password" cheap
USERNAME = re.compile(r"^[a-z0-9._-]{3,64}$")
TOTP_STEP, TOTP_DIGITS = 30, 6
SETUP, SIGN_IN = "setup", "signin"
LINKS = (SETUP, SIGN_IN)  # a new link replaces the officer's unused ones
# Roles whose actions need the second factor in the session.
SECOND_FACTOR_ROLES = officers.LEAD_ROLES
_hasher = PasswordHasher()  # argon2id with the library's current recommended cost
_COMMON = frozenset(
    (Path(__file__).with_name("common_passwords.txt")).read_text(encoding="utf-8").split()
)


class AccountError(ValueError):
    """A request about an account that cannot be done; the message is for the officer."""


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# --- passwords ---------------------------------------------------------------------------


def password_problem(password: str, username: str) -> str | None:
    """Why a password is refused (Vietnamese, for the set-up page), or None."""
    if len(password) < MIN_PASSWORD:
        return f"Mật khẩu cần ít nhất {MIN_PASSWORD} ký tự."
    if len(password) > MAX_PASSWORD:
        return f"Mật khẩu dài quá {MAX_PASSWORD} ký tự."
    lowered = password.lower()
    if lowered in _COMMON or len(set(lowered)) < 4:
        return "Mật khẩu này quá phổ biến, dễ bị đoán. Mời chọn mật khẩu khác."
    if username and username.lower() in lowered:
        return "Mật khẩu không được chứa tên đăng nhập."
    return None


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def password_matches(officer: Officer | None, password: str) -> bool:
    """False for no officer too, after the same work, so timing does not tell who exists."""
    if officer is None or not officer.password_hash or len(password) > MAX_PASSWORD:
        _hasher.hash("a-decoy-to-spend-the-same-time")  # no timing hint that the user lacks one
        return False
    try:
        return _hasher.verify(officer.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def set_credentials(
    session: Session, officer: Officer, username: str, password: str, now: datetime
) -> None:
    username = username.strip().lower()
    if not USERNAME.match(username):
        raise AccountError(
            "Tên đăng nhập gồm 3–64 ký tự: chữ thường không dấu, số, dấu chấm, gạch."
        )
    taken = session.exec(
        select(Officer.id).where(Officer.username == username, Officer.id != officer.id)
    ).first()
    if taken is not None:
        raise AccountError("Tên đăng nhập này đã có người dùng.")
    problem = password_problem(password, username)
    if problem:
        raise AccountError(problem)
    officer.username, officer.password_hash = username, hash_password(password)


def by_username(session: Session, username: str) -> Officer | None:
    return session.exec(select(Officer).where(Officer.username == username.strip().lower())).first()


# --- TOTP (RFC 6238) ---------------------------------------------------------------------


def new_totp_secret() -> str:
    return base64.b32encode(secrets.token_bytes(20)).decode()


def totp(secret: str, step: int) -> str:
    key = base64.b32decode(secret.upper() + "=" * (-len(secret) % 8))
    digest = hmac.new(key, struct.pack(">Q", step), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    code = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return str(code % 10**TOTP_DIGITS).zfill(TOTP_DIGITS)


def totp_step(now: datetime) -> int:
    return int(now.timestamp()) // TOTP_STEP


def check_totp(officer: Officer, code: str, now: datetime, secret: str | None = None) -> bool:
    """The code for now (or a step either side, for a phone's clock), used once only."""
    secret = secret or officer.totp_secret
    code = "".join(code.split())
    if not secret or not code.isdigit() or len(code) != TOTP_DIGITS:
        return False
    current = totp_step(now)
    for step in (current - 1, current, current + 1):
        if hmac.compare_digest(totp(secret, step), code):
            if officer.totp_last_step is not None and step <= officer.totp_last_step:
                return False  # replayed
            officer.totp_last_step = step
            return True
    return False


def totp_uri(secret: str, username: str, issuer: str = "Cảnh giác") -> str:
    label = quote(f"{issuer}:{username}")
    return f"otpauth://totp/{label}?secret={secret}&issuer={quote(issuer)}&digits=6&period=30"


def needs_second_factor(officer: Officer) -> bool:
    return officer.role in SECOND_FACTOR_ROLES


# --- set-up and sign-in links ------------------------------------------------------------


def issue_link(
    session: Session,
    officer: Officer,
    now: datetime,
    purpose: str = SETUP,
    valid_for: timedelta = SETUP_LIFETIME,
) -> str:
    """A fresh one-time link token for the officer; earlier unused links die with it."""
    return _issue(session, officer, secrets.token_urlsafe(32), purpose, valid_for, now, LINKS)


def _issue(
    session: Session,
    officer: Officer,
    token: str,
    purpose: str,
    valid_for: timedelta,
    now: datetime,
    replaces: tuple[str, ...],
) -> str:
    """Keep a one-time token's hash for the officer; their unused ones of `replaces` die."""
    assert officer.id is not None
    session.execute(
        update(SetupToken)
        .where(
            col(SetupToken.officer_id) == officer.id,
            col(SetupToken.purpose).in_(replaces),
            col(SetupToken.used_at).is_(None),
        )
        .values(used_at=now)
    )
    session.add(
        SetupToken(
            token_hash=token_hash(token),
            officer_id=officer.id,
            created_at=now,
            expires_at=now + valid_for,
            purpose=purpose,
        )
    )
    return token


def link_officer(session: Session, token: str, now: datetime) -> tuple[SetupToken, Officer] | None:
    """The live link and its active officer; unknown, used and expired links alike: None."""
    row = session.get(SetupToken, token_hash(token), with_for_update=True)
    if row is None or row.used_at is not None or row.expires_at <= now:
        return None
    officer = session.get(Officer, row.officer_id)
    if officer is None or not officer.active:
        return None
    return row, officer


# --- linking a messenger account -----------------------------------------------------------

ZALO = "zalo"
LINK_CODE_LIFETIME = timedelta(minutes=15)


def messenger_code(session: Session, officer: Officer, now: datetime) -> str:
    """A short code the officer sends the ward's Zalo account to link it (15 minutes, once);
    it is typed by hand on a phone, so it uses the receipt codes' unambiguous letters."""
    raw = "".join(secrets.choice(RECEIPT_ALPHABET) for _ in range(8))
    code = f"{raw[:4]}-{raw[4:]}"
    return _issue(session, officer, code, ZALO, LINK_CODE_LIFETIME, now, (ZALO,))


def link_zalo(session: Session, code: str, zalo_id: str, now: datetime) -> Officer | None:
    """Bind this Zalo account to the code's officer; unknown, used, expired codes: None. A
    Zalo account linked to someone else before moves to this officer."""
    found = link_officer(session, code, now)
    if found is None or found[0].purpose != ZALO:
        return None
    row, officer = found
    row.used_at = now
    session.execute(update(Officer).where(col(Officer.zalo_id) == zalo_id).values(zalo_id=None))
    officer.zalo_id = zalo_id
    if ZALO not in (officer.notify_by or []):
        officer.notify_by = [*(officer.notify_by or []), ZALO]
    return officer


# --- sessions ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Started:
    token: str  # for the cookie; only its hash is stored
    row: ConsoleSession


def start_session(
    session: Session,
    officer: Officer,
    now: datetime,
    address: str = "",
    agent: str = "",
    verified: bool = False,
) -> Started:
    assert officer.id is not None
    token = secrets.token_urlsafe(32)
    row = ConsoleSession(
        token_hash=token_hash(token),
        officer_id=officer.id,
        created_at=now,
        last_seen_at=now,
        expires_at=now + SESSION_LIFETIME,
        verified_at=now if verified else None,
        csrf=secrets.token_urlsafe(32),
        address=address[:64],
        agent=agent[:255],
    )
    session.add(row)
    return Started(token, row)


def current(session: Session, token: str, now: datetime) -> tuple[ConsoleSession, Officer] | None:
    """The live session behind a cookie, and its officer if still active; touches it."""
    if not token:
        return None
    row = session.get(ConsoleSession, token_hash(token))
    if row is None or row.ended_at is not None or row.expires_at <= now:
        return None
    if now - row.last_seen_at > SESSION_IDLE:
        row.ended_at = now
        return None
    officer = session.get(Officer, row.officer_id)
    if officer is None or not officer.active:
        return None
    if now - row.last_seen_at > timedelta(minutes=1):  # one write a minute, not per request
        row.last_seen_at = now
    return row, officer


def end_sessions(session: Session, officer_id: int, now: datetime) -> int:
    result = session.connection().execute(
        update(ConsoleSession)
        .where(col(ConsoleSession.officer_id) == officer_id, col(ConsoleSession.ended_at).is_(None))
        .values(ended_at=now)
    )
    return max(0, result.rowcount or 0)


def live_sessions(session: Session, now: datetime) -> list[ConsoleSession]:
    return list(
        session.exec(
            select(ConsoleSession)
            .where(
                col(ConsoleSession.ended_at).is_(None),
                col(ConsoleSession.expires_at) > now,
                col(ConsoleSession.last_seen_at) > now - SESSION_IDLE,
            )
            .order_by(col(ConsoleSession.last_seen_at).desc())
        ).all()
    )
