"""Faults injected into the real bot: a poison or malformed update, a group where the bot may
not write, a database that fails, a loop whose round raises. The promises: the updates behind
a bad one go on, nothing is replayed for ever, a failed update is kept for an admin, and every
loop keeps running."""

from __future__ import annotations

import asyncio
import dataclasses
import sqlite3
import time
import urllib.error
import urllib.request
from typing import Any

import aiohttp
import pytest
from sqlalchemy.exc import OperationalError
from sqlmodel import select

from bot.channels.intake import Intake
from bot.liveness import Liveness, keep_running
from bot.settings import Settings
from db import failed_updates
from db.engine import Database
from db.models import FailedUpdate
from handlers.dispatcher import Dispatcher
from tests.conftest import running_bot
from tests.fakes.telegram_server import BOT_USERNAME, FakeTelegram, text_update
from tests.fakes.zalo_servers import ZaloBot
from tests.telegram_user import TelegramUser
from tests.test_zalo import BotResident


def _outage() -> OperationalError:
    return OperationalError("SELECT 1", {}, Exception("server closed the connection"))


def _failed(db: Database) -> list[FailedUpdate]:
    with db.transaction() as session:
        return list(session.exec(select(FailedUpdate)).all())


# --- the intake, alone ---------------------------------------------------------------------


async def test_an_update_that_keeps_failing_is_set_aside_after_a_few_tries(db: Database) -> None:
    tries: list[dict[str, Any]] = []

    async def handle(body: dict[str, Any]) -> None:
        tries.append(body)
        raise ValueError("a bug meets this update")

    await Intake(db, "telegram", handle).take("41", {"update_id": 41})
    assert len(tries) == 3
    [kept] = _failed(db)
    assert (kept.channel, kept.update_id, kept.body, kept.attempts) == (
        "telegram",
        "41",
        {"update_id": 41},
        3,
    )
    assert "a bug meets this update" in kept.error and kept.status == "failed"


async def test_a_database_outage_is_handed_back_not_blamed_on_the_update(db: Database) -> None:
    async def handle(body: dict[str, Any]) -> None:
        raise _outage()

    with pytest.raises(OperationalError):
        await Intake(db, "telegram", handle, outage_patience=0).take("42", {})
    assert _failed(db) == []  # the platform delivers it again; it is not set aside


async def test_with_the_update_in_hand_an_outage_is_waited_out(db: Database) -> None:
    calls = 0

    async def handle(body: dict[str, Any]) -> None:
        nonlocal calls
        calls += 1
        if calls < 3:
            raise _outage()

    await Intake(db, "zalo_bot", handle, outage_patience=None).take("43", {})
    assert calls == 3 and _failed(db) == []


async def test_an_admin_replay_takes_the_update_again(db: Database) -> None:
    seen: list[dict[str, Any]] = []
    broken = True

    async def handle(body: dict[str, Any]) -> None:
        if broken:
            raise ValueError("bug")
        seen.append(body)

    intake = Intake(db, "telegram", handle)
    await intake.take("44", {"update_id": 44})
    broken = False  # the bug is fixed and the bot restarted
    assert await intake.replay_asked() == 0  # nobody asked yet
    with db.transaction() as session:
        [row] = failed_updates.listed(session)
        assert failed_updates.ask_replay(session, [row.id or 0]) == 1
    assert await intake.replay_asked() == 1
    assert seen == [{"update_id": 44}]
    [row] = _failed(db)
    assert row.status == "replayed" and row.replayed_at is not None


# --- loops ---------------------------------------------------------------------------------


async def test_a_loop_whose_round_raises_keeps_running_and_says_so() -> None:
    liveness, stop = Liveness(), asyncio.Event()
    rounds = 0

    async def one_round() -> bool:
        nonlocal rounds
        rounds += 1
        if rounds <= 2:
            raise _outage()
        if rounds == 4:
            stop.set()
        return True

    await asyncio.wait_for(keep_running("outbox", one_round, stop, liveness, 0, 60), 30)
    assert rounds == 4
    assert liveness.report() == {"outbox": "dead"}  # it ended, because it was stopped


def test_a_loop_without_a_round_in_time_is_stuck() -> None:
    now = [0.0]
    liveness = Liveness(clock=lambda: now[0])
    liveness.register("telegram", stale_after=100)
    now[0] = 90
    assert liveness.report() == {"telegram": "ok"}
    now[0] = 101
    assert liveness.report() == {"telegram": "stuck"}
    liveness.beat("telegram")
    assert liveness.report() == {"telegram": "ok"}


# --- the real bot on the stand-in Telegram server ------------------------------------------


async def test_a_malformed_update_is_set_aside_and_the_ones_behind_it_go_on(
    fake: FakeTelegram, running, db: Database
) -> None:
    poison = fake.push({"message": {"message_id": 1, "chat": "not a chat", "date": "soon"}})
    resident = TelegramUser(fake, 9101)
    assert "Cảnh giác" in await resident.say("/start")
    for _ in range(500):
        if _failed(db):
            break
        await asyncio.sleep(0.02)
    [kept] = _failed(db)
    assert kept.update_id == str(poison) and kept.body["message"]["chat"] == "not a chat"
    await resident.say("/trogiup")  # a later batch: the poison was confirmed, not offered again
    assert fake.pending_ids() == []


async def test_a_group_where_the_bot_may_not_write_does_not_stall_intake(
    fake: FakeTelegram, running, db: Database
) -> None:
    fake.fail_next("sendMessage", 403, description="Forbidden: not enough rights")
    fake.push(text_update(9102, "/totgiac@" + BOT_USERNAME, chat_id=-100777, chat_type="group"))
    resident = TelegramUser(fake, 9103)
    assert "Cảnh giác" in await resident.say("/start")
    assert _failed(db) == []  # not a failure: the group is simply not answered


def _status_after(url: str, delay: float, timeout: float) -> int:
    """The /healthz status, asked `delay` seconds from now; 0 if no answer within `timeout`."""
    time.sleep(delay)
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return 0


async def _health(port: int) -> tuple[int, dict[str, Any]]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"http://127.0.0.1:{port}/healthz") as response,
    ):
        return response.status, await response.json()


async def test_healthz_reports_every_loop_in_polling_mode(
    fake: FakeTelegram, bot_settings: Settings
) -> None:
    async for _ in running_bot(bot_settings):
        await TelegramUser(fake, 9104).say("/start")
        status, health = await _health(bot_settings.http_port)
    assert status == 200, health
    assert health["database"] == "ok" and health["telegram"] == "up"
    assert set(health["loops"]) >= {
        "telegram",
        "outbox",
        "broadcasts",
        "maintenance",
        "replays",
        "scheduler",
    }
    assert set(health["loops"].values()) == {"ok"}


async def test_the_zalo_bot_poller_outlives_a_database_outage(
    zbot: ZaloBot, bot_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The database fails under the first turns (as when PostgreSQL restarts): the poller
    holds the message, waits, and answers it once the database is back; so do later ones."""
    failing = {"left": 4}
    real = Dispatcher.handle

    def flaky(self: Dispatcher, msg: Any) -> Any:
        if failing["left"] > 0:
            failing["left"] -= 1
            raise _outage()
        return real(self, msg)

    monkeypatch.setattr(Dispatcher, "handle", flaky)
    settings = dataclasses.replace(
        bot_settings, telegram_bot_token="", zalo_bot_token=zbot.token, zalo_bot_api_url=zbot.root
    )
    async for _ in running_bot(settings):
        person = BotResident(zbot, "5101")
        assert "Không sợ" in await person.say("/canhgiac")
        assert failing["left"] == 0  # the outage happened, and was outlived
        assert "Cảnh giác" in await person.say("/start")
        status, health = await _health(settings.http_port)
    assert status == 200 and health["loops"]["zalo_bot"] == "ok", health


async def test_a_held_sqlite_write_lock_does_not_freeze_the_bot(
    fake: FakeTelegram, bot_settings: Settings, db: Database
) -> None:
    """Another process (a backup, a CLI command) holds the write lock: the resident's turn
    waits for it, but the event loop does not, so /healthz still answers meanwhile."""
    if not db.single_writer:
        pytest.skip("PostgreSQL runs turns side by side in threads")
    async for _ in running_bot(bot_settings):
        resident = TelegramUser(fake, 9105)
        await resident.say("/start")
        holder = sqlite3.connect(bot_settings.database_url.removeprefix("sqlite:///"))
        holder.isolation_level = None
        holder.execute("BEGIN IMMEDIATE")
        try:
            # Asked from another thread, started first and timed by its own clock: if the turn
            # froze the event loop, this waits out its timeout while the lock is still held.
            url = f"http://127.0.0.1:{bot_settings.http_port}/healthz"
            probe = asyncio.ensure_future(asyncio.to_thread(_status_after, url, 1.0, 10.0))
            fake.push(text_update(9105, "/trogiup"))
            assert await probe in (200, 503)
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        await fake.until(lambda _: len(fake.messages_to(9105)) >= 2, timeout=30)
