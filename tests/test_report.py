"""The report flow: every field, urgency, back, cancel, resume, evidence, consent, limits."""

from __future__ import annotations

import hashlib
from datetime import date

from sqlmodel import select

import content
from content import CONSENT_VERSION
from db.models import Consent, Evidence, Identifier, Outbox, Report, ReportEvent
from handlers.dispatcher import Dispatcher
from handlers.types import Attachment, Limits
from tests.chat import Chat


def _begin(chat: Chat) -> None:
    chat.send("/totgiac")
    chat.press("Đồng ý")


def _fill(chat: Chat, kind: str, account: str) -> None:
    """From the type question to just past the day: no identifiers, amount or day given."""
    chat.press(kind)
    chat.send(account)
    chat.press("Không có")
    chat.press("Bỏ qua")
    chat.press("Bỏ qua")


def test_full_report_with_every_field(chat: Chat, db) -> None:
    chat.photos = True
    _begin(chat)
    chat.press("Việc online")
    chat.send(
        "Nhóm Telegram @viec_online_99 bảo thả tim video, sau đó bắt nạp tiền vào "
        "stk 190312345678 Techcombank, gọi cho tôi từ số 0912 345 678."
    )
    assert "0912 345 678" in chat.text and "190312345678 (Techcombank)" in chat.text
    chat.send("còn trang https://nhiemvu-vip.top/dang-ky?ref=1 và 0123456789")
    assert "thuộc ngân hàng nào" in chat.text and "0123456789" in chat.text
    chat.press("MB Bank")
    assert "0123456789 (MB Bank)" in chat.text
    chat.press("Xong")
    chat.send("5tr5")
    chat.send("hôm qua")
    photo = Attachment("photo", data=b"\x89PNG fake screenshot", mime="image/png")
    chat.send(attachments=(photo,))
    assert "Đã nhận 1 ảnh" in chat.text
    chat.press("Xong")
    chat.press("Để lại số điện thoại")
    chat.send("0987 654 321")
    summary = chat.text
    for shown in (
        "Việc online",
        "5.500.000 đ",
        "21/11/2026",
        "nhiemvu-vip.top/dang-ky",
        "@viec_online_99",
        "+84987654321",
        "Ảnh: 1",
    ):
        assert shown in summary, shown
    chat.press("Gửi tố giác")
    assert "Mã tiếp nhận" in chat.text
    with db.transaction() as session:
        report = session.exec(select(Report)).one()
        assert report.scam_type == "viec_online" and report.amount_vnd == 5_500_000
        assert report.occurred_on == date(2026, 11, 21)
        assert report.contact_phone == "+84987654321" and not report.anonymous
        assert report.consent_version == CONSENT_VERSION and not report.urgent
        assert report.receipt_code in chat.text
        kinds = sorted((i.kind, i.value, i.bank) for i in session.exec(select(Identifier)))
        assert kinds == [
            ("bank", "0123456789", "MB"),
            ("bank", "190312345678", "TCB"),
            ("phone", "+84912345678", ""),
            ("social", "t.me/viec_online_99", ""),
            ("url", "nhiemvu-vip.top/dang-ky", ""),
        ]
        evidence = session.exec(select(Evidence)).one()
        assert evidence.report_id == report.id
        assert evidence.sha256 == hashlib.sha256(photo.data or b"").hexdigest()
        card = session.exec(select(Outbox).where(Outbox.kind == "report_card")).one()
        assert card.report_id == report.id and card.status == "pending"
        assert session.exec(select(ReportEvent)).one().action == "created"
        consent = session.exec(select(Consent)).one()
        assert consent.text_version == CONSENT_VERSION and consent.purpose == "report"
    assert chat.state().draft is None and chat.state().flow is None


def test_receipt_code_shape(chat: Chat) -> None:
    from tests.test_journeys import _report

    code = _report(chat, "Người lạ xưng công an gọi điện đe dọa và đòi chuyển tiền")
    assert len(code) == 9 and code[4] == "-"
    assert not set(code.replace("-", "")) & set("0O1IL")


def test_consent_is_asked_once_per_text_version(chat: Chat) -> None:
    _begin(chat)
    chat.send("/huy")
    chat.send("/totgiac")
    assert "Chuyện gì đã xảy ra" in chat.text


def test_declining_consent_stores_nothing(chat: Chat, db) -> None:
    chat.send("/totgiac")
    chat.press("Không đồng ý")
    assert "không lưu gì" in chat.text
    with db.transaction() as session:
        assert session.exec(select(Consent)).first() is None
    assert chat.state().draft is None


def test_trafficking_choice_is_urgent_and_asks_for_the_victim_first(chat: Chat, db) -> None:
    _begin(chat)
    chat.press("Mua bán người")
    assert "113" in chat.text and "111" in chat.text and "KHẨN" in chat.text
    assert "Nạn nhân đang ở đâu" in chat.text
    chat.send("Em trai tôi ở Bavet, Campuchia, Zalo 0901234567")
    assert "kể lại sự việc" in chat.text
    chat.send("Em tôi đi làm theo lời mời trên Facebook rồi mất liên lạc ba hôm nay")
    chat.press("Không có")
    chat.press("Bỏ qua")
    chat.press("Hôm nay")
    chat.press("Ẩn danh")
    assert "(KHẨN)" in chat.text and "Bavet" in chat.text
    chat.press("Gửi tố giác")
    assert "KHẨN đã được báo ngay" in chat.text
    with db.transaction() as session:
        report = session.exec(select(Report)).one()
        assert report.urgent and report.victim_info and "Bavet" in report.victim_info
        assert report.ack_due_at is not None
        assert (report.ack_due_at - report.created_at).total_seconds() == 15 * 60


def test_urgent_words_in_the_account_turn_the_report_urgent(chat: Chat) -> None:
    _begin(chat)
    chat.press("Việc nhẹ lương cao")
    chat.send("Con tôi bị lừa sang Campuchia, giờ bị giữ, họ đòi tiền chuộc 200 triệu")
    assert "113" in chat.text and "Nạn nhân đang ở đâu" in chat.text
    chat.send("Khu Sihanoukville, số Telegram +855 12 345 678")
    assert "Gửi số điện thoại" in chat.text  # straight on to identifiers: the account is kept
    assert chat.state().draft["urgent"] is True


def test_typed_urgent_words_at_the_type_step(chat: Chat) -> None:
    _begin(chat)
    chat.send("người nhà bị giữ ở Campuchia")
    assert "Nạn nhân đang ở đâu" in chat.text


def test_back_steps_to_the_previous_question_and_keeps_answers(chat: Chat) -> None:
    _begin(chat)
    chat.press("Thông báo trúng thưởng")
    chat.send("Tin nhắn báo trúng xe máy SH, bắt nộp 3 triệu phí nhận thưởng")
    chat.press("Không có")
    assert "mất bao nhiêu tiền" in chat.text
    chat.press("Quay lại")
    assert "Gửi số điện thoại" in chat.text
    chat.press("Quay lại")
    assert "kể lại sự việc" in chat.text
    chat.press("Quay lại")
    assert "Chuyện gì đã xảy ra" in chat.text
    chat.press("Hủy")
    assert "Đã hủy" in chat.text
    assert chat.state().draft is None


def test_back_on_the_first_step_says_so(chat: Chat) -> None:
    _begin(chat)
    chat.press("Thông báo trúng thưởng")
    chat.press("Quay lại")
    assert "Chuyện gì đã xảy ra" in chat.text
    chat.send("quay lại")  # the first step offers no back: it explains and stays
    assert "chọn một mục" in chat.text and chat.state().step == "type"


def test_cancel_drops_the_draft_and_its_photos(chat: Chat, db) -> None:
    chat.photos = True
    _begin(chat)
    _fill(chat, "Tin nhắn rác", "Tin nhắn báo nợ cước, kèm đường link lạ để thanh toán")
    chat.send(attachments=(Attachment("photo", data=b"img"),))
    chat.send("/huy")
    assert "Đã hủy" in chat.text
    with db.transaction() as session:
        assert session.exec(select(Evidence)).first() is None
    chat.send("/huy")
    assert "Không có thao tác" in chat.text


def test_draft_survives_a_detour_and_a_restart(chat: Chat, db, clock, limits) -> None:
    _begin(chat)
    chat.press("Đầu tư")
    chat.send("Nhóm Zalo hướng dẫn đầu tư tiền ảo, lãi 5% mỗi ngày, giờ không rút được")
    chat.send("/canhgiac")  # wander off to read the rules
    restarted = Chat(Dispatcher(db, content.load(), limits, clock=clock))  # a new process
    restarted.send("/totgiac")
    assert "đang soạn dở" in restarted.text
    restarted.press("Tiếp tục")
    assert "Gửi số điện thoại" in restarted.text
    restarted.press("Quay lại")
    assert "kể lại sự việc" in restarted.text  # the trail survived too


def test_restart_from_scratch_discards_the_old_draft(chat: Chat) -> None:
    _begin(chat)
    chat.press("Đầu tư")
    chat.send("/totgiac")
    chat.press("Làm lại từ đầu")
    assert "Chuyện gì đã xảy ra" in chat.text
    assert "type" not in (chat.state().draft or {})


def test_the_same_update_twice_has_one_effect(chat: Chat, db) -> None:
    from tests.test_journeys import _report

    _report(chat, "Người xưng công an đe dọa, đòi chuyển tiền để xác minh")
    chat.send("/totgiac")
    _fill(chat, "Giả danh công an", "Lần này họ gọi lại và đòi thêm tiền vào tài khoản tạm giữ")
    chat.press("Ẩn danh")
    submit = chat.button("Gửi tố giác")
    first = chat.send(payload=submit, update_id="tg-777")
    again = chat.send(payload=submit, update_id="tg-777")
    assert "Mã tiếp nhận" in first[0].text
    assert again == [] and chat.last.duplicate
    with db.transaction() as session:
        assert len(session.exec(select(Report)).all()) == 2
        replies = session.exec(select(Outbox).where(Outbox.kind == "reply")).all()
        assert sum("Mã tiếp nhận" in r.payload["text"] for r in replies) == 2


def test_a_resent_identical_report_is_linked_not_duplicated(chat: Chat, db) -> None:
    from tests.test_journeys import _report

    account = "Người xưng công an đe dọa, đòi chuyển tiền để xác minh"
    code = _report(chat, account)
    chat.send("/totgiac")
    _fill(chat, "Giả danh công an", account)
    chat.press("Ẩn danh")
    chat.press("Gửi tố giác")
    assert "giống hệt" in chat.text and code in chat.text
    with db.transaction() as session:
        assert len(session.exec(select(Report)).all()) == 1


def test_daily_report_limit(chat: Chat, dispatcher: Dispatcher) -> None:
    from tests.test_journeys import _report

    dispatcher.limits = Limits(reports_per_day=2)
    _report(chat, "Lần một: người lạ gọi xưng công an đòi tiền")
    _report(chat, "Lần hai: người lạ gọi xưng viện kiểm sát đòi tiền")
    chat.send("/totgiac")
    _fill(chat, "Giả danh công an", "Lần ba: người lạ gọi xưng tòa án đòi tiền")
    chat.press("Ẩn danh")
    chat.press("Gửi tố giác")
    assert "tối đa trong một ngày" in chat.text
    assert chat.state().step == "confirm"  # nothing lost: tomorrow it can still be sent


def test_photo_too_big_is_refused_with_the_limit(chat: Chat, dispatcher: Dispatcher) -> None:
    chat.photos = True
    dispatcher.limits = Limits(evidence_max_bytes=1024 * 1024)
    _begin(chat)
    _fill(chat, "Tin nhắn rác", "Tin nhắn báo nợ cước, kèm đường link lạ để thanh toán")
    chat.send(attachments=(Attachment("photo", data=b"x" * (1024 * 1024 + 1)),))
    assert "tối đa 1 MB" in chat.text and "Đã nhận 0 ảnh" in chat.text
    assert chat.state().step == "evidence"


def test_channels_without_photos_skip_the_evidence_step(chat: Chat) -> None:
    _begin(chat)
    _fill(chat, "Tin nhắn rác", "Tin nhắn báo nợ cước, kèm đường link lạ để thanh toán")
    assert "ẩn danh" in chat.text and "ảnh" not in chat.text.split("?")[0]


def test_resident_text_is_escaped_in_the_summary(chat: Chat) -> None:
    _begin(chat)
    _fill(chat, "Khác", "<b>Họ</b> gửi <script>alert(1)</script> & đòi tiền ngay lập tức")
    chat.press("Ẩn danh")
    assert "&lt;script&gt;" in chat.text and "<script>" not in chat.text
    assert "&amp; đòi tiền" in chat.text
