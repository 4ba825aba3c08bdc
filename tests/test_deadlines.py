"""The clock's work: urgent tips re-notified every five minutes until claimed and escalated
to the leads at their deadline; the morning digest; each once, whoever ticks."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import subprocess
import sys
from datetime import UTC, datetime, time, timedelta

from sqlmodel import col, select

from bot.scheduler import Plan, run_due
from bot.settings import Settings
from db import officers
from db.engine import Database
from db.models import Outbox, Report
from handlers import card, triage
from tests.chat import Chat
from tests.conftest import running_bot
from tests.fakes.telegram_server import FakeTelegram
from tests.test_journeys import _report as plain_report
from tests.walker import Story, walk

DIGEST_AT = time(7, 30)
POLICE_CHAT = -1009876543210


def _urgent_report(dispatcher, user: str = "8100") -> str:
    resident = Chat(dispatcher, channel="telegram", user=user)
    resident.send("/totgiac")
    story = Story(
        type="Mua bán người",
        victim="Ở Bavet, Campuchia, Zalo 0901234567",
        account="Em tôi bị dụ sang Campuchia làm việc rồi mất liên lạc",
    )
    code = walk(resident, story).code
    assert code
    return code


def _police_notes(db: Database) -> list[str]:
    with db.transaction() as session:
        rows = session.exec(
            select(Outbox).where(Outbox.kind == "police_note").order_by(col(Outbox.id))
        ).all()
        return [row.payload["text"] for row in rows]


def _reminders(db: Database, code: str) -> list[str]:
    return [n for n in _police_notes(db) if code in n and "chưa có cán bộ nhận" in n]


def _tick(db: Database, words, clock) -> int:
    return run_due(
        db, words, clock(), Plan(digest_at=DIGEST_AT, tip_weekday=7, tip_at=time(23, 59))
    )


def test_urgent_tip_renotified_every_five_minutes_then_escalated_once(
    dispatcher, db: Database, clock, words
) -> None:
    with db.transaction() as session:
        officers.add(session, "Trưởng Công an phường", "lead", 9500)
        officers.add(session, "Cán bộ", "officer", 9501)
    code = _urgent_report(dispatcher)
    clock.advance(minutes=4, seconds=59)
    _tick(db, words, clock)
    assert not _reminders(db, code)  # not yet five minutes
    clock.advance(seconds=1)
    _tick(db, words, clock)
    _tick(db, words, clock)  # the same five-minute mark: nothing more
    assert len(_reminders(db, code)) == 1 and "5 phút" in _reminders(db, code)[0]
    clock.advance(minutes=5)
    _tick(db, words, clock)
    assert len(_reminders(db, code)) == 2 and "10 phút" in _reminders(db, code)[-1]

    clock.advance(minutes=5)  # 15 minutes: the acknowledgement deadline of an urgent tip
    _tick(db, words, clock)
    _tick(db, words, clock)
    with db.transaction() as session:
        report = session.exec(select(Report)).one()
        assert report.escalated_at == clock()
        to_lead = session.exec(select(Outbox).where(Outbox.recipient == "9500")).all()
        assert len(to_lead) == 1 and code in to_lead[0].payload["text"]
        assert not session.exec(select(Outbox).where(Outbox.recipient == "9501")).all()
        shown = card.card(session, words, report)
        assert "ĐÃ CHUYỂN CẤP TRÊN" in shown.text and "Hệ thống" in shown.text
        assert "Chuyển cấp trên" not in str(shown.buttons)  # already done

        officer = officers.by_telegram(session, 9501)
        triage.act(session, words, officer, report, "claim", clock())
    before = len(_reminders(db, code))
    clock.advance(minutes=5)
    _tick(db, words, clock)
    assert len(_reminders(db, code)) == before  # claimed: the reminders stop


def test_after_downtime_one_reminder_not_a_burst(dispatcher, db: Database, clock, words) -> None:
    code = _urgent_report(dispatcher)
    clock.advance(minutes=42)
    _tick(db, words, clock)
    notes = _reminders(db, code)
    assert len(notes) == 1 and "40 phút" in notes[0]


def test_morning_digest_once_a_day(dispatcher, db: Database, clock, words) -> None:
    first = plain_report(
        Chat(dispatcher, channel="telegram", user="8200"),
        "Người xưng công an gọi đòi chuyển tiền xác minh",
    )
    urgent = _urgent_report(dispatcher, user="8201")
    # 07:29 in Vietnam the next morning: the plain tip's 24-hour deadline has not passed.
    clock.now = datetime(2026, 11, 23, 0, 29, tzinfo=UTC)
    _tick(db, words, clock)
    assert not any("Tổng hợp" in n for n in _police_notes(db))
    clock.advance(minutes=1)
    _tick(db, words, clock)
    clock.advance(hours=3)
    _tick(db, words, clock)
    digests = [n for n in _police_notes(db) if "Tổng hợp" in n]
    assert len(digests) == 1
    assert "Mới trong 24 giờ qua: 2" in digests[0] and "Chưa có người nhận: 2" in digests[0]
    assert "Quá hạn: 1" in digests[0]  # the urgent one, 15 minutes long past
    assert first in digests[0] and urgent in digests[0]
    clock.advance(days=1)
    _tick(db, words, clock)
    assert len([n for n in _police_notes(db) if "Tổng hợp" in n]) == 2


def test_two_processes_ticking_together_fire_each_job_once(
    dispatcher, db: Database, database_url: str
) -> None:
    """Two real processes against one database at the same moment: one digest, one
    reminder, one escalation."""
    code = _urgent_report(dispatcher)
    with db.transaction() as session:
        officers.add(session, "Lãnh đạo", "lead", 9600)
        created = session.exec(select(Report)).one().created_at
    at = (created + timedelta(minutes=20)).astimezone(UTC)
    at = max(at, at.replace(hour=0, minute=30))  # past 07:30 in Vietnam: the digest is due
    env = {**os.environ, "DATABASE_URL": database_url, "DIGEST_AT": "07:30"}
    command = [sys.executable, "-m", "bot", "jobs", "tick", "--at", at.isoformat()]
    processes = [
        subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True) for _ in range(2)
    ]
    outputs = [p.communicate(timeout=60)[0] for p in processes]
    assert all(p.returncode == 0 for p in processes), outputs
    notes = _police_notes(db)
    assert len([n for n in notes if "Tổng hợp" in n]) == 1
    assert len(_reminders(db, code)) == 1
    with db.transaction() as session:
        assert len(session.exec(select(Outbox).where(Outbox.recipient == "9600")).all()) == 1


def test_jobs_tick_refuses_a_moment_without_zone(database_url: str, monkeypatch, capsys) -> None:
    from bot.cli import main

    monkeypatch.setenv("DATABASE_URL", database_url)
    assert main(["jobs", "tick", "--at", "2026-11-23T07:30"]) == 2
    assert main(["jobs", "tick", "--at", "sáng mai"]) == 2
    assert main(["jobs", "tick", "--at", "2026-11-23T07:30+07:00"]) == 0
    assert "queued" in capsys.readouterr().out


async def test_running_bot_sends_the_digest_and_cards_wait_for_an_unreachable_police_chat(
    fake: FakeTelegram, bot_settings: Settings, db: Database
) -> None:
    """The scheduler runs inside `canhgiac run`; while the police chat refuses the bot (403,
    e.g. removed from the group), cards and digests wait in the outbox, then all go out."""
    fake.blocked.add(POLICE_CHAT)
    settings = dataclasses.replace(
        bot_settings,
        police_chat_id=str(POLICE_CHAT),
        digest_at=time(0, 0),
        jobs_every_seconds=0.2,
    )
    from tests.telegram_user import TelegramUser
    from tests.test_triage import _report as telegram_report

    async for _ in running_bot(settings):
        await telegram_report(TelegramUser(fake, 8300))
        for _ in range(200):  # the card, then the digest, queue up for the police chat
            with db.transaction() as session:
                waiting = session.exec(select(Outbox).where(Outbox.channel == "police")).all()
                if {row.kind for row in waiting} >= {"report_card", "police_note"}:
                    break
            await asyncio.sleep(0.1)
        await asyncio.sleep(1)  # and a send attempt or two, refused
        assert not fake.messages_to(POLICE_CHAT)
        with db.transaction() as session:
            waiting = session.exec(select(Outbox).where(Outbox.channel == "police")).all()
            assert {row.kind for row in waiting} >= {"report_card", "police_note"}
            assert all(row.status == "pending" for row in waiting)
            for row in waiting:  # skip the backoff: the chat is back
                row.next_attempt_at = datetime.now(UTC)
        fake.blocked.discard(POLICE_CHAT)
        await fake.until(
            lambda _: (
                any(s.text.startswith("🚨") for s in fake.messages_to(POLICE_CHAT))
                and any("Tổng hợp" in s.text for s in fake.messages_to(POLICE_CHAT))
            ),
            timeout=20,
        )
