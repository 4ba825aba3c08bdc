"""Housekeeping that keeps the database small and free of what it no longer needs."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from bot.liveness import Liveness, keep_running
from db import broadcasts, conversations, jobs, outbox
from db.clock import utcnow
from db.engine import Database

log = logging.getLogger(__name__)
# Telegram redelivers for at most a day; a week of update ids is ample.
KEEP_UPDATE_IDS = timedelta(days=7)
KEEP_SENT_MESSAGES = timedelta(days=7)
# Job keys are per five minutes or per day: a month of them guards every period still open.
KEEP_JOB_RUNS = timedelta(days=30)
KEEP_DRAFTS = timedelta(days=7)  # broadcast drafts abandoned half-written


def tidy(db: Database) -> tuple[int, int]:
    """Forget old update ids and delivered messages; returns how many of each went."""
    now = utcnow()
    with db.transaction() as session:
        ids = conversations.prune_processed(session, KEEP_UPDATE_IDS, now)
        sent = outbox.prune_sent(session, KEEP_SENT_MESSAGES, now)
        jobs.prune(session, KEEP_JOB_RUNS, now)
        broadcasts.prune_drafts(session, KEEP_DRAFTS, now)
    return ids, sent


async def run(
    db: Database, stop: asyncio.Event, liveness: Liveness | None = None, every: float = 3600
) -> None:
    async def one_round() -> bool:
        ids, sent = await asyncio.to_thread(tidy, db)
        log.info("maintenance: forgot %s update ids, %s sent messages", ids, sent)
        return False

    await keep_running("maintenance", one_round, stop, liveness or Liveness(), every, every * 3)
