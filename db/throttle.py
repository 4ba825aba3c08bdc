"""Fixed-window rate limits kept in the database, so every process shares them."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Connection, text
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


# --- a shared pace (PostgreSQL): one budget of sends per second for every process ----------
# The row under a pace key holds, in window_start, the moment (database clock, UTC) the next
# send may go: its theoretical arrival time. Reserving n sends at `rate` moves it on by n/rate,
# atomically, so the slots handed to all processes are spaced 1/rate apart as if one process
# paced them. The database's clock is the only clock: workers' clocks never have to agree.
_RESERVE = text(
    """
    WITH clock AS (SELECT clock_timestamp() AT TIME ZONE 'UTC' AS now)
    INSERT INTO throttle AS t (key, window_start, count)
    SELECT :key, clock.now + make_interval(secs => :spend), 0 FROM clock
    ON CONFLICT (key) DO UPDATE SET window_start = GREATEST(
        t.window_start, (SELECT now FROM clock) - make_interval(secs => :catch_up)
    ) + make_interval(secs => :spend)
    RETURNING
        EXTRACT(EPOCH FROM t.window_start)::float8 - :spend,
        EXTRACT(EPOCH FROM (SELECT now FROM clock))::float8
    """
)
_HOLD_OFF = text(
    """
    WITH clock AS (SELECT clock_timestamp() AT TIME ZONE 'UTC' AS now)
    INSERT INTO throttle AS t (key, window_start, count)
    SELECT :key, clock.now + make_interval(secs => :pause), 0 FROM clock
    ON CONFLICT (key) DO UPDATE SET window_start = GREATEST(
        t.window_start, (SELECT now FROM clock) + make_interval(secs => :pause)
    )
    """
)


def reserve(conn: Connection, key: str, spend: float, catch_up: float) -> tuple[float, float]:
    """Take `spend` seconds of the pace under key (PostgreSQL): returns when the first of
    them starts and the database's time now, both as epoch seconds of its clock. Time left
    unused more than `catch_up` ago is not given back (no burst after a quiet spell)."""
    row = conn.execute(_RESERVE, {"key": key, "spend": spend, "catch_up": catch_up}).one()
    return float(row[0]), float(row[1])


def hold_off(conn: Connection, key: str, pause: float) -> None:
    """Nobody sends under key for `pause` seconds from now (the platform answered 429)."""
    conn.execute(_HOLD_OFF, {"key": key, "pause": pause})
