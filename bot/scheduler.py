"""The clock's jobs on APScheduler: one short tick runs whatever is due, and two more make the
daily backup and the daily retention purge. What is due, and whether another process already
did it, is decided in the database (handlers/deadlines and the job ledger), so nothing is lost
across restarts and nothing fires twice."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from pathlib import Path

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from bot import backup
from bot.liveness import Liveness
from bot.settings import Settings
from content import Content
from db import jobs, outbox, retention
from db.clock import to_vietnam, utcnow
from db.engine import Database
from db.retention import Policy as RetentionPolicy
from handlers import alerts, deadlines

log = logging.getLogger(__name__)
# After a failed backup this process waits this long before trying again (not every tick).
BACKUP_RETRY_AFTER = timedelta(minutes=15)


@dataclass(frozen=True)
class Plan:
    """When the recurring work is due, in Vietnam time."""

    digest_at: time = time(7, 30)
    tip_weekday: int = 1  # ISO: 1 = Monday
    tip_at: time = time(9, 0)
    # The daily backup: its folder (None: no backups), its moment, how many copies stay.
    backup_dir: Path | None = None
    backup_at: time = time(2, 0)
    backup_keep: int = 14
    # The daily retention purge: its moment and what it clears.
    purge_at: time = time(3, 0)
    retention: RetentionPolicy = field(default_factory=RetentionPolicy)
    # When the periodic report is due upward, (day, month): the leads are reminded before.
    report_due: tuple[tuple[int, int], ...] = deadlines.REPORT_DUE


def plan(settings: Settings) -> Plan:
    return Plan(
        settings.digest_at,
        settings.tip_weekday,
        settings.tip_at,
        settings.backup_dir,
        settings.backup_at,
        settings.backup_keep,
        settings.purge_at,
        settings.retention,
        settings.report_due_dates,
    )


def run_due(db: Database, content: Content, now: datetime, plan: Plan) -> int:
    """One tick: the due work and its messages in one transaction; returns messages queued
    (a weekly tip counts as one: its deliveries are the broadcaster's)."""
    with db.transaction() as session:
        effects = deadlines.due(session, content, now, plan.digest_at, plan.report_due)
        for effect in effects:
            outbox.enqueue(session, effect, now)
        tip = alerts.weekly_tip_due(session, content, now, plan.tip_weekday, plan.tip_at)
    return len(effects) + (1 if tip else 0)


def backup_due(db: Database, now: datetime, plan: Plan) -> Path | None:
    """Once a day from `backup_at` (Vietnam time), the process that takes the day's key makes
    the backup, after that key's transaction, so the copy never holds a write lock. A
    failed backup gives the key back for a later try; returns the file made, if any."""
    if plan.backup_dir is None:
        return None
    local = to_vietnam(now)
    if local.time() < plan.backup_at:
        return None
    key = f"backup:{local.date()}"
    with db.transaction() as session:
        if not jobs.take(session, key, now):
            return None
    try:
        return backup.scheduled(db.url, plan.backup_dir, plan.backup_keep, local)
    except BaseException:
        with db.transaction() as session:
            jobs.release(session, key)
        raise


def purge_due(db: Database, now: datetime, plan: Plan) -> dict[str, int] | None:
    """Once a day from `purge_at` (Vietnam time): the day's key and the purge commit together,
    so one process purges, and a purge that fails leaves the key for the next tick."""
    local = to_vietnam(now)
    if local.time() < plan.purge_at:
        return None
    with db.transaction() as session:
        if not jobs.take(session, f"purge:{local.date()}", now):
            return None
        return retention.purge(session, plan.retention, now)


class Scheduler:
    def __init__(
        self,
        db: Database,
        content: Content,
        plan: Plan,
        every_seconds: float,
        clock: Callable[[], datetime] = utcnow,
        liveness: Liveness | None = None,
    ) -> None:
        self.db, self.content, self.plan, self.clock = db, content, plan, clock
        self.every_seconds = every_seconds
        self.liveness = liveness or Liveness()
        # Ticks that keep failing (or stop coming) show on /healthz after a few periods.
        self.liveness.register("scheduler", every_seconds * 3 + 60)
        self._scheduler = AsyncIOScheduler(timezone="UTC")
        self._backup_not_before: datetime | None = None

    def start(self) -> None:
        self._scheduler.add_job(
            self.tick,
            IntervalTrigger(seconds=self.every_seconds),
            id="deadlines",
            next_run_time=utcnow(),  # at once: whatever fell due while we were down
            max_instances=1,
            coalesce=True,
        )
        if self.plan.backup_dir is not None:
            # Its own job: a long pg_dump must not hold up reminders and escalations.
            self._scheduler.add_job(
                self.backup,
                IntervalTrigger(seconds=self.every_seconds),
                id="backup",
                next_run_time=utcnow(),
                max_instances=1,
                coalesce=True,
            )
        # Its own job too: a first purge over years of data must not hold up reminders.
        self._scheduler.add_job(
            self.purge,
            IntervalTrigger(seconds=self.every_seconds),
            id="purge",
            next_run_time=utcnow(),
            max_instances=1,
            coalesce=True,
        )
        self._scheduler.start()

    def stop(self) -> None:
        self.liveness.ended("scheduler")
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)

    async def tick(self) -> None:
        try:
            queued = await asyncio.to_thread(
                run_due, self.db, self.content, self.clock(), self.plan
            )
            if queued:
                log.info("scheduled work queued %s messages", queued)
            self.liveness.beat("scheduler")
        except Exception:
            log.exception("scheduled work failed; the next tick tries again")

    async def purge(self) -> None:
        try:
            counts = await asyncio.to_thread(purge_due, self.db, self.clock(), self.plan)
            if counts is not None:
                log.info("retention purge: %s", counts)
        except Exception:
            log.exception("retention purge failed; the next tick tries again")

    async def backup(self) -> None:
        now = self.clock()
        if self._backup_not_before is not None and now < self._backup_not_before:
            return
        try:
            made = await asyncio.to_thread(backup_due, self.db, now, self.plan)
            if made is not None:
                log.info("daily backup written to %s", made)
        except Exception:
            self._backup_not_before = now + BACKUP_RETRY_AFTER
            log.exception("daily backup failed; trying again in %s", BACKUP_RETRY_AFTER)
