"""The one place an engine and its sessions are made, for SQLite and PostgreSQL alike."""

from __future__ import annotations

import asyncio
import functools
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import event, exc
from sqlalchemy.engine import Connection, Engine, make_url
from sqlmodel import Session, create_engine

T = TypeVar("T")
# How long `record` keeps trying to write down a send through an outage, and the longest
# pause between its tries (seconds).
RECORD_PATIENCE, MAX_RECORD_PAUSE = 60.0, 2.0


# Connections each process keeps open, and may open beyond them at a peak, on PostgreSQL
# (DB_POOL_SIZE, DB_MAX_OVERFLOW: see the README's "Deploying with PostgreSQL").
POOL_SIZE, MAX_OVERFLOW = 5, 10


def make_engine(url: str, pool_size: int = POOL_SIZE, max_overflow: int = MAX_OVERFLOW) -> Engine:
    """An engine tuned for the backend: WAL and immediate write locks on SQLite; on
    PostgreSQL a pool of `pool_size` connections, and up to `max_overflow` more at a peak."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(
            url,
            pool_pre_ping=True,
            pool_size=pool_size,
            max_overflow=max_overflow,
            hide_parameters=True,
        )
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    # hide_parameters: an error's message (and so the log) never carries what residents wrote.
    engine = create_engine(
        url, connect_args={"check_same_thread": False, "timeout": 30}, hide_parameters=True
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, open transactions (so BEGIN IMMEDIATE below works).
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        # What is deleted (an erasure, the retention purge) is overwritten, not left in free pages.
        cursor.execute("PRAGMA secure_delete=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # Take the write lock up front: a deferred read-then-write fails at once in WAL.
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


class Database:
    """An engine plus a transaction helper; passed to whatever needs the data."""

    def __init__(
        self, url: str, pool_size: int = POOL_SIZE, max_overflow: int = MAX_OVERFLOW
    ) -> None:
        self.url = url
        self.engine = make_engine(url, pool_size, max_overflow)
        # SQLite has one writer at a time. Queueing our threads here, instead of in SQLite's
        # busy handler (which sleeps up to 100 ms between tries), keeps waits short and fair.
        self._writer = threading.Lock() if self.engine.dialect.name == "sqlite" else None
        # SQLite's work runs on one thread of its own: off the event loop (a write lock held
        # elsewhere must not freeze webhooks and /healthz), without the cost of a thread pool
        # whose threads would only queue for the one writer.
        self._worker = (
            ThreadPoolExecutor(1, thread_name_prefix="sqlite") if self._writer is not None else None
        )

    @property
    def shared(self) -> bool:
        """Several processes may work on this database at once (PostgreSQL): what they must
        not do twice or out of order is decided in the database, not in one process."""
        return self.engine.dialect.name == "postgresql"

    @property
    def single_writer(self) -> bool:
        """SQLite: one write at a time, so worker threads add contention, not throughput."""
        return self._writer is not None

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session that commits on success and rolls back on any error."""
        with self._writer or nullcontext(), Session(self.engine, expire_on_commit=False) as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    @contextmanager
    def connection(self) -> Iterator[Connection]:
        """A Core connection in a transaction: for one-statement writes on hot paths, where an
        ORM session's bookkeeping would cost more than the statement."""
        with self._writer or nullcontext(), self.engine.begin() as conn:
            yield conn

    def ping(self) -> None:
        """Reach the database without a transaction: on SQLite a BEGIN IMMEDIATE would wait
        for whoever holds the write lock, and a health check must not."""
        raw = self.engine.raw_connection()
        try:
            cursor = raw.cursor()
            cursor.execute("SELECT 1")
            cursor.close()
        finally:
            raw.close()

    async def run(self, work: Callable[..., T], *args: Any) -> T:
        """Blocking database work, awaited from the event loop without blocking it."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._worker, functools.partial(work, *args))

    async def record(
        self, work: Callable[..., T], *args: Any, patience: float = RECORD_PATIENCE
    ) -> T:
        """Write down what already happened outside (a message was sent): retried through a
        database outage of up to `patience` seconds, since giving up here would make the
        message go out again."""
        waited = 0.0
        while True:
            try:
                return await self.run(work, *args)
            except Exception as error:
                if not is_outage(error) or waited >= patience:
                    raise
                pause = min(MAX_RECORD_PAUSE, 0.2 + waited / 4)
                await asyncio.sleep(pause)
                waited += pause

    def dispose(self) -> None:
        if self._worker is not None:
            self._worker.shutdown(wait=False)
        self.engine.dispose()


def is_outage(error: BaseException) -> bool:
    """The database could not be reached or used (down, connection killed, locked too long):
    nothing about the work itself, so it is waited out rather than blamed on the work."""
    if isinstance(error, exc.DBAPIError) and error.connection_invalidated:
        return True
    return isinstance(error, exc.OperationalError | exc.InterfaceError | exc.TimeoutError)
