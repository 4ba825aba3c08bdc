"""The ledger of scheduled runs: a key per job and period, taken inside the run's own
transaction. Whoever inserts the key does the work; a crash before commit frees it."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlmodel import Session, col

from db.models import JobRun
from db.upsert import insert_ignore


def take(session: Session, key: str, now: datetime) -> bool:
    """True for exactly one caller per key, across processes (on PostgreSQL a second
    caller waits for the first to commit, then finds the key taken)."""
    return insert_ignore(session, JobRun, key=key, at=now)


def prune(session: Session, older_than: timedelta, now: datetime) -> int:
    result = session.execute(delete(JobRun).where(col(JobRun.at) < now - older_than))
    return int(getattr(result, "rowcount", 0) or 0)


def release(session: Session, key: str) -> None:
    """Give a key back, so a run that failed after its key was committed is tried again."""
    session.execute(delete(JobRun).where(col(JobRun.key) == key))
