"""What a newcomer walking the resident side still hit (issue 11, the remainder): a number
typed twice at a check loops; the urgent path shows a long notice first and asks for a phone
last; a story typed at the type step is thrown away as "Khác"; erasing data with an urgent
case open gives no warning; the whole menu after every answer; a vague time made exact; the
summary's "không có" and "Ảnh: 0"; help without /bosung; /dangky asking again."""

from __future__ import annotations

import pytest
from sqlmodel import select

from bot.settings import Settings
from db.engine import Database
from db.models import Report, Resident
from handlers.dispatcher import Dispatcher
from tests.chat import Chat
from tests.conftest import running_bot
from tests.fakes.zalo_servers import ZaloBot
from tests.test_zalo import BotResident, _zalo_bot_settings
from tests.walker import Story, walk

# --- 1. a bare number at the money or date question, typed again at the check ------------

# On the money question's numbered screen: 1 Không mất tiền, 2 Bỏ qua, 3 Quay lại, 4 Hủy.
# The same number typed again at the check means that option; a number past them, the sum.
AMOUNT_TWICE = [
    ("1", "zero"),
    ("2", "skipped"),
    ("3", "back"),
    ("4", "cancel"),
    ("5", 5_000_000),
    ("50", 50_000_000),
    ("500", 500_000),
]
# On the date question's: 1 Hôm nay, 2 Hôm qua, 3 Bỏ qua, 4 Quay lại, 5 Hủy.
WHEN_TWICE = [
    ("1", "2026-11-22"),
    ("2", "2026-11-21"),
    ("3", "skipped"),
    ("4", "back"),
    ("5", "cancel"),
    ("6", "2026-11-06"),
    ("20", "2026-11-20"),
]


def _numbered_at(dispatcher: Dispatcher, user: str, until: str, **story: str) -> Chat:
    chat = Chat(dispatcher, user=user, numbered=True)
    chat.send("/totgiac")
    walk(chat, Story(**story), until=until)
    return chat


@pytest.mark.parametrize(("typed", "meant"), AMOUNT_TWICE)
def test_a_number_typed_twice_at_the_money_check_never_loops(
    dispatcher: Dispatcher, typed: str, meant: object
) -> None:
    chat = _numbered_at(dispatcher, f"amount-twice-{typed}", "amount")
    chat.send(typed)
    assert "đúng không" in chat.text  # asked back: a number could be a sum
    chat.send(typed)
    state, draft = chat.state(), chat.state().draft
    assert draft is not None
    assert state.step != "amount_check" and "đúng không" not in chat.text, chat.text
    if meant == "zero":
        assert draft.amount == 0 and draft.amount_answered
    elif meant == "skipped":
        assert draft.amount is None and draft.amount_answered and state.step == "when"
    elif meant == "back":
        assert state.step == "identifiers" and not draft.amount_answered
    elif meant == "cancel":
        assert "Bỏ tố giác đang soạn" in chat.text
    else:
        assert draft.amount == meant and state.step == "when"


@pytest.mark.parametrize(("typed", "meant"), WHEN_TWICE)
def test_a_number_typed_twice_at_the_date_check_never_loops(
    dispatcher: Dispatcher, typed: str, meant: str
) -> None:
    chat = _numbered_at(dispatcher, f"when-twice-{typed}", "when", amount="5 triệu")
    chat.send(typed)
    assert "đúng không" in chat.text
    chat.send(typed)
    state, draft = chat.state(), chat.state().draft
    assert draft is not None
    assert state.step != "when_check" and "đúng không" not in chat.text, chat.text
    if meant == "skipped":
        assert draft.when is None and draft.when_answered
    elif meant == "back":
        assert state.step == "amount" and not draft.when_answered
    elif meant == "cancel":
        assert "Bỏ tố giác đang soạn" in chat.text
    else:
        assert draft.when == meant and draft.when_answered


def test_the_check_says_what_the_same_number_again_means(dispatcher: Dispatcher) -> None:
    chat = _numbered_at(dispatcher, "amount-says", "amount")
    chat.send("2")
    labels = chat.screen()[1]
    assert labels.index("Bỏ qua") == 1 and "gõ lại số 2" in chat.text
    assert labels[0] == "Đúng"  # the sum it was read as is one press away


def test_a_number_typed_twice_on_telegram_is_the_sum(dispatcher: Dispatcher) -> None:
    chat = Chat(dispatcher, user="amount-buttons")  # buttons: a number is never an option
    chat.send("/totgiac")
    walk(chat, Story(), until="amount")
    chat.send("2")
    chat.send("2")
    draft = chat.state().draft
    assert draft is not None and draft.amount == 2_000_000 and chat.state().step == "when"


async def test_a_number_typed_twice_on_zalo_bot_does_not_loop(
    zbot: ZaloBot, bot_settings: Settings, db: Database
) -> None:
    async for _ in running_bot(_zalo_bot_settings(bot_settings, zbot)):
        person = BotResident(zbot, "7001")
        await person.walk_report(Story(), until="amount")
        assert "đúng không" in await person.say("2")
        answer = await person.say("2")  # "2" again: option 2 of the money question, Bỏ qua
        assert "đúng không" not in answer and "khi nào" in answer, answer
        assert "đúng không" in await person.say("20")  # the 20th of this month?
        answer = await person.say("20")
        assert "đúng không" not in answer and "ảnh" in answer, answer


# --- 2. the urgent path: the urgent question first, a short notice, a phone soon ---------


def test_a_cry_for_help_gets_a_one_line_notice_before_the_one_question(chat: Chat) -> None:
    chat.send("con tôi bị giữ bên Campuchia, họ đòi tiền chuộc, giúp tôi với")
    chat.press("Báo khẩn cho Công an")
    assert len(chat.text) < 200 and "/xoadulieu" in chat.text  # one line, not ~400 chars
    chat.press("Xem đầy đủ")
    assert "Chỉ cán bộ Công an phường" in chat.text  # the whole notice, one tap away
    chat.press("Đồng ý")
    assert "Nạn nhân đang ở đâu" in chat.text


def test_held_words_in_what_they_pass_on_ask_the_urgent_question_before_the_notice(
    chat: Chat,
) -> None:
    chat.send("Mẹ ơi con bị giữ bên Campuchia, họ không cho về", forwarded=True)
    chat.press("Tố giác tin này")
    assert "Có người đang bị giữ" in chat.text and "Trước khi tố giác" not in chat.text
    chat.press("Có, có người")
    assert "113" in chat.text and "📄 Xem đầy đủ" in chat.screen()[1]  # a one-line notice
    chat.press("Đồng ý")
    assert "Nạn nhân đang ở đâu" in chat.text


def test_a_phone_to_call_back_is_asked_right_after_the_urgent_save(chat: Chat, db) -> None:
    chat.send("/totgiac")
    walker = walk(chat, Story(type="Mua bán người", phone="0912 000 111"))
    seen = walker.seen
    assert seen.index("callback") == seen.index("victim") + 1  # at once, not last
    assert "contact" not in seen  # not asked a second time
    with db.transaction() as session:
        report = session.exec(select(Report)).one()
        assert report.urgent and report.contact_phone == "+84912000111"


# --- 3. a story typed at the type step ------------------------------------------------------


def test_a_short_story_at_the_type_step_is_kept_and_its_kind_offered(chat: Chat) -> None:
    chat.send("/totgiac")
    chat.press("Đồng ý")
    chat.send("shop lừa tôi")
    assert "Mua bán hàng online" in chat.text and "Đúng không" in chat.text
    chat.press("Đúng")
    draft = chat.state().draft
    assert draft is not None and draft.type == "mua_ban_online"
    assert draft.account == "shop lừa tôi"  # kept as the story: not asked for again
    assert chat.state().step == "identifiers"


def test_a_story_with_no_kind_to_guess_is_kept_and_the_kinds_shown(chat: Chat) -> None:
    chat.send("/totgiac")
    chat.press("Đồng ý")
    chat.send("Có người nhắn tin cho tôi rồi tôi bị mất tiền trong tài khoản")
    assert "Đã ghi lại điều bạn kể" in chat.text and "Khác" in chat.screen()[1]
    chat.press("Khác")
    draft = chat.state().draft
    assert draft is not None and draft.type == "other" and draft.account
    assert chat.state().step != "account"


def test_a_guess_refused_shows_the_kinds(chat: Chat) -> None:
    chat.send("/totgiac")
    chat.press("Đồng ý")
    chat.send("app vay tiền đòi nợ, dọa gọi người thân")
    chat.press("Chọn loại khác")
    assert "Chuyện gì đã xảy ra" in chat.text
    chat.press("Đầu tư, vay tiền")
    chat.press("Cờ bạc")
    draft = chat.state().draft
    assert draft is not None and draft.type == "danh_bac"


def test_a_word_that_says_nothing_is_still_asked_about(chat: Chat) -> None:
    chat.send("/totgiac")
    chat.press("Đồng ý")
    chat.send("abc")
    draft = chat.state().draft
    assert draft is not None and draft.account is None and "kể ngắn gọn" in chat.text


# --- 4. erasing data with an urgent case open ----------------------------------------------


def test_erasing_data_with_an_urgent_case_open_warns_first(
    dispatcher: Dispatcher, chat: Chat, db
) -> None:
    other = Chat(dispatcher, user="no-urgent-case")  # an ordinary report: no warning
    other.send("/totgiac")
    walk(other, Story())
    other.send("/xoadulieu")
    assert "KHẨN" not in other.text and "Xóa dữ liệu?" in other.text
    chat.send("/totgiac")
    code = walk(chat, Story(type="Mua bán người", phone="0912 000 111")).code
    chat.send("/xoadulieu")
    assert "KHẨN" in chat.text and code and code in chat.text
    assert "không liên lạc lại được" in chat.text and "Xóa dữ liệu?" in chat.text
    chat.press("Giữ lại")
    with db.transaction() as session:
        report = session.exec(select(Report).where(Report.receipt_code == code)).one()
        assert report.contact_phone == "+84912000111"


# --- 5. the menu: whole where it helps, one button elsewhere -----------------------------


def test_the_whole_menu_only_where_it_helps(chat: Chat) -> None:
    chat.send("/start")
    assert len(chat.screen()[1]) == 8
    assert "🔎 Kiểm tra số điện thoại, tài khoản, đường link" in chat.screen()[1]
    chat.send("/huydangky")  # a one-line answer: one way back to the menu
    assert chat.screen()[1] == ["🏠 Menu chính"]
    chat.send("cảm ơn")
    assert chat.screen()[1] == ["🏠 Menu chính"]
    chat.send("/totgiac")
    walk(chat, Story())
    assert len(chat.screen()[1]) == 8  # a journey finished: where next


# --- 6 and 7. a vague time, and the summary's words -----------------------------------------


def test_a_vague_time_is_kept_as_said_never_made_a_day(chat: Chat, db) -> None:
    chat.send("/totgiac")
    walk(chat, Story(when="tuần trước", submit=False))
    assert "Thời gian: tuần trước" in chat.text and "/2026" not in chat.text
    draft = chat.state().draft
    assert draft is not None and draft.when is None and draft.when_said == "tuần trước"
    chat.press("Gửi tố giác")
    with db.transaction() as session:
        report = session.exec(select(Report)).one()
        assert report.occurred_on is None and "tuần trước" in report.account  # for the card


def test_the_summary_says_not_given_and_no_photos_plainly(dispatcher: Dispatcher) -> None:
    chat = Chat(dispatcher, user="summary-photos", photos=True)
    chat.send("/totgiac")
    walk(chat, Story(submit=False))
    assert "Số tiền: chưa rõ" in chat.text and "Thời gian: chưa rõ" in chat.text
    assert "Ảnh: chưa có ảnh" in chat.text and "Ảnh: 0" not in chat.text
    words = Chat(dispatcher, user="summary-words")  # a channel without photos: no line
    words.send("/totgiac")
    walk(words, Story(amount="Không mất tiền", submit=False))
    assert "Số tiền: không mất tiền" in words.text and "Ảnh" not in words.text


# --- 8 and 9. help names /bosung; /dangky when already subscribed ----------------------------


def test_help_names_adding_to_a_report(chat: Chat) -> None:
    chat.send("/trogiup")
    assert "/bosung" in chat.text


def test_subscribing_again_shows_the_area_and_offers_change_or_stop(chat: Chat, db) -> None:
    chat.send("/dangky")
    chat.press(chat.screen()[1][0])  # the first area
    area = chat.text.split("(")[1].split(")")[0]
    chat.send("/dangky")
    assert "đã đăng ký" in chat.text and area in chat.text
    assert {"📍 Đổi khu vực", "🔕 Hủy đăng ký"} <= set(chat.screen()[1])
    chat.press("Đổi khu vực")
    chat.press("Không chọn khu vực")
    chat.send("/dangky")
    assert "mọi khu vực" in chat.text
    chat.press("Hủy đăng ký")
    with db.transaction() as session:
        assert not session.exec(select(Resident)).one().subscribed
