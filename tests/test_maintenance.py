"""Housekeeping forgets old update ids and delivered messages, and nothing else."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from bot import maintenance
from db import outbox
from db.clock import utcnow
from db.engine import Database
from db.models import Outbox, ProcessedUpdate


def test_tidy_keeps_what_is_recent_or_unsent(db: Database) -> None:
    old = utcnow() - timedelta(days=8)
    with db.transaction() as session:
        session.add(ProcessedUpdate(channel="telegram", update_id="1", processed_at=old))
        session.add(ProcessedUpdate(channel="telegram", update_id="2", processed_at=utcnow()))
        for status in (outbox.SENT, outbox.PENDING):
            session.add(
                Outbox(
                    channel="telegram",
                    recipient="1",
                    kind="reply",
                    payload={"text": "x"},
                    status=status,
                    created_at=old,
                )
            )
    assert maintenance.tidy(db) == (1, 1)
    with db.transaction() as session:
        assert [p.update_id for p in session.exec(select(ProcessedUpdate))] == ["2"]
        assert [o.status for o in session.exec(select(Outbox))] == [outbox.PENDING]
