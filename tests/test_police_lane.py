"""The police chat's lane: a card always fits one message; a malformed message never holds
the ones behind it; one reporter's burst cannot delay an urgent card; card refreshes are
coalesced; a notice to a reporter keeps trying for days and its failure shows on the card;
two senders on one database never send a row twice."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import col, select

from bot.outbox_sender import OutboxSender, Rejected, RetryLater
from content import Content
from db import identifiers, outbox, reports
from db.clock import utcnow
from db.engine import Database
from db.models import Outbox, Report
from handlers import card, police, triage
from handlers.dispatcher import clean
from handlers.followup import ADDITIONS
from tests.chat import Chat
from tests.test_journeys import _report

ESCAPED = "<b>&\"'"  # each becomes several characters once escaped for HTML


def _report_with(
    db: Database, words: Content, account: str, victim: str, links: int, additions: int
) -> int:
    """A report as large as a resident can make one: the longest account and whereabouts,
    many identifiers, many additions."""
    now = utcnow()
    named = [identifiers.link(f"lua{n}.example.com/" + "x" * 240) for n in range(links)]
    with db.transaction() as session:
        draft = reports.Draft(
            channel="telegram",
            scam_type="buon_nguoi",
            account=account,
            consent_version="v1",
            urgent=True,
            victim_info=victim,
            identifiers=[i for i in named if i is not None],
        )
        report = reports.create(
            session, draft, None, now, timedelta(minutes=15), timedelta(days=20)
        )
        for n in range(additions):
            triage.add_info(session, words, report, f"bổ sung {n} " + ESCAPED * 80, now)
        return report.id or 0


def _card_length(db: Database, words: Content, report_id: int) -> int:
    with db.transaction() as session:
        report = session.get(Report, report_id)
        assert report is not None
        return len(card.card(session, words, report).text)


def test_the_largest_report_still_fits_one_message(db: Database, words: Content) -> None:
    report_id = _report_with(db, words, ESCAPED * 1000, ESCAPED * 300, 20, 60)
    assert _card_length(db, words, report_id) <= card.CARD_LIMIT
    with db.transaction() as session:
        report = session.get(Report, report_id)
        assert report is not None
        whole = card.card(session, words, report, whole=True).text
    assert "bổ sung 59" in whole and "lua19.example.com" in whole  # /xem keeps everything


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    # As residents' words reach the database: cleaned of controls (NUL included) first.
    account=st.text(min_size=1, max_size=6000).map(clean).filter(bool),
    victim=st.text(max_size=3000).map(clean),
    links=st.integers(0, 20),
    additions=st.integers(0, 30),
)
def test_any_report_fits_one_message(
    db: Database, words: Content, account: str, victim: str, links: int, additions: int
) -> None:
    report_id = _report_with(db, words, account, victim or "không rõ", links, additions)
    assert _card_length(db, words, report_id) <= card.CARD_LIMIT


def test_card_refreshes_waiting_to_go_are_coalesced(db: Database, words: Content) -> None:
    report_id = _report_with(db, words, "Bị giữ ở biên giới", "Bavet", 0, 0)
    with db.transaction() as session:
        report = session.get(Report, report_id)
        assert report is not None
        for n in range(5):
            for effect in triage.add_info(session, words, report, f"thêm {n}", utcnow()):
                outbox.enqueue(session, effect, utcnow())
    with db.transaction() as session:
        kinds = Counter(row.kind for row in session.exec(select(Outbox)).all())
    assert kinds == {police.CARD: 1, police.NOTE: 5}


async def test_an_urgent_card_goes_before_a_reporters_burst(db: Database, dispatcher) -> None:
    """25 additions in a row: at most ADDITIONS reach the police chat, and an urgent card
    queued after them is still the next police message sent."""
    resident = Chat(dispatcher, channel="telegram", user="8801")
    code = _report(resident, "Người xưng công an gọi đòi chuyển tiền xác minh")
    resident.send(f"/bosung {code}")
    for n in range(25):
        resident.send(f"Tôi nhớ thêm chi tiết số {n}: họ gọi lúc {n} giờ")
        if n < ADDITIONS:
            resident.send(f"/bosung {code}")
    assert "chưa được gửi" in resident.text
    urgent_id = _report_with(db, dispatcher.content, "Con tôi bị giữ bên Campuchia", "Bavet", 0, 0)
    with db.transaction() as session:
        report = session.get(Report, urgent_id)
        assert report is not None
        outbox.enqueue(session, police.card(report), utcnow())
        notes = session.exec(select(Outbox).where(Outbox.kind == police.NOTE)).all()
    assert len(notes) == ADDITIONS
    sent: list[Outbox] = []

    async def transport(row: Outbox) -> None:
        sent.append(row)

    lane = OutboxSender(db, {police.POLICE: transport}, batch=3, never_give_up=True)
    await lane.drain_once()
    assert sent[0].report_id == urgent_id and sent[0].kind == police.CARD


async def test_a_malformed_police_message_does_not_hold_the_ones_behind(
    db: Database, words: Content
) -> None:
    first = _report_with(db, words, "Lừa đầu tư", "—", 0, 0)
    second = _report_with(db, words, "Lừa việc nhẹ lương cao", "—", 0, 0)
    with db.transaction() as session:
        for report_id in (first, second):
            report = session.get(Report, report_id)
            assert report is not None
            outbox.enqueue(session, police.card(report), utcnow())
    posted: list[int] = []

    async def transport(row: Outbox) -> None:
        if row.report_id == first:
            raise Rejected("Bad Request: can't parse entities")
        posted.append(row.report_id or 0)

    lane = OutboxSender(db, {police.POLICE: transport}, never_give_up=True)
    await lane.drain_once()
    await lane.drain_once()
    assert posted == [second]
    with db.transaction() as session:
        statuses = {r.report_id: r.status for r in session.exec(select(Outbox)).all()}
    assert statuses == {first: outbox.FAILED, second: outbox.SENT}


async def test_a_notice_keeps_trying_for_days_then_shows_on_the_card(
    db: Database, dispatcher, clock
) -> None:
    resident = Chat(dispatcher, channel="telegram", user="8802")
    _report(resident, "Người xưng công an gọi đòi chuyển tiền xác minh")
    with db.transaction() as session:
        report = session.exec(select(Report)).one()
        question = {"text": "Công an hỏi: bạn chuyển tiền lúc mấy giờ?"}
        row = outbox.enqueue(
            session, outbox.Message("telegram", "8802", "reply", question, report.id), utcnow()
        )
        session.flush()
        notice_id = row.id or 0
    down = RetryLater(None, "Telegram unreachable")

    async def transport(row: Outbox) -> None:
        raise down

    lane = OutboxSender(db, {"telegram": transport})
    for _ in range(outbox.GIVE_UP_AFTER + 5):  # far more tries than a plain reply gets
        with db.transaction() as session:
            session.get(Outbox, notice_id).next_attempt_at = utcnow()  # type: ignore[union-attr]
        await lane.drain_once()
    with db.transaction() as session:
        assert session.get(Outbox, notice_id).status == outbox.PENDING  # type: ignore[union-attr]
        late = session.get(Outbox, notice_id)
        assert late is not None
        late.created_at -= outbox.NOTICE_PATIENCE  # a week has passed
        late.next_attempt_at = utcnow()
    await lane.drain_once()
    with db.transaction() as session:
        assert session.get(Outbox, notice_id).status == outbox.FAILED  # type: ignore[union-attr]
        report = session.exec(select(Report)).one()
        assert "chưa đến được người báo tin" in card.card(session, dispatcher.content, report).text
        refresh = session.exec(
            select(Outbox).where(Outbox.kind == police.CARD).order_by(col(Outbox.id).desc())
        ).first()
        assert refresh is not None and refresh.status == outbox.PENDING


async def test_two_senders_never_send_a_row_twice(db: Database) -> None:
    """Each sender's batch outlasts its lease (a paced chat): renewing it keeps the other
    sender from taking the same rows."""
    with db.transaction() as session:
        for n in range(8):
            message = outbox.Message("telegram", str(9000 + n), "reply", {"text": f"tin {n}"})
            outbox.enqueue(session, message, utcnow())
    sent: Counter[int] = Counter()

    async def slow(row: Outbox) -> None:
        sent[row.id or 0] += 1
        await asyncio.sleep(0.4)  # the pace of a slow chat

    lease = timedelta(seconds=1)
    first = OutboxSender(db, {"telegram": slow}, batch=8, lease=lease)  # 3.2 s for its batch
    second = OutboxSender(db, {"telegram": slow}, batch=8, lease=lease)

    async def keep_looking(sender: OutboxSender) -> None:
        """The other process, looking every 50 ms for rows whose lease ran out."""
        await asyncio.sleep(0.1)
        for _ in range(80):
            await sender.drain_once()
            await asyncio.sleep(0.05)

    await asyncio.gather(first.drain_once(), keep_looking(second))
    assert len(sent) == 8 and set(sent.values()) == {1}, sent
