"""Delivers what the outbox owes: messages whose sender died, failed sends, messages to others.
Each channel is a transport; interactive rows go before bulk ones."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta

from db import outbox
from db.clock import utcnow
from db.engine import Database
from db.models import Outbox

log = logging.getLogger(__name__)
Transport = Callable[[Outbox], Awaitable[None]]
LEASE = timedelta(seconds=60)


class Blocked(Exception):
    """The platform refuses this recipient for good (the user blocked the bot)."""


class RetryLater(Exception):
    """A passing failure; `after` seconds if the platform said so (429), else back off."""

    def __init__(self, after: float | None, reason: str) -> None:
        super().__init__(reason)
        self.after, self.reason = after, reason

    def delay(self, attempts: int) -> timedelta:
        if self.after is not None:
            return timedelta(seconds=self.after)
        return timedelta(seconds=min(600.0, 2.0**attempts))


class OutboxSender:
    def __init__(
        self,
        db: Database,
        transports: dict[str, Transport],
        batch: int = 50,
        idle_seconds: float = 1.0,
    ) -> None:
        self.db, self.transports = db, transports
        self.batch, self.idle_seconds = batch, idle_seconds

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                sent = await self.drain_once()
            except Exception:
                log.exception("outbox sender failed; retrying")
                sent = 0
            if not sent:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.idle_seconds)

    async def drain_once(self) -> int:
        """Send one batch of due rows; returns how many were attempted."""
        rows = await asyncio.to_thread(self._claim)
        for row in rows:
            assert row.id is not None
            try:
                await self.transports[row.channel](row)
            except Blocked as error:
                await asyncio.to_thread(self._finish, row.id, blocked=str(error))
            except RetryLater as error:
                await asyncio.to_thread(self._retry, row.id, row.attempts, error)
            except Exception as error:  # a bug in a transport must not stop the others
                log.exception("sending outbox row %s failed", row.id)
                await asyncio.to_thread(
                    self._retry, row.id, row.attempts, RetryLater(None, repr(error))
                )
            else:
                await asyncio.to_thread(self._finish, row.id, blocked=None)
        return len(rows)

    def _claim(self) -> list[Outbox]:
        with self.db.transaction() as session:
            return outbox.claim_due(session, list(self.transports), utcnow(), self.batch, LEASE)

    def _finish(self, outbox_id: int, blocked: str | None) -> None:
        with self.db.transaction() as session:
            if blocked is None:
                outbox.mark_sent(session, [outbox_id], utcnow())
            else:
                outbox.mark_blocked(session, outbox_id, blocked)

    def _retry(self, outbox_id: int, attempts: int, error: RetryLater) -> None:
        with self.db.transaction() as session:
            outbox.mark_retry(session, outbox_id, error.reason, utcnow() + error.delay(attempts))
