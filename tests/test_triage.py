"""Tip cards on Telegram: every report reaches the police chat; only officers can act on it;
a claim is recorded, told to the reporter, and shown on the card in place."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator

import pytest
from sqlmodel import select

from bot.settings import Settings
from db import officers
from db.engine import Database
from db.models import Report, ReportEvent
from tests.conftest import running_bot
from tests.fakes.telegram_server import FakeTelegram, callback_update
from tests.telegram_user import TelegramUser

POLICE_CHAT = -1001234567890


@pytest.fixture
async def police_running(bot_settings: Settings) -> AsyncIterator[asyncio.Event]:
    settings = dataclasses.replace(bot_settings, police_chat_id=str(POLICE_CHAT))
    async for stop in running_bot(settings):
        yield stop


async def _report(user: TelegramUser) -> None:
    await user.say("/totgiac")
    await user.press("Đồng ý")
    await user.press("Giả danh công an")
    await user.say(
        "Người xưng công an gọi từ 0912 345 678 đòi chuyển <b>50tr</b> vào stk "
        "190312345678 Techcombank"
    )
    await user.press("Xong")
    await user.say("50 triệu")
    await user.press("Hôm qua")
    await user.press("Bỏ qua")
    await user.press("Để lại số")
    await user.say("0987 654 321")
    await user.press("Gửi tố giác")


async def test_card_claim_and_reporter_notice(
    fake: FakeTelegram,
    police_running,
    db: Database,
) -> None:
    resident = TelegramUser(fake, 8001)
    await _report(resident)
    await fake.until(lambda _: bool(fake.messages_to(POLICE_CHAT)), timeout=15)
    posted = fake.messages_to(POLICE_CHAT)[0]
    with db.transaction() as session:
        report = session.exec(select(Report)).one()
    for shown in (
        report.receipt_code,
        "Giả danh công an",
        "50.000.000 đ",
        "0912 345 678",
        "190312345678 (Techcombank)",
        "+84987654321",
        "&lt;b&gt;50tr&lt;/b&gt;",
        "Mới tiếp nhận",
    ):
        assert shown in posted.text, shown
    assert "8001" not in posted.text  # the reporter's account id never reaches the police
    claim = posted.buttons[0][1]

    fake.push(callback_update(6666, claim, chat_id=POLICE_CHAT, message_id=posted.message_id))
    await asyncio.sleep(0.5)
    refusal = [p for m, p in fake.calls if m == "answerCallbackQuery"][-1]
    assert refusal.get("show_alert") in (True, "true", "True") and "chưa được đăng ký" in str(
        refusal.get("text")
    )
    with db.transaction() as session:
        assert session.exec(select(Report)).one().status == "moi"  # nothing changed

    with db.transaction() as session:
        officers.add(session, "Trần Thị Bình", "officer", 7777)
    fake.push(callback_update(7777, claim, chat_id=POLICE_CHAT, message_id=posted.message_id))
    await fake.until(lambda sent: any(s.method == "editMessageText" for s in sent), timeout=15)
    edited = [s for s in fake.sent if s.method == "editMessageText"][-1]
    assert "Cán bộ đã nhận xử lý" in edited.text and "Trần Thị Bình" in edited.text
    labels = [label for label, _ in edited.buttons]
    assert "✋ Nhận xử lý" not in labels and "🔍 Đang xác minh" in labels  # no second claim
    await fake.until(
        lambda _: any(
            report.receipt_code in s.text and "Cán bộ đã nhận" in s.text for s in resident.inbox()
        ),
        timeout=15,
    )
    with db.transaction() as session:
        report = session.exec(select(Report)).one()
        assert report.status == "da_tiep_nhan" and report.claimed_by
        event = session.exec(select(ReportEvent).where(ReportEvent.action == "claim")).one()
        assert "Trần Thị Bình" in event.actor and event.from_status == "moi"


async def test_staff_role_cannot_triage(
    fake: FakeTelegram,
    police_running,
    db: Database,
) -> None:
    with db.transaction() as session:
        officers.add(session, "Cán bộ tuyên truyền", "staff", 5555)
    await _report(TelegramUser(fake, 8002))
    await fake.until(lambda _: bool(fake.messages_to(POLICE_CHAT)), timeout=15)
    claim = fake.messages_to(POLICE_CHAT)[0].buttons[0][1]
    fake.push(callback_update(5555, claim, chat_id=POLICE_CHAT))
    await asyncio.sleep(0.5)
    with db.transaction() as session:
        assert session.exec(select(Report)).one().status == "moi"


def test_officer_command_line(database_url: str, monkeypatch, capsys) -> None:
    from bot.cli import main

    monkeypatch.setenv("DATABASE_URL", database_url)
    assert (
        main(["officer", "add", "--name", "Lê Văn Cường", "--role", "admin", "--telegram-id", "42"])
        == 0
    )
    assert main(["officer", "add", "--name", "X", "--role", "admin", "--telegram-id", "42"]) == 2
    assert main(["officer", "set-role", "1", "lead"]) == 0
    assert main(["officer", "remove", "1"]) == 0
    main(["officer", "list"])
    out = capsys.readouterr().out
    assert "Lê Văn Cường\tlead\ttelegram:42\tremoved" in out
    assert "already belongs" in out


def _button(sent, label: str) -> str:
    return next(data for text, data in sent.buttons if label in text)


async def _press(fake: FakeTelegram, officer: int, label: str) -> None:
    """Press a button on the latest version of the card and wait for the card to change."""
    before = len([s for s in fake.sent if s.chat_id == POLICE_CHAT])
    latest = [s for s in fake.sent if s.chat_id == POLICE_CHAT][-1]
    fake.push(callback_update(officer, _button(latest, label), chat_id=POLICE_CHAT))
    await fake.until(
        lambda sent: len([s for s in sent if s.chat_id == POLICE_CHAT]) > before, timeout=15
    )


async def test_decisions_and_confirmed_identifiers(
    fake: FakeTelegram, police_running, db: Database
) -> None:
    with db.transaction() as session:
        officers.add(session, "Phạm Văn Dũng", "lead", 9001)
    resident = TelegramUser(fake, 8003)
    await _report(resident)
    await fake.until(lambda _: bool(fake.messages_to(POLICE_CHAT)), timeout=15)
    await _press(fake, 9001, "Nhận xử lý")
    await _press(fake, 9001, "Đang xác minh")
    await _press(fake, 9001, "Xác nhận đối tượng")
    assert "đã được Công an xác nhận" in await resident.say("/kiemtra 0912345678")
    await _press(fake, 9001, "Đã xử lý")
    card = [s for s in fake.sent if s.chat_id == POLICE_CHAT][-1]
    assert "Đã giải quyết" in card.text and card.buttons == []  # closed: nothing left to press
    for step in ("Cán bộ đã nhận xử lý", "Đang xác minh", "Đã giải quyết"):
        await fake.until(lambda _, s=step: any(s in m.text for m in resident.inbox()), timeout=15)
    with db.transaction() as session:
        actions = [e.action for e in session.exec(select(ReportEvent).order_by(ReportEvent.id))]
        assert actions == ["created", "claim", "verify", "confirm", "resolve"]


async def test_rubbish_is_not_told_to_the_reporter(
    fake: FakeTelegram, police_running, db: Database
) -> None:
    with db.transaction() as session:
        officers.add(session, "Võ Thị Em", "officer", 9002)
    resident = TelegramUser(fake, 8004)
    await _report(resident)
    await fake.until(lambda _: bool(fake.messages_to(POLICE_CHAT)), timeout=15)
    seen = len(resident.inbox())
    await _press(fake, 9002, "Rác")
    await asyncio.sleep(1.5)  # the outbox sender's cycle: anything owed would be out by now
    assert len(resident.inbox()) == seen
    with db.transaction() as session:
        assert session.exec(select(Report)).one().status == "rac"


def test_officer_queue_detail_and_figures(dispatcher, db: Database, clock) -> None:
    from tests.chat import Chat
    from tests.test_journeys import _report as report_in_core

    resident = Chat(dispatcher, channel="telegram", user="8100")
    first = report_in_core(resident, "Người xưng công an gọi đòi chuyển tiền xác minh")
    resident.send("/totgiac")
    resident.press("Mua bán người")
    resident.send("Ở Bavet, Campuchia, Zalo 0901234567")
    resident.send("Em tôi bị dụ sang Campuchia làm việc rồi mất liên lạc")
    resident.press("Không có")
    resident.press("Bỏ qua")  # amount
    resident.press("Bỏ qua")  # day (no photo step: this chat carries none)
    resident.press("Ẩn danh")
    resident.press("Gửi tố giác")
    urgent = resident.text.split("<b>")[1].split("</b>")[0]
    stranger = Chat(dispatcher, channel="telegram", user="8200")
    stranger.send("/hangdoi")
    assert "chưa được đăng ký" in stranger.text and urgent not in stranger.text
    with db.transaction() as session:
        officers.add(session, "Đỗ Văn Giang", "officer", 8300)
    officer = Chat(dispatcher, channel="telegram", user="8300")
    clock.advance(hours=25)  # the plain report is now past its acknowledgement deadline
    officer.send("/hangdoi")
    assert officer.text.index(urgent) < officer.text.index(first)  # urgent first
    assert "⏰" in officer.text and "🆘" in officer.text
    officer.send(f"/xem {first.lower()}")
    assert "Giả danh công an" in officer.text and "Mới tiếp nhận" in officer.text
    officer.send("/thongke")
    assert "Tháng này</b>: 2 tố giác" in officer.text and "Năm nay" in officer.text
    with db.transaction() as session:
        officers.set_role(session, 1, "staff")  # role checked at the time of use
    officer.send("/hangdoi")
    assert "chưa được đăng ký" in officer.text


def test_invites_are_admin_only_single_use_and_expire(dispatcher, db: Database, clock) -> None:
    from tests.chat import Chat

    with db.transaction() as session:
        officers.add(session, "Quản trị", "admin", 9100)
        officers.add(session, "Cán bộ thường", "officer", 9101)
    admin = Chat(dispatcher, channel="telegram", user="9100")
    plain = Chat(dispatcher, channel="telegram", user="9101")
    plain.send("/moi officer")
    assert "Chỉ quản trị viên" in plain.text
    admin.send("/moi trưởng")
    assert "Vai trò: officer, lead, staff, admin" in admin.text
    admin.send("/moi lead")
    code = admin.text.split("<b>")[1].split("</b>")[0]
    newcomer = Chat(dispatcher, channel="telegram", user="9102")
    newcomer.send(f"/dangnhap {code}")
    assert "Cách dùng" in newcomer.text  # a name is needed
    newcomer.send(f"/dangnhap {code.lower()} Hoàng Thị Hoa")
    assert "Hoàng Thị Hoa" in newcomer.text and "lead" in newcomer.text
    other = Chat(dispatcher, channel="telegram", user="9103")
    other.send(f"/dangnhap {code} Kẻ Lạ")
    assert "không hợp lệ" in other.text  # single use
    admin.send("/moi officer")
    late = admin.text.split("<b>")[1].split("</b>")[0]
    clock.advance(hours=24, seconds=1)
    other.send(f"/dangnhap {late} Người Đến Muộn")
    assert "không hợp lệ" in other.text  # expired
    with db.transaction() as session:
        hoa = officers.by_telegram(session, 9102)
        assert hoa is not None and hoa.role == "lead"
        assert officers.by_telegram(session, 9103) is None
