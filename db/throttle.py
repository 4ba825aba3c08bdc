"""Fixed-window rate limits kept in the database, so every process shares them."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session

from db.models import Throttle
from db.upsert import insert_ignore


def allow(session: Session, key: str, limit: int, window: timedelta, now: datetime) -> bool:
    """Count one attempt under key; False once the window already holds `limit` attempts."""
    # Insert-or-nothing, then lock: two first attempts at once must not collide on the key.
    if insert_ignore(session, Throttle, key=key, window_start=now, count=1):
        return True
    row = session.get(Throttle, key, with_for_update=True, populate_existing=True)
    assert row is not None
    if now - row.window_start >= window:
        row.window_start, row.count = now, 1
        return True
    if row.count >= limit:
        return False
    row.count += 1
    return True


def exceeded(session: Session, key: str, limit: int, window: timedelta, now: datetime) -> bool:
    """Whether the window under key already holds `limit` attempts (counting nothing)."""
    row = session.get(Throttle, key)
    return row is not None and now - row.window_start < window and row.count >= limit
