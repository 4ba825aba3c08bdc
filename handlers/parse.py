"""Understanding what residents type: amounts of money, dates, receipt codes."""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation

from content import fold
from db.reports import RECEIPT_ALPHABET

MAX_AMOUNT = 10**15  # 1.000 nghìn tỷ: anything above is a typo, not a loss

_UNITS = {
    "ty": 10**9,
    "ti": 10**9,
    "trieu": 10**6,
    "tr": 10**6,
    "cu": 10**6,
    "m": 10**6,
    "nghin": 10**3,
    "ngan": 10**3,
    "k": 10**3,
    "ng": 10**3,
    "dong": 1,
    "d": 1,
    "vnd": 1,
    "vnđ": 1,
    "": 1,
}
_AMOUNT = re.compile(r"^(-?\d[\d.,\s]*)\s*([a-z]*)\s*(?:(\d{1,3})\s*(?:[a-z]*))?$")


class AmountError(ValueError):
    """The amount is unreadable ("invalid") or impossible ("absurd")."""


def parse_amount(text: str) -> int:
    """'5 triệu', '5tr', '5.000.000đ', '1,5 tỷ', '500k', '5tr5' -> whole đồng."""
    folded = fold(text).replace(" ", "")
    match = _AMOUNT.match(folded)
    if not match or match.group(2) not in _UNITS:
        raise AmountError("invalid")
    number, unit, tail = match.group(1), match.group(2), match.group(3)
    multiplier = _UNITS[unit]
    if number.startswith("-"):
        raise AmountError("absurd")
    number = number.replace(" ", "")
    if multiplier > 1 and re.fullmatch(r"\d+[.,]\d{1,2}", number):
        number = number.replace(",", ".")  # "1,5 tỷ": a decimal comma with a unit
    else:
        number = number.replace(".", "").replace(",", "")  # "5.000.000": thousands separators
    try:
        value = Decimal(number) * multiplier
    except InvalidOperation as error:
        raise AmountError("invalid") from error
    if tail and multiplier >= 10**6:  # "5tr5" = 5.5 million
        value += Decimal(tail) * multiplier // (10 ** len(tail))
    if value <= 0 or value >= MAX_AMOUNT:
        raise AmountError("absurd")
    return int(value)


# A sum that was lost: after a word for paying or losing, within a few words ("chuyển cọc
# 5tr", "mất 2,5 triệu"), not a promised salary or a ransom asked for.
_AMOUNT_IN_TEXT = re.compile(
    r"\b(?:mat|chuyen|ck|nap|dong|gui|bi lua|chiem doat|rut)\b(?:\s+\S+){0,3}?\s+"
    r"((?:\d{1,3}(?:[.,]\d{3})+|\d+(?:[.,]\d{1,2})?)\s*"
    r"(?:trieu|tr|ty|ti|ngan|nghin|k|cu|dong|d|vnd))\b"
)


def amount_in(text: str) -> int | None:
    """The first sum of money with its unit in free text ("chuyển 5tr", "mất 2,5 triệu")."""
    for match in _AMOUNT_IN_TEXT.finditer(fold(text)):
        try:
            return parse_amount(match.group(1))
        except AmountError:
            continue
    return None


def format_amount(amount: int) -> str:
    return f"{amount:,}".replace(",", ".") + " đ"


def substance(text: str) -> int:
    """How many letters and digits a free-text answer holds (emoji and marks don't inform)."""
    return sum(c.isalnum() for c in text)


class DateError(ValueError):
    """The date is unreadable ("invalid"), in the future ("future") or too old ("old")."""


_RELATIVE = {"hom nay": 0, "nay": 0, "hom qua": 1, "qua": 1, "hom kia": 2, "hom truoc": 2}
_AGO = re.compile(r"^(\d{1,3})\s*(ngay|tuan|thang)\s*(truoc|qua)?$")
_DMY = re.compile(r"^(\d{1,2})\s*[/.-]\s*(\d{1,2})(?:\s*[/.-]\s*(\d{2,4}))?$")


def parse_day(text: str, today: date) -> date:
    """'hôm qua', '20/11', '20/11/2026', '3 ngày trước' -> a date not after today."""
    folded = fold(text).removeprefix("ngay ").strip()
    if folded in _RELATIVE:
        return today - timedelta(days=_RELATIVE[folded])
    if folded == "tuan truoc":
        return today - timedelta(days=7)
    if match := _AGO.match(folded):
        count, unit = int(match.group(1)), match.group(2)
        days = count * {"ngay": 1, "tuan": 7, "thang": 30}[unit]
        if days > 366 * 30:
            raise DateError("old")
        return today - timedelta(days=days)
    if match := _DMY.match(folded):
        day, month = int(match.group(1)), int(match.group(2))
        year = int(match.group(3)) if match.group(3) else today.year
        if year < 100:
            year += 2000
        try:
            when = date(year, month, day)
        except ValueError as error:
            raise DateError("invalid") from error
        if not match.group(3) and when > today:
            when = when.replace(year=today.year - 1)  # "20/12" said in November: last December
        if when > today:
            raise DateError("future")
        if when.year < 2000:
            raise DateError("old")
        return when
    raise DateError("invalid")


# Times said without a day ("tuần trước", "mấy hôm trước", "2 tháng trước", "đầu tháng"):
# kept as said, never turned into a made-up day.
_VAGUE = re.compile(
    r"^(?:khoang |tam |cach day )?(?:"
    r"(?:\d{1,2}|mot|hai|ba|bon|nam|vai|may|mot vai) ?(?:tuan|thang|nam) ?(?:truoc|qua|roi|nay)?"
    r"|(?:tuan|thang|nam) (?:truoc|roi|ngoai)"
    r"|(?:may|vai|mot vai|mot so) (?:hom|ngay|bua)(?: truoc| nay| roi| qua)?"
    r"|(?:hom|bua|dao|thoi gian) truoc"
    r"|(?:dau|giua|cuoi) (?:tuan|thang|nam)(?: nay| truoc| roi| ngoai)?"
    r"|(?:tuan|thang|nam) nay|gan day|lau roi|moi day|hoi truoc|truoc tet|sau tet"
    r")(?: (?:a|ay|thi phai|roi))?$"
)
VAGUE_MAX = 60


def vague_time(text: str) -> str | None:
    """A time said without a day ("tuần trước"), as they said it; None for anything else."""
    folded = " ".join(re.sub(r"[^a-z0-9]+", " ", fold(text)).split())
    if _VAGUE.match(folded):
        return " ".join(text.split())[:VAGUE_MAX]
    return None


_CODE = re.compile(rf"^[{RECEIPT_ALPHABET}]{{8}}$")


def parse_receipt_code(text: str) -> str | None:
    """'abcd-efgh', 'ABCD EFGH', 'abcdefgh' -> 'ABCD-EFGH', or None."""
    compact = re.sub(r"[\s\-_.]", "", text.strip().upper())
    if not _CODE.match(compact):
        return None
    return f"{compact[:4]}-{compact[4:]}"
