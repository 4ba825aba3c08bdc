"""After /xoadulieu nothing in the database names the person (issue 13, item 5): every table,
every text and JSON column (and whole-number ones, for numeric ids) is searched for their
account id and phone, so a table added later is covered without changing this test."""

from __future__ import annotations

import json

from sqlalchemy import JSON, BigInteger, Integer, String, Text, TypeDecorator, cast, func, select
from sqlmodel import SQLModel

import db.models  # noqa: F401  (every table in the metadata)
from db import broadcasts, outbox
from db.engine import Database
from db.models import Evidence, FailedUpdate, Outbox, Report
from db.sealing import SealedBytes, SealedJSON, SealedText
from handlers.dispatcher import Dispatcher
from tests.chat import Chat
from tests.test_journeys import _report

USER = "7300412345"  # a Telegram-like numeric id, found nowhere else in a fresh database
PHONE = "0987654321"
DIGITS = "987654321"  # the phone in any form it is stored (+84…, 0…)


SEALED = (SealedText, SealedJSON, SealedBytes)


def _naming(database: Database, *values: str) -> list[str]:
    """Every table.column that holds one of the values (as text, or as the number it is)."""
    found = []
    with database.engine.connect() as conn:
        for table in SQLModel.metadata.sorted_tables:
            for column in table.columns:
                kind = column.type
                if isinstance(kind, SEALED):  # stored sealed: looked for in what it opens to
                    opened = conn.execute(select(column).where(column.is_not(None))).scalars()
                    shown = [
                        v.decode("latin-1")
                        if isinstance(v, bytes)
                        else json.dumps(v, ensure_ascii=False)
                        for v in opened
                    ]
                    found += [
                        f"{table.name}.{column.name}: {value}"
                        for value in values
                        if any(value in text for text in shown)
                    ]
                    continue
                if isinstance(kind, TypeDecorator):  # SQLModel's AutoString
                    kind = kind.impl_instance
                for value in values:
                    if isinstance(kind, String | Text | JSON):
                        where = cast(column, Text).contains(value, autoescape=True)
                    elif isinstance(kind, Integer | BigInteger) and value.isdigit():
                        if int(value) >= 2**31 and not isinstance(kind, BigInteger):
                            continue  # an int4 column cannot hold it
                        where = column == int(value)
                    else:
                        continue
                    if conn.execute(select(func.count()).select_from(table).where(where)).scalar():
                        found.append(f"{table.name}.{column.name}: {value}")
    return found


def test_after_erasure_nothing_names_the_person(dispatcher: Dispatcher, db, clock) -> None:
    chat = Chat(dispatcher, user=USER)
    code = _report(
        chat,
        "Người xưng nhân viên ngân hàng gọi bảo cập nhật tài khoản rồi lấy mất 5 triệu",
        phone=PHONE,
    )
    chat.send("/dangky")
    chat.press("Không chọn")
    chat.send("/kiemtra 0912345678")  # a look-up counter keyed by the account
    chat.send(f"/theodoi {code}")  # a code look-up counter too
    with db.transaction() as session:
        report = session.exec(select(Report)).scalars().one()
        alert = broadcasts.create(
            session, text="Cảnh báo", audience="all", send_at=clock(), author="x", now=clock()
        )
        broadcasts.approve(session, alert, "y", clock())
        broadcasts.start_due(session, clock())
        # What the outbox may still hold for them: a notice with their code, given up or
        # waiting for them to write again, and one not yet sent.
        for status in (outbox.PENDING, outbox.FAILED, outbox.WAITING):
            row = outbox.enqueue(
                session,
                outbox.Message("test", USER, "reply", {"text": f"Mã {code}"}, report.id),
                clock(),
            )
            row.status = status
        # Photos of a second report never finished, and an update of theirs set aside.
        session.add(Evidence(draft_owner=f"test:{USER}", sha256="0" * 64, size=1, data=b"x"))
        session.add(
            FailedUpdate(
                channel="test",
                update_id="991",
                body={"message": {"from": {"id": int(USER)}, "text": "xin chào"}},
                error="boom",
            )
        )
    before = _naming(db, USER, DIGITS)
    for table in ("conversation", "resident", "throttle", "outbox", "evidence", "delivery"):
        assert any(f.startswith(f"{table}.") for f in before), (table, before)
    assert any(f.startswith("failed_update.") for f in before) and "report.contact_phone" in str(
        before
    )

    chat.send("/xoadulieu")
    chat.press("Xóa dữ liệu")
    assert "Đã xóa" in chat.text
    # The farewell is owed until sent; the channel marks it sent, as after every turn.
    with db.transaction() as session:
        outbox.mark_sent(session, chat.last.outbox_ids, clock())

    assert _naming(db, USER, DIGITS) == []
    with db.transaction() as session:
        kept = session.exec(select(Report)).scalars().one()
        # The report stays for police, unlinked; its code still answers /theodoi.
        assert kept.receipt_code == code and kept.reporter_tag is None and kept.account
    stranger = Chat(dispatcher, user="someone-else")
    stranger.send(f"/theodoi {code}")
    assert "Trạng thái" in stranger.text


def test_a_sent_reply_is_kept_for_someone_still_talking(dispatcher: Dispatcher, db, clock) -> None:
    chat = Chat(dispatcher, user=USER)
    chat.send("/start")
    with db.transaction() as session:
        outbox.mark_sent(session, chat.last.outbox_ids, clock())
    with db.transaction() as session:
        rows = session.exec(select(Outbox.status)).scalars().all()
    assert rows and set(rows) == {outbox.SENT}


def test_erasing_only_a_draft_leaves_nothing(dispatcher: Dispatcher, db, clock) -> None:
    chat = Chat(dispatcher, user=USER)
    chat.send("/totgiac")
    chat.press("Đồng ý")
    chat.send("/xoadulieu")
    chat.press("Xóa dữ liệu")
    assert "Đã xóa" in chat.text
    with db.transaction() as session:
        outbox.mark_sent(session, chat.last.outbox_ids, clock())
    assert _naming(db, USER) == []
