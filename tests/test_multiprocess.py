"""Several workers on one PostgreSQL database: what they share stays correct (one pace for
alerts, one tip card per report, each resident's replies in order). Each "process" here is
a thread with its own event loop and its own engine (its own connections), which is all
PostgreSQL sees of a process."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine
from typing import Any

import pytest

from bot.broadcaster import pacer_for
from db.engine import Database


def postgres_only(database_url: str) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("one process on SQLite: nothing is shared between processes")


def in_processes(
    count: int, url: str, work: Callable[[Database], Coroutine[Any, Any, Any]]
) -> list[Any]:
    """Run `work` in `count` threads at once, each with its own loop and database engine."""
    results: list[Any] = [None] * count
    errors: list[BaseException] = []
    start = threading.Barrier(count)

    def one(index: int) -> None:
        db = Database(url)
        try:
            start.wait()
            results[index] = asyncio.run(work(db))
        except BaseException as error:
            errors.append(error)
        finally:
            db.dispose()

    threads = [threading.Thread(target=one, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not errors, errors
    return results


def busiest_second(moments: list[float]) -> int:
    """The most moments in any one-second window (closed at both ends)."""
    ordered = sorted(moments)
    most, first = 0, 0
    for last, moment in enumerate(ordered):
        while moment - ordered[first] > 1.0:
            first += 1
        most = max(most, last - first + 1)
    return most


def test_three_workers_share_one_broadcast_pace(database_url: str) -> None:
    postgres_only(database_url)
    rate, sends = 40.0, 40

    async def paced(db: Database) -> list[float]:
        pacer = pacer_for(db, rate)
        return [await pacer.wait() for _ in range(sends)]

    moments = [m for worker in in_processes(3, database_url, paced) for m in worker]
    assert len(moments) == 3 * sends
    assert busiest_second(moments) <= rate
