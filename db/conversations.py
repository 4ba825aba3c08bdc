"""Loading and saving where a conversation stands, one update at a time per user."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete
from sqlalchemy.orm.attributes import flag_modified
from sqlmodel import Session, col, select

from db.models import Conversation, ProcessedUpdate
from db.upsert import insert_ignore


def first_time(session: Session, channel: str, update_id: str, now: datetime) -> bool:
    """Record an update id; False if it was handled before (a redelivery)."""
    return insert_ignore(
        session, ProcessedUpdate, channel=channel, update_id=update_id, processed_at=now
    )


def lock(session: Session, channel: str, user_id: str, now: datetime) -> Conversation:
    """The user's conversation row, created if new, locked until the transaction ends.
    Looked for first: it exists on all but a user's first turn, and the insert is then a
    statement for nothing."""
    query = (
        select(Conversation)
        .where(Conversation.channel == channel, Conversation.user_id == user_id)
        .with_for_update()
    )
    found = session.exec(query).first()
    if found is not None:
        return found
    insert_ignore(
        session, Conversation, channel=channel, user_id=user_id, state={}, version=0, updated_at=now
    )
    return session.exec(query).one()


def save(conversation: Conversation, state: dict[str, Any], now: datetime) -> None:
    conversation.state = state
    flag_modified(conversation, "state")
    conversation.version += 1
    conversation.updated_at = now


def forget(session: Session, channel: str, user_id: str) -> None:
    """Drop the user's conversation (they erased their data). Through the session, so a turn
    that is about to save this same row deletes it instead."""
    row = session.exec(
        select(Conversation).where(Conversation.channel == channel, Conversation.user_id == user_id)
    ).first()
    if row is not None:
        session.delete(row)


def prune_processed(session: Session, older_than: timedelta, now: datetime) -> int:
    """Update ids older than any redelivery window are no longer needed."""
    result = session.connection().execute(
        delete(ProcessedUpdate).where(col(ProcessedUpdate.processed_at) < now - older_than)
    )
    return max(0, result.rowcount or 0)
