"""Delivers what the outbox owes: messages whose sender died, failed sends, messages to others.
Each channel is a transport; interactive rows go before bulk ones."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta

from bot.liveness import Liveness, keep_running
from db import outbox
from db.clock import utcnow
from db.engine import Database
from db.models import Outbox

log = logging.getLogger(__name__)
Transport = Callable[[Outbox], Awaitable[None]]
LEASE = timedelta(seconds=60)
STALE_AFTER = 600.0  # a round may wait on a chat's pace; ten minutes without one is stuck


class Blocked(Exception):
    """The platform refuses this recipient for good (the user blocked the bot)."""


class Rejected(Exception):
    """The platform will never take this message as it is (a bad request): not retried,
    and the recipient is not blamed."""


class NotNow(Exception):
    """The channel may not message this resident now (e.g. Zalo outside its window): the
    message waits for the resident's next message instead of failing."""


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
    def __init__(
        self,
        db: Database,
        transports: dict[str, Transport],
        batch: int = 50,
        idle_seconds: float = 1.0,
        never_give_up: frozenset[str] = frozenset(),
    ) -> None:
        self.db, self.transports = db, transports
        # Channels whose messages are retried until they go (the police chat's tip cards).
        self.never_give_up = never_give_up
        self.batch, self.idle_seconds = batch, idle_seconds

    async def run(self, stop: asyncio.Event, liveness: Liveness | None = None) -> None:
        async def one_round() -> bool:
            return await self.drain_once() > 0

        await keep_running(
            "outbox", one_round, stop, liveness or Liveness(), self.idle_seconds, STALE_AFTER
        )

    async def drain_once(self) -> int:
        """Send one batch of due rows; returns how many were attempted."""
        rows = await asyncio.to_thread(self._claim)
        for row in rows:
            assert row.id is not None
            try:
                await self.transports[row.channel](row)
            except Blocked as error:
                await asyncio.to_thread(self._finish, row.id, blocked=str(error))
            except NotNow:
                await asyncio.to_thread(self._wait, row.id)
            except Rejected as error:
                if row.channel in self.never_give_up:  # e.g. a wrong police chat id, fixable
                    await asyncio.to_thread(self._retry, row, RetryLater(None, str(error)))
                else:
                    await asyncio.to_thread(self._reject, row.id, str(error))
            except RetryLater as error:
                await asyncio.to_thread(self._retry, row, error)
            except Exception as error:  # a bug in a transport must not stop the others
                log.exception("sending outbox row %s failed", row.id)
                await asyncio.to_thread(self._retry, row, RetryLater(None, repr(error)))
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

    def _reject(self, outbox_id: int, reason: str) -> None:
        with self.db.transaction() as session:
            outbox.mark_failed(session, outbox_id, reason)

    def _wait(self, outbox_id: int) -> None:
        with self.db.transaction() as session:
            outbox.mark_waiting(session, outbox_id)

    def _retry(self, row: Outbox, error: RetryLater) -> None:
        assert row.id is not None
        retry_at = utcnow() + error.delay(row.attempts)
        give_up_after = None if row.channel in self.never_give_up else outbox.GIVE_UP_AFTER
        with self.db.transaction() as session:
            outbox.mark_retry(session, row.id, error.reason, retry_at, give_up_after)
