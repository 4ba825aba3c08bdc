"""Zalo: the Official Account and Zalo Bot, each against its stand-in server on 127.0.0.1,
with the real bot (`serve`) and the real ASGI app over HTTP."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import re
import threading
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import col, select

from bot.channels.zalo_tokens import REFRESH, ZaloTokens
from bot.settings import Settings
from db import broadcasts, officers
from db.engine import Database
from db.models import AppSecret, Conversation, Delivery, Outbox, Report, Resident
from tests.conftest import free_port, running_bot
from tests.fakes.telegram_server import FakeTelegram, callback_update
from tests.fakes.zalo_servers import ZaloBot, ZaloOA
from tests.walker import Action, Story, walk_async

POLICE_CHAT = -1004445556667
CODE = re.compile(r"Mã tiếp nhận của bạn: ([A-Z0-9]{4}-[A-Z0-9]{4})")


def _oa_settings(base: Settings, oa: ZaloOA, telegram: bool = False) -> Settings:
    settings = dataclasses.replace(
        base,
        telegram_bot_token=base.telegram_bot_token if telegram else "",
        zalo_oa_app_id=oa.app_id,
        zalo_oa_secret_key=oa.secret_key,
        zalo_oa_refresh_token=oa.refresh_token,
        zalo_api_url=oa.root,
        zalo_oauth_url=oa.root,
        http_port=free_port(),
    )
    oa.webhook_url = f"http://127.0.0.1:{settings.http_port}/zalo/oa"
    return settings


def _zalo_bot_settings(base: Settings, zbot: ZaloBot) -> Settings:
    """Zalo Bot alone (no Telegram), against the stand-in server."""
    return dataclasses.replace(
        base, telegram_bot_token="", zalo_bot_token=zbot.token, zalo_bot_api_url=zbot.root
    )


@pytest.fixture
async def oa_running(bot_settings: Settings, oa: ZaloOA) -> AsyncIterator[None]:
    async for _ in running_bot(_oa_settings(bot_settings, oa)):
        yield


class ZaloScreen:
    """What the shared report walker needs of a Zalo resident: the words since their last
    action with the options shown (buttons, or "[N] label" lines), and acting on them."""

    since = 0

    def inbox(self) -> list:  # the resident's messages, oldest first
        raise NotImplementedError

    async def say(self, text: str) -> str:
        raise NotImplementedError

    async def press(self, label: str) -> str:
        raise NotImplementedError

    def screen(self) -> tuple[str, list[str]]:
        new = self.inbox()[self.since :] or self.inbox()[-1:]
        labels = [b["title"] for m in new for b in getattr(m, "buttons", None) or []]
        for message in new:
            labels += [m.group(1) for m in re.finditer(r"\[\d+\] (.*)", message.text)]
        return "\n".join(m.text for m in new), labels

    async def act(self, action: Action) -> None:
        self.since = len(self.inbox())
        if action.kind == "press":
            await self.press(str(action.value))
        else:
            await self.say(str(action.value))

    async def walk_report(self, story: Story | None = None, until: str | None = None) -> str:
        self.since = len(self.inbox())
        await self.say("/totgiac")
        return (await walk_async(self.screen, self.act, story, until=until)).code or ""


class OAResident(ZaloScreen):
    """A resident writing to the ward's OA: text, button presses (a button's payload comes
    back as the user's message) or a typed option number."""

    def __init__(self, oa: ZaloOA, user: str) -> None:
        self.oa, self.user = oa, user

    def inbox(self) -> list:
        return self.oa.messages_to(self.user)

    async def send(self, event: dict) -> str:
        before = len(self.inbox())
        status = await asyncio.to_thread(self.oa.post, event)
        assert status == 200, status
        return "\n".join(m.text for m in self.inbox()[before:])

    async def say(self, text: str) -> str:
        return await self.send(self.oa.text(self.user, text))

    async def press(self, label: str) -> str:
        for message in reversed(self.inbox()):
            for button in message.buttons:
                if label.lower() in button["title"].lower():
                    return await self.say(button["payload"])
            for line in message.text.splitlines():
                match = re.match(r"\s*\[(\d+)\] (.*)", line)
                if match and label.lower() in match.group(2).lower():
                    return await self.say(match.group(1))
        raise AssertionError(f"no option {label!r} in {[m.text[-200:] for m in self.inbox()[-2:]]}")


def _approved_alert(db: Database, text: str, photo: bytes | None = None) -> None:
    """An alert to every subscriber, approved to go now (with a link button)."""
    now = datetime.now(UTC)
    with db.transaction() as session:
        alert = broadcasts.create(
            session,
            text=text,
            audience="all",
            send_at=now,
            author="x",
            now=now,
            photo=photo,
            link_url="https://canhbao.khonggianmang.gov.vn",
        )
        broadcasts.approve(session, alert, "y", now)


async def _report_up_to_photos(person) -> str:  # type: ignore[no-untyped-def]
    """A plain report from /totgiac to the photo question (which it returns)."""
    story = Story(
        account="Người xưng công an gọi từ 0912 345 678 đòi chuyển tiền xác minh",
        amount="Không mất tiền",
        when="Hôm qua",
    )
    await person.walk_report(story, until="evidence")
    return str(person.screen()[0])


async def _walk_every_journey(person) -> str:  # type: ignore[no-untyped-def]
    """Every resident journey, as a resident on a channel without Telegram would."""
    assert "Không sợ" in await person.say("/canhgiac")
    assert "thủ đoạn" in (await person.say("/thudoan")).lower()
    await person.press("Giả danh, tin nhắn")  # the library's group, then the trick
    assert "Dấu hiệu" in await person.press("Giả danh công an")
    assert "chưa có xác nhận" in await person.say("/kiemtra 0912 345 678")
    assert "Câu 1/" in await person.say("/cauhoi")
    answered = await person.say("1")  # the first option, by number
    assert "Đúng!" in answered or "Chưa đúng" in answered
    story = Story(
        account="Người xưng công an gọi từ 0912 345 678 đòi chuyển tiền xác minh",
        amount="5 triệu",
        when="Hôm qua",
    )
    code = await person.walk_report(story)
    assert code, person.screen()
    assert code in await person.say("/theodoi")
    await person.say("/dangky")
    assert "Đã đăng ký" in await person.press("Không chọn")
    assert "Đã hủy đăng ký" in await person.say("/huydangky")
    assert "Đường dây nóng" in await person.say("/trogiup")
    assert "Xóa dữ liệu" in await person.say("/xoadulieu")
    assert "Đã xóa" in await person.press("Xóa dữ liệu của tôi")
    return code


async def test_every_journey_on_the_official_account(oa: ZaloOA, oa_running, db: Database) -> None:
    person = OAResident(oa, "4001")
    welcome = await person.send(oa.build("4001", "follow"))
    assert "Cảnh giác" in welcome
    code = await _walk_every_journey(person)
    for message in oa.sent:
        assert "<b>" not in message.text and len(message.text) <= 2000
        assert all(len(b["title"]) <= 100 for b in message.buttons)
    assert any("ả" in m.text or "ệ" in m.text for m in oa.sent)  # diacritics survive
    with db.transaction() as session:
        assert (
            session.exec(select(Report).where(Report.receipt_code == code)).one().channel
            == "zalo_oa"
        )


async def test_signatures_and_replays_are_refused(oa: ZaloOA, oa_running, db: Database) -> None:
    event = oa.text("4002", "/start")
    raw = json.dumps(event).encode()
    assert await asyncio.to_thread(oa.post, event, "mac=" + "0" * 64) == 403
    assert await asyncio.to_thread(oa.post, event, "") == 403
    wrong_secret = oa.sign(raw, event["timestamp"], secret="not-the-secret")
    assert await asyncio.to_thread(oa.post, event, wrong_secret, raw) == 403
    tampered = raw.replace(b"/start", b"/totgiac")
    assert (
        await asyncio.to_thread(oa.post, event, oa.sign(raw, event["timestamp"]), tampered) == 403
    )
    old = {**oa.text("4002", "/start"), "timestamp": str(int((time.time() - 3600) * 1000))}
    assert await asyncio.to_thread(oa.post, old) == 403  # correctly signed, but an hour old
    assert not oa.messages_to("4002")
    with db.transaction() as session:
        assert not session.exec(select(Conversation)).all()  # nothing was processed
    assert await asyncio.to_thread(oa.post, event) == 200
    assert await asyncio.to_thread(oa.post, event) == 200  # a redelivery: answered once
    assert len(oa.messages_to("4002")) == 1


async def test_token_refresh_rotates_and_is_stored(oa: ZaloOA, oa_running, db: Database) -> None:
    person = OAResident(oa, "4003")
    await person.say("/start")
    assert oa.refreshes == 1  # no access token yet: the stored refresh token was used once
    with db.transaction() as session:
        assert session.get(AppSecret, REFRESH).value == oa.refresh_token  # type: ignore[union-attr]
    oa.expire_access_token()  # Zalo now answers -216
    assert "Không sợ" in await person.say("/canhgiac")
    assert oa.refreshes == 2
    with db.transaction() as session:
        assert session.get(AppSecret, REFRESH).value == oa.refresh_token  # type: ignore[union-attr]


def test_two_processes_refreshing_at_once_refresh_once(
    oa: ZaloOA, database_url: str, db: Database
) -> None:
    """Two workers (each with its own database connection pool, as two processes would have)
    find no valid token at the same moment: Zalo sees one refresh, both use its token."""
    results: list[str] = []

    def worker() -> None:
        own = Database(database_url)
        try:
            tokens = ZaloTokens(
                own,
                app_id=oa.app_id,
                secret_key=oa.secret_key,
                oauth_url=oa.root,
                first_refresh_token="first-refresh-token",
            )
            results.append(tokens.refresh(stale=None))
        finally:
            own.dispose()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert oa.refreshes == 1 and len(set(results)) == 1 and results[0] == oa.access_token


async def test_an_alert_outside_the_window_waits_for_the_next_message(
    oa: ZaloOA, oa_running, db: Database
) -> None:
    active, quiet = OAResident(oa, "4010"), OAResident(oa, "4011")
    for person in (active, quiet):
        await person.say("/dangky")
        await person.press("Không chọn")
    oa.inactive.add("4011")  # hasn't written in 7 days: Zalo answers -230
    _approved_alert(db, "Cảnh báo: giả danh điện lực gọi đòi tiền")
    for _ in range(100):
        await asyncio.sleep(0.1)
        with db.transaction() as session:
            statuses = {d.recipient: d.status for d in session.exec(select(Delivery)).all()}
        if statuses.get("4011") == broadcasts.WAITING and statuses.get("4010") == broadcasts.SENT:
            break
    assert statuses == {"4010": broadcasts.SENT, "4011": broadcasts.WAITING}
    assert sum("điện lực" in m.text for m in oa.messages_to("4010")) == 1
    oa.inactive.discard("4011")
    await quiet.say("/start")  # the resident writes again: the alert is released and goes
    for _ in range(100):
        if any("điện lực" in m.text for m in oa.messages_to("4011")):
            break
        await asyncio.sleep(0.1)
    assert sum("điện lực" in m.text for m in oa.messages_to("4011")) == 1


async def test_a_zalo_tip_followed_up_on_telegram_and_answered_on_zalo(
    fake: FakeTelegram, oa: ZaloOA, bot_settings: Settings, db: Database
) -> None:
    from tests.telegram_user import TelegramUser

    with db.transaction() as session:
        officers.add(session, "Đinh Văn Khoa", "officer", 9900)
    settings = dataclasses.replace(
        _oa_settings(bot_settings, oa, telegram=True), police_chat_id=str(POLICE_CHAT)
    )
    async for _ in running_bot(settings):
        person = OAResident(oa, "4020")
        await _report_up_to_photos(person)
        await person.press("Bỏ qua")
        await person.press("Ẩn danh")
        code = CODE.search(await person.press("Gửi tố giác"))
        assert code
        await fake.until(
            lambda _: any(m.text.startswith("🚨") for m in fake.messages_to(POLICE_CHAT)), 15
        )
        card = next(m for m in fake.messages_to(POLICE_CHAT) if m.text.startswith("🚨"))
        assert "4020" not in card.text
        officer = TelegramUser(fake, 9900)
        claim = next(d for t, d in card.buttons if "Nhận xử lý" in t)
        fake.push(callback_update(9900, claim, chat_id=POLICE_CHAT))
        await fake.until(lambda s: any(m.method == "editMessageText" for m in s), 15)
        card = [m for m in fake.messages_to(POLICE_CHAT) if m.text.startswith("🚨")][-1]
        ask = next(d for t, d in card.buttons if "Cần thêm thông tin" in t)
        press = callback_update(9900, ask, chat_id=POLICE_CHAT)
        await officer._expect(lambda p=press: fake.push(p))
        await officer.say("Số tài khoản họ yêu cầu chuyển là gì?")
        for _ in range(100):
            if any("Số tài khoản họ yêu cầu" in m.text for m in oa.messages_to("4020")):
                break
            await asyncio.sleep(0.1)
        question = [m for m in oa.messages_to("4020") if "Số tài khoản họ yêu cầu" in m.text][-1]
        assert "Đinh Văn Khoa" not in question.text and code.group(1) in question.text
        await person.press("Trả lời")
        assert "Đã gửi bổ sung" in await person.say("Tài khoản 190312345678 Techcombank")
        await fake.until(
            lambda _: any(
                "190312345678 Techcombank" in m.text for m in fake.messages_to(POLICE_CHAT)
            ),
            15,
        )


async def test_every_journey_on_zalo_bot_by_polling(
    zbot: ZaloBot, bot_settings: Settings, db: Database
) -> None:
    settings = _zalo_bot_settings(bot_settings, zbot)
    async for _ in running_bot(settings):
        person = BotResident(zbot, "5001")
        await _walk_every_journey(person)
    for message in zbot.sent:
        assert "<b>" not in message.text and 1 <= len(message.text) <= 2000


async def test_zalo_bot_webhook_checks_its_secret_and_takes_wrapped_updates(
    zbot: ZaloBot, bot_settings: Settings
) -> None:
    port = free_port()
    settings = dataclasses.replace(
        _zalo_bot_settings(bot_settings, zbot),
        zalo_bot_webhook_url=f"http://127.0.0.1:{port}/zalo/bot",
        zalo_bot_webhook_secret="a-long-enough-secret",
        http_port=port,
    )
    async for _ in running_bot(settings):
        assert zbot.webhook and zbot.webhook["secret_token"] == "a-long-enough-secret"
        zbot.wrapped = True
        person = BotResident(zbot, "5002")
        assert "Không sợ" in await person.say("/canhgiac")
        import aiohttp

        async with aiohttp.ClientSession() as session:
            forged = zbot.text("5002", "/totgiac")
            async with session.post(
                f"http://127.0.0.1:{port}/zalo/bot",
                json=forged,
                headers={"X-Bot-Api-Secret-Token": "wrong"},
            ) as response:
                assert response.status == 403


class BotResident(ZaloScreen):
    """A resident on Zalo Bot: no buttons, so options are answered by number."""

    def __init__(self, server: ZaloBot, chat: str) -> None:
        self.server, self.chat = server, chat

    def inbox(self) -> list:
        return self.server.messages_to(self.chat)

    async def say(self, text: str) -> str:
        before = len(self.server.messages_to(self.chat))
        await asyncio.to_thread(self.server.push, self.server.text(self.chat, text))
        for _ in range(200):
            await asyncio.sleep(0.05)
            now = self.server.messages_to(self.chat)
            if len(now) > before:
                await asyncio.sleep(0.15)  # a turn may send several
                return "\n".join(m.text for m in self.server.messages_to(self.chat)[before:])
        raise AssertionError(f"no answer to {text!r}")

    async def press(self, label: str) -> str:
        for message in reversed(self.server.messages_to(self.chat)):
            for line in message.text.splitlines():
                if (match := re.match(r"\s*\[(\d+)\] (.*)", line)) and label.lower() in match.group(
                    2
                ).lower():
                    return await self.say(match.group(1))
        raise AssertionError(f"no option {label!r}")


async def test_a_status_notice_outside_the_window_waits_for_the_next_message(
    oa: ZaloOA, oa_running, db: Database
) -> None:
    from db import outbox
    from db.models import Outbox
    from handlers.types import Reply

    person = OAResident(oa, "4030")
    await person.say("/start")
    oa.inactive.add("4030")
    with db.transaction() as session:
        notice = Reply("Tố giác ABCD-2345 của bạn: Đang xác minh.").to_dict()
        outbox.enqueue(
            session, outbox.Message("zalo_oa", "4030", "reply", notice), datetime.now(UTC)
        )
    for _ in range(100):
        await asyncio.sleep(0.1)
        with db.transaction() as session:
            row = session.exec(select(Outbox).where(Outbox.recipient == "4030")).all()[-1]
            if row.status == "waiting":
                break
    assert row.status == "waiting" and not any("Đang xác minh" in m.text for m in person.inbox())
    oa.inactive.discard("4030")
    await person.say("/start")
    for _ in range(100):
        if any("Đang xác minh" in m.text for m in person.inbox()):
            break
        await asyncio.sleep(0.1)
    assert sum("Đang xác minh" in m.text for m in person.inbox()) == 1


async def test_a_photo_sent_to_the_oa_becomes_evidence(
    oa: ZaloOA, oa_running, db: Database
) -> None:
    from db.models import Evidence

    person = OAResident(oa, "4040")
    asked = await _report_up_to_photos(person)
    assert "ảnh" in asked.lower()
    url = oa.add_file(b"\xff\xd8zalo-screenshot")
    assert "Đã nhận" in await person.send(oa.image("4040", url))
    await person.press("Xong")
    await person.press("Ẩn danh")
    assert CODE.search(await person.press("Gửi tố giác"))
    with db.transaction() as session:
        evidence = session.exec(select(Evidence)).one()
        assert evidence.data == b"\xff\xd8zalo-screenshot" and evidence.report_id is not None


def test_arbitrary_bodies_and_signatures_never_raise() -> None:
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from bot.channels.zalo_oa import ZaloOAChannel

    channel = ZaloOAChannel.__new__(ZaloOAChannel)
    channel.app_id, channel.secret_key, channel.replay_window = "1234567890", "k", 300.0

    @settings(max_examples=200, deadline=None, database=None)
    @given(st.binary(max_size=300), st.text(max_size=80))
    def throw(raw: bytes, header: str) -> None:
        assert channel.verify(raw, header) is None  # never valid by chance, never an error

    throw()


async def test_odd_but_signed_events_are_ignored_or_answered(
    oa: ZaloOA, oa_running, db: Database
) -> None:
    odd = [
        oa.build("4050", "user_send_text", message={}),
        oa.build("4050", "user_send_text"),
        oa.build("4050", "user_seen_message", message={"msg_ids": ["x"]}),
        oa.build("4050", "user_send_sticker", message={"msg_id": "st1", "attachments": []}),
        oa.build("4050", "user_send_image", message={"msg_id": "im1", "attachments": [{}]}),
        {**oa.build("", "user_send_text", message={"text": "hi", "msg_id": "m9"})},
    ]
    for event in odd:
        assert await asyncio.to_thread(oa.post, event) == 200
    assert all("<b>" not in m.text for m in oa.messages_to("4050"))


def test_the_token_is_refreshed_an_hour_before_it_expires(oa: ZaloOA, db: Database) -> None:
    from datetime import timedelta

    now = [datetime.now(UTC)]
    tokens = ZaloTokens(
        db,
        app_id=oa.app_id,
        secret_key=oa.secret_key,
        oauth_url=oa.root,
        first_refresh_token=oa.refresh_token,
        clock=lambda: now[0],
    )
    first = tokens.refresh()
    assert tokens.current() == first and oa.refreshes == 1
    now[0] += timedelta(hours=23)  # 25 hours of life: two left, still good
    assert tokens.current() == first
    now[0] += timedelta(hours=1, minutes=30)  # half an hour left: due
    assert tokens.current() is None
    second = tokens.refresh()
    assert second != first and oa.refreshes == 2


async def test_a_photo_sent_to_zalo_bot_becomes_evidence(
    zbot: ZaloBot, bot_settings: Settings, db: Database
) -> None:
    from db.models import Evidence

    settings = _zalo_bot_settings(bot_settings, zbot)
    async for _ in running_bot(settings):
        person = BotResident(zbot, "5003")
        await _report_up_to_photos(person)
        url = zbot.add_file(b"\xff\xd8bot-screenshot")
        before = len(zbot.messages_to("5003"))
        await asyncio.to_thread(zbot.push, zbot.photo("5003", url))
        for _ in range(100):
            if len(zbot.messages_to("5003")) > before:
                break
            await asyncio.sleep(0.05)
        assert "Đã nhận" in zbot.messages_to("5003")[-1].text
    with db.transaction() as session:
        assert session.exec(select(Evidence)).one().data == b"\xff\xd8bot-screenshot"


async def test_an_expired_token_is_refreshed_with_the_apps_own_secret(
    oa: ZaloOA, bot_settings: Settings, db: Database
) -> None:
    """The app's secret (token refresh) may differ from the OA's (webhook signatures), and
    Zalo's "expired" (-220) is refreshed like "invalid" (-216)."""
    oa.app_secret, oa.token_error = "app-secret-key", -220
    settings = dataclasses.replace(
        _oa_settings(bot_settings, oa), zalo_app_secret_key="app-secret-key"
    )
    async for _ in running_bot(settings):
        person = OAResident(oa, "4050")
        assert "Cảnh giác" in await person.say("/start")
        oa.expire_access_token()
        assert "Không sợ" in await person.say("/canhgiac")
        assert oa.refreshes == 2


async def test_each_zalo_refusal_is_treated_by_what_it_means(
    oa: ZaloOA, oa_running, db: Database
) -> None:
    people = {user: OAResident(oa, user) for user in ("4060", "4061", "4062", "4063", "4064")}
    for person in people.values():
        await person.say("/dangky")
        await person.press("Không chọn")
    oa.refusals.update(
        {
            "4061": -244,  # restricted this kind of message from the OA: gone for alerts
            "4062": -201,  # the message is wrong as written: failed, never retried
            "4063": -32,  # the app's per-minute limit: tried again in a minute
            "4064": -232,  # no recent interaction: waits for the resident's next message
        }
    )
    _approved_alert(db, "Cảnh báo: giả danh ngân hàng")
    wanted = {
        "4060": broadcasts.SENT,
        "4061": broadcasts.BLOCKED,
        "4062": broadcasts.FAILED,
        "4064": broadcasts.WAITING,
    }
    for _ in range(150):
        await asyncio.sleep(0.1)
        with db.transaction() as session:
            rows = {d.recipient: d for d in session.exec(select(Delivery)).all()}
        settled = len(rows) == 5 and all(rows[u].status == s for u, s in wanted.items())
        if settled and rows["4063"].last_error:
            break
    assert {u: rows[u].status for u in wanted} == wanted
    limited = rows["4063"]
    assert limited.status == broadcasts.QUEUED and limited.attempts == 0
    assert limited.next_attempt_at.replace(tzinfo=UTC) > datetime.now(UTC) + timedelta(seconds=30)
    with db.transaction() as session:
        gone = session.exec(select(Resident).where(col(Resident.blocked).is_(True))).all()
        assert [r.user_id for r in gone] == ["4061"]
    # A reply Zalo refuses as written is recorded failed; the next one goes.
    oa.refusals["4060"] = -201
    await people["4060"].say("/trogiup")
    for _ in range(100):
        with db.transaction() as session:
            failed = session.exec(select(Outbox).where(Outbox.status == "failed")).all()
        if failed:
            break
        await asyncio.sleep(0.1)
    assert [row.recipient for row in failed] == ["4060"]
    del oa.refusals["4060"]
    assert "Đường dây nóng" in await people["4060"].say("/trogiup")


async def _until_each_has(oa: ZaloOA, users: list[str], words: str) -> None:
    for _ in range(150):
        if all(any(words in m.text for m in oa.messages_to(u)) for u in users):
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{words!r} did not reach {users}")


async def test_an_alert_photo_is_uploaded_once_and_carries_the_words(
    oa: ZaloOA, oa_running, db: Database
) -> None:
    users = ["4070", "4071", "4072"]
    for user in users:
        await OAResident(oa, user).say("/dangky")
        await OAResident(oa, user).press("Không chọn")
    photo = b"\x89PNG\r\n\x1a\n" + b"anh-canh-bao" * 100
    oa.inactive.add("4072")  # outside the window: this one waits for their next message
    _approved_alert(db, "Giả danh điện lực gọi đòi tiền", photo)
    await _until_each_has(oa, users[:2], "điện lực")
    for user in users[:2]:
        (alert,) = [m for m in oa.messages_to(user) if "điện lực" in m.text]
        assert alert.image == photo and not alert.buttons  # a photo message has no buttons
        assert "/huydangky" in alert.text and "canhbao.khonggianmang.gov.vn" in alert.text
    assert oa.upload_calls == 1
    # Meanwhile Zalo forgets the upload: the waiting send meets -100, uploads again, goes.
    oa.uploads.clear()
    oa.inactive.discard("4072")
    await OAResident(oa, "4072").say("/start")
    await _until_each_has(oa, users[2:], "điện lực")
    assert [m.image for m in oa.messages_to("4072") if "điện lực" in m.text] == [photo]
    assert oa.upload_calls == 2
    # A photo Zalo will not take (over 1 MB): the words go alone, with their buttons.
    _approved_alert(db, "Lừa đảo tuyển cộng tác viên", b"\xff\xd8" + b"x" * 1_100_000)
    await _until_each_has(oa, users, "cộng tác viên")
    alone = [m for m in oa.messages_to("4070") if "cộng tác viên" in m.text]
    assert len(alone) == 1 and alone[0].image is None and alone[0].buttons
