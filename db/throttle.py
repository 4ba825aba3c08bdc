"""Fixed-window rate limits kept in the database, so every process shares them."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session

from db.models import Throttle


def allow(session: Session, key: str, limit: int, window: timedelta, now: datetime) -> bool:
    """Count one attempt under key; False once the window already holds `limit` attempts."""
    row = session.get(Throttle, key, with_for_update=True)
    if row is None:
        session.add(Throttle(key=key, window_start=now, count=1))
        session.flush()
        return True
    if now - row.window_start >= window:
        row.window_start, row.count = now, 1
        return True
    if row.count >= limit:
        return False
    row.count += 1
    return True
