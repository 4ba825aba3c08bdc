"""The Zalo OA access token: kept in the database (never only in memory or .env), refreshed
before it expires or when Zalo says it is invalid (-216), by one process at a time.

Each refresh token works once and the answer carries the next one, so two processes
refreshing together would leave one of them with a dead token. The refresh runs inside a
transaction that holds the refresh-token row locked (FOR UPDATE on PostgreSQL; the single
writer on SQLite): a second process waits, then finds a fresh access token and uses it."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

import httpx
from sqlmodel import Session

from db.clock import utcnow
from db.engine import Database
from db.models import AppSecret
from db.upsert import insert_ignore

log = logging.getLogger(__name__)
ACCESS, REFRESH, EXPIRES = "zalo_oa_access_token", "zalo_oa_refresh_token", "zalo_oa_expires_at"
EARLY = timedelta(hours=1)  # refresh this long before the access token would expire


class ZaloAuthError(RuntimeError):
    """Zalo refused to refresh (wrong app or secret, a used or revoked refresh token)."""


class ZaloTokens:
    def __init__(
        self,
        db: Database,
        *,
        app_id: str,
        secret_key: str,
        oauth_url: str,
        first_refresh_token: str,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.db, self.app_id, self.secret_key = db, app_id, secret_key
        self.oauth_url, self.first_refresh_token, self.clock = oauth_url, first_refresh_token, clock

    def current(self) -> str | None:
        """The stored access token if it is good for a while yet."""
        with self.db.transaction() as session:
            return self._fresh(session, stale=None)

    def refresh(self, stale: str | None = None) -> str:
        """A working access token: another process's fresh one, or a new one from Zalo.
        `stale` is the token Zalo just refused, which must not be handed back."""
        with self.db.transaction() as session:
            now = self.clock()
            if self.first_refresh_token:
                insert_ignore(
                    session, AppSecret, key=REFRESH, value=self.first_refresh_token, updated_at=now
                )
            row = session.get(AppSecret, REFRESH, with_for_update=True)
            if row is None:
                raise ZaloAuthError("no refresh token: set ZALO_OA_REFRESH_TOKEN once")
            fresh = self._fresh(session, stale)
            if fresh:
                return fresh  # refreshed by someone else while we waited for the lock
            answer = httpx.post(
                f"{self.oauth_url}/v4/oa/access_token",
                data={
                    "app_id": self.app_id,
                    "grant_type": "refresh_token",
                    "refresh_token": row.value,
                },
                headers={"secret_key": self.secret_key},
                timeout=20,
            ).json()
            if "access_token" not in answer or "refresh_token" not in answer:
                raise ZaloAuthError(f"Zalo refused the refresh: {answer}")
            lifetime = timedelta(seconds=int(answer.get("expires_in") or 90000))
            row.value, row.updated_at = answer["refresh_token"], now
            _store(session, ACCESS, answer["access_token"], now)
            _store(session, EXPIRES, (now + lifetime).isoformat(), now)
            log.info("Zalo OA access token refreshed; valid for %s", lifetime)
            return str(answer["access_token"])

    def _fresh(self, session: Session, stale: str | None) -> str | None:
        access, expires = session.get(AppSecret, ACCESS), session.get(AppSecret, EXPIRES)
        if access is None or expires is None or access.value == stale:
            return None
        if datetime.fromisoformat(expires.value) - EARLY <= self.clock():
            return None
        return access.value


def _store(session: Session, key: str, value: str, now: datetime) -> None:
    row = session.get(AppSecret, key)
    if row is None:
        session.add(AppSecret(key=key, value=value, updated_at=now))
    else:
        row.value, row.updated_at = value, now
