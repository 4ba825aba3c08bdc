"""Each resident journey, end to end through the conversation core and the database."""

from __future__ import annotations

from typing import Any

from sqlmodel import select

from content import Content
from db.models import Identifier, Resident
from tests.chat import Chat
from tests.walker import Story, walk


def test_start_shows_the_main_menu_with_every_journey(chat: Chat) -> None:
    replies = chat.send("/start")
    assert "Cảnh giác" in chat.text and "113" in chat.text
    labels = [b.label for r in replies for row in r.buttons for b in row]
    for journey in (
        "4 không",
        "Thủ đoạn",
        "Kiểm tra",
        "Tố giác",
        "Theo dõi",
        "Câu đố",
        "cảnh báo",
        "Trợ giúp",
    ):
        assert any(journey in label for label in labels), journey


def test_rules_show_four_khong_and_two_phai(chat: Chat, words: Content) -> None:
    chat.send("/canhgiac")
    for rule in words.rules["khong"] + words.rules["phai"]:
        assert rule["name"] in chat.text
    assert len(chat.text) < 1500  # a phone screen, not a leaflet
    chat.press("Xem các thủ đoạn")
    assert "Chọn một thủ đoạn" in chat.text


def test_scam_library_lists_and_explains_each_trick(chat: Chat, words: Content) -> None:
    chat.send("/thudoan")
    groups = words.raw("scams.groups")
    for group in groups.values():
        chat.send("/thudoan")
        chat.press(group)
        for scam in (s for s in words.scams if groups[s["group"]] == group):
            chat.button(scam["short"])
    chat.send("/thudoan")
    chat.press(groups[words.scams[0]["group"]])
    chat.press(words.scams[0]["short"])
    for heading in ("Bắt đầu thế nào", "Dấu hiệu", "Nên làm", "Không bao giờ"):
        assert heading in chat.text
    chat.send("/thudoan khong_co")
    assert "Không tìm thấy" in chat.text


def test_quiz_gives_reasons_and_a_score(chat: Chat, words: Content) -> None:
    chat.send("/cauhoi")
    assert "Câu 1/6" in chat.text
    for number in range(6):
        question = words.quiz[number]
        right = question["options"][question["answer"]]
        chat.press(right if number % 2 == 0 else question["options"][(question["answer"] + 1) % 3])
        assert question["why"] in chat.text
    assert "Bạn trả lời đúng 3/6 câu" in chat.text
    chat.press("Làm lại")
    assert words.quiz[6]["question"].split('"')[0] in chat.text  # the next round moves on


def test_quiz_answer_from_an_earlier_question_is_stale(chat: Chat) -> None:
    chat.send("/cauhoi")
    first = chat.replies
    chat.press("Cúp máy")
    old = chat.button("Chuyển tiền", first)
    chat.send(payload=old)
    assert "tin nhắn cũ" in chat.text and "Câu 2/6" in chat.text


def test_lookup_distinguishes_none_unverified_and_confirmed(chat: Chat, db, dispatcher) -> None:
    chat.send("/kiemtra")
    chat.send("0912 345 678")
    assert "chưa có xác nhận" in chat.text and "cúp máy" in chat.text
    _report(chat, "Họ gọi từ số 0912345678 xưng công an đòi chuyển tiền gấp")
    chat.send("/kiemtra 0912345678")
    assert "chưa có xác nhận" in chat.text  # one resident's word is not yet a warning
    _report(Chat(dispatcher, user="resident-2"), "Số 0912345678 gọi xưng công an đòi tiền")
    chat.send("/kiemtra 0912345678")
    assert "2 người dân đã phản ánh" in chat.text and "chưa được Công an xác minh" in chat.text
    with db.transaction() as session:
        identifier = session.exec(select(Identifier).where(Identifier.kind == "phone")).one()
        identifier.confirmed_scam = True
    chat.send("+84 912 345 678")  # just sending one, any spelling
    assert "đã được Công an xác nhận" in chat.text


def test_lookup_understands_accounts_and_links(chat: Chat) -> None:
    chat.send("kiểm tra stk 190312345678 Techcombank và https://vietcombank-xacminh.com/login")
    assert "190312345678 (Techcombank)" in chat.text
    assert "vietcombank-xacminh.com/login" in chat.text
    assert "Không chuyển tiền" in chat.text and "tên miền" in chat.text


def test_lookup_asks_again_when_nothing_is_recognised(chat: Chat) -> None:
    chat.send("/kiemtra")
    chat.send("không biết")
    assert "không nhận ra" in chat.text
    assert chat.state().step == "ask"


def test_track_lists_own_reports_and_finds_any_by_code(chat: Chat, dispatcher) -> None:
    code = _report(chat, "Người lạ gọi báo trúng thưởng xe máy, đòi phí nhận thưởng")
    chat.send("/theodoi")
    assert code in chat.text and "Mới tiếp nhận" in chat.text
    stranger = Chat(dispatcher, user="someone-else")
    stranger.send("/theodoi")
    assert "chưa có tố giác" in stranger.text
    stranger.press("Tra bằng mã")
    stranger.send(code.lower().replace("-", " "))
    assert code in stranger.text and "Trạng thái" in stranger.text
    assert "trúng thưởng xe máy" not in stranger.text  # the account stays with the police
    stranger.send(code)  # a code sent on its own is looked up too
    assert "Trạng thái" in stranger.text


def test_code_guessing_is_rate_limited(chat: Chat, limits) -> None:
    for _ in range(limits.code_lookups_per_hour):
        chat.send("/theodoi ABCD-EFGH")
        assert "Không tìm thấy" in chat.text
    chat.send("/theodoi ABCD-EFGH")
    assert "quá nhiều lần" in chat.text


def test_subscribe_with_area_and_unsubscribe(chat: Chat, db) -> None:
    chat.send("/dangky")
    chat.press("Nam Gia Nghĩa")
    assert "Đã đăng ký" in chat.text and "Nam Gia Nghĩa" in chat.text
    with db.transaction() as session:
        resident = session.exec(select(Resident)).one()
        assert resident.subscribed and resident.area == "nam-gia-nghia"
    chat.send("/huydangky")
    assert "Đã hủy đăng ký" in chat.text
    chat.send("/huydangky")
    assert "chưa đăng ký" in chat.text


def test_help_lists_commands_and_hotlines(chat: Chat) -> None:
    chat.send("/trogiup")
    for expected in ("/totgiac", "/xoadulieu", "113", "111", "5656"):
        assert expected in chat.text


def test_unknown_command_and_chatter_get_a_clear_answer(chat: Chat) -> None:
    chat.send("/abc")
    assert "Không có lệnh /abc" in chat.text
    chat.send("xin chào")
    assert "Xin chào" in chat.text and chat.replies[0].buttons  # greeted, with the menu
    chat.send("qwerty zxcv")
    assert "chưa hiểu" in chat.text and chat.replies[0].buttons


def test_deep_links_open_a_journey(chat: Chat) -> None:
    chat.send("/start totgiac")
    assert "Trước khi tố giác" in chat.text
    chat.send("/start canhgiac")
    assert "4 KHÔNG, 2 PHẢI" in chat.text


def _report(chat: Chat, account: str, **story: Any) -> str:
    """Complete a plain anonymous report (as the walker answers); return its receipt code."""
    chat.send("/totgiac")
    walked = walk(chat, Story(account=account, **story))
    assert walked.code, chat.text
    return walked.code


def test_forwarded_message_can_be_checked(dispatcher) -> None:
    chat = Chat(dispatcher)
    chat.send("Chúc mừng bạn trúng thưởng! Truy cập https://nhanqua-vn.top để nhận", forwarded=True)
    assert "chuyển tiếp" in chat.text
    chat.press("Kiểm tra tin này")
    assert "nhanqua-vn.top" in chat.text and "chưa có xác nhận" in chat.text


def test_forwarded_message_can_start_a_report(dispatcher) -> None:
    chat = Chat(dispatcher)
    chat.send(
        "Bạn nợ cước, thanh toán ngay tại vnpt-thanhtoan.top hoặc gọi 0912345678", forwarded=True
    )
    chat.press("Tố giác tin này")
    chat.press("Đồng ý")
    walk(chat, Story(type="Tin nhắn rác"), until="identifiers")
    assert (
        "vnpt-thanhtoan.top" in chat.text and "0912 345 678" in chat.text
    )  # straight to identifiers
    draft = chat.state().draft
    assert draft is not None and draft.account and draft.account.startswith("Bạn nợ cước")


def test_a_receipt_code_that_looks_like_a_number_is_still_a_code(
    chat: Chat, dispatcher, db
) -> None:
    from sqlmodel import select

    from db.models import Report

    code = _report(chat, "Người lạ gọi báo trúng thưởng xe máy, đòi phí nhận thưởng")
    with db.transaction() as session:
        report = session.exec(select(Report)).one()
        report.receipt_code = code = "EH74-6878"  # six digits in a row, like an account
    Chat(dispatcher, user="someone-else").send(code)
    stranger = Chat(dispatcher, user="another")
    stranger.send(code)
    assert "Trạng thái" in stranger.text
