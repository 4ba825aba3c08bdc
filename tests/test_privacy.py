"""/xoadulieu removes what identifies the resident and keeps the anonymised report."""

from __future__ import annotations

from sqlmodel import select

from db import broadcasts
from db.models import Consent, Conversation, Delivery, Report, Resident
from tests.chat import Chat
from tests.test_journeys import _report


def test_erasure_unlinks_reports_and_drops_contact_data(chat: Chat, db) -> None:
    code = _report(
        chat,
        "Người quen qua mạng hứa cưới, rồi xin tiền chữa bệnh nhiều lần",
        type="Tình cảm",
        phone="0987654321",
    )
    chat.send("/dangky")
    chat.press("Không chọn")
    chat.send("/xoadulieu")
    assert "vẫn giữ" in chat.text and "Công an" in chat.text  # said before confirming
    chat.press("Xóa dữ liệu")
    assert "Đã xóa" in chat.text
    with db.transaction() as session:
        report = session.exec(select(Report)).one()
        assert report.reporter is None and report.reporter_tag is None
        assert report.contact_phone is None
        assert report.account  # kept for the police
        assert session.exec(select(Resident)).first() is None
        assert session.exec(select(Consent)).first() is None
        # The conversation itself goes (issue 13, item 5): tests/test_erasure.py scans it all.
        assert session.exec(select(Conversation)).first() is None
    chat.send("/theodoi")
    assert "chưa có tố giác" in chat.text
    chat.send(code)
    assert "Trạng thái" in chat.text  # still followed by its code


def test_keeping_data_changes_nothing(chat: Chat, db) -> None:
    _report(chat, "Người xưng công an gọi điện đòi chuyển tiền xác minh")
    chat.send("/xoadulieu")
    chat.press("Giữ lại")
    assert "giữ nguyên" in chat.text
    with db.transaction() as session:
        assert session.exec(select(Report)).one().reporter_tag is not None


def test_nothing_to_erase(chat: Chat) -> None:
    chat.send("/xoadulieu")
    assert "không lưu dữ liệu" in chat.text


def test_erasure_works_for_a_resident_who_received_alerts(chat: Chat, db, clock) -> None:
    chat.send("/dangky")
    chat.press("Không chọn")
    with db.transaction() as session:
        for _ in range(2):
            alert = broadcasts.create(
                session, text="Cảnh báo", audience="all", send_at=clock(), author="x", now=clock()
            )
            broadcasts.approve(session, alert, "y", clock())
        broadcasts.start_due(session, clock())
        first = session.exec(select(Delivery).order_by(Delivery.id)).first()
        assert first is not None
        broadcasts.mark(session, [first.id or 0], broadcasts.SENT, clock())
    chat.send("/xoadulieu")
    chat.press("Xóa dữ liệu")
    assert "Đã xóa" in chat.text
    with db.transaction() as session:
        assert session.exec(select(Resident)).first() is None
        kept = session.exec(select(Delivery)).all()
        # The alert that went is still counted, unlinked; the one that had not is never sent.
        assert [(d.status, d.resident_id, d.recipient) for d in kept] == [("sent", None, "")]
