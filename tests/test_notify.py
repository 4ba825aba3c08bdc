"""Officers hear of what needs them through the routes each chose, no messenger required:
a new report, an urgent one unclaimed, a reporter's answer, an escalation."""

from __future__ import annotations

from sqlmodel import select

from db import officers, push
from db.engine import Database
from db.models import Officer, Outbox
from handlers.deadlines import due
from tests.chat import Chat
from tests.conftest import Clock
from tests.walker import Story, walk


def _officer(db: Database, clock: Clock, role: str, **links: object) -> Officer:
    with db.transaction() as session:
        officer = officers.add(session, f"Cán bộ {role}", role, links.pop("telegram_id", None))  # type: ignore[arg-type]
        for name, value in links.items():
            setattr(officer, name, value)
        session.flush()
        push.save(
            session,
            officer.id or 0,
            f"https://push.example/{officer.id}",
            "k" * 87,
            "a" * 22,
            clock(),
        )
        return officer


def _pushed(db: Database) -> list[tuple[str, dict]]:
    with db.transaction() as session:
        rows = session.exec(select(Outbox).where(Outbox.channel == "webpush")).all()
        return [(row.recipient, row.payload) for row in rows]


def _file(chat: Chat, **story: object) -> str:
    chat.send("/totgiac")
    chat.press("Đồng ý")
    code = walk(chat, Story(**story)).code  # type: ignore[arg-type]
    assert code
    return code


def test_a_new_report_reaches_every_officer_by_web_push(
    db: Database, dispatcher, clock: Clock
) -> None:
    officer = _officer(db, clock, "officer")
    staff = _officer(db, clock, "staff")  # propaganda staff never hear of reports
    code = _file(Chat(dispatcher, user="r-n1"))
    pushed = _pushed(db)
    assert [r for r, _ in pushed] == [str(officer.id)]
    notice = pushed[0][1]
    assert code in notice["title"] and notice["url"] == f"/reports/{code}"
    assert "<b>" not in notice["body"] and not notice["urgent"]
    assert str(staff.id) not in {r for r, _ in pushed}


def test_an_officer_who_chose_no_push_is_not_pushed(db: Database, dispatcher, clock: Clock) -> None:
    _officer(db, clock, "officer", notify_by=["telegram"])
    _file(Chat(dispatcher, user="r-n2"))
    assert _pushed(db) == []


def test_telegram_is_not_told_twice_what_the_police_chat_shows(
    db: Database, dispatcher, clock: Clock
) -> None:
    _officer(db, clock, "officer", telegram_id=5551)
    _file(Chat(dispatcher, user="r-n3"))
    with db.transaction() as session:
        assert not session.exec(select(Outbox).where(Outbox.recipient == "5551")).all()


def test_an_urgent_report_is_pushed_as_urgent_and_again_while_unclaimed(
    db: Database, dispatcher, clock: Clock, words
) -> None:
    officer = _officer(db, clock, "officer")
    code = _file(
        Chat(dispatcher, user="r-n4"),
        type="Mua bán người",
        account="Con tôi bị giữ ở Campuchia, họ đòi tiền chuộc",
        held=True,
    )
    first = _pushed(db)
    assert first and first[0][1]["urgent"] and code in first[0][1]["title"]
    clock.advance(minutes=5, seconds=1)
    with db.transaction() as session:
        again = [m for m in due(session, words, clock(), clock().time()) if m.channel == "webpush"]
    assert [m.recipient for m in again] == [str(officer.id)] and again[0].payload["urgent"]


def test_the_reporters_answer_reaches_the_officer_who_holds_the_report(
    db: Database, dispatcher, clock: Clock, words
) -> None:
    from db.models import Report
    from handlers import triage

    holder = _officer(db, clock, "officer")
    other = _officer(db, clock, "officer")
    resident = Chat(dispatcher, user="r-n5")
    code = _file(resident)
    with db.transaction() as session:
        report = session.exec(select(Report)).one()
        me = session.get(Officer, holder.id)
        outcome = triage.act(
            session, words, me, report, "ask", clock(), "Số tài khoản nhận tiền là gì?"
        )
        assert not outcome.refused
        for message in outcome.effects:
            from db import outbox

            outbox.enqueue(session, message, clock())
        session.exec(select(Outbox)).all()
        report.claimed_by = holder.id
    before = len(_pushed(db))
    resident.send(f"/bosung {code}")
    resident.send("Tài khoản 0123456789 Vietcombank")
    answers = _pushed(db)[before:]
    assert [r for r, _ in answers] == [str(holder.id)]
    assert str(other.id) not in {r for r, _ in answers}
