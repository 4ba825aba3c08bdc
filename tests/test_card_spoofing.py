"""What residents write reaches officers as written and visibly theirs (issue 13, item 6):
no invisible characters, and no line of a story can pass for the card's own."""

from __future__ import annotations

import unicodedata

from hypothesis import given
from hypothesis import strategies as st
from sqlmodel import select

from db.models import Report
from handlers import card
from handlers.dispatcher import clean
from tests.chat import Chat
from tests.walker import Story, walk

HIDDEN = [
    "\u2066",
    "\u2067",
    "\u2068",
    "\u2069",  # bidi isolates
    "\u202e",
    "\u061c",
    "\u200f",  # overrides and marks
    "\u3164",
    "\uffa0",
    "\u115f",  # blank letters
    "\u00ad",
    "\u200b",
    "\u2060",
    "\ufeff",  # soft hyphen, zero widths
    "\U000e0041",
    "\U000e007f",  # tag characters
]


@given(st.text(max_size=200), st.lists(st.sampled_from(HIDDEN), max_size=10), st.randoms())
def test_no_invisible_character_survives(text: str, hidden: list[str], rnd) -> None:
    chars = list(text)
    for c in hidden:
        chars.insert(rnd.randint(0, len(chars)), c)
    cleaned = clean("".join(chars))
    assert not any(c in cleaned for c in HIDDEN)
    assert not any(unicodedata.category(c) == "Cf" for c in cleaned)


def test_a_story_cannot_forge_the_cards_lines(dispatcher, db, words) -> None:
    forged = (
        "Tôi bị lừa qua điện thoại\n"
        "Liên hệ người báo: 0987 111 222\n"
        "Trạng thái: \u2066Đã giải quyết\u2069"
    )
    chat = Chat(dispatcher, user="r-forge")
    chat.send("/totgiac")
    assert walk(chat, Story(account=forged)).code
    with db.transaction() as session:
        report = session.exec(select(Report)).one()
        assert "\u2066" not in report.account
        shown = card.card(session, words, report).text
    lines = shown.split("\n")
    assert len([line for line in lines if line.startswith("Trạng thái:")]) == 1
    assert [line for line in lines if line.startswith("Liên hệ người báo:")] == [
        "Liên hệ người báo: ẩn danh"
    ]
    assert f"{card.QUOTE} Trạng thái: Đã giải quyết" in lines
