"""Updates set aside after failing: recorded once per update id, listed for an admin, and
replayed on request by the running bot."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col, select

from db.models import FailedUpdate
from db.upsert import insert_ignore

FAILED, REPLAY, REPLAYED = "failed", "replay", "replayed"


def set_aside(
    session: Session,
    channel: str,
    update_id: str,
    body: dict[str, Any],
    error: str,
    attempts: int,
    now: datetime,
) -> None:
    """Keep a failed update; a replay that fails again goes back to failed with the new error."""
    fields = {"body": body, "error": error, "attempts": attempts, "failed_at": now}
    if not insert_ignore(
        session, FailedUpdate, channel=channel, update_id=update_id, status=FAILED, **fields
    ):
        session.execute(
            update(FailedUpdate)
            .where(col(FailedUpdate.channel) == channel, col(FailedUpdate.update_id) == update_id)
            .values(status=FAILED, **fields)
        )


def listed(session: Session, status: str | None = None, limit: int = 100) -> list[FailedUpdate]:
    query = select(FailedUpdate).order_by(col(FailedUpdate.id).desc()).limit(limit)
    if status:
        query = query.where(FailedUpdate.status == status)
    return list(session.exec(query).all())


def ask_replay(session: Session, ids: list[int]) -> int:
    """Mark failed updates for the running bot to take again; returns how many were marked."""
    result = session.execute(
        update(FailedUpdate)
        .where(col(FailedUpdate.id).in_(ids), col(FailedUpdate.status) == FAILED)
        .values(status=REPLAY)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def take_replays(
    session: Session, channels: list[str], now: datetime, limit: int = 20
) -> list[FailedUpdate]:
    """Updates an admin asked to replay, for the channels this process serves; each is
    marked replayed as it is taken (if it fails again it is set aside again)."""
    rows = list(
        session.exec(
            select(FailedUpdate)
            .where(FailedUpdate.status == REPLAY, col(FailedUpdate.channel).in_(channels))
            .order_by(col(FailedUpdate.id))
            .limit(limit)
            .with_for_update(skip_locked=True)
        ).all()
    )
    for row in rows:
        row.status, row.replayed_at = REPLAYED, now
    return rows
