"""Delivers what the outbox owes: messages whose sender died, failed sends, messages to others.
Each channel is a transport; interactive rows go before bulk ones."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta

from sqlalchemy import update
from sqlmodel import Session, col

from bot.liveness import Liveness, keep_running
from db import leases, outbox
from db.clock import utcnow
from db.engine import MAX_RECORD_PAUSE, Database, is_outage
from db.models import Outbox, Report
from handlers import police

log = logging.getLogger(__name__)
Transport = Callable[[Outbox], Awaitable[None]]
LEASE = timedelta(seconds=60)
STALE_AFTER = 600.0  # a round may wait on a chat's pace; ten minutes without one is stuck
# After the database comes back, the senders that sent during the outage record their sends
# first (their retries are at most MAX_RECORD_PAUSE apart) before this lane claims anything.
AFTER_OUTAGE = 3 * MAX_RECORD_PAUSE


class Blocked(Exception):
    """The platform refuses this recipient for good (the user blocked the bot)."""


class Rejected(Exception):
    """The platform will never take this message as it is (a bad request): not retried,
    and the recipient is not blamed."""


class NotNow(Exception):
    """The channel may not message this resident now (e.g. Zalo outside its window), or
    this police unit has no Telegram group yet: the message waits (for the resident's next
    message, or for `canhgiac unit set --telegram-chat`) instead of failing."""


class RetryLater(Exception):
    """A passing failure; `after` seconds if the platform said so (429), else back off.
    `slow_down`: the platform asks all sending to slow (a 429), not just this message."""

    def __init__(self, after: float | None, reason: str, slow_down: bool | None = None) -> None:
        super().__init__(reason)
        self.after, self.reason = after, reason
        self.slow_down = after is not None if slow_down is None else slow_down

    def delay(self, attempts: int) -> timedelta:
        if self.after is not None:
            return timedelta(seconds=self.after)
        return timedelta(seconds=min(600.0, 2.0**attempts))


class OutboxSender:
    """One lane of the outbox: the rows of some channels, claimed a batch at a time and sent
    in order of priority. The police chat has a lane of its own with small batches: it is
    paced, and an urgent card must not wait behind a long batch, nor residents behind it."""

    def __init__(
        self,
        db: Database,
        transports: dict[str, Transport],
        batch: int = 50,
        idle_seconds: float = 1.0,
        never_give_up: bool = False,
        name: str = "outbox",
        lease: timedelta = LEASE,
    ) -> None:
        self.db, self.transports, self.name = db, transports, name
        # Retried until they go (the police chat's tip cards), however long that takes.
        self.never_give_up = never_give_up
        self.batch, self.idle_seconds, self.lease = batch, idle_seconds, lease
        self._outage_seen = -AFTER_OUTAGE  # monotonic time of the last outage this lane met

    async def run(self, stop: asyncio.Event, liveness: Liveness | None = None) -> None:
        async def one_round() -> bool:
            try:
                return await self.drain_once() > 0
            except Exception as error:
                if is_outage(error):
                    self._outage_seen = time.monotonic()
                raise

        await keep_running(
            self.name, one_round, stop, liveness or Liveness(), self.idle_seconds, STALE_AFTER
        )

    async def drain_once(self) -> int:
        """Send one batch of due rows; returns how many were attempted. The batch's leases
        are renewed while it waits on a platform's pace, so no other sender takes them."""
        if time.monotonic() - self._outage_seen < AFTER_OUTAGE:
            # A reply sent during the outage is still being recorded by the channel that sent
            # it (Database.record); its lease may have run out meanwhile, and taking it now
            # would send it twice. The channels go first.
            return 0
        rows = await asyncio.to_thread(self._claim)
        leased_until = time.monotonic() + self.lease.total_seconds()
        for index, row in enumerate(rows):
            assert row.id is not None
            if leased_until - time.monotonic() < self.lease.total_seconds() / 2:
                await asyncio.to_thread(self._renew, [r.id for r in rows[index:]])
                leased_until = time.monotonic() + self.lease.total_seconds()
            await self._send(row)
        return len(rows)

    async def _send(self, row: Outbox) -> None:
        assert row.id is not None
        try:
            await self.transports[row.channel](row)
        except Blocked as error:
            await asyncio.to_thread(self._finish, row, blocked=str(error))
        except NotNow:
            await asyncio.to_thread(self._wait, row.id)
        except Rejected as error:  # this message, as it is, never goes: the rest still do
            log.error("outbox row %s refused for good: %s", row.id, error)
            await asyncio.to_thread(self._reject, row, str(error))
        except RetryLater as error:
            await asyncio.to_thread(self._retry, row, error)
        except Exception as error:  # a bug in a transport must not stop the others
            log.exception("sending outbox row %s failed", row.id)
            await asyncio.to_thread(self._retry, row, RetryLater(None, repr(error)))
        else:
            await self.db.record(self._finish, row, None)

    def _claim(self) -> list[Outbox]:
        now = utcnow()
        with self.db.transaction() as session:
            channels = list(self.transports)
            rows = outbox.claim_due(session, channels, now, self.batch, self.lease)
            if not self.db.shared or not rows:
                return rows
            # Another worker is sending (or about to send) an earlier reply to the same
            # resident: these wait for it, so nobody's replies are overtaken.
            held = leases.behind(session.connection(), [r.id for r in rows if r.id], now)
            if held:
                session.execute(
                    update(Outbox).where(col(Outbox.id).in_(held)).values(lease_until=None)
                )
            return [r for r in rows if r.id not in held]

    def _renew(self, ids: list[int | None]) -> None:
        with self.db.transaction() as session:
            outbox.renew(session, [i for i in ids if i is not None], utcnow() + self.lease)

    def _finish(self, row: Outbox, blocked: str | None) -> None:
        assert row.id is not None
        with self.db.transaction() as session:
            if blocked is None:
                outbox.mark_sent(session, [row.id], utcnow())
                return
            outbox.mark_blocked(session, row.id, blocked)
            _show_undelivered(session, row)

    def _reject(self, row: Outbox, reason: str) -> None:
        assert row.id is not None
        with self.db.transaction() as session:
            outbox.mark_failed(session, row.id, reason)
            _show_undelivered(session, row)

    def _wait(self, outbox_id: int) -> None:
        with self.db.transaction() as session:
            outbox.mark_waiting(session, outbox_id)

    def _retry(self, row: Outbox, error: RetryLater) -> None:
        assert row.id is not None
        retry_at = utcnow() + error.delay(row.attempts)
        with self.db.transaction() as session:
            if outbox.mark_retry(session, row.id, error.reason, retry_at, self.never_give_up):
                _show_undelivered(session, row)


def _show_undelivered(session: Session, row: Outbox) -> None:
    """A notice about a report did not reach its reporter: the card says so to officers."""
    if row.report_id is None or row.channel == police.POLICE:
        return
    report = session.get(Report, row.report_id)
    if report is not None:
        outbox.enqueue(session, police.card(report), utcnow())
