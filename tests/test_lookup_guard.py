"""/kiemtra cannot be poisoned or scraped (issue 13, item 2), and an old confirmation is told
with its date (item 1: numbers change hands)."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from db.models import Identifier
from tests.chat import Chat
from tests.walker import Story, walk


def _report(chat: Chat, account: str) -> None:
    chat.send("/totgiac")
    assert walk(chat, Story(account=account)).code


def test_one_account_filing_many_reports_is_one_voice(dispatcher) -> None:
    attacker = Chat(dispatcher, user="attacker")
    for n in range(dispatcher.limits.reports_per_day):
        _report(attacker, f"Số 0987654321 lừa đảo tôi lần {n}, đòi chuyển tiền cọc")
    checker = Chat(dispatcher, user="neighbour")
    checker.send("/kiemtra 0987654321")
    assert "chưa có xác nhận" in checker.text and "phản ánh" not in checker.text


def test_look_ups_are_limited_per_resident(dispatcher) -> None:
    limits = dispatcher.limits
    scraper = Chat(dispatcher, user="scraper")
    for n in range(limits.identifier_lookups_per_hour):
        scraper.send(f"/kiemtra 09123456{n:02d}")
        assert "chưa có xác nhận" in scraper.text
    scraper.send("/kiemtra 0912345699")
    assert "trong một giờ" in scraper.text and "0912 345 699" not in scraper.text
    other = Chat(dispatcher, user="someone-else")
    other.send("/kiemtra 0912345699")
    assert "0912 345 699" in other.text  # others are not held back


def test_an_old_confirmation_is_told_with_its_date(dispatcher, db, clock) -> None:
    _report(Chat(dispatcher, user="r1"), "Số 0911222333 gọi xưng ngân hàng đòi OTP")
    with db.transaction() as session:
        row = session.exec(select(Identifier).where(Identifier.value == "+84911222333")).one()
        row.confirmed_scam, row.confirmed_at = True, clock() - timedelta(days=200)
    checker = Chat(dispatcher, user="r2")
    checker.send("/kiemtra 0911222333")
    assert "đã được Công an xác nhận" in checker.text and "có thể đã đổi chủ" in checker.text
    with db.transaction() as session:
        row = session.exec(select(Identifier).where(Identifier.value == "+84911222333")).one()
        row.confirmed_at = clock() - timedelta(days=10)
    checker.send("/kiemtra 0911222333")
    assert "đã được Công an xác nhận" in checker.text and "đổi chủ" not in checker.text
