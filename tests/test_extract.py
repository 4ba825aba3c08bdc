"""Finding phones, bank accounts, links and handles in what residents write."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from content import Content
from handlers.extract import extract
from handlers.signals import mentions_held


def _found(words: Content, text: str) -> list[tuple[str, str, str]]:
    return [(i.kind, i.value, i.bank) for i in extract(words, text).identifiers]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("gọi từ 0912 345 678 đòi chuyển tiền", [("phone", "+84912345678", "")]),
        ("số 0912.345.678", [("phone", "+84912345678", "")]),
        ("+84 912 345 678", [("phone", "+84912345678", "")]),
        ("stk 190312345678 Techcombank", [("bank", "190312345678", "TCB")]),
        ("tk 0912345678 MB bank", [("bank", "0912345678", "MB")]),  # a phone-number account
        (
            "123456789 acb và 9876543210123 bidv",
            [("bank", "123456789", "ACB"), ("bank", "9876543210123", "BIDV")],
        ),
        (
            "vào https://vietcombank-xacminh.com/login?x=1 nhé",
            [("url", "vietcombank-xacminh.com/login", "")],
        ),  # the bank name in a URL is no bank
        (
            "facebook.com/Ten.Gia và @lua_dao_99",
            [("social", "facebook.com/ten.gia", ""), ("social", "t.me/lua_dao_99", "")],
        ),
        ("mất 5.000.000đ ngày 20/11, 5tr nữa, 500k", []),  # amounts and dates are not accounts
        ("ở tp.hcm", []),
    ],
)
def test_what_is_found(words: Content, text: str, expected: list) -> None:
    assert _found(words, text) == expected


def test_an_account_without_a_bank_is_held_to_ask(words: Content) -> None:
    found = extract(words, "chuyển vào 0123456789")
    assert found.identifiers == [] and found.accounts_without_bank == ["0123456789"]


@given(st.text(max_size=400))
def test_any_text_extracts_without_error(text: str) -> None:
    import content

    found = extract(content.load(), text)
    assert all(i.value for i in found.identifiers)


def test_words_that_may_mean_someone_is_held(words: Content) -> None:
    assert mentions_held(words, "Con tôi bị lừa sang Campuchia, KHÔNG CHO VỀ")
    assert not mentions_held(words, "mất 5 triệu vì mua hàng online")


def test_a_zalo_link_by_phone_is_that_phone(words: Content) -> None:
    found = extract(words, "nó nhắn qua zalo.me/0912345678 rồi gọi 0912 345 678")
    assert [(i.kind, i.value) for i in found.identifiers] == [("phone", "+84912345678")]
