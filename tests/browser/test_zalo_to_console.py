"""Issue 12's "done when", in a browser: with no Telegram configured at all, a report filed on
the Zalo OA stand-in pages the officer by Web Push (the stand-in push service decrypts it),
appears in the console's queue without a reload, and is claimed, questioned, answered and
decided on its page, while the resident hears each step on Zalo. The whole bot runs
(`serve`), against the stand-ins on 127.0.0.1."""

from __future__ import annotations

import dataclasses
import re
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from sqlmodel import select

from bot import settings as settings_module
from bot import webpush
from db import push
from db.clock import utcnow
from db.engine import Database
from db.models import Outbox, Report
from tests.browser.conftest import PHONE, add_officer, shoot, sign_in
from tests.browser.running import BotThread
from tests.fakes.push_service import Browser, FakePushService
from tests.fakes.zalo_servers import ZaloOA
from tests.test_zalo import OAResident, _oa_settings
from tests.walker import Story

NewPage = Callable[..., Page]
RESIDENT = "7301"


@pytest.fixture
def push_service() -> Iterator[FakePushService]:
    server = FakePushService().start()
    yield server
    server.stop()


def _until(what: str, found: Callable[[], Any], seconds: float = 20) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = found()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"not within {seconds} s: {what}")


def _heard(oa: ZaloOA, words: str) -> str:
    """The resident's newest message on Zalo that says `words`, waited for."""
    return str(
        _until(
            f"the resident hears {words!r}",
            lambda: next(
                (m.text for m in reversed(oa.messages_to(RESIDENT)) if words in m.text), ""
            ),
        )
    )


def _pushed(service: FakePushService, browser: Browser, words: str) -> dict[str, Any]:
    """The first notice on the phone whose body says `words`, decrypted, waited for."""
    return dict(
        _until(
            f"a push saying {words!r}",
            lambda: next((m for m in service.messages_to(browser) if words in m["body"]), None),
        )
    )


def test_a_zalo_report_is_paged_by_web_push_and_handled_in_the_console_without_telegram(
    database_url: str, db: Database, oa: ZaloOA, push_service: FakePushService, new_page: NewPage
) -> None:
    base = dataclasses.replace(
        settings_module.load(env_file=None),
        database_url=database_url,
        telegram_bot_token="",
        telegram_webhook_url="",
        police_chat_id="",
    )
    settings = _oa_settings(base, oa)
    root = f"http://127.0.0.1:{settings.http_port}"
    settings = dataclasses.replace(settings, public_url=root)
    assert not settings.telegram_bot_token and not settings.police_chat_id  # no Telegram at all
    officer = add_officer(db, "officer", "Trung úy Phan Minh Trí", utcnow)
    # The officer's phone, subscribed to Web Push with the console's key (the stand-in plays
    # its push service: headless Chromium cannot reach a real one).
    phone = push_service.subscribe(webpush.application_server_key(db))
    with db.transaction() as session:
        push.save(session, officer.id, phone.endpoint, phone.p256dh, phone.auth, utcnow())  # type: ignore[arg-type]

    bot = BotThread(settings).start()
    try:
        page = new_page(width=PHONE)
        page.clock.install()  # the queue looks for new reports every 15 s: time is moved by hand
        sign_in(page, root, officer, db, utcnow)
        page.goto(f"{root}/reports")
        expect(page.locator("main")).to_contain_text("Không có tố giác nào khớp")

        # A resident reports on Zalo.
        resident = OAResident(oa, RESIDENT)
        story = Story(
            account="Người xưng công an gọi từ 0912 345 678 đòi chuyển tiền xác minh",
            amount="Không mất tiền",
            when="Hôm qua",
        )
        code = bot.run(resident.walk_report(story))
        assert re.fullmatch(r"[A-Z0-9]{4}-[A-Z0-9]{4}", code), code

        # The officer's phone is paged, the payload decrypted by the push service.
        paged = _pushed(push_service, phone, code)
        assert paged["url"] == f"/reports/{code}" and "Tố giác" in paged["title"], paged

        # The queue drawn before says so without a reload.
        page.clock.fast_forward(16_000)
        fresh = page.locator("#fresh")
        expect(fresh).to_be_visible()
        expect(fresh).to_contain_text(code)
        fresh.get_by_role("link", name="Tải lại danh sách").click()
        page.get_by_role("link", name=code).click()
        expect(page.get_by_role("heading", level=1)).to_contain_text(code)
        expect(page.locator(".account")).to_contain_text("0912 345 678")
        shoot(page, "e2e-report-new")

        # Claimed: the resident is told.
        page.get_by_role("button", name="Nhận xử lý").click()
        expect(page.get_by_role("status")).to_be_visible()
        assert code in _heard(oa, "Cán bộ đã nhận xử lý")

        # A question, which reaches the resident on Zalo with the receipt code.
        question = "Người gọi yêu cầu chuyển vào số tài khoản nào?"
        page.locator("#note-ask").fill(question)
        page.get_by_role("button", name="Cần thêm thông tin").click()
        expect(page.locator(".history")).to_contain_text(question)
        asked = _heard(oa, question)
        assert code in asked and officer.name not in asked

        # The resident answers (/bosung): the answer is on the page, and the officer paged.
        bot.run(resident.say(f"/bosung {code}"))
        answer = "Tài khoản 190312345678 Techcombank, tên NGUYEN VAN B"
        assert "Đã gửi bổ sung" in bot.run(resident.say(answer))
        page.reload()
        expect(page.locator(".history")).to_contain_text("190312345678 Techcombank")
        assert _pushed(push_service, phone, "190312345678")["url"] == f"/reports/{code}"

        # Decided with words, which the resident hears.
        outcome = (
            "Đã phối hợp ngân hàng phong tỏa tài khoản nhận tiền, hồ sơ chuyển Đội Cảnh sát hình sự"
        )
        page.locator("#note-resolve").fill(outcome)
        page.get_by_role("button", name="Đã xử lý").click()
        expect(page.locator(".history")).to_contain_text(outcome)
        assert code in _heard(oa, "phong tỏa tài khoản nhận tiền")
        shoot(page, "e2e-report-resolved")
    finally:
        bot.stop()

    with db.transaction() as session:
        assert session.exec(select(Report)).one().status == "da_giai_quyet"
        assert not session.exec(select(Outbox).where(Outbox.channel == "telegram")).all()
