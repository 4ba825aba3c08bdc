"""Amounts, dates and receipt codes as residents type them."""

import contextlib
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from db.reports import RECEIPT_ALPHABET
from handlers.parse import (
    AmountError,
    DateError,
    format_amount,
    parse_amount,
    parse_day,
    parse_receipt_code,
)

TODAY = date(2026, 11, 22)


@pytest.mark.parametrize(
    ("typed", "dong"),
    [
        ("5 triệu", 5_000_000),
        ("5tr", 5_000_000),
        ("5.000.000đ", 5_000_000),
        ("5.000.000 đ", 5_000_000),
        ("5,5 triệu", 5_500_000),
        ("5tr5", 5_500_000),
        ("500k", 500_000),
        ("500 nghìn", 500_000),
        ("1 tỷ", 1_000_000_000),
        ("2 tỉ", 2_000_000_000),
        ("1,2 tỷ", 1_200_000_000),
        ("2.500.000 VND", 2_500_000),
        ("300000", 300_000),
        ("5 TRIỆU", 5_000_000),
        ("50 ngàn", 50_000),
    ],
)
def test_amounts_people_write(typed: str, dong: int) -> None:
    assert parse_amount(typed) == dong


@pytest.mark.parametrize(
    ("typed", "why"),
    [
        ("-5", "absurd"),
        ("0", "absurd"),
        ("1e99", "invalid"),
        ("abc", "invalid"),
        ("", "invalid"),
        ("9999999 tỷ", "absurd"),
        ("5 quả táo", "invalid"),
    ],
)
def test_impossible_amounts_are_refused(typed: str, why: str) -> None:
    with pytest.raises(AmountError, match=why):
        parse_amount(typed)


@given(st.text(max_size=60))
def test_any_text_is_an_amount_or_a_clear_refusal(typed: str) -> None:
    try:
        value = parse_amount(typed)
    except AmountError:
        return
    assert 0 < value < 10**15


def test_amount_display_uses_vietnamese_thousands() -> None:
    assert format_amount(5_500_000) == "5.500.000 đ"


@pytest.mark.parametrize(
    ("typed", "day"),
    [
        ("hôm nay", TODAY),
        ("Hôm qua", date(2026, 11, 21)),
        ("hôm kia", date(2026, 11, 20)),
        ("20/11", date(2026, 11, 20)),
        ("20/11/2025", date(2025, 11, 20)),
        ("20-11-26", date(2026, 11, 20)),
        ("3 ngày trước", date(2026, 11, 19)),
        ("tuần trước", date(2026, 11, 15)),
        ("25/12", date(2025, 12, 25)),
        ("ngày 1/11", date(2026, 11, 1)),
    ],
)
def test_days_people_write(typed: str, day: date) -> None:
    assert parse_day(typed, TODAY) == day


@pytest.mark.parametrize(
    ("typed", "why"),
    [
        ("30/02", "invalid"),
        ("1/12/2026", "future"),
        ("1/1/1999", "old"),
        ("mai", "invalid"),
    ],
)
def test_bad_days_are_refused(typed: str, why: str) -> None:
    with pytest.raises(DateError, match=why):
        parse_day(typed, TODAY)


@given(st.text(max_size=40))
def test_a_parsed_day_is_never_in_the_future(typed: str) -> None:
    with contextlib.suppress(DateError):
        assert parse_day(typed, TODAY) <= TODAY


def test_receipt_codes_are_read_forgivingly() -> None:
    assert parse_receipt_code(" abcd-efgh ") == "ABCD-EFGH"
    assert parse_receipt_code("ABCD EFGH") == "ABCD-EFGH"
    assert parse_receipt_code("abcdefgh") == "ABCD-EFGH"
    assert parse_receipt_code("ABCD-EFG0") is None  # 0 is never in a code
    assert parse_receipt_code("ABCD-EFGHJ") is None


@given(st.text(alphabet=RECEIPT_ALPHABET, min_size=8, max_size=8))
def test_every_issued_code_shape_reads_back(raw: str) -> None:
    assert parse_receipt_code(raw.lower()) == f"{raw[:4]}-{raw[4:]}"
