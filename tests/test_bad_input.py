"""Bad input anywhere gets a short Vietnamese answer and leaves the conversation in place."""

from __future__ import annotations

import itertools

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

_users = itertools.count()

# The report flow walked step by step; each step is reached by a prefix of this walk.
REPORT_WALK: list[tuple[str, str, str]] = [  # (step reached after it, action, value)
    ("consent", "send", "/totgiac"),
    ("type", "press", "Đồng ý"),
    ("account", "press", "Đầu tư"),
    ("identifiers", "send", "Nhóm đầu tư tiền ảo hứa lãi cao rồi khóa tài khoản"),
    ("amount", "press", "Không có"),
    ("when", "send", "5tr"),
    ("evidence", "send", "hôm qua"),
    ("contact", "press", "Bỏ qua"),
    ("confirm", "press", "Ẩn danh"),
]


def _report_until(step: str) -> list[tuple[str, str]]:
    steps = [reached for reached, _, _ in REPORT_WALK]
    return [(action, value) for _, action, value in REPORT_WALK[: steps.index(step) + 1]]


# How to reach each step from a fresh conversation, as (press | send) actions.
PATHS: dict[str, list[tuple[str, str]]] = {
    **{f"report:{reached}": _report_until(reached) for reached, _, _ in REPORT_WALK},
    "report:victim": [*_report_until("type"), ("press", "Mua bán người")],
    "report:bank": [*_report_until("identifiers"), ("send", "0123456789")],
    "report:phone": [*_report_until("contact"), ("press", "Để lại số")],
    "report:resume": [*_report_until("account"), ("send", "/start"), ("send", "/totgiac")],
    "quiz:q": [("send", "/cauhoi")],
    "lookup:ask": [("send", "/kiemtra")],
    "track:code": [("send", "/theodoi"), ("press", "Tra bằng mã")],
    "subscribe:area": [("send", "/dangky")],
    "privacy:confirm": [("send", "/dangky"), ("press", "Nam Gia Nghĩa"), ("send", "/xoadulieu")],
    "followup:info": [
        *_report_until("confirm"),
        ("press", "Gửi tố giác"),
        ("send", "/theodoi"),
        ("press", "Bổ sung"),
    ],
    "idle": [("send", "/start")],
}
# Steps that take free text: any text with a few letters or digits is an answer there.
FREE_TEXT = {
    "report:account": MIN_ACCOUNT,
    "report:victim": MIN_VICTIM,
    "followup:info": followup.MIN_INFO,
}


def _walk(chat: Chat, where: str) -> State:
    for action, value in PATHS[where]:
        chat.press(value) if action == "press" else chat.send(value)
    state = chat.state()
    if where != "idle":
        assert f"{state.flow}:{state.step}" == where, (where, chat.text)
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
                if key in start.draft:
                    assert after.draft.get(key) == start.draft[key]

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
