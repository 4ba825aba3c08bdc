"""The clock's jobs on APScheduler: one short tick runs whatever is due. What is due, and
whether another process already did it, is decided in the database (handlers/deadlines and
the job ledger), so nothing is lost across restarts and nothing fires twice."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from content import Content
from db import outbox
from db.clock import utcnow
from db.engine import Database
from handlers import alerts, deadlines

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Plan:
    """When the recurring work is due, in Vietnam time."""

    digest_at: time = time(7, 30)
    tip_weekday: int = 1  # ISO: 1 = Monday
    tip_at: time = time(9, 0)


def run_due(db: Database, content: Content, now: datetime, plan: Plan) -> int:
    """One tick: the due work and its messages in one transaction; returns messages queued
    (a weekly tip counts as one: its deliveries are the broadcaster's)."""
    with db.transaction() as session:
        effects = deadlines.due(session, content, now, plan.digest_at)
        for effect in effects:
            outbox.enqueue(session, now=now, **effect)
        tip = alerts.weekly_tip_due(session, content, now, plan.tip_weekday, plan.tip_at)
    return len(effects) + (1 if tip else 0)


class Scheduler:
    def __init__(
        self,
        db: Database,
        content: Content,
        plan: Plan,
        every_seconds: float,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.db, self.content, self.plan, self.clock = db, content, plan, clock
        self.every_seconds = every_seconds
        self._scheduler = AsyncIOScheduler(timezone="UTC")

    def start(self) -> None:
        self._scheduler.add_job(
            self.tick,
            IntervalTrigger(seconds=self.every_seconds),
            id="deadlines",
            next_run_time=utcnow(),  # at once: whatever fell due while we were down
            max_instances=1,
            coalesce=True,
        )
        self._scheduler.start()

    def stop(self) -> None:
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)

    async def tick(self) -> None:
        try:
            queued = await asyncio.to_thread(
                run_due, self.db, self.content, self.clock(), self.plan
            )
            if queued:
                log.info("scheduled work queued %s messages", queued)
        except Exception:
            log.exception("scheduled work failed; the next tick tries again")
