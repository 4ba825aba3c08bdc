"""Bad input anywhere gets a short Vietnamese answer and leaves the conversation in place."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import replace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from content import Content
from handlers import followup
from handlers.dispatcher import Dispatcher, clean
from handlers.parse import substance
from handlers.report import MIN_ACCOUNT, MIN_VICTIM
from handlers.types import State
from tests.chat import Chat
from tests.walker import Story, walk

_users = itertools.count()

STORY = Story(
    type="Đầu tư",
    account="Nhóm đầu tư tiền ảo hứa lãi cao rồi khóa tài khoản",
    amount="5tr",
    when="hôm qua",
)
REPORT_STEPS = (
    "consent",
    "type",
    "account",
    "identifiers",
    "amount",
    "when",
    "evidence",
    "contact",
    "confirm",
)


def _report_until(step: str, story: Story = STORY) -> Callable[[Chat], None]:
    """Reach a step of the report flow as the shared walker does (whatever comes before)."""

    def reach(chat: Chat) -> None:
        chat.send("/totgiac")
        walk(chat, story, until=step)

    return reach


def _steps(*actions: tuple[str, str]) -> Callable[[Chat], None]:
    def reach(chat: Chat) -> None:
        for action, value in actions:
            chat.press(value) if action == "press" else chat.send(value)

    return reach


def _then(first: Callable[[Chat], None], *actions: tuple[str, str]) -> Callable[[Chat], None]:
    def reach(chat: Chat) -> None:
        first(chat)
        _steps(*actions)(chat)

    return reach


# How to reach each step from a fresh conversation.
PATHS: dict[str, Callable[[Chat], None]] = {
    **{f"report:{step}": _report_until(step) for step in REPORT_STEPS},
    "report:victim": _then(_report_until("type"), ("press", "Mua bán người")),
    "report:bank": _report_until("bank", replace(STORY, identifiers=["0123456789"])),
    "report:phone": _report_until("phone", replace(STORY, phone="0987654321")),
    "report:resume": _then(_report_until("account"), ("send", "/start"), ("send", "/totgiac")),
    "report:held": _report_until(
        "held", replace(STORY, account="Con tôi sang Campuchia làm việc, giờ mất liên lạc")
    ),
    "quiz:q": _steps(("send", "/cauhoi")),
    "lookup:ask": _steps(("send", "/kiemtra")),
    "track:code": _steps(("send", "/theodoi"), ("press", "Tra bằng mã")),
    "subscribe:area": _steps(("send", "/dangky")),
    "privacy:confirm": _steps(
        ("send", "/dangky"), ("press", "Nam Gia Nghĩa"), ("send", "/xoadulieu")
    ),
    "followup:info": _then(
        _report_until("confirm"),
        ("press", "Gửi tố giác"),
        ("send", "/theodoi"),
        ("press", "Bổ sung"),
    ),
    "idle": _steps(("send", "/start")),
}
# The flow's name for a step, where the walker's differs.
STEP_NAMES = {"report:held": "report:urgent_check"}
# Steps that take free text: any text with a few letters or digits is an answer there.
FREE_TEXT = {
    "report:type": MIN_ACCOUNT,  # a story typed instead of a choice is taken as the story
    "report:account": MIN_ACCOUNT,
    "report:victim": MIN_VICTIM,
    "followup:info": followup.MIN_INFO,
}


def _walk(chat: Chat, where: str) -> State:
    PATHS[where](chat)
    state = chat.state()
    if where != "idle":
        assert f"{state.flow}:{state.step}" == STEP_NAMES.get(where, where), (where, chat.text)
    return state


def _fresh(dispatcher: Dispatcher, state: State, photos: bool) -> Chat:
    chat = Chat(dispatcher, user=f"fuzz-{next(_users)}", photos=photos)
    chat.put_state(state)
    return chat


BAD_INPUTS = [
    "",
    "   ",
    "\u200b\u200d\ufeff",
    "x" * 10_000,
    "😀🙏🔥" * 3,
    "<b>",
    "</i>&amp;<script>",
    "*_`[link](http://x)`_*",
    "'; DROP TABLE report; --",
    "/khonglenhnay",
    "1e99",
    "-5",
]


@pytest.mark.parametrize("where", [w for w in PATHS if w not in ("idle",)])
@pytest.mark.parametrize("bad", BAD_INPUTS)
def test_bad_input_keeps_the_step(
    dispatcher: Dispatcher, words: Content, where: str, bad: str
) -> None:
    start = _walk(Chat(dispatcher, user=f"walk-{next(_users)}", photos=True), where)
    chat = _fresh(dispatcher, start, photos=True)
    replies = chat.send(bad)
    after = chat.state()
    assert replies and all(r.text for r in replies)
    assert words.text("common.error") not in chat.text
    if (
        where in FREE_TEXT
        and substance(clean(bad)) >= FREE_TEXT[where]
        and len(bad) <= 4000
        and not bad.startswith("/")
    ):
        return  # a long enough account is an account, however odd
    assert (after.flow, after.step) == (start.flow, start.step), (bad, chat.text)
    assert after.draft == start.draft or (after.draft is None and start.draft is None)


@pytest.mark.parametrize("where", list(PATHS))
def test_arbitrary_text_at_every_step(dispatcher: Dispatcher, words: Content, where: str) -> None:
    start = _walk(Chat(dispatcher, user=f"walk-{next(_users)}", photos=True), where)

    @settings(
        max_examples=25,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(st.text(max_size=300))
    def throw(text: str) -> None:
        chat = _fresh(dispatcher, start, photos=True)
        replies = chat.send(text)
        assert replies, text
        assert all(r.text.strip() for r in replies)
        assert words.text("common.error") not in chat.text
        after = chat.state()
        if start.draft and after.draft:  # what the resident already gave is never lost
            for key in ("type", "account", "victim", "amount"):
                if getattr(start.draft, key) is not None:
                    assert getattr(after.draft, key) == getattr(start.draft, key)

    throw()


def test_stale_button_from_an_old_menu(chat: Chat) -> None:
    chat.send("/dangky")
    old = chat.button("Nam Gia Nghĩa")
    chat.send("/totgiac")
    chat.send(payload=old)
    assert "tin nhắn cũ" in chat.text and "Trước khi tố giác" in chat.text
    assert chat.state().step == "consent"


def test_stale_button_when_no_flow_is_open(chat: Chat) -> None:
    chat.send("/dangky")
    old = chat.button("Nam Gia Nghĩa")
    chat.send("/huy")
    chat.send(payload=old)
    assert "tin nhắn cũ" in chat.text and chat.replies[0].buttons


def test_forged_payloads_are_stale_not_errors(chat: Chat, words: Content) -> None:
    for forged in ("", "::", "9999:type:trafficking", "abc", "/", "1:2:3:4", "/totgiac@other"):
        chat.send(payload=forged)
        assert chat.replies and words.text("common.error") not in chat.text


def test_a_future_date_and_a_wrong_phone_keep_their_step(chat: Chat) -> None:
    _walk(chat, "report:when")
    chat.send("25/12/2099")
    assert "tương lai" in chat.text and chat.state().step == "when"
    chat.send("31/02")
    assert "không hiểu ngày" in chat.text and chat.state().step == "when"
    chat.send("hôm qua")
    chat.press("Để lại số")
    chat.send("12345")
    assert "chưa đúng" in chat.text and chat.state().step == "phone"


def test_absurd_amounts_keep_their_step(chat: Chat) -> None:
    _walk(chat, "report:amount")
    for absurd in ("-5", "0", "999999999 tỷ"):
        chat.send(absurd)
        assert "không hợp lệ" in chat.text and chat.state().step == "amount"
    chat.send("1e99")
    assert "không hiểu số tiền" in chat.text


def test_numbered_choices_pick_by_number_or_label(dispatcher: Dispatcher) -> None:
    chat = Chat(dispatcher, numbered=True)
    chat.send("/start")
    chat.send("2")  # the second menu entry
    assert "Chọn một thủ đoạn" in chat.text
    chat.send("MENU CHINH")  # a label typed without accents
    assert "Xin chào" in chat.text
    chat.send("99")
    assert "chưa hiểu" in chat.text
