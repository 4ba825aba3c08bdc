"""The leads are reminded of the periodic report a week and a day before each due date
(REPORT_DUE_DATES), from the morning digest's hour, once each however often and by however
many processes the clock ticks, with the statistics page for the period and the command that
makes the files."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlmodel import col, select

from bot import settings as settings_module
from bot.scheduler import Plan, plan, run_due
from bot.settings import SettingsError
from db import officers
from db.engine import Database
from db.models import Outbox, PushSubscription
from handlers import deadlines
from tests.conftest import Clock

LEAD, ADMIN, OFFICER = "9700", "9701", "9702"
DIGEST_AT = time(7, 30)


def _vietnam(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC) - timedelta(hours=7)


def _people(db: Database) -> None:
    with db.transaction() as session:
        officers.add(session, "Trưởng Công an phường", "lead", int(LEAD))
        officers.add(session, "Quản trị", "admin", int(ADMIN))
        officers.add(session, "Cán bộ", "officer", int(OFFICER))
        gone = officers.add(session, "Lãnh đạo cũ", "lead", 9703)
        gone.active = False


def _reminders(db: Database, recipient: str = LEAD) -> list[str]:
    with db.transaction() as session:
        rows = session.exec(
            select(Outbox).where(Outbox.recipient == recipient).order_by(col(Outbox.id))
        ).all()
        return [r.payload["text"] for r in rows if "báo cáo định kỳ" in r.payload.get("text", "")]


def _tick(db: Database, words, clock: Clock, due: tuple[tuple[int, int], ...]) -> int:
    plan_ = Plan(digest_at=DIGEST_AT, tip_weekday=7, tip_at=time(23, 59), report_due=due)
    return run_due(db, words, clock(), plan_)


def test_a_week_and_a_day_before_once_each(db: Database, clock: Clock, words) -> None:
    _people(db)
    due = ((5, 12),)
    seen: dict[date, int] = {}
    day = date(2026, 11, 22)
    while day <= date(2026, 12, 6):
        for hour, minute in ((0, 5), (7, 29), (7, 30), (12, 0), (23, 59)):
            clock.now = _vietnam(day, hour, minute)
            _tick(db, words, clock, due)
            _tick(db, words, clock, due)  # a second process, or a second tick: nothing more
            count = len(_reminders(db))
            if count != sum(seen.values()):
                assert (hour, minute) == (7, 30), (day, hour, minute)  # from the digest's hour
                seen[day] = count - sum(seen.values())
        day += timedelta(days=1)
    assert seen == {date(2026, 11, 28): 1, date(2026, 12, 4): 1}

    week, eve = _reminders(db)
    assert "Còn <b>7 ngày</b>" in week and "<b>05/12/2026</b>" in week
    assert "Còn <b>1 ngày</b>" in eve
    for text in (week, eve):
        assert "từ 01/01/2026 đến 04/12/2026" in text
        assert "/statistics?from=2026-01-01&amp;to=2026-12-04" in text
        assert (
            "canhgiac report periodic --from 2026-01-01 --to 2026-12-04 --out bao-cao-2026.docx"
            in text
        )
        assert "--out so-lieu-2026.xlsx" in text
    # Every active lead and admin, and no one else.
    assert len(_reminders(db, ADMIN)) == 2
    assert not _reminders(db, OFFICER) and not _reminders(db, "9703")
    with db.transaction() as session:
        pushes = session.exec(select(Outbox).where(Outbox.channel == "webpush")).all()
        assert not pushes  # nobody has a push subscription: their Telegram only


def test_the_push_opens_the_statistics_page_for_the_period(db: Database, words) -> None:
    with db.transaction() as session:
        lead = officers.add(session, "Lãnh đạo", "lead", None)
        lead.notify_by = ["webpush"]
        session.add(
            PushSubscription(
                officer_id=lead.id,
                endpoint="https://push.example/1",
                endpoint_hash="1" * 64,
                p256dh="k",
                auth="a",
            )
        )
    with db.transaction() as session:
        effects = deadlines.report_reminders(
            session, words, _vietnam(date(2027, 6, 14), 8), DIGEST_AT, ((15, 6),)
        )
    assert len(effects) == 1
    payload = effects[0].payload
    assert payload["url"] == "/statistics?from=2027-01-01&to=2027-06-14"
    assert payload["title"] == "Hạn báo cáo định kỳ 15/06/2027: còn 1 ngày"
    assert payload["tag"] == "report-due-2027-06-15"


def test_a_week_missed_while_down_comes_when_back_but_never_late(
    db: Database, clock: Clock, words
) -> None:
    _people(db)
    due = ((15, 6), (15, 12))
    clock.now = _vietnam(date(2026, 12, 10), 9)  # down on 8/12: the week's reminder now
    _tick(db, words, clock, due)
    assert len(_reminders(db)) == 1 and "Còn <b>5 ngày</b>" in _reminders(db)[0]
    clock.now = _vietnam(date(2026, 12, 15), 9)  # down on 14/12: the due day is too late
    _tick(db, words, clock, due)
    clock.now = _vietnam(date(2026, 12, 16), 9)
    _tick(db, words, clock, due)
    assert len(_reminders(db)) == 1
    # A date early in the year, reminded in December: the year before, whole.
    with db.transaction() as session:
        effects = deadlines.report_reminders(
            session, words, _vietnam(date(2026, 12, 31), 8), DIGEST_AT, ((5, 1),)
        )
        text = effects[0].payload["text"]
    assert "05/01/2027" in text and "từ 01/01/2026 đến 31/12/2026" in text


def test_no_dates_no_reminders(db: Database, clock: Clock, words) -> None:
    _people(db)
    clock.now = _vietnam(date(2026, 11, 28), 9)
    _tick(db, words, clock, ())
    assert not _reminders(db)
    _tick(db, words, clock, deadlines.REPORT_DUE)  # the defaults: 05/12 is a week away
    assert len(_reminders(db)) == 1


def test_the_dates_come_from_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REPORT_DUE_DATES", " 15-12, 05-12 ,15-06,29-01")
    loaded = settings_module.load(env_file=None)
    assert loaded.report_due_dates == ((29, 1), (15, 6), (5, 12), (15, 12))
    assert plan(loaded).report_due == loaded.report_due_dates
    monkeypatch.setenv("REPORT_DUE_DATES", "off")
    assert settings_module.load(env_file=None).report_due_dates == ()
    monkeypatch.delenv("REPORT_DUE_DATES")
    default = settings_module.load(env_file=None)
    assert default.report_due_dates == deadlines.REPORT_DUE == ((15, 6), (5, 12), (15, 12))
    for wrong in ("12/05", "31-02", "29-02", "05-13", "5 tháng 12"):
        monkeypatch.setenv("REPORT_DUE_DATES", wrong)
        with pytest.raises(SettingsError, match="REPORT_DUE_DATES"):
            settings_module.load(env_file=None)
