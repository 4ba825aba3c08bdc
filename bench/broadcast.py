"""`canhgiac bench broadcast`: one approved alert to N subscribers through the real bot (a
`canhgiac run` process) against the stand-in Bot API server, which enforces the given overall
rate with 429 answers. Then the same again with a SIGKILL at half way and a restart.

Prints, for each run: messages/second achieved as a share of the limit, 429 answers,
duplicates (a subscriber who got the alert more than once) and losses (one who never got it).
"""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import insert

from bot import settings as settings_module
from bot.wiring import open_database
from db import broadcasts
from db.models import Resident
from tests.fakes.telegram_server import FakeTelegram, Sent

ROOT = Path(__file__).resolve().parent.parent
ALERT = "Cảnh báo thử nghiệm: đối tượng giả danh nhân viên điện lực gọi đòi tiền."
FIRST_CHAT = 1_000_000


@dataclass
class Run:
    name: str
    recipients: int
    limit: float
    seconds: float
    too_many: int
    counts: Counter[int]
    restart_seconds: float = 0.0

    @property
    def ratio(self) -> float:
        return self.recipients / self.seconds / self.limit if self.seconds else 0.0

    @property
    def duplicates(self) -> int:
        return sum(n - 1 for n in self.counts.values() if n > 1)

    @property
    def losses(self) -> int:
        return self.recipients - len(self.counts)


class Tally:
    """Counts the alert per chat as the stand-in server accepts it (in the server's thread)."""

    def __init__(self) -> None:
        self.counts: Counter[int] = Counter()
        self.first = self.last = 0.0
        self.lock = threading.Lock()

    def __call__(self, sent: Sent) -> None:
        if sent.chat_id < FIRST_CHAT or "thử nghiệm" not in sent.text:
            return
        with self.lock:
            self.counts[sent.chat_id] += 1
            self.first = self.first or sent.at
            self.last = sent.at

    @property
    def total(self) -> int:
        with self.lock:
            return sum(self.counts.values())


def prepare(url: str, recipients: int) -> None:
    """Migrate, add the subscribers, and approve one alert to all of them."""
    db = open_database(dataclasses.replace(settings_module.load(env_file=None), database_url=url))
    now = datetime.now(UTC)
    with db.transaction() as session:
        session.execute(
            insert(Resident),
            [
                {
                    "channel": "telegram",
                    "user_id": str(FIRST_CHAT + i),
                    "subscribed": True,
                    "blocked": False,
                    "weekly_tips": False,
                    "created_at": now,
                }
                for i in range(recipients)
            ],
        )
        alert = broadcasts.create(
            session, text=ALERT, audience="all", send_at=now, author="bench", now=now
        )
        broadcasts.approve(session, alert, "bench", now)
    db.dispose()


def start_bot(env: dict[str, str], cwd: str) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "run"], env=env, cwd=cwd, stdout=subprocess.PIPE
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    if b"running as" not in line:
        raise RuntimeError(f"the bot did not start: {line!r}")
    return process


def wait_for(predicate: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False


def one_run(name: str, recipients: int, rate: float, scratch: str, kill: bool) -> Run:
    fake = FakeTelegram(rate_limit=rate).start()
    tally = Tally()
    fake.on_sent = tally
    database = f"sqlite:///{scratch}/{name}.db"
    prepare(database, recipients)
    env = {
        **os.environ,
        "DATABASE_URL": database,
        "TELEGRAM_BOT_TOKEN": fake.token,
        "TELEGRAM_API_URL": fake.root,
        "TELEGRAM_WEBHOOK_URL": "",
        "POLICE_CHAT_ID": "",
        "BROADCAST_RATE": str(rate),
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT),
    }
    bot = start_bot(env, scratch)
    restart = 0.0
    budget = recipients / rate * 5 + 30
    try:
        if kill:
            wait_for(lambda: tally.total >= recipients // 2, budget)
            bot.send_signal(signal.SIGKILL)
            bot.wait()
            down = time.monotonic()
            bot = start_bot(env, scratch)
            restart = time.monotonic() - down
        wait_for(lambda: len(tally.counts) >= recipients, budget)
        time.sleep(1.0)  # anything repeated late would show now
    finally:
        bot.terminate()
        bot.wait(20)
        fake.stop()
    return Run(
        name, recipients, rate, tally.last - tally.first, fake.too_many, tally.counts, restart
    )


def run(recipients: int, rate: float) -> int:
    """Each run on a fresh SQLite file (two workers sharing PostgreSQL are covered by the
    tests; this measures pace and what a crash costs)."""
    load = ", ".join(f"{n:.2f}" for n in os.getloadavg())  # before the runs load the cores
    with tempfile.TemporaryDirectory() as scratch:
        runs = [
            one_run("straight", recipients, rate, scratch, kill=False),
            one_run("sigkill", recipients, rate, scratch, kill=True),
        ]
    print(
        f"{recipients} recipients at {rate:g}/s, {os.cpu_count()} cores, "
        f"load average {load} at the start"
    )
    print(f"{'run':<10} {'msg/s':>8} {'of limit':>9} {'429s':>6} {'dupes':>6} {'lost':>6}")
    for r in runs:
        print(
            f"{r.name:<10} {r.recipients / r.seconds:>8.0f} {r.ratio:>9.3f} {r.too_many:>6} "
            f"{r.duplicates:>6} {r.losses:>6}"
            + (
                f"   (restart took {r.restart_seconds:.1f} s, included)"
                if r.restart_seconds
                else ""
            )
        )
    return 0 if all(r.losses == 0 for r in runs) else 1
