"""Taking platform updates one at a time in isolation: an update that keeps failing is tried
a few times, then set aside (a failed update an admin can see and replay) so the updates
behind it go on; a database outage is no update's fault and is waited out instead."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from db import failed_updates
from db.clock import utcnow
from db.engine import Database, is_outage

log = logging.getLogger(__name__)
Handle = Callable[[dict[str, Any]], Awaitable[None]]
ATTEMPTS = 3  # tries of one update before it is set aside
RETRY_PAUSE = 0.5  # seconds between tries, times the try's number


class Intake:
    """One channel's way in: `take` returns once the update is handled or set aside, and
    raises only when the database stays unreachable past `outage_patience` seconds (the
    caller's platform then delivers the update again; None waits for ever)."""

    def __init__(
        self,
        db: Database,
        channel: str,
        handle: Handle,
        outage_patience: float | None = 0.0,
        attempts: int = ATTEMPTS,
    ) -> None:
        self.db, self.channel, self.handle = db, channel, handle
        self.outage_patience, self.attempts = outage_patience, attempts

    async def take(
        self,
        update_id: str,
        body: dict[str, Any],
        run: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        """Handle one update (by `run` when the caller holds it parsed, else from `body`)."""
        tries = 0
        waited = 0.0
        while True:
            try:
                await (run() if run is not None else self.handle(body))
                return
            except asyncio.CancelledError:
                raise
            except Exception as error:
                if is_outage(error):
                    pause = min(5.0, 0.5 + waited / 4)
                    if self.outage_patience is not None and waited + pause > self.outage_patience:
                        raise
                    log.warning("%s update %s waits for the database", self.channel, update_id)
                    await asyncio.sleep(pause)
                    waited += pause
                    continue
                tries += 1
                log.exception("%s update %s failed (try %s)", self.channel, update_id, tries)
                if tries < self.attempts:
                    await asyncio.sleep(RETRY_PAUSE * tries)
                    continue
                await asyncio.to_thread(self._set_aside, update_id, body, repr(error), tries)
                return

    def _set_aside(self, update_id: str, body: dict[str, Any], error: str, tries: int) -> None:
        with self.db.transaction() as session:
            failed_updates.set_aside(session, self.channel, update_id, body, error, tries, utcnow())
        log.error("%s update %s set aside after %s tries", self.channel, update_id, tries)

    async def replay_asked(self) -> int:
        """Take again the failed updates an admin asked to replay; returns how many."""
        rows = await asyncio.to_thread(self._take_replays)
        for row in rows:
            await self.take(row.update_id, row.body)
        return len(rows)

    def _take_replays(self) -> list[Any]:
        with self.db.transaction() as session:
            return failed_updates.take_replays(session, [self.channel], utcnow())
