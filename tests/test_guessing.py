"""One-time codes cannot be guessed by trying, and a receipt code's existence is never told
before the throttle (issue 13, item 7)."""

from __future__ import annotations

from sqlmodel import select

from db import officers
from db.models import Report
from tests.chat import Chat
from tests.walker import Story, walk


def test_invite_codes_are_throttled(dispatcher, db, clock) -> None:
    with db.transaction() as session:
        admin = officers.add(session, "Quản trị", "admin", 1)
        code = officers.create_invite(session, admin, "officer", clock()).code
    guesser = Chat(dispatcher, channel="telegram", user="4242")
    for n in range(5):
        assert "không hợp lệ" in guesser.send(f"/dangnhap ABCD-{2345 + n} Kẻ Đoán")[0].text
    # The sixth try is refused even with the right code: guessing takes hours, not seconds.
    assert "quá nhiều" in guesser.send(f"/dangnhap {code} Kẻ Đoán")[0].text
    clock.advance(hours=1, seconds=1)
    assert "Chào" in guesser.send(f"/dangnhap {code} Kẻ Đoán")[0].text


def test_a_code_that_reads_as_a_number_tells_nothing(dispatcher, db) -> None:
    """'2345-6789' is a receipt code and an account number at once: answered as a number,
    whether or not such a code exists (a digits-only code is tracked with /theodoi)."""
    owner = Chat(dispatcher, user="owner")
    owner.send("/totgiac")
    assert walk(owner, Story()).code
    with db.transaction() as session:
        session.exec(select(Report)).one().receipt_code = "2345-6789"
    prober = Chat(dispatcher, user="prober")
    real = prober.send("2345-6789")[0].text
    made_up = prober.send("3456-7892")[0].text
    assert real.replace("2345", "3456").replace("6789", "7892") == made_up
    assert "Tố giác" not in real
    owner.send("/theodoi 2345-6789")  # the owner still finds it
    assert "2345-6789" in owner.text
