"""The conversation side of casework, in the core: a reporter adding to their report, an
officer's words for an action, a lead assigning. Bad input never moves a report."""

from __future__ import annotations

import itertools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import col, select

from content import Content
from db import officers
from db.engine import Database
from db.models import Evidence, Outbox, Report, ReportEvent
from handlers import card, casework, triage
from handlers.types import Attachment
from tests.chat import Chat
from tests.test_journeys import _report

ACCOUNT = "Người xưng công an gọi đòi chuyển tiền xác minh"
_officer_ids = itertools.count(20_000)


def _events(db: Database) -> list[str]:
    with db.transaction() as session:
        return [e.action for e in session.exec(select(ReportEvent).order_by(col(ReportEvent.id)))]


def test_reporter_adds_information_to_their_own_open_report(dispatcher, db: Database) -> None:
    resident = Chat(dispatcher, channel="telegram", user="8400")
    code = _report(resident, ACCOUNT)
    resident.send("/theodoi")
    assert f"Bổ sung {code}" in str(resident.replies[0].buttons)
    resident.press(f"Bổ sung {code}")
    assert "Viết thông tin bổ sung" in resident.text
    resident.send("Số tài khoản nhận tiền là 190312345678, tên NGUYEN VAN A")
    assert "Đã gửi bổ sung" in resident.text
    with db.transaction() as session:
        note = session.exec(select(Outbox).where(Outbox.kind == "police_note")).one()
        assert "NGUYEN VAN A" in note.payload["text"] and "8400" not in note.payload["text"]
    assert _events(db)[-1] == "info"

    stranger = Chat(dispatcher, channel="telegram", user="8401")
    stranger.send(f"/bosung {code}")
    assert "Chỉ người gửi mới bổ sung được" in stranger.text
    stranger.send("/bosung ABCD-2345")  # no such code: the same answer, nothing to probe
    assert "Chỉ người gửi mới bổ sung được" in stranger.text
    stranger.send("/bosung")
    assert "kèm mã tiếp nhận" in stranger.text
    assert _events(db)[-1] == "info" and len(_events(db)) == 2


def test_a_report_closed_while_the_reporter_types(dispatcher, db: Database, clock) -> None:
    resident = Chat(dispatcher, channel="telegram", user="8410")
    code = _report(resident, ACCOUNT)
    resident.send(f"/bosung {code}")
    with db.transaction() as session:
        report = session.exec(select(Report)).one()
        report.status = "rac"
    resident.send("Tôi nhớ thêm: họ gọi lúc 9 giờ sáng")
    assert "vừa được kết thúc" in resident.text and resident.state().flow is None
    resident.send(f"/bosung {code}")
    assert "đã kết thúc" in resident.text
    assert "info" not in _events(db)


def test_reporter_adds_screenshots_to_their_report(dispatcher, db: Database, limits) -> None:
    code = _report(Chat(dispatcher, channel="telegram", user="8420"), ACCOUNT)
    resident = Chat(dispatcher, channel="telegram", user="8420", photos=True)
    resident.send(f"/bosung {code}")
    resident.send(attachments=(Attachment("sticker"),))
    assert "viết chữ hoặc gửi ảnh" in resident.text and resident.state().step == "info"
    for n in (1, 2):  # an album arrives as several messages: the step stays for each
        resident.send(attachments=(Attachment("photo", data=b"anh-%d" % n, mime="image/jpeg"),))
        assert f"Đã chuyển {n} ảnh" in resident.text and resident.state().step == "info"
    assert "Xong" in str(resident.replies[-1].buttons)  # sent photos can't be cancelled
    too_big = Attachment("photo", data=None, size=limits.evidence_max_bytes + 1)
    resident.send(attachments=(too_big,))
    assert "Ảnh quá lớn" in resident.text
    resident.send(attachments=(Attachment("photo", data=None),))  # the download failed
    assert "Chưa nhận được ảnh" in resident.text and "quá lớn" not in resident.text
    resident.send("Ảnh thứ hai là biên lai chuyển khoản")  # words after photos finish it
    assert "Đã gửi bổ sung" in resident.text and resident.state().flow is None
    with db.transaction() as session:
        kept = session.exec(select(Evidence).order_by(col(Evidence.id))).all()
        assert [e.data for e in kept] == [b"anh-1", b"anh-2"]
        albums = session.exec(select(Outbox).where(Outbox.kind == "evidence_album")).all()
        assert [a.payload["evidence_ids"] for a in albums] == [[kept[0].id], [kept[1].id]]
    assert _events(db) == ["created", "info", "info", "info"]


def test_screenshots_stop_at_the_per_report_limit(dispatcher, db: Database, limits) -> None:
    code = _report(Chat(dispatcher, channel="telegram", user="8421"), ACCOUNT)
    resident = Chat(dispatcher, channel="telegram", user="8421", photos=True)
    resident.send(f"/bosung {code}")
    many = tuple(
        Attachment("photo", data=b"p%d" % n) for n in range(limits.evidence_per_report + 2)
    )
    resident.send(attachments=many)
    assert f"Đã đủ {limits.evidence_per_report} ảnh" in resident.text
    with db.transaction() as session:
        assert len(session.exec(select(Evidence)).all()) == limits.evidence_per_report
    resident.press("Xong")
    assert "Đã gửi bổ sung" in resident.text


def _officer_at_note(dispatcher, db: Database, words: Content, clock, action: str) -> Chat:
    """A fresh officer, a fresh report, and the officer pressed `action` on its card."""
    telegram_id = next(_officer_ids)
    code = _report(Chat(dispatcher, channel="telegram", user=str(telegram_id + 1)), ACCOUNT)
    with db.transaction() as session:
        officers.add(session, "Cán bộ thử", "officer", telegram_id)
        report = session.exec(select(Report).where(Report.receipt_code == code)).one()
        casework.press(session, words, telegram_id, f"t:claim:{report.id}", clock())
        outcome = casework.press(session, words, telegram_id, f"t:{action}:{report.id}", clock())
        assert not outcome.refused, outcome.answer
    officer = Chat(dispatcher, channel="telegram", user=str(telegram_id))
    assert officer.state().step == "note"
    return officer


def test_arbitrary_words_for_an_officer_note(dispatcher, db: Database, words, clock) -> None:
    """Whatever an officer types at a note: a short answer, never an error; a report moves
    only on a real answer."""

    @settings(
        max_examples=30,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(st.sampled_from(["ask", "dup", "resolve", "nocrime", "spam"]), st.text(max_size=200))
    def throw(action: str, text: str) -> None:
        officer = _officer_at_note(dispatcher, db, words, clock, action)
        replies = officer.send(text)
        assert replies and all(r.text.strip() for r in replies)
        assert words.text("common.error") not in officer.text
        if officer.state().step == "note":  # still asked: the report did not move
            with db.transaction() as session:
                last = session.exec(
                    select(ReportEvent).order_by(col(ReportEvent.id).desc())
                ).first()
                assert last is not None and last.action == "claim"

    throw()


def test_duplicate_needs_another_existing_code(dispatcher, db: Database, words, clock) -> None:
    officer = _officer_at_note(dispatcher, db, words, clock, "dup")
    with db.transaction() as session:
        own = session.exec(select(Report).order_by(col(Report.id).desc())).first()
        assert own is not None
    officer.send(own.receipt_code)
    assert "tố giác khác" in officer.text and officer.state().step == "note"
    officer.send("Không biết")
    assert officer.state().step == "note"
    officer.send("/huy")
    with db.transaction() as session:
        assert session.get(Report, own.id).status == "da_tiep_nhan"  # type: ignore[union-attr]


def test_a_lead_assigns_and_the_officer_is_told(dispatcher, db: Database) -> None:
    code = _report(Chat(dispatcher, channel="telegram", user="8500"), ACCOUNT)
    with db.transaction() as session:
        lead = officers.add(session, "Lãnh đạo", "lead", 8600)
        plain = officers.add(session, "Cán bộ", "officer", 8601)
        lead_id, plain_id = lead.id, plain.id
    officer = Chat(dispatcher, channel="telegram", user="8601")
    officer.send(f"/giao {code} {lead_id}")
    assert "Chỉ lãnh đạo" in officer.text
    boss = Chat(dispatcher, channel="telegram", user="8600")
    boss.send("/canbo")
    assert f"#{plain_id} Cán bộ" in boss.text
    boss.send("/giao")
    assert "Cách dùng" in boss.text
    boss.send(f"/giao {code} 999")
    assert "Không có cán bộ" in boss.text
    boss.send(f"/giao {code} #{plain_id}")
    assert "Đã giao cho Cán bộ" in boss.text
    with db.transaction() as session:
        report = session.exec(select(Report)).one()
        assert report.status == "da_tiep_nhan" and report.claimed_by == plain_id
        told = session.exec(select(Outbox).where(Outbox.recipient == "8601")).all()
        assert any(code in row.payload["text"] for row in told)
        reporter = session.exec(select(Outbox).where(Outbox.recipient == "8500")).all()
        assert any("Cán bộ đã nhận xử lý" in row.payload["text"] for row in reporter)


def test_an_officer_with_the_longest_name_can_act(dispatcher, db: Database, words, clock) -> None:
    """Names may be 128 long; the history records the officer by id and the name in full."""
    resident = Chat(dispatcher, channel="telegram", user="8470")
    _report(resident, ACCOUNT)
    name = ("Nguyễn Thị Phương " * 8)[:127] + "A"
    with db.transaction() as session:
        officer = officers.add(session, name=name, role="officer", telegram_id=9_470)
        report = session.exec(select(Report)).one()
        outcome = triage.act(session, words, officer, report, "claim", clock())
        assert not outcome.refused
    with db.transaction() as session:
        event = session.exec(select(ReportEvent).order_by(col(ReportEvent.id).desc())).first()
        assert event is not None and event.officer_id == officer.id and event.actor == name
        report = session.exec(select(Report)).one()
        assert f"{name} (#{officer.id})" in card.card(session, words, report, whole=True).text
