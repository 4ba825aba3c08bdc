"""Telegram end to end: the real python-telegram-bot application against a stand-in Bot API
server on 127.0.0.1, polling and webhook, failures included."""

from __future__ import annotations

import asyncio
import dataclasses

import httpx
from sqlmodel import select

from bot.settings import Settings
from db.engine import Database
from db.models import Evidence, Outbox, Report, Resident
from tests.conftest import running_bot
from tests.fakes.telegram_server import (
    BOT_USERNAME,
    FakeTelegram,
    forwarded_update,
    photo_update,
    text_update,
)
from tests.telegram_user import TelegramUser
from tests.walker import Story, walk_async


async def test_commands_are_registered_in_vietnamese(fake: FakeTelegram, running) -> None:
    names = {c["command"]: c["description"] for c in fake.commands}
    assert set(names) == {
        "start",
        "canhgiac",
        "thudoan",
        "totgiac",
        "kiemtra",
        "theodoi",
        "cauhoi",
        "dangky",
        "huydangky",
        "trogiup",
        "xoadulieu",
        "huy",
    }
    assert names["totgiac"].startswith("Tố giác")


async def test_a_report_through_telegram(fake: FakeTelegram, running, db: Database) -> None:
    user = TelegramUser(fake, 5001)
    assert "Cảnh giác" in await user.say("/start")
    assert "Trước khi tố giác" in await user.press("Tố giác lừa đảo")
    story = Story(
        account=(
            "Người gọi từ 0912 345 678 xưng công an, bắt chuyển 20tr vào stk "
            "190312345678 Techcombank. <b>Khẩn</b> & gấp"
        ),
        amount="20 triệu",
        when="Hôm qua",
    )
    user._since = len(user.inbox()) - 1  # the consent prompt just shown
    await walk_async(user.screen, user.act, story, until="confirm")
    summary = user.screen()[0]
    assert "0912 345 678" in summary
    assert "&lt;b&gt;Khẩn&lt;/b&gt; &amp; gấp" in summary  # escaped for HTML parse mode
    receipt = await user.press("Gửi tố giác")
    assert "Mã tiếp nhận" in receipt
    with db.transaction() as session:
        report = session.exec(select(Report)).one()
        assert report.receipt_code in receipt and report.channel == "telegram"
    callbacks = [u for u in fake.calls if u[0] == "answerCallbackQuery"]
    presses = [u for u in fake._history if "callback_query" in u]
    assert len(callbacks) == len(presses) > 5  # every press answered: no spinner left turning


async def test_every_other_journey_on_telegram(fake: FakeTelegram, running) -> None:
    user = TelegramUser(fake, 5002)
    assert "4 KHÔNG, 2 PHẢI" in await user.say("/canhgiac")
    assert "Chọn một thủ đoạn" in await user.press("Xem các thủ đoạn")
    await user.press("Đầu tư, vay tiền")  # the library's group, then the trick
    assert "Dấu hiệu" in await user.press("Chơi họ")
    assert "Câu 1/6" in await user.say("/cauhoi")
    assert "Đúng" in await user.press("Cúp máy")
    assert "chọn một mục" in await user.say("0987654321")  # mid-quiz: it stays on the question
    assert "chưa có xác nhận" in await user.say("/kiemtra 0987654321")
    assert "chưa có tố giác" in await user.say("/theodoi")
    assert "Không tìm thấy" in await user.say("ABCD-EFGH")
    await user.say("/dangky")
    assert "Đã đăng ký" in await user.press("Bắc Gia Nghĩa")
    assert "Đã hủy đăng ký" in await user.say("/huydangky")
    assert "Đường dây nóng" in await user.say("/trogiup")
    await user.say("/xoadulieu")
    assert "Đã xóa" in await user.press("Xóa dữ liệu")
    assert "Đã hủy" in (await user.say("/kiemtra") and await user.press("Hủy"))


async def test_deep_links_open_journeys(fake: FakeTelegram, running) -> None:
    user = TelegramUser(fake, 5003)
    assert "Trước khi tố giác" in await user.say("/start totgiac")
    assert "4 KHÔNG, 2 PHẢI" in await user.say("/start canhgiac")


async def test_photo_evidence_is_downloaded_and_hashed(
    fake: FakeTelegram, running, db: Database
) -> None:
    user = TelegramUser(fake, 5004)
    story = Story(type="Tin nhắn rác", account="Tin nhắn báo nợ cước kèm link lạ, tôi đã bấm vào")
    await user.walk_report(story, until="evidence")
    assert "Gửi ảnh" in user.screen()[0]
    image = b"\xff\xd8\xff fake jpeg bytes"
    file_id = fake.add_file(image)
    reply = await user._expect(lambda: fake.push(photo_update(5004, file_id, len(image))))
    assert "Đã nhận 1 ảnh" in reply
    huge = fake.add_file(b"x")
    reply = await user._expect(lambda: fake.push(photo_update(5004, huge, 50 * 1024 * 1024)))
    assert "quá lớn" in reply
    assert not any(c == ("getFile", {"file_id": huge}) for c in fake.calls)  # never fetched
    await user.press("Xong")
    await user.press("Ẩn danh")
    await user.press("Gửi tố giác")
    with db.transaction() as session:
        evidence = session.exec(select(Evidence)).one()
        import hashlib

        assert evidence.sha256 == hashlib.sha256(image).hexdigest() and evidence.report_id


async def test_forwarded_scam_message(fake: FakeTelegram, running) -> None:
    user = TelegramUser(fake, 5005)
    text = await user._expect(
        lambda: fake.push(
            forwarded_update(5005, "Bạn trúng thưởng, nhận tại https://quatang-vip.top")
        )
    )
    assert "chuyển tiếp" in text
    assert "quatang-vip.top" in await user.press("Kiểm tra tin này")


async def test_duplicate_delivery_has_one_effect(fake: FakeTelegram, running) -> None:
    user = TelegramUser(fake, 5006)
    update_id = fake.push(text_update(5006, "/trogiup"))
    await fake.until(lambda sent: any(s.chat_id == 5006 for s in sent))
    fake.repush(update_id)
    await user.say("/canhgiac")  # a later update, processed after the repeat
    helps = [s for s in user.inbox() if "Đường dây nóng" in s.text]
    assert len(helps) == 1


async def test_429_is_waited_out_and_answered_once(fake: FakeTelegram, running) -> None:
    user = TelegramUser(fake, 5007)
    fake.fail_next("sendMessage", 429, times=2, retry_after=1)
    text = await user.say("/trogiup")
    assert "Đường dây nóng" in text
    await asyncio.sleep(1.5)
    assert sum("Đường dây nóng" in s.text for s in user.inbox()) == 1
    assert fake.too_many == 2


async def test_server_errors_are_retried_by_the_outbox(
    fake: FakeTelegram, running, db: Database
) -> None:
    user = TelegramUser(fake, 5008)
    fake.fail_next("sendMessage", 500, times=3)
    fake.push(text_update(5008, "/trogiup"))
    await fake.until(lambda _: any("Đường dây nóng" in s.text for s in user.inbox()), timeout=30)
    await asyncio.sleep(1.2)
    assert sum("Đường dây nóng" in s.text for s in user.inbox()) == 1
    with db.transaction() as session:
        row = session.exec(select(Outbox).where(Outbox.recipient == "5008")).one()
        assert row.status == "sent" and row.attempts >= 1


async def test_a_bad_request_is_not_retried_and_blames_nobody(
    fake: FakeTelegram, running, db: Database
) -> None:
    user = TelegramUser(fake, 5010)
    await user.say("/dangky")
    await user.press("Không chọn")
    fake.fail_next("sendMessage", 400, description="Bad Request: chat not found")
    fake.push(text_update(5010, "/trogiup"))
    for _ in range(100):
        await asyncio.sleep(0.05)
        with db.transaction() as session:
            if session.exec(select(Outbox).where(Outbox.status == "failed")).first():
                break
    await asyncio.sleep(1.5)  # an outbox cycle: nothing is retried
    with db.transaction() as session:
        failed = session.exec(select(Outbox).where(Outbox.status == "failed")).one()
        assert failed.attempts == 0 and "chat not found" in (failed.last_error or "").lower()
        assert not session.exec(select(Resident)).one().blocked
    assert not any("Đường dây nóng" in s.text for s in user.inbox())


async def test_a_user_who_blocked_the_bot_is_marked(
    fake: FakeTelegram, running, db: Database
) -> None:
    user = TelegramUser(fake, 5009)
    await user.say("/dangky")
    await user.press("Không chọn")
    fake.blocked.add(5009)
    fake.push(text_update(5009, "/trogiup"))
    for _ in range(100):
        await asyncio.sleep(0.05)
        with db.transaction() as session:
            resident = session.exec(select(Resident)).one()
            if resident.blocked:
                break
    with db.transaction() as session:
        assert session.exec(select(Resident)).one().blocked
        assert session.exec(select(Outbox).where(Outbox.status == "blocked")).first()


async def test_groups_get_only_addressed_public_commands(fake: FakeTelegram, running) -> None:
    group = -100123
    fake.push(text_update(6001, "/canhgiac", chat_id=group, chat_type="supergroup"))
    fake.push(text_update(6001, f"/canhgiac@{BOT_USERNAME}", chat_id=group, chat_type="supergroup"))
    await fake.until(lambda _: len(fake.messages_to(group)) >= 1)
    fake.push(text_update(6001, f"/totgiac@{BOT_USERNAME}", chat_id=group, chat_type="supergroup"))
    await fake.until(lambda _: len(fake.messages_to(group)) >= 2)
    await asyncio.sleep(0.3)
    rules, private_only = fake.messages_to(group)
    assert "4 KHÔNG" in rules.text and not rules.buttons  # no buttons anyone could press
    assert "tin nhắn riêng" in private_only.text
    assert private_only.buttons[0][1] == f"https://t.me/{BOT_USERNAME}?start=totgiac"


async def test_webhook_mode(fake: FakeTelegram, bot_settings: Settings, db: Database) -> None:
    port = bot_settings.http_port
    settings = dataclasses.replace(
        bot_settings, telegram_webhook_url=f"http://127.0.0.1:{port}/tg/hook"
    )
    async for _stop in running_bot(settings):
        assert fake.webhook and fake.webhook["url"].endswith("/tg/hook")
        secret = fake.webhook["secret"]
        assert secret and len(secret) >= 32  # generated and stored, since none was set
        user = TelegramUser(fake, 5010)
        assert "Cảnh giác" in await user.say("/start")
        async with httpx.AsyncClient() as client:
            forged = await client.post(
                f"http://127.0.0.1:{port}/tg/hook",
                json={"update_id": 1, **text_update(5011, "/start")},
                headers={"X-Telegram-Bot-Api-Secret-Token": "wrong"},
            )
            missing = await client.post(
                f"http://127.0.0.1:{port}/tg/hook",
                json={"update_id": 2, **text_update(5011, "/start")},
            )
            health = await client.get(f"http://127.0.0.1:{port}/healthz")
        assert forged.status_code == 403 and missing.status_code == 403
        await asyncio.sleep(0.3)
        assert fake.messages_to(5011) == []  # nothing processed
        assert health.status_code == 200
        assert {k: health.json()[k] for k in ("database", "telegram")} == {
            "database": "ok",
            "telegram": "up",
        }
        fake.repush(fake._history[-1]["update_id"])  # Telegram redelivers the same update
        await asyncio.sleep(0.5)
        assert sum("Cảnh giác" in s.text for s in user.inbox()) == 1


async def test_one_users_updates_are_answered_in_order(fake: FakeTelegram, running) -> None:
    user = TelegramUser(fake, 5012)
    for command in ("/canhgiac", "/trogiup", "/thudoan", "/start"):  # all in one batch
        fake.push(text_update(5012, command))
    await fake.until(lambda _: len(user.inbox()) >= 4)
    texts = [s.text for s in user.inbox()]
    assert "4 KHÔNG" in texts[0] and "Đường dây nóng" in texts[1]
    assert "Chọn một thủ đoạn" in texts[2] and "Xin chào" in texts[3]
