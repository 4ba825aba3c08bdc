"""Three real `canhgiac run` processes on one PostgreSQL database, against the stand-in Bot
API server, with the webhooks spread round-robin among them as a load balancer would: two
hundred residents report at once and every report exists once with one card (the police
group's pace one budget for the three), each resident's replies arrive in the order of the
turns that caused them, and an alert to 3,000
at the platform's rate reaches each subscriber without a breach of that rate (the stand-in
answers 429 above it), even when one process is SIGKILLed halfway through."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import col, func, select

from db import broadcasts
from db.engine import Database
from db.models import Outbox, Report, Resident
from db.outbox import PENDING, SENT
from tests.bot_process import START_SECONDS, BotProcess
from tests.fakes.balancer import RoundRobin
from tests.fakes.telegram_server import FakeTelegram, Sent, text_update
from tests.telegram_user import TelegramUser
from tests.test_broadcasts import ALERT, _subscribe
from tests.test_multiprocess import busiest_second

POLICE_CHAT = -100777
SECRET = "round-robin-secret"
RESIDENTS = 200
SUBSCRIBERS = 3000
RATE = 100  # the stand-in's limit and BROADCAST_RATE: messages a second
# POLICE_GROUP_RATE, messages a minute to the police group (Telegram's is ~20: the test's is
# faster, so that 200 cards take a minute, not ten), and the burst a quiet group may take.
GROUP_RATE, GROUP_BURST = 300, 10
CARD = re.compile(r"Tố giác ([A-Z0-9]{4}-[A-Z0-9]{4})")
# Typed at once, without waiting for answers, so the four turns land on different processes
# together: five replies (the quiz sends two), which must not interleave across turns.
BURST = ("/cauhoi", "/start", "/canhgiac", "/trogiup")
BURST_REPLIES = 5
TO_A_CHAT = ("sendMessage", "sendPhoto")


@dataclass
class LoadBalanced(RoundRobin):
    """The stand-in in front of the processes (tests/fakes/balancer.py). What was sent is
    indexed by chat as it comes, so that two hundred residents waiting for their answers
    cost the server's thread (whose clock times the rate limit) next to nothing."""

    alerts: Counter[str] = field(default_factory=Counter)
    alert_moments: list[float] = field(default_factory=list)  # when each had arrived
    _by_chat: defaultdict[int, list[Sent]] = field(default_factory=lambda: defaultdict(list))

    def _message(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        result = super()._message(method, params)
        with self._lock:
            sent = self.sent[-1]
            self._by_chat[sent.chat_id].append(sent)
            if ALERT[:20] in sent.text:
                self.alerts[str(sent.chat_id)] += 1
                self.alert_moments.append(sent.arrived)
        return result

    def messages_to(self, chat_id: int) -> list[Sent]:
        with self._lock:
            return list(self._by_chat.get(chat_id, ()))

    async def until(self, predicate: Callable[[list[Sent]], bool], timeout: float = 10) -> None:
        deadline = time.monotonic() + timeout
        while not predicate(self.sent):  # no copy of everything sent, 200 times over
            if time.monotonic() > deadline:
                raise AssertionError("timed out waiting for the stand-in")
            await asyncio.sleep(0.02)


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


def _cards(fake: FakeTelegram) -> Counter[str]:
    posts = [s for s in fake.messages_to(POLICE_CHAT) if s.method == "sendMessage"]
    return Counter(m.group(1) for s in posts if (m := CARD.search(s.text)))


async def _outbox_drained(db: Database, timeout: float = 60, to: list[int] | None = None) -> None:
    """Nothing is owed any more (`to`: to these residents)."""

    def pending() -> int:
        query = select(func.count()).select_from(Outbox).where(Outbox.status == PENDING)
        if to is not None:
            query = query.where(col(Outbox.recipient).in_([str(u) for u in to]))
        with db.transaction() as session:
            return int(session.exec(query).one())

    deadline = asyncio.get_running_loop().time() + timeout
    while await asyncio.to_thread(pending):
        assert asyncio.get_running_loop().time() < deadline, "the outbox did not drain"
        await asyncio.sleep(0.2)


async def _burst_then_report(resident: TelegramUser) -> str:
    """A resident types several commands at once, waits for their answers, then reports."""
    for command in BURST:
        resident.fake.push(text_update(resident.user_id, command))
    await resident.fake.until(
        lambda _: len(resident.inbox()) >= BURST_REPLIES, timeout=resident.patience
    )
    return await resident.file_report()


def _out_of_order(db: Database, fake: FakeTelegram, users: list[int]) -> dict[int, str]:
    """Residents whose chat does not show, message for message, the replies their turns
    committed, in the order committed. A resident's turns take the conversation row's lock
    one after the other and write their replies to the outbox inside it, so the outbox's ids
    are the turns' order, whichever process took each turn."""
    owed: defaultdict[int, list[str]] = defaultdict(list)
    with db.transaction() as session:
        rows = session.exec(
            select(Outbox)
            .where(
                Outbox.channel == "telegram",
                col(Outbox.recipient).in_([str(u) for u in users]),
                Outbox.kind == "reply",
            )
            .order_by(col(Outbox.id))
        ).all()
        for row in rows:
            assert row.status == SENT, (row.id, row.status, row.last_error)
            owed[int(row.recipient)].append(str(row.payload.get("text", "")))
    wrong = {}
    for user in users:
        # A photo whose words did not fit its caption is followed by them as a message.
        shown = [s.text for s in fake.messages_to(user) if s.method in TO_A_CHAT and s.text]
        if shown != owed[user]:
            wrong[user] = f"committed {_short(owed[user])}, shown {_short(shown)}"
    return wrong


def _short(texts: list[str]) -> list[str]:
    return [re.sub(r"<[^>]+>", "", t)[:16] for t in texts]


@pytest.fixture
def balanced() -> Any:
    server = LoadBalanced(secret=SECRET).start()
    yield server
    server.stop()


async def test_three_processes_file_reports_in_order_and_send_an_alert_once(
    balanced: LoadBalanced, database_url: str, db: Database, tmp_path: Path
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("several processes share a PostgreSQL database, not a SQLite file")
    settings = {
        "TELEGRAM_WEBHOOK_URL": "http://127.0.0.1:9/telegram",
        "TELEGRAM_WEBHOOK_SECRET": SECRET,
        "POLICE_CHAT_ID": str(POLICE_CHAT),
        "BROADCAST_RATE": str(RATE),
        "POLICE_GROUP_RATE": str(GROUP_RATE),
        "DB_POOL_SIZE": "3",
        "DB_MAX_OVERFLOW": "5",
    }
    processes = [RoleProcess("all", balanced, database_url, tmp_path, **settings) for _ in "abc"]
    try:
        for process in processes:  # one after the other: the first one migrates
            await process.start()
        balanced.backends = [f"{p.root}/telegram" for p in processes]

        # Residents report at once, each of their messages to the next process in turn.
        started = time.monotonic()
        users = [5000 + n for n in range(RESIDENTS)]
        residents = [TelegramUser(balanced, user, patience=60) for user in users]
        codes = await asyncio.gather(*(_burst_then_report(r) for r in residents))
        filed = time.monotonic() - started
        assert all(codes) and len(set(codes)) == RESIDENTS
        with db.transaction() as session:
            assert session.exec(select(func.count()).select_from(Report)).one() == RESIDENTS
        await _outbox_drained(db, to=users)
        wrong = _out_of_order(db, balanced, users)
        assert not wrong, f"{len(wrong)} residents' replies out of order: {list(wrong.items())[:3]}"
        # The police group's pace is one budget for the three processes: over any ten
        # seconds, its burst and ten seconds' worth, never three times that.
        await balanced.until(lambda _: len(_cards(balanced)) >= RESIDENTS, timeout=400)
        carded = time.monotonic() - started
        cards = _cards(balanced)
        assert set(cards) == set(codes) and set(cards.values()) == {1}, cards
        await _outbox_drained(db)
        to_police = [s.arrived for s in balanced.messages_to(POLICE_CHAT)]
        most = busiest_second(to_police, 10.0)
        print(f"police group: {len(to_police)} messages, at most {most} in ten seconds")
        assert most <= GROUP_BURST + GROUP_RATE / 60 * 10, most

        # An alert to many at the platform's rate, shared by three workers; one dies halfway.
        # Whatever else was owed (photos beside cards, notices) went first: the stand-in's
        # second would count it too.
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
        assert len(wanted) >= SUBSCRIBERS
        await balanced.until(lambda _: len(balanced.alerts) >= len(wanted) // 2, 60)
        processes[1].kill()
        await balanced.until(lambda _: len(balanced.alerts) >= len(wanted), timeout=120)
        counts = balanced.alerts
        repeats = sum(n - 1 for n in counts.values())
        moments = balanced.alert_moments
        print(
            f"\n{RESIDENTS} reports in {filed:.0f} s, their cards in {carded:.0f} s; 429s: "
            f"{balanced.too_many}; repeats after the SIGKILL: {repeats}; busiest second: "
            f"{busiest_second(moments)}; {len(moments) / (max(moments) - min(moments)):.1f}/s"
        )
        assert set(counts) == wanted
        # Only what the killed process had in flight or not yet recorded may go twice.
        assert repeats <= 2 * RATE
        assert balanced.too_many == 0
    finally:
        for process in processes:
            process.stop()
        await balanced.close()
