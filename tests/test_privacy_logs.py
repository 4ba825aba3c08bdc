"""What the log holds when a report fails to save: never what the resident wrote, their phone,
or which account wrote it (issue 13, item 3)."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import text

from db import reports
from tests.chat import Chat
from tests.walker import Story, walk

ACCOUNT = "Tôi là Trần Thị Mai, nhà ở số 12 ngõ 5 phố Lý Thường Kiệt, bị lừa chuyển 40 triệu"
PHONE = "0987111222"
USER = "zalo-4412987654321"


def test_a_failed_submission_logs_nothing_personal(
    dispatcher, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(session, draft, *args, **kwargs):  # type: ignore[no-untyped-def]
        # A real statement the database refuses (no report -1), carrying personal values.
        session.execute(
            text("INSERT INTO report_words (report_id, words) VALUES (-1, :account || :phone)"),
            {"account": draft.account, "phone": draft.contact_phone},
        )

    monkeypatch.setattr(reports, "create", broken)
    chat = Chat(dispatcher, channel="zalo_oa", user=USER)
    chat.send("/totgiac")
    chat.press("Đồng ý")
    walk(chat, Story(account=ACCOUNT, phone=PHONE, submit=False))
    with caplog.at_level(logging.DEBUG):
        chat.press("Gửi tố giác")
    assert "sự cố" in chat.text  # the resident is told, and the draft is kept to send again
    logged = "\n".join(
        [r.getMessage() for r in caplog.records]
        + [r.exc_text or "" for r in caplog.records]
        + [logging.Formatter().formatException(r.exc_info) for r in caplog.records if r.exc_info]
    )
    assert "report_words" in logged  # the failure itself is logged, for whoever mends it
    for personal in (ACCOUNT, "Trần Thị Mai", PHONE, "0987 111 222", USER, "4412987654321"):
        assert personal not in logged, personal
