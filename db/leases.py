"""Rows that workers share by leasing them: what makes a row free to take now."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, or_
from sqlmodel import col


def due_and_free(model: Any, now: datetime) -> list[ColumnElement[bool]]:
    """Its time has come and nobody holds it (no lease, or the holder's lease ran out)."""
    return [
        col(model.next_attempt_at) <= now,
        or_(col(model.lease_until).is_(None), col(model.lease_until) < now),
    ]
