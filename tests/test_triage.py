"""Tip cards on Telegram: every report reaches the police chat; only officers can act on it;
a claim is recorded, told to the reporter, and shown on the card in place."""

from __future__ import annotations

import asyncio
import dataclasses
import re
from collections.abc import AsyncIterator

import pytest
from sqlmodel import select

from bot.settings import Settings
from db import officers
from db.engine import Database
from db.models import Evidence, Outbox, Report, ReportEvent
from tests.conftest import running_bot
from tests.fakes.telegram_server import FakeTelegram, callback_update, photo_update
from tests.telegram_user import TelegramUser
from tests.walker import Story

POLICE_CHAT = -1001234567890


@pytest.fixture
async def police_running(bot_settings: Settings) -> AsyncIterator[asyncio.Event]:
    settings = dataclasses.replace(bot_settings, police_chat_id=str(POLICE_CHAT))
    async for stop in running_bot(settings):
        yield stop


async def _answer(fake: FakeTelegram, update: dict) -> dict:
    """Push a button press and wait for the bot's answer to exactly that press."""
    fake.push(update)
    wanted = update["callback_query"]["id"]
    for _ in range(1500):
        for method, params in list(fake.calls):
            if method == "answerCallbackQuery" and str(params.get("callback_query_id")) == wanted:
                return dict(params)
        await asyncio.sleep(0.01)
    raise AssertionError("the press was never answered")


async def _report(user: TelegramUser) -> None:
    story = Story(
        account=(
            "Người xưng công an gọi từ 0912 345 678 đòi chuyển <b>50tr</b> vào stk "
            "190312345678 Techcombank"
        ),
        amount="50 triệu",
        when="Hôm qua",
        phone="0987 654 321",
    )
    assert await user.walk_report(story)


async def test_card_claim_and_reporter_notice(
    fake: FakeTelegram,
    police_running,
    db: Database,
) -> None:
    resident = TelegramUser(fake, 8001)
    await _report(resident)
    await fake.until(lambda _: bool(_cards(fake)), timeout=15)
    posted = _cards(fake)[0]
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

    refusal = await _answer(
        fake, callback_update(6666, claim, chat_id=POLICE_CHAT, message_id=posted.message_id)
    )
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
    await fake.until(lambda _: bool(_cards(fake)), timeout=15)
    claim = _cards(fake)[0].buttons[0][1]
    await _answer(fake, callback_update(5555, claim, chat_id=POLICE_CHAT))
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
    assert main(["officer", "add", "--name", "   ", "--role", "officer"]) == 2  # no blank names
    assert main(["officer", "set-role", "1", "lead"]) == 0
    assert main(["officer", "link", "1"]) == 0  # a fresh console set-up link
    assert main(["officer", "link", "99"]) == 2
    assert main(["officer", "remove", "1"]) == 0
    assert main(["officer", "link", "1"]) == 2  # none for a removed officer
    main(["officer", "list"])
    out = capsys.readouterr().out
    assert "Lê Văn Cường\tlead\tconsole:-\ttelegram:42\tremoved" in out
    assert "already belongs" in out and "1–128 characters" in out
    links = re.findall(r"console set-up link \(one use, 24 hours\): (http://\S+/setup/\S+)", out)
    assert len(links) == 2 and links[0] != links[1]


def test_commands_print_no_migration_chatter(tmp_path) -> None:
    import os
    import subprocess
    import sys

    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path}/fresh.db"}
    run = subprocess.run(
        [sys.executable, "-m", "bot", "officer", "list"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0 and "alembic" not in run.stderr + run.stdout, run.stderr


def _button(sent, label: str) -> str:
    found = [data for text, data in sent.buttons if label in text]
    assert found, (label, sent.text[:40], sent.buttons)
    return found[0]


def _latest_card(fake: FakeTelegram):
    return _cards(fake)[-1]


def _cards(fake: FakeTelegram) -> list:
    """Tip cards as posted and edited, in order (the chat also gets notes and digests)."""
    return [s for s in fake.messages_to(POLICE_CHAT) if s.text.startswith("🚨")]


async def _press(fake: FakeTelegram, officer: int, label: str) -> None:
    """Press a button on the latest version of the card and wait for the card to change."""
    before = len([s for s in fake.sent if s.chat_id == POLICE_CHAT])
    fake.push(callback_update(officer, _button(_latest_card(fake), label), chat_id=POLICE_CHAT))
    await fake.until(
        lambda sent: len([s for s in sent if s.chat_id == POLICE_CHAT]) > before, timeout=15
    )


async def _press_for_note(fake: FakeTelegram, officer: TelegramUser, label: str) -> str:
    """Press a card button that needs words: the question comes to the officer's private chat."""
    latest = _latest_card(fake)
    return await officer._expect(
        lambda: fake.push(
            callback_update(officer.user_id, _button(latest, label), chat_id=POLICE_CHAT)
        )
    )


async def test_question_answer_and_decision_end_to_end(
    fake: FakeTelegram, police_running, db: Database
) -> None:
    """Claim, ask the reporter, the reporter answers, confirm, resolve with an outcome: the
    reporter hears each step, the card keeps the history, nobody's account is shown."""
    with db.transaction() as session:
        officers.add(session, "Phạm Văn Dũng", "officer", 9001)
    officer = TelegramUser(fake, 9001)
    resident = TelegramUser(fake, 8003)
    await _report(resident)
    await fake.until(lambda _: bool(_cards(fake)), timeout=15)
    await _press(fake, 9001, "Nhận xử lý")

    prompt = await _press_for_note(fake, officer, "Cần thêm thông tin")
    assert "Nhập câu hỏi" in prompt
    assert "quá ngắn" in await officer.say("?")  # bad input: asked again, nothing relayed
    told = await officer.say("Anh/chị chuyển khoản lúc mấy giờ, qua ứng dụng nào?")
    assert "Đã chuyển câu hỏi" in told
    await fake.until(lambda _: any("mấy giờ" in m.text for m in resident.inbox()), timeout=15)
    question = [m for m in resident.inbox() if "mấy giờ" in m.text][-1]
    assert (
        "Công an phường cần thêm thông tin" in question.text
        and "Phạm Văn Dũng" not in question.text
    )
    resident.seen = len(resident.inbox())

    assert "Viết thông tin bổ sung" in await resident.press("Trả lời")
    assert "quá ngắn" in await resident.say("🙏")  # bad input: asked again, nothing sent
    sent = await resident.say("Khoảng 9 giờ sáng, qua app Techcombank")
    assert "Đã gửi bổ sung" in sent
    await fake.until(
        lambda _: any(
            m.text.startswith("📨") and "Khoảng 9" in m.text for m in fake.messages_to(POLICE_CHAT)
        ),
        timeout=15,
    )
    relayed = next(m for m in fake.messages_to(POLICE_CHAT) if m.text.startswith("📨"))
    assert "8003" not in relayed.text
    assert relayed.params.get("reply_parameters")  # said under the card

    await _press(fake, 9001, "Đang xác minh")
    # One identifier at a time, with a reason: the Techcombank account stays unconfirmed.
    pick = await _press_for_note(fake, officer, "Xác nhận đối tượng")
    assert "Chọn từng cái một" in pick
    assert "xác nhận" in (await officer.press("0912 345 678")).lower()
    assert "Đã xác nhận 0912 345 678" in await officer.say("Nhà mạng xác nhận số này lừa đảo")
    assert "đã được Công an xác nhận" in await resident.say("/kiemtra 0912345678")
    assert "đã được Công an xác nhận" not in await resident.say("/kiemtra 190312345678")
    prompt = await _press_for_note(fake, officer, "Đã xử lý")
    assert "kết quả xử lý" in prompt
    assert "Đã cập nhật" in await officer.say(
        "Đã phong tỏa tài khoản 190312345678, chuyển hồ sơ đòi tiền."
    )
    # The card as it shows now (an earlier step's edit may still arrive after the answer).
    await fake.until(lambda _: "Đã giải quyết" in _latest_card(fake).text, timeout=30)
    card = _latest_card(fake)
    assert [label for label, _ in card.buttons] == ["↩️ Mở lại"]  # only a lead may use it
    for shown in (
        "hỏi người báo tin",
        "mấy giờ",
        "Người báo tin: bổ sung",
        "9 giờ sáng",
        "phong tỏa",
    ):
        assert shown in card.text, shown
    for step in ("Cán bộ đã nhận xử lý", "Đang xác minh", "Đã giải quyết", "phong tỏa tài khoản"):
        await fake.until(lambda _, s=step: any(s in m.text for m in resident.inbox()), timeout=15)
    with db.transaction() as session:
        actions = [e.action for e in session.exec(select(ReportEvent).order_by(ReportEvent.id))]
        assert actions == ["created", "claim", "ask", "info", "verify", "confirm", "resolve"]

    reopen = _button(_latest_card(fake), "Mở lại")
    refusal = await _answer(fake, callback_update(9001, reopen, chat_id=POLICE_CHAT))
    assert "Chỉ lãnh đạo" in str(refusal.get("text"))
    with db.transaction() as session:
        officers.set_role(session, 1, "lead")
    await _press(fake, 9001, "Mở lại")
    with db.transaction() as session:
        assert session.exec(select(Report)).one().status == "dang_xac_minh"


async def test_rubbish_and_duplicate_need_words_and_rubbish_is_not_told(
    fake: FakeTelegram, police_running, db: Database
) -> None:
    with db.transaction() as session:
        officers.add(session, "Võ Thị Em", "officer", 9002)
    officer = TelegramUser(fake, 9002)
    first, second = TelegramUser(fake, 8004), TelegramUser(fake, 8005)
    await _report(first)
    await fake.until(lambda _: bool(_cards(fake)), timeout=15)
    seen = len(first.inbox())
    await _press_for_note(fake, officer, "Rác")
    assert "Đã hủy" in await officer.say("/huy")  # cancelled: nothing changed
    with db.transaction() as session:
        assert session.exec(select(Report)).one().status == "moi"
    await _press_for_note(fake, officer, "Rác")
    await officer.say("Tin nhắn thử nghiệm, không có nội dung")
    await asyncio.sleep(1.5)  # the outbox sender's cycle: anything owed would be out by now
    assert len(first.inbox()) == seen
    with db.transaction() as session:
        original = session.exec(select(Report)).one()
        assert original.status == "rac"

    await _report(second)
    await fake.until(
        lambda sent: sum(s.method == "sendMessage" and s.text.startswith("🚨") for s in sent) == 2,
        timeout=15,
    )
    await _press_for_note(fake, officer, "Trùng")
    assert "mã của một tố giác khác" in await officer.say("ABCD-2345")
    assert "Đã cập nhật" in await officer.say(original.receipt_code)
    with db.transaction() as session:
        duplicate = session.exec(select(Report).where(Report.status == "trung")).one()
        event = session.exec(select(ReportEvent).where(ReportEvent.action == "dup")).one()
        assert original.receipt_code in (event.note or "")
    await fake.until(
        lambda _: any(
            duplicate.receipt_code in m.text and "Trùng" in m.text for m in second.inbox()
        ),
        timeout=15,
    )
    assert not any(original.receipt_code in m.text for m in second.inbox())  # not revealed


def test_officer_queue_detail_and_figures(dispatcher, db: Database, clock) -> None:
    from tests.chat import Chat
    from tests.test_journeys import _report as report_in_core

    resident = Chat(dispatcher, channel="telegram", user="8100")
    first = report_in_core(resident, "Người xưng công an gọi đòi chuyển tiền xác minh")
    from tests.test_deadlines import _urgent_report

    urgent = _urgent_report(dispatcher, user="8100")
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


async def test_evidence_photos_follow_the_card_as_an_album(
    fake: FakeTelegram, police_running, db: Database
) -> None:
    resident = TelegramUser(fake, 8006)
    story = Story(
        account="Người xưng công an gọi từ 0912 345 678 đòi chuyển tiền xác minh",
        amount="Không mất tiền",
        when="Hôm qua",
        photos=[b"\xff\xd8first-screenshot", b"\xff\xd8second-screenshot"],
    )
    assert await resident.walk_report(story)
    await fake.until(
        lambda sent: len([s for s in sent if s.method == "sendMediaGroup"]) == 2, timeout=15
    )
    card = _cards(fake)[0]
    album = [s for s in fake.sent if s.method == "sendMediaGroup"]
    assert all(s.chat_id == POLICE_CHAT for s in album)
    assert all(s.at > card.at for s in album)  # under the card, never before it
    replied = album[0].params.get("reply_parameters")
    assert replied and str(card.message_id) in str(replied)

    # Later the reporter adds one more screenshot: it goes alone (an album needs two) under
    # the card, with a note, and the step waits for more until "Xong".
    code = re.search(r"[A-Z0-9]{4}-[A-Z0-9]{4}", card.text)
    assert code, card.text
    assert "ảnh chụp màn hình" in await resident.say(f"/bosung {code.group(0)}")
    picture = b"\xff\xd8third-screenshot"
    file_id = fake.add_file(picture)
    assert "Đã chuyển 1 ảnh" in await resident._expect(
        lambda: fake.push(photo_update(8006, file_id, len(picture)))
    )
    await fake.until(
        lambda sent: any(s.method == "sendPhoto" and s.chat_id == POLICE_CHAT for s in sent),
        timeout=15,
    )
    single = next(s for s in fake.sent if s.method == "sendPhoto" and s.chat_id == POLICE_CHAT)
    assert str(card.message_id) in str(single.params.get("reply_parameters"))
    assert "Đã gửi bổ sung" in await resident.press("Xong")
    with db.transaction() as session:
        kept = session.exec(select(Evidence)).all()
        assert len(kept) == 3 and all(e.report_id is not None for e in kept)


async def test_a_deleted_card_is_posted_again(
    fake: FakeTelegram, police_running, db: Database
) -> None:
    with db.transaction() as session:
        officers.add(session, "Lý Văn Hùng", "officer", 9003)
    await _report(TelegramUser(fake, 8007))
    await fake.until(lambda _: bool(_cards(fake)), timeout=15)
    fake.fail_next(
        "editMessageText", status=400, description="Bad Request: message to edit not found"
    )
    fake.push(callback_update(9003, _button(_cards(fake)[0], "Nhận xử lý"), chat_id=POLICE_CHAT))
    await fake.until(
        lambda sent: sum(s.method == "sendMessage" and s.text.startswith("🚨") for s in sent) == 2,
        timeout=15,
    )
    reposted = [s for s in _cards(fake) if s.method == "sendMessage"][-1]
    assert "Cán bộ đã nhận xử lý" in reposted.text
    for _ in range(100):  # the new card's id is recorded just after it is posted
        with db.transaction() as session:
            if session.exec(select(Report)).one().card_message_id == reposted.message_id:
                break
        await asyncio.sleep(0.05)
    else:
        raise AssertionError("the reposted card was not recorded")


async def test_a_card_the_chat_refuses_as_malformed_does_not_hold_back_its_notes(
    fake: FakeTelegram, police_running, db: Database
) -> None:
    """Every post of this card is refused as malformed (as Telegram does for a message it
    cannot parse): it fails alone, and what the reporter adds later still reaches the chat
    instead of waiting for ever behind it."""
    fake.fail_next(
        "sendMessage",
        400,
        times=1000,
        description="Bad Request: can't parse entities",
        chat_id=POLICE_CHAT,
        containing="🚨",
    )
    resident = TelegramUser(fake, 8050)
    await _report(resident)
    code = re.search(r"[A-Z0-9]{4}-[A-Z0-9]{4}", resident.inbox()[-1].text)
    assert code is not None
    await resident.say(f"/bosung {code.group(0)}")
    await resident.say("Họ còn nhắn qua Zalo số 0912 345 678 đòi thêm tiền")
    await fake.until(
        lambda _: any("nhắn qua Zalo" in s.text for s in fake.messages_to(POLICE_CHAT)),
        timeout=30,
    )
    with db.transaction() as session:
        cards = session.exec(select(Outbox).where(Outbox.kind == "report_card")).all()
        assert cards and {c.status for c in cards} <= {"failed", "pending"}
