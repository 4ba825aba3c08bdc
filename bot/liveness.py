"""The process's long-running loops: each one kept going through any failure, with backoff,
and each saying when it last finished a round, so /healthz can tell a dead or stuck loop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

log = logging.getLogger(__name__)
# One round: True if it did work (go again at once), False to rest `idle` seconds first.
Round = Callable[[], Awaitable[bool]]
MAX_BACKOFF = 30.0


@dataclass
class Loop:
    name: str
    stale_after: float  # seconds without a finished round before the loop counts as stuck
    last_round: float
    running: bool = True
    failures: int = 0


class Liveness:
    """Which loops run, and when each last finished a round (monotonic seconds)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.loops: dict[str, Loop] = {}

    def register(self, name: str, stale_after: float) -> None:
        self.loops[name] = Loop(name, stale_after, self.clock())

    def beat(self, name: str) -> None:
        loop = self.loops.get(name)
        if loop is not None:
            loop.last_round, loop.failures = self.clock(), 0

    def failed(self, name: str) -> None:
        if name in self.loops:
            self.loops[name].failures += 1

    def ended(self, name: str) -> None:
        if name in self.loops:
            self.loops[name].running = False

    def report(self) -> dict[str, str]:
        """Each loop: "ok", "stuck" (no round finished in time) or "dead" (it ended)."""
        now = self.clock()
        return {
            loop.name: "dead"
            if not loop.running
            else "stuck"
            if now - loop.last_round > loop.stale_after
            else "ok"
            for loop in self.loops.values()
        }


async def keep_running(
    name: str,
    one_round: Round,
    stop: asyncio.Event,
    liveness: Liveness,
    idle: float,
    stale_after: float,
) -> None:
    """Run rounds until `stop`; an exception in a round is logged and waited out with a
    growing pause (a database outage, a bug in one message), never the end of the loop."""
    liveness.register(name, stale_after)
    failures = 0
    try:
        while not stop.is_set():
            try:
                busy = await one_round()
            except asyncio.CancelledError:
                raise
            except Exception:
                failures += 1
                liveness.failed(name)
                pause = min(MAX_BACKOFF, 0.5 * 2 ** min(failures, 10))
                log.exception("%s failed (%s in a row); again in %.1f s", name, failures, pause)
                await _rest(stop, pause)
                continue
            failures = 0
            liveness.beat(name)
            if not busy:
                await _rest(stop, idle)
    finally:
        liveness.ended(name)


async def _rest(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
