"""The delivery engine for broadcasts: starts approved ones when due, claims delivery rows in
batches, sends them at the platform's pace, and records each outcome as soon as it is known.

Delivery is at least once, never at most: a row is marked sent right after the platform
confirms it (marks are committed in small groups by one writer thread). A crash therefore
resends only the few messages that were in flight or confirmed but not yet committed; every
other message is sent exactly once, and none is lost."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta

from bot.liveness import Liveness, keep_running
from bot.outbox_sender import Blocked, NotNow, Rejected, RetryLater
from content import Content
from db import broadcasts, outbox, throttle
from db.clock import utcnow
from db.engine import Database
from db.models import Broadcast, Delivery
from handlers import alerts

log = logging.getLogger(__name__)
BulkSend = Callable[[Delivery, Broadcast], Awaitable[None]]
# A claimed batch is ours this long, renewed while we work through it; after a crash the
# next worker waits at most this long for the dead one's rows.
LEASE = timedelta(seconds=3)
BATCH_SECONDS = 0.5  # a batch is about this much sending at the target pace
CATCH_UP = 0.01  # seconds of lost pace the pacer may make up in a burst
LATE = 0.02  # seconds a shared slot may be missed by and still be used
GRANT_SECONDS = 0.1  # the shared pace is taken this much at a time
OFFSET_MAX_AGE = 30.0  # seconds before the database clock's offset is measured afresh


@dataclass
class Pacer:
    """Sends spaced evenly at a little under `rate` a second overall (the margin absorbs
    network jitter against the platform's one-second window). A 429 pauses everyone for its
    retry_after and cuts the pace by a tenth; the pace then creeps back up to the target."""

    target: float
    margin: float = 0.97
    floor: float = 1.0
    # Seconds of unused pace that may be spent at once: a burst of catch_up × rate sends
    # (a Telegram group takes a few at once, then its pace; broadcasts take none).
    catch_up: float = CATCH_UP
    rate: float = 0.0
    _next: float = field(default_factory=time.monotonic)
    _last_429: float = 0.0

    def __post_init__(self) -> None:
        self.rate = self.target * self.margin
        self._next -= self.catch_up  # a fresh pace has its burst to spend, as a quiet one

    async def wait(self) -> float:
        """Until the next send may go; returns that moment (time.monotonic())."""
        now = time.monotonic()
        self._recover(now)
        # Behind schedule, make up at most CATCH_UP of lost time: over any second the count
        # stays under target × margin × (1 + CATCH_UP), below the platform's limit.
        slot = max(self._next, now - self.catch_up)
        self._next = slot + 1.0 / self.rate
        # Timers cost more than a message: sleep only when ahead by a couple of sends.
        await asyncio.sleep(slot - now if slot - now > 0.002 else 0)
        return time.monotonic()

    def _recover(self, now: float) -> None:
        """The pace creeps back up to the target a second after the last 429."""
        ceiling = self.target * self.margin
        if self.rate < ceiling and now - self._last_429 > 1.0:
            self.rate = min(ceiling, self.rate + ceiling / 1000)

    def too_many(self, retry_after: float) -> None:
        now = time.monotonic()
        self._next = max(self._next, now + retry_after)
        self._last_429 = now
        self.rate = max(self.floor, self.rate * 0.9)


@dataclass
class SharedPacer(Pacer):
    """The same pace shared by every process on one PostgreSQL database: each takes a tenth
    of a second of sends at a time from the pace row under `key` (db/throttle.py), whose
    slots are spaced 1/rate apart across all of them, and lets each send go at its slot. A
    slot missed by more than LATE (the loop was busy, replies went first) is dropped rather
    than sent late, so sends never bunch: over any second the count stays under
    target × margin × (1 + LATE) + 1, below the limit. A 429 pauses every process."""

    # Three event loops' requests reach the platform with more jitter than one loop's
    # (measured: 0.97 met a full second now and then at the stand-in, 0.95 did not).
    margin: float = 0.95
    db: Database | None = None
    key: str = "pace:broadcast"
    _slots: deque[float] = field(default_factory=deque)
    _hold_until: float = 0.0  # monotonic: a 429's pause not yet written to the pace row
    # Local monotonic time minus the database's clock, from the quickest round trip seen.
    _offset: float = 0.0
    _offset_rtt: float = float("inf")
    _offset_at: float = 0.0

    async def wait(self) -> float:
        assert self.db is not None
        while True:
            now = time.monotonic()
            self._recover(now)
            if self._hold_until > now:
                pause, self._hold_until = self._hold_until - now, 0.0
                await self.db.run(self._hold_off, pause)
            if not self._slots:
                await self._reserve()
            slot = self._slots.popleft()
            if slot - time.monotonic() > 0.002:
                await asyncio.sleep(slot - time.monotonic())
            now = time.monotonic()
            if now - slot <= max(LATE, self.catch_up):
                return now

    async def _reserve(self) -> None:
        assert self.db is not None
        count = max(1, round(self.rate * GRANT_SECONDS))
        spend = count / self.rate
        asked = time.monotonic()
        start, db_now = await self.db.run(self._take, spend)
        answered = time.monotonic()
        # The database's clock on ours: the offset measured by the quickest round trip is
        # off by at most half of it (NTP's reasoning); measured afresh now and then.
        rtt = answered - asked
        if rtt <= self._offset_rtt or answered - self._offset_at > OFFSET_MAX_AGE:
            self._offset = (asked + answered) / 2 - db_now
            self._offset_rtt, self._offset_at = rtt, answered
        first = start + self._offset
        self._slots.extend(first + index / self.rate for index in range(count))

    def _take(self, spend: float) -> tuple[float, float]:
        assert self.db is not None
        with self.db.connection() as conn:
            return throttle.reserve(conn, self.key, spend, self.catch_up)

    def _hold_off(self, pause: float) -> None:
        assert self.db is not None
        with self.db.connection() as conn:
            throttle.hold_off(conn, self.key, pause)

    def too_many(self, retry_after: float) -> None:
        super().too_many(retry_after)
        self._slots.clear()
        self._hold_until = max(self._hold_until, time.monotonic() + retry_after)


def pacer_for(
    db: Database,
    rate: float,
    key: str = "pace:broadcast",
    floor: float = 1.0,
    catch_up: float = CATCH_UP,
) -> Pacer:
    """One pace for every process on a PostgreSQL database; on SQLite (one process) the
    process's own. `floor`: the slowest a run of 429s may bring it to, messages a second."""
    if db.shared:
        return SharedPacer(rate, floor=floor, catch_up=catch_up, db=db, key=key)
    return Pacer(rate, floor=floor, catch_up=catch_up)


class Broadcaster:
    def __init__(
        self,
        db: Database,
        senders: dict[str, BulkSend],
        rate: float,
        batch: int | None = None,
        concurrency: int = 32,
        idle_seconds: float = 1.0,
        busy: Callable[[], bool] = lambda: False,
        content: Content | None = None,
    ) -> None:
        self.db, self.senders, self.content = db, senders, content
        self.pacer = pacer_for(db, rate)
        self.batch = batch or max(10, min(500, int(rate * BATCH_SECONDS)))
        self.idle_seconds, self.busy = idle_seconds, busy
        self._slots = asyncio.Semaphore(concurrency)
        self._marks: asyncio.Queue[tuple[int, str]] = asyncio.Queue()
        self._broadcasts: dict[int, Broadcast] = {}
        self._inflight: set[asyncio.Task[None]] = set()

    async def run(self, stop: asyncio.Event, liveness: Liveness | None = None) -> None:
        async def one_round() -> bool:
            return await self.work_once() > 0

        writer = asyncio.create_task(self._write_marks())
        try:
            await keep_running(
                "broadcasts", one_round, stop, liveness or Liveness(), self.idle_seconds, 600.0
            )
        finally:
            await self._settle()
            writer.cancel()

    async def work_once(self) -> int:
        """Start what is due and set one batch going (the next batch is claimed while this
        one's last sends are in flight: no gap in the pace); when nothing is left to claim,
        settle and close what is finished. Returns rows set going."""
        rows = await asyncio.to_thread(self._claim)
        if not rows:
            await self._settle()
            await asyncio.to_thread(self._finish)
            return 0
        leased_until = time.monotonic() + LEASE.total_seconds()
        for index, row in enumerate(rows):
            while self.busy():  # replies to people waiting go first
                await asyncio.sleep(0.02)
            if leased_until - time.monotonic() < LEASE.total_seconds() / 2:
                # Slowed down (429s, replies first): keep the rest of the batch ours.
                await asyncio.to_thread(self._renew, [r.id for r in rows[index:]])
                leased_until = time.monotonic() + LEASE.total_seconds()
            # A connection first, then the pace: a send let go at its moment leaves at once,
            # rather than queue for a connection and leave in a burst with others.
            await self._slots.acquire()
            await self.pacer.wait()
            task = asyncio.create_task(self._send(row))
            self._inflight.add(task)
            task.add_done_callback(self._inflight.discard)
        return len(rows)

    async def _settle(self) -> None:
        """Every send set going has finished and its outcome is committed."""
        while self._inflight:
            await asyncio.gather(*list(self._inflight))
        await self._marks.join()

    def _claim(self) -> list[Delivery]:
        now = utcnow()
        with self.db.transaction() as session:
            for broadcast_id in broadcasts.start_due(session, now):
                log.info("broadcast %s started", broadcast_id)
            rows = broadcasts.claim(session, list(self.senders), now, self.batch, LEASE)
            for broadcast_id in {r.broadcast_id for r in rows} - set(self._broadcasts):
                broadcast = session.get(Broadcast, broadcast_id)
                if broadcast is not None:
                    self._broadcasts[broadcast_id] = broadcast
            return rows

    def _renew(self, ids: list[int | None]) -> None:
        with self.db.transaction() as session:
            broadcasts.renew(session, [i for i in ids if i is not None], utcnow() + LEASE)

    def _finish(self) -> None:
        now = utcnow()
        with self.db.transaction() as session:
            for broadcast in broadcasts.finish_done(session, now):
                log.info("broadcast %s finished", broadcast.id)
                self._broadcasts.pop(broadcast.id or 0, None)
                if self.content is not None:  # the author is told, with the counts
                    for effect in alerts.finished(session, self.content, broadcast):
                        outbox.enqueue(session, effect, now)

    async def _send(self, row: Delivery) -> None:
        assert row.id is not None
        try:
            await self.senders[row.channel](row, self._broadcasts[row.broadcast_id])
        except Blocked:
            await self._marks.put((row.id, broadcasts.BLOCKED))
        except NotNow:
            await self._marks.put((row.id, broadcasts.WAITING))
        except Rejected:
            log.error("the platform refused broadcast delivery %s for good", row.id)
            await self._marks.put((row.id, broadcasts.FAILED))
        except RetryLater as error:
            if error.after is not None and error.slow_down:
                self.pacer.too_many(error.after)
            await asyncio.to_thread(self._retry, row, error)
        except Exception as error:  # a bug in a sender must not stop the broadcast
            log.exception("broadcast delivery %s failed", row.id)
            await asyncio.to_thread(self._retry, row, RetryLater(None, repr(error)))
        else:
            await self._marks.put((row.id, broadcasts.SENT))
        finally:
            self._slots.release()

    def _retry(self, row: Delivery, error: RetryLater) -> None:
        assert row.id is not None
        with self.db.transaction() as session:
            broadcasts.retry(
                session,
                row.id,
                error.reason,
                utcnow() + error.delay(row.attempts),
                counts=error.after is None,
            )

    async def _write_marks(self) -> None:
        """One writer commits outcomes in groups: what accumulated while the last commit ran."""
        while True:
            first = await self._marks.get()
            group = [first]
            while not self._marks.empty():
                group.append(self._marks.get_nowait())
            try:
                await asyncio.to_thread(self._commit_marks, group)
            except Exception:
                # Unmarked rows stay leased and are sent again when the lease ends: a repeat
                # for these few, never a loss.
                log.exception("could not record %s broadcast outcomes", len(group))
            finally:
                for _ in group:
                    self._marks.task_done()

    def _commit_marks(self, group: list[tuple[int, str]]) -> None:
        now = utcnow()
        with self.db.transaction() as session:
            for status in {s for _, s in group}:
                ids = [i for i, s in group if s == status]
                if status == broadcasts.BLOCKED:
                    for delivery in [session.get(Delivery, i) for i in ids]:
                        if delivery is not None:
                            broadcasts.blocked(session, delivery, now)
                else:
                    broadcasts.mark(session, ids, status, now)
