"""Finding the scammer's phones, bank accounts, links and handles in what a resident wrote."""

from __future__ import annotations

import re

from content import Content, fold
from db.identifiers import ParsedIdentifier, bank_account, handle, link, phone

# Common top-level domains: bare "word.word" text only counts as a link with one of these.
_TLDS = (
    "com|net|org|vn|info|xyz|top|site|online|shop|store|app|io|me|cc|co|biz|club|live|"
    "link|vip|asia|pro|tk|ml|ga|cf|gq|ly|gl|icu|fun|click|win|bet|cn|ru|kh|la|th|ph|"
    "id|us|uk|sg|tv|cam|space|website|tech|in"
)
_URL = re.compile(
    r"(?:https?://[^\s<>\"']+)|"
    rf"(?:\b(?:[a-z0-9](?:[a-z0-9-]{{0,61}}[a-z0-9])?\.)+(?:{_TLDS})\b(?:/[^\s<>\"']*)?)",
    re.IGNORECASE,
)
_HANDLE = re.compile(r"(?<![\w.])@([A-Za-z][A-Za-z0-9_]{4,31})\b")
_DIGITS = re.compile(r"\+?\d[\d .\-]{4,24}\d")
_THOUSANDS = re.compile(r"^\d{1,3}(?:\.\d{3})+$")
# A unit right after the digits makes them an amount; \b so "0912 345 678 đòi" stays a phone.
_MONEY_AFTER = re.compile(
    r"^\s*(?:đ|d|vnd|vnđ|k|tr|trieu|triệu|nghin|nghìn|ngan|ngàn|ty|tỷ|tỉ|dong|đồng)\b",
    re.IGNORECASE,
)
_ACCOUNT_WORDS = ("stk", "so tk", "tk", "tai khoan", "account", "so tai khoan")


class Found:
    """What a message names: identifiers, and bank accounts whose bank is still unknown."""

    def __init__(self) -> None:
        self.identifiers: list[ParsedIdentifier] = []
        self.accounts_without_bank: list[str] = []

    def add(self, parsed: ParsedIdentifier) -> None:
        if all(
            (p.kind, p.value, p.bank) != (parsed.kind, parsed.value, parsed.bank)
            for p in self.identifiers
        ):
            self.identifiers.append(parsed)


def find_bank(content: Content, text: str) -> str:
    """The code of the bank named earliest in the text, or ''."""
    folded = f" {re.sub(r'[^a-z0-9]+', ' ', fold(text))} "
    best, best_at = "", len(folded)
    for bank in content.banks:
        for alias in bank["aliases"]:
            at = folded.find(f" {alias} ")
            if 0 <= at < best_at:
                best, best_at = str(bank["code"]), at
    return best


def extract(content: Content, text: str) -> Found:
    found = Found()
    taken: list[tuple[int, int]] = []
    for match in _URL.finditer(text):
        parsed = link(match.group(0))
        if parsed:
            found.add(parsed)
            taken.append(match.span())
    for match in _HANDLE.finditer(text):
        found.add(handle(match.group(1)))
    # Links are blanked so a bank name inside a scam URL is not taken for the account's bank.
    plain = "".join(" " if any(s <= i < e for s, e in taken) else ch for i, ch in enumerate(text))
    for match in _DIGITS.finditer(text):
        start, end = match.span()
        if any(s <= start < e for s, e in taken):
            continue  # digits inside a link
        raw = match.group(0).strip(" .-")
        if _THOUSANDS.match(raw) or _MONEY_AFTER.match(text[end : end + 8]):
            continue  # an amount of money, not an account
        before = fold(text[max(0, start - 16) : start])
        says_account = any(re.search(rf"\b{w}\b", before) for w in _ACCOUNT_WORDS)
        as_phone = None if says_account else phone(raw)
        if as_phone:
            found.add(as_phone)
            continue
        digits = "".join(c for c in raw if c.isdigit())
        if 6 <= len(digits) <= 19:
            bank = _bank_near(content, plain, start, end)
            if bank:
                account = bank_account(digits, bank)
                if account:
                    found.add(account)
            elif digits not in found.accounts_without_bank:
                found.accounts_without_bank.append(digits)
    return found


def _bank_near(content: Content, text: str, start: int, end: int) -> str:
    """The bank named right after the number, else right before it, else anywhere."""
    after, before = text[end : end + 32], text[max(0, start - 32) : start]
    return find_bank(content, after) or find_bank(content, before) or find_bank(content, text)
