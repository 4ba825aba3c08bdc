"""Fixtures: a fresh, migrated database per test (SQLite, and PostgreSQL when configured),
a controllable clock, and residents who chat with the real dispatcher."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import shutil
import socket
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlmodel import SQLModel

import content
from bot import settings as settings_module
from bot.runner import serve
from bot.settings import Settings
from db import sealing
from db.engine import Database
from db.migrate import upgrade
from handlers.dispatcher import Dispatcher
from handlers.types import Limits
from tests.chat import Chat
from tests.fakes.telegram_server import FakeTelegram
from tests.fakes.zalo_servers import ZaloBot, ZaloOA

BACKENDS = ["sqlite"] + (["postgresql"] if os.environ.get("TEST_DATABASE_URL") else [])
# One data key for the whole run, in the environment too: `canhgiac` commands the tests start
# as subprocesses must open what the tests sealed, and the other way round.
TEST_DATA_KEYS = "test1:" + "A" * 43
os.environ["DATA_KEYS"] = TEST_DATA_KEYS
sealing.install(sealing.KeyRing.parse(TEST_DATA_KEYS))


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated SQLite file, copied for each test (migrating every time is slow)."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    url = os.environ["TEST_DATABASE_URL"]
    database = Database(url)
    with database.engine.begin() as conn:
        # Start from nothing so the migrations themselves are tested.
        conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    database.dispose()
    upgrade(url)
    yield url


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> str:
    if request.param == "sqlite":
        path = tmp_path / "canhgiac.db"
        shutil.copy(sqlite_template, path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("postgres_url")
    database = Database(url)
    tables = ", ".join(f'"{t.name}"' for t in SQLModel.metadata.sorted_tables)
    with database.engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        # As the migration left it: the one unit of a single-ward deployment.
        conn.execute(
            text(
                "INSERT INTO unit (name, kind, duty_phone, address, created_at) "
                "VALUES ('Công an phường', 'ward', '', '', now())"
            )
        )
    database.dispose()
    return url


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    yield database
    database.dispose()


class Clock:
    """Time that tests move by hand."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 22, 3, 0, tzinfo=UTC)  # 10:00 in Vietnam

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def limits() -> Limits:
    return Limits()


@pytest.fixture
def dispatcher(db: Database, clock: Clock, limits: Limits) -> Dispatcher:
    return Dispatcher(db, content.load(), limits, clock=clock)


@pytest.fixture
def chat(dispatcher: Dispatcher) -> Chat:
    return Chat(dispatcher)


@pytest.fixture
def words() -> content.Content:
    return content.load()


# --- Telegram: the stand-in Bot API server and the real bot running against it --------------


@pytest.fixture
def fake() -> Iterator[FakeTelegram]:
    server = FakeTelegram().start()
    yield server
    server.stop()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def bot_settings(database_url: str, fake: FakeTelegram) -> Settings:
    return dataclasses.replace(
        settings_module.load(env_file=None),
        database_url=database_url,
        telegram_bot_token=fake.token,
        telegram_api_url=fake.root,
        telegram_webhook_url="",
        telegram_webhook_secret="",
        http_port=free_port(),
        police_group_rate=600.0,  # the stand-in has no group limit (see tests/bot_process.py)
    )


async def running_bot(settings: Settings) -> AsyncIterator[asyncio.Event]:
    stop, ready = asyncio.Event(), asyncio.Event()
    task = asyncio.create_task(serve(settings, stop, ready))
    waiting = asyncio.create_task(ready.wait())
    await asyncio.wait({task, waiting}, timeout=30, return_when=asyncio.FIRST_COMPLETED)
    waiting.cancel()
    if task.done():
        task.result()
    assert ready.is_set(), "the bot did not become ready in 30 s"
    yield stop
    stop.set()
    await asyncio.wait_for(task, 15)


@pytest.fixture
async def running(bot_settings: Settings) -> AsyncIterator[asyncio.Event]:
    async for stop in running_bot(bot_settings):
        yield stop


@pytest.fixture
def oa() -> Iterator[ZaloOA]:
    """The stand-in Zalo Official Account API server (and its webhook sender)."""
    server = ZaloOA().start()
    yield server
    server.stop()


@pytest.fixture
def zbot() -> Iterator[ZaloBot]:
    """The stand-in Zalo Bot API server."""
    server = ZaloBot().start()
    yield server
    server.stop()
