"""Three real `canhgiac run` processes on one PostgreSQL database, against the stand-in Bot
API server, with the webhooks spread round-robin among them as a load balancer would: every
report exists once with one card, and an alert at the platform's rate reaches each subscriber
without a breach of that rate (the stand-in answers 429 above it), even when one process is
SIGKILLed halfway through."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlmodel import col, func, select

from db import broadcasts
from db.engine import Database
from db.models import Outbox, Report, Resident
from db.outbox import PENDING
from tests.bot_process import START_SECONDS, BotProcess
from tests.fakes.telegram_server import FakeTelegram
from tests.telegram_user import TelegramUser
from tests.test_broadcasts import ALERT, _subscribe
from tests.test_multiprocess import busiest_second

POLICE_CHAT = -100777
SECRET = "round-robin-secret"
RESIDENTS = 24
SUBSCRIBERS = 1500
RATE = 100  # the stand-in's limit and BROADCAST_RATE: messages a second
CARD = re.compile(r"Tố giác ([A-Z0-9]{4}-[A-Z0-9]{4})")


@dataclass
class LoadBalanced(FakeTelegram):
    """The stand-in Bot API server whose updates go by webhook to several processes in
    turn, each POST retried on the next process until one answers 200 (as Telegram retries,
    and a load balancer skips a dead backend)."""

    backends: list[str] = field(default_factory=list)
    _turn: int = 0
    _posts: set[asyncio.Task[None]] = field(default_factory=set)

    def push(self, update: dict[str, Any]) -> int:
        with self._lock:
            update = {"update_id": next(self._update_ids), **update}
            self._history.append(update)
        self._turn += 1
        task = asyncio.get_running_loop().create_task(self._post(self._turn, update))
        self._posts.add(task)
        task.add_done_callback(self._posts.discard)
        return int(update["update_id"])

    async def _post(self, turn: int, update: dict[str, Any]) -> None:
        headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as http:
            for attempt in range(40):
                backend = self.backends[(turn + attempt) % len(self.backends)]
                try:
                    async with http.post(backend, json=update, headers=headers) as answer:
                        if answer.status == 200:
                            return
                except (aiohttp.ClientError, TimeoutError):
                    pass
                await asyncio.sleep(0.2)
        raise AssertionError(f"no process took update {update['update_id']}")


class RoleProcess(BotProcess):
    """`canhgiac run --role ROLE` as a child process."""

    def __init__(
        self, role: str, fake: FakeTelegram, database_url: str, cwd: Path, **settings: str
    ) -> None:
        super().__init__(fake, database_url, cwd, **settings)
        self.role = role
        self.log_path = self.cwd / f"bot-{self.http_port}.log"

    async def start(self) -> None:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "bot", "run", "--role", self.role],
                env=self.env,
                cwd=self.cwd,
                stdout=subprocess.PIPE,
                stderr=log,
            )
        assert self.process.stdout is not None
        line = await asyncio.wait_for(
            asyncio.to_thread(self.process.stdout.readline), START_SECONDS
        )
        assert b"running as" in line, f"{line!r}; its log:\n{self.log_tail()}"


def _alert_counts(fake: FakeTelegram) -> Counter[str]:
    return Counter(str(s.chat_id) for s in fake.sent if ALERT[:20] in s.text)


def _cards(fake: FakeTelegram) -> Counter[str]:
    posts = [s for s in fake.sent if s.chat_id == POLICE_CHAT and s.method == "sendMessage"]
    return Counter(m.group(1) for s in posts if (m := CARD.search(s.text)))


async def _outbox_drained(db: Database, timeout: float = 60) -> None:
    def pending() -> int:
        with db.transaction() as session:
            query = select(func.count()).select_from(Outbox).where(Outbox.status == PENDING)
            return int(session.exec(query).one())

    deadline = asyncio.get_running_loop().time() + timeout
    while await asyncio.to_thread(pending):
        assert asyncio.get_running_loop().time() < deadline, "the outbox did not drain"
        await asyncio.sleep(0.2)


@pytest.fixture
def balanced() -> Any:
    server = LoadBalanced().start()
    yield server
    server.stop()


async def test_three_processes_file_reports_and_send_an_alert_once(
    balanced: LoadBalanced, database_url: str, db: Database, tmp_path: Path
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("several processes share a PostgreSQL database, not a SQLite file")
    settings = {
        "TELEGRAM_WEBHOOK_URL": "http://127.0.0.1:9/telegram",
        "TELEGRAM_WEBHOOK_SECRET": SECRET,
        "POLICE_CHAT_ID": str(POLICE_CHAT),
        "BROADCAST_RATE": str(RATE),
        "DB_POOL_SIZE": "3",
        "DB_MAX_OVERFLOW": "5",
    }
    processes = [RoleProcess("all", balanced, database_url, tmp_path, **settings) for _ in "abc"]
    try:
        for process in processes:  # one after the other: the first one migrates
            await process.start()
        balanced.backends = [f"{p.root}/telegram" for p in processes]

        # Residents report at once, each of their messages to the next process in turn.
        residents = [TelegramUser(balanced, 5000 + n, patience=30) for n in range(RESIDENTS)]
        codes = await asyncio.gather(*(r.file_report() for r in residents))
        assert all(codes) and len(set(codes)) == RESIDENTS
        with db.transaction() as session:
            assert session.exec(select(func.count()).select_from(Report)).one() == RESIDENTS
        await balanced.until(lambda _: len(_cards(balanced)) >= RESIDENTS, timeout=60)
        cards = _cards(balanced)
        assert set(cards) == set(codes) and set(cards.values()) == {1}, cards

        # An alert to many at the platform's rate, shared by three workers; one dies halfway.
        # Whatever else was owed (photos beside cards, notices) goes first: the stand-in's
        # second would count it too.
        await _outbox_drained(db)
        _subscribe(db, SUBSCRIBERS)
        balanced.rate_limit, balanced.too_many = RATE, 0
        now = datetime.now(UTC)
        with db.transaction() as session:
            made = broadcasts.create(
                session, text=ALERT, audience="all", send_at=now, author="x", now=now
            )
            broadcasts.approve(session, made, "y", now)
            wanted = {
                r.user_id for r in session.exec(select(Resident).where(col(Resident.subscribed)))
            }
        await balanced.until(lambda _: sum(_alert_counts(balanced).values()) >= 500, 60)
        processes[1].kill()
        await balanced.until(lambda _: set(_alert_counts(balanced)) >= wanted, timeout=90)
        counts = _alert_counts(balanced)
        repeats = sum(n - 1 for n in counts.values())
        moments = [s.at for s in balanced.sent if ALERT[:20] in s.text]
        print(
            f"429s: {balanced.too_many}; repeats after the SIGKILL: {repeats}; "
            f"busiest second: {busiest_second(moments)}; "
            f"{len(moments) / (max(moments) - min(moments)):.1f}/s overall"
        )
        assert set(counts) == wanted
        # Only what the killed process had in flight or not yet recorded may go twice.
        assert repeats <= 2 * RATE
        # Three processes with a pace each send three times the rate: dozens of 429s (each
        # pauses its process for a second; 46 when measured). What may remain is the jitter
        # of requests on their way against the stand-in's sliding second (0 to 7 measured).
        assert balanced.too_many <= SUBSCRIBERS // 100
    finally:
        for process in processes:
            process.stop()
