"""Who is asking, and may they: the session behind the cookie, the second factor, the role
the route needs, and the CSRF token of every form. Checked on the server for each request."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote

from sqlmodel import Session

import content
from db import accounts, officers
from db.models import ConsoleSession, Officer

COOKIE = "cg_session"
PRE_COOKIE = "cg_form"
# The guard's refusals (messages.yaml: console.guard), read once: it runs before any page.
STALE_FORM = content.load().text("console.guard.stale_form")
SESSION_ENDED = content.load().text("console.guard.session_ended")
NOT_ALLOWED = content.load().text("console.guard.not_allowed")
PUBLIC: frozenset[str] = frozenset()  # no role needed (signed-in or not)
ANY = frozenset(officers.ROLES)  # any signed-in officer
TRIAGE = officers.TRIAGE_ROLES
LEAD = officers.LEAD_ROLES
BROADCAST = officers.BROADCAST_ROLES
ADMIN = frozenset({officers.ADMIN})


@dataclass(frozen=True)
class Viewer:
    officer: Officer
    row: ConsoleSession

    @property
    def verified(self) -> bool:
        """Has given the second factor in this session, or their role needs none."""
        return self.row.verified_at is not None or not accounts.needs_second_factor(self.officer)


class Refusal(Exception):
    """The request stops here: a redirect (to sign in, to enrol the second factor) or an
    error page, with its status."""

    def __init__(self, status: int, location: str = "", message: str = "") -> None:
        super().__init__(message or location)
        self.status, self.location, self.message = status, location, message


def viewer(session: Session, cookie: str, now: datetime) -> Viewer | None:
    found = accounts.current(session, cookie, now)
    return Viewer(found[1], found[0]) if found else None


def admit(
    session: Session,
    cookie: str,
    roles: frozenset[str],
    now: datetime,
    path: str,
    posted: Mapping[str, str] | None = None,
    unverified_ok: bool = False,
) -> Viewer:
    """The viewer, if they may use this route now; else a Refusal. A form (`posted`) must
    carry the session's CSRF token."""
    found = viewer(session, cookie, now)
    if found is None:
        if posted is not None:
            raise Refusal(403, message=SESSION_ENDED)
        raise Refusal(303, f"/signin?next={quote(path, safe='/')}")
    if posted is not None and not csrf_ok(found.row, posted.get("csrf", "")):
        raise Refusal(403, message=STALE_FORM)
    if not unverified_ok and not found.verified:
        enrolled = found.officer.totp_enrolled_at is not None
        raise Refusal(303, "/signin/totp" if enrolled else "/account/totp")
    if roles and found.officer.role not in roles:
        raise Refusal(403, message=NOT_ALLOWED)
    return found


def csrf_ok(row: ConsoleSession, given: str) -> bool:
    return bool(given) and hmac.compare_digest(given.encode(), row.csrf.encode())


def seal(row: ConsoleSession, text: str) -> str:
    """A signature for a short message carried in a redirect (what an action did), so a
    crafted link cannot make the console say something it did not."""
    return hmac.new(row.csrf.encode(), text.encode(), hashlib.sha256).hexdigest()[:32]


def unseal(row: ConsoleSession, text: str, signature: str) -> str:
    return text if text and hmac.compare_digest(seal(row, text), signature) else ""
