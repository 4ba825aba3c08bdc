"""The report flow: every field, urgency, back, cancel, resume, evidence, consent, limits."""

from __future__ import annotations

import hashlib
from datetime import date
from typing import Any

from sqlmodel import select

import content
from content import CONSENT_VERSION
from db.models import Consent, Evidence, Identifier, Outbox, Report, ReportEvent
from handlers.dispatcher import Dispatcher
from handlers.types import Attachment, Limits
from tests.chat import Chat
from tests.walker import Story, walk

SPAM = "Tin nhắn báo nợ cước, kèm đường link lạ để thanh toán"


def _begin(chat: Chat) -> None:
    chat.send("/totgiac")
    chat.press("Đồng ý")


def _walk(chat: Chat, until: str | None = None, **story: Any) -> str | None:
    """Answer the report flow as the shared walker does; the receipt code, if it ended."""
    return walk(chat, Story(**story), until=until).code


def test_full_report_with_every_field(chat: Chat, db) -> None:
    chat.photos = True
    photo = b"\x89PNG fake screenshot"
    chat.send("/totgiac")
    _walk(
        chat,
        until="confirm",
        type="Việc online",
        account=(
            "Nhóm Telegram @viec_online_99 bảo thả tim video, sau đó bắt nạp tiền vào "
            "stk 190312345678 Techcombank, gọi cho tôi từ số 0912 345 678."
        ),
        identifiers=["còn trang https://nhiemvu-vip.top/dang-ky?ref=1 và 0123456789"],
        bank="MB Bank",
        amount="5tr5",
        when="hôm qua",
        photos=[photo],
        phone="0987 654 321",
    )
    summary = chat.text
    for shown in (
        "Việc online",
        "5.500.000 đ",
        "21/11/2026",
        "nhiemvu-vip.top/dang-ky",
        "@viec_online_99",
        "0123456789 (MB Bank)",
        "190312345678 (Techcombank)",
        "+84987654321",
        "Ảnh: 1",
    ):
        assert shown in summary, shown
    chat.press("Gửi tố giác")
    assert "Mã tiếp nhận" in chat.text
    assert "phong tỏa" in chat.text  # money lost yesterday: ask the bank to freeze it now
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
        assert evidence.sha256 == hashlib.sha256(photo).hexdigest()
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


def _cards(db) -> list[Outbox]:
    with db.transaction() as session:
        return list(session.exec(select(Outbox).where(Outbox.kind == "report_card")).all())


def test_trafficking_is_saved_and_paged_as_soon_as_the_victim_is_placed(chat: Chat, db) -> None:
    _begin(chat)
    chat.press("Mua bán người")
    assert "113" in chat.text and "111" in chat.text and "Nạn nhân đang ở đâu" in chat.text
    assert "báo ngay cho Công an" not in chat.text  # nothing is claimed before it is done
    assert _cards(db) == []
    chat.send("Em trai tôi ở Bavet, Campuchia, Zalo 0901234567")
    assert "Đã lưu tố giác KHẨN" in chat.text and "KHẨN" in chat.text
    with db.transaction() as session:
        report = session.exec(select(Report)).one()
        assert report.urgent and report.victim_info and "Bavet" in report.victim_info
        assert report.ack_due_at is not None
        assert (report.ack_due_at - report.created_at).total_seconds() == 15 * 60
    assert len(_cards(db)) == 1  # the police are paged with this very turn
    assert report.receipt_code in chat.text
    assert "gọi lại cho bạn" in chat.text  # a phone to call back, asked first of the rest
    chat.press("Không để lại số")
    assert "kể thêm sự việc" in chat.text  # the rest goes into the same report
    code = _walk(chat, account="Em tôi đi làm theo lời mời trên Facebook rồi mất liên lạc")
    assert code == report.receipt_code and "Đã lưu những gì bạn thêm" in chat.text
    with db.transaction() as session:
        [report] = session.exec(select(Report)).all()  # still one report
        assert "Facebook" in report.account


def test_cancel_after_an_urgent_save_keeps_the_report(chat: Chat, db) -> None:
    _begin(chat)
    chat.press("Mua bán người")
    chat.press("Không rõ ở đâu")
    assert "Đã lưu tố giác KHẨN" in chat.text
    chat.send("/huy")
    assert "vẫn giữ nguyên" in chat.text and "Đã hủy" not in chat.text
    with db.transaction() as session:
        assert session.exec(select(Report)).one().victim_info == "không rõ"


def test_urgent_words_in_an_ordinary_story_only_ask(chat: Chat, db) -> None:
    _begin(chat)
    walk(
        chat,
        Story(
            type="Mua bán hàng online",
            account="Tôi chuyển cọc 2 triệu, tiền bị giữ lại và shop không trả hàng",
        ),
        until="held",
    )
    assert "Có người đang bị giữ" in chat.text
    chat.press("Không")
    draft = chat.state().draft
    assert draft is not None and not draft.urgent
    code = _walk(chat)
    with db.transaction() as session:
        assert not session.exec(select(Report)).one().urgent
    assert code


def test_yes_to_the_question_makes_it_urgent_and_it_can_be_stepped_out_of(chat: Chat) -> None:
    _begin(chat)
    walk(
        chat,
        Story(
            type="Việc nhẹ lương cao", account="Con tôi sang Campuchia làm việc, giờ mất liên lạc"
        ),
        until="held",
    )
    chat.press("Có, có người")
    assert "113" in chat.text and "Nạn nhân đang ở đâu" in chat.text
    chat.press("Không phải trường hợp khẩn")
    draft = chat.state().draft
    assert draft is not None and not draft.urgent and "Gửi số điện thoại" in chat.text


def test_typed_urgent_words_at_the_type_step(chat: Chat) -> None:
    _begin(chat)
    chat.send("người nhà tôi bị giữ ở Campuchia, họ đòi tiền chuộc")
    assert "Có người đang bị giữ" in chat.text  # words offer the urgent path, never decide
    chat.press("Có, có người")
    assert "Nạn nhân đang ở đâu" in chat.text
    draft = chat.state().draft
    assert draft is not None and draft.account and "tiền chuộc" in draft.account  # not asked twice


def test_back_steps_to_the_previous_question_and_keeps_answers(chat: Chat) -> None:
    _begin(chat)
    _walk(
        chat,
        until="amount",
        type="Thông báo trúng thưởng",
        account="Tin nhắn báo trúng xe máy SH, bắt nộp phí nhận thưởng trước",
    )
    assert "mất bao nhiêu tiền" in chat.text
    chat.press("Quay lại")
    assert "Gửi số điện thoại" in chat.text
    chat.press("Quay lại")
    assert "kể lại sự việc" in chat.text
    chat.press("Quay lại")
    assert "Chuyện gì đã xảy ra" in chat.text
    chat.press("Hủy")
    assert "Bỏ tố giác đang soạn" in chat.text  # a story told is not dropped on one word
    chat.press("Bỏ tố giác này")
    assert "Đã hủy" in chat.text
    assert chat.state().draft is None


def test_back_on_the_first_step_says_so(chat: Chat) -> None:
    _begin(chat)
    _walk(chat, until="account", type="Thông báo trúng thưởng")
    chat.press("Quay lại")
    assert "Chuyện gì đã xảy ra" in chat.text
    chat.send("quay lại")  # the first step offers no back: it explains and stays
    assert "chọn một mục" in chat.text and chat.state().step == "type"


def test_cancel_drops_the_draft_and_its_photos(chat: Chat, db) -> None:
    chat.photos = True
    _begin(chat)
    _walk(chat, until="evidence", type="Tin nhắn rác", account=SPAM)
    chat.send(attachments=(Attachment("photo", data=b"img"),))
    chat.send("/huy")
    chat.press("Tiếp tục soạn")
    assert chat.state().step == "evidence"  # kept: back where they were
    chat.send("/huy")
    chat.press("Bỏ tố giác này")
    assert "Đã hủy" in chat.text
    with db.transaction() as session:
        assert session.exec(select(Evidence)).first() is None
    chat.send("/huy")
    assert "Không có thao tác" in chat.text


def test_draft_survives_a_detour_and_a_restart(chat: Chat, db, clock, limits) -> None:
    _begin(chat)
    _walk(
        chat,
        until="identifiers",
        type="Đầu tư",
        account="Nhóm Zalo hướng dẫn đầu tư tiền ảo, lãi 5% mỗi ngày, giờ không rút được",
    )
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
    _walk(chat, until="account", type="Đầu tư")
    chat.send("/totgiac")
    chat.press("Làm lại từ đầu")
    assert "Chuyện gì đã xảy ra" in chat.text
    draft = chat.state().draft
    assert draft is not None and draft.type is None


def test_the_same_update_twice_has_one_effect(chat: Chat, db) -> None:
    from tests.test_journeys import _report

    _report(chat, "Người xưng công an đe dọa, đòi chuyển tiền để xác minh")
    chat.send("/totgiac")
    _walk(
        chat,
        until="confirm",
        account="Lần này họ gọi lại và đòi thêm tiền vào tài khoản tạm giữ",
    )
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
    _walk(chat, account=account)
    assert "giống hệt" in chat.text and code in chat.text
    with db.transaction() as session:
        assert len(session.exec(select(Report)).all()) == 1


def test_daily_report_limit(chat: Chat, dispatcher: Dispatcher) -> None:
    from tests.test_journeys import _report

    dispatcher.limits = Limits(reports_per_day=2)
    _report(chat, "Lần một: người lạ gọi xưng công an đòi tiền")
    _report(chat, "Lần hai: người lạ gọi xưng viện kiểm sát đòi tiền")
    chat.send("/totgiac")
    _walk(chat, until="confirm", account="Lần ba: người lạ gọi xưng tòa án đòi tiền")
    chat.press("Gửi tố giác")
    assert "tối đa trong một ngày" in chat.text
    assert chat.state().step == "confirm"  # nothing lost: tomorrow it can still be sent


def test_photo_too_big_is_refused_with_the_limit(chat: Chat, dispatcher: Dispatcher) -> None:
    chat.photos = True
    dispatcher.limits = Limits(evidence_max_bytes=1024 * 1024)
    _begin(chat)
    _walk(chat, until="evidence", type="Tin nhắn rác", account=SPAM)
    chat.send(attachments=(Attachment("photo", data=b"x" * (1024 * 1024 + 1)),))
    assert "tối đa 1 MB" in chat.text and "Đã nhận 0 ảnh" in chat.text
    assert chat.state().step == "evidence"


def test_channels_without_photos_skip_the_evidence_step(chat: Chat) -> None:
    _begin(chat)
    walker = walk(chat, Story(type="Tin nhắn rác", account=SPAM), until="confirm")
    assert "evidence" not in walker.seen and "contact" in walker.seen


def test_resident_text_is_escaped_in_the_summary(chat: Chat) -> None:
    _begin(chat)
    account = "<b>Họ</b> gửi <script>alert(1)</script> & đòi tiền ngay lập tức"
    _walk(chat, until="confirm", type="Khác", account=account)
    assert "&lt;script&gt;" in chat.text and "<script>" not in chat.text
    assert "&amp; đòi tiền" in chat.text
