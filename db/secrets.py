"""Secrets the app keeps in its own database, so every process shares one value."""

from __future__ import annotations

import secrets as random
from datetime import datetime

from sqlmodel import Session

from db.models import AppSecret
from db.upsert import insert_ignore


def get_or_create(session: Session, key: str, now: datetime, nbytes: int = 32) -> str:
    """The stored secret under key; the first caller generates it, racing callers agree."""
    insert_ignore(session, AppSecret, key=key, value=random.token_urlsafe(nbytes), updated_at=now)
    row = session.get(AppSecret, key)
    assert row is not None
    return row.value
