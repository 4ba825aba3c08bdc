"""Several workers on one PostgreSQL database: what they share stays correct (one pace for
alerts, one tip card per report, each resident's replies in order). Each "process" here is
a thread with its own event loop and its own engine (its own connections), which is all
PostgreSQL sees of a process."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable, Coroutine
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.pool import QueuePool

import content
from bot import settings as settings_module
from bot.broadcaster import pacer_for
from bot.channels.telegram import TelegramChannel
from bot.outbox_sender import OutboxSender, RetryLater
from bot.wiring import open_database
from db import outbox, reports
from db.clock import utcnow
from db.engine import Database
from db.models import Outbox
from db.outbox import Message
from handlers import police
from handlers.dispatcher import Dispatcher
from handlers.types import Limits, Reply
from tests.fakes.telegram_server import FakeTelegram, text_update

POLICE_CHAT = -100200300


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


def busiest_second(moments: list[float], seconds: float = 1.0) -> int:
    """The most moments in any window of `seconds` (closed at both ends)."""
    ordered = sorted(moments)
    most, first = 0, 0
    for last, moment in enumerate(ordered):
        while moment - ordered[first] > seconds:
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


def _report_with_card(db: Database) -> Outbox:
    """A new urgent report and its tip card waiting in the police chat's lane."""
    now = utcnow()
    with db.transaction() as session:
        draft = reports.Draft(
            channel="telegram",
            scam_type="buon_nguoi",
            account="Có người bị giữ ở Campuchia",
            consent_version="v1",
            urgent=True,
        )
        report = reports.create(
            session, draft, None, now, timedelta(minutes=15), timedelta(days=20)
        )
        return outbox.enqueue(session, police.card(report), now)


def _worker(db: Database, fake: FakeTelegram) -> TelegramChannel:
    words = content.load()
    return TelegramChannel(
        token=fake.token,
        api_root=fake.root,
        db=db,
        dispatcher=Dispatcher(db, words, Limits()),
        content=words,
        evidence_max_bytes=1_000_000,
        police_chat_id=POLICE_CHAT,
    )


async def test_two_workers_sending_one_card_post_it_once(
    database_url: str, fake: FakeTelegram
) -> None:
    """Worker A has posted the card but not yet recorded its message id when worker B takes
    a row for the same card (a refresh, or A's row after its lease ran out): B must not post
    a second card. Each worker has its own engine, so its own PostgreSQL sessions."""
    postgres_only(database_url)
    first, second = Database(database_url), Database(database_url)
    a, b = _worker(first, fake), _worker(second, fake)
    await a.start()
    await b.start()
    try:
        row = _report_with_card(first)
        b_tried = threading.Event()
        record = a._remember_card

        def record_after_b(report_id: int, chat: int, message_id: int) -> None:
            b_tried.wait(30)  # A's post is out; its id is written only once B has tried
            record(report_id, chat, message_id)

        a._remember_card = record_after_b  # type: ignore[method-assign]
        posting = asyncio.create_task(a.send_outbox(row))
        await fake.until(lambda sent: any(m.chat_id == POLICE_CHAT for m in sent))
        try:
            await b.send_outbox(row)
        except RetryLater:  # the outbox sender takes the row again later
            b_tried.set()
            await posting
            await b.send_outbox(row)
        finally:
            b_tried.set()
        await posting
        posts = [m for m in fake.sent if m.chat_id == POLICE_CHAT and m.method == "sendMessage"]
        assert len(posts) == 1
    finally:
        await a.stop()
        await b.stop()
        first.dispose()
        second.dispose()


async def test_one_residents_replies_keep_their_order_across_workers(
    database_url: str, fake: FakeTelegram
) -> None:
    """A resident's first message is taken by worker A, whose replies are slow to go out;
    the second by worker B (webhooks land anywhere). B's replies must wait for A's."""
    postgres_only(database_url)
    first, second = Database(database_url), Database(database_url)
    a, b = _worker(first, fake), _worker(second, fake)
    await a.start()
    await b.start()
    resident = 4242
    try:
        b_delivering = asyncio.Event()
        sent_by_a: list[str] = []
        send = a.send_reply

        async def slow_send(chat_id: int, reply: Reply, **kwargs: Any) -> None:
            await b_delivering.wait()  # B's turn is committed and its delivery under way
            sent_by_a.append(reply.text)
            await send(chat_id, reply, **kwargs)

        a.send_reply = slow_send  # type: ignore[method-assign,assignment]
        await a.handle_json({"update_id": 1, **text_update(resident, "/start")})
        await b.handle_json({"update_id": 2, **text_update(resident, "/trogiup")})
        # B's replies, if nothing holds them back, are out by now.
        with contextlib.suppress(AssertionError):
            await fake.until(lambda _: bool(fake.messages_to(resident)), timeout=3)
        b_delivering.set()
        await a.drain()
        await b.drain()
        inbox = [m.text for m in fake.messages_to(resident)]
        assert sent_by_a and len(inbox) > len(sent_by_a)
        assert inbox[: len(sent_by_a)] == sent_by_a  # all of turn 1 before any of turn 2
    finally:
        await a.stop()
        await b.stop()
        first.dispose()
        second.dispose()


def test_the_connection_pool_is_sized_from_settings(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DB_POOL_SIZE and DB_MAX_OVERFLOW bound each process's connections (README: keep their
    sum times the processes under max_connections)."""
    postgres_only(database_url)
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("DB_POOL_SIZE", "3")
    monkeypatch.setenv("DB_MAX_OVERFLOW", "2")
    db = open_database(settings_module.load(env_file=None))
    try:
        pool = db.engine.pool
        assert isinstance(pool, QueuePool)
        assert (pool.size(), pool._max_overflow) == (3, 2)
    finally:
        db.dispose()


def test_the_outbox_sender_leaves_a_reply_behind_one_in_other_hands(database_url: str) -> None:
    """Another worker is sending a resident's earlier reply (its row is leased): a later reply
    to the same resident stays where it is until that one is sent, whoever claims it."""
    postgres_only(database_url)
    db = Database(database_url)
    try:
        now = utcnow()

        def reply(text: str) -> Message:
            return Message("telegram", "4343", "reply", {"text": text})

        with db.transaction() as session:
            earlier = outbox.enqueue(session, reply("một"), now, leased_for=timedelta(minutes=1))
            later = outbox.enqueue(session, reply("hai"), now)
            other = outbox.enqueue(session, Message("telegram", "99", "reply", {}), now)

        async def never(_row: Outbox) -> None:
            raise AssertionError("not sent in this test")

        sender = OutboxSender(db, {"telegram": never})
        assert [r.id for r in sender._claim()] == [other.id]
        with db.transaction() as session:
            outbox.mark_sent(session, [earlier.id or 0], utcnow())
        assert [r.id for r in sender._claim()] == [later.id]
    finally:
        db.dispose()
