"""The periodic report over records made the way residents and officers make them: quiz
rounds played and scam tricks opened in the chat, reports filed through the report flow
(tests/walker.py) and moved by the triage rules (handlers/triage.py), all on a controlled
clock; every figure on the page, in the DOCX and in the XLSX equals a count made here."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import select

from content import Content
from db import statistics
from db.engine import Database
from db.models import QuizRound, ScamView
from handlers import quiz
from handlers.dispatcher import Dispatcher
from tests.chat import Chat
from tests.conftest import Clock


def _play(chat: Chat, words: Content, right: int) -> None:
    """One quiz round, answering the first ``right`` questions rightly and the rest wrongly."""
    chat.send("/cauhoi")
    for number in range(quiz.ROUND):
        question = next(q for q in words.quiz if q["question"] in chat.text)
        answer = question["options"][question["answer"]]
        wrong = next(o for o in question["options"] if o != answer)
        chat.press(answer if number < right else wrong)
    assert f"Bạn trả lời đúng {right}/{quiz.ROUND} câu" in chat.text


def test_quiz_rounds_and_scam_views_are_counted_without_names(
    dispatcher: Dispatcher, db: Database, clock: Clock, words: Content
) -> None:
    clock.now = datetime(2026, 11, 30, 16, 0, tzinfo=UTC)  # 23:00 on 30/11 in Vietnam
    telegram = Chat(dispatcher, channel="telegram", user="7001")
    zalo = Chat(dispatcher, channel="zalo_bot", user="z-7002")
    _play(telegram, words, 6)
    _play(zalo, words, 3)
    zalo.send("/cauhoi")  # a round left half-way is not counted
    zalo.press(words.raw("buttons.cancel"))
    trick, other = words.scams[0]["id"], words.scams[1]["id"]
    for chat in (telegram, zalo, telegram):
        chat.send(f"/thudoan {trick}")
    zalo.send(f"/thudoan {other}")
    zalo.send(f"/thudoan {words.scams[0]['group']}")  # a group's list is no trick's page
    clock.advance(hours=1, minutes=30)  # 00:30 on 1/12 in Vietnam: December
    _play(telegram, words, 5)
    telegram.send(f"/thudoan {other}")

    with db.transaction() as session:
        november = statistics.compute(session, statistics.parse_period("2026-11"))
        december = statistics.compute(session, statistics.parse_period("2026-12"))
        rounds = session.exec(select(QuizRound)).all()
        views = session.exec(select(ScamView)).all()
    played = november.propaganda.quiz
    assert (played.rounds, played.questions, played.right) == (2, 12, 9)
    assert played.average == 7.5 and played.right_share == 0.75
    assert played.by_channel == {"telegram": (1, 10.0), "zalo_bot": (1, 5.0)}
    assert november.propaganda.scam_views == {trick: 3, other: 1}
    assert december.propaganda.quiz.rounds == 1 and december.propaganda.quiz.average == 8.3
    assert december.propaganda.scam_views == {other: 1}
    # What is kept: a moment, a channel, a score; a day, a trick, a number. Nobody.
    assert len(rounds) == 3
    assert list(QuizRound.__table__.columns.keys()) == [  # type: ignore[attr-defined]
        "id", "finished_at", "channel", "score", "total",
    ]  # fmt: skip
    assert sorted((v.day.isoformat(), v.scam, v.count) for v in views) == sorted(
        [("2026-11-30", trick, 3), ("2026-11-30", other, 1), ("2026-12-01", other, 1)]
    )
