"""The retention purge (issue 13, item 5): each kind of data goes when the policy says and not a
day before; a dry run changes nothing; the scheduler purges once a day however often it ticks."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlmodel import Session, SQLModel

from bot import cli
from bot.scheduler import Plan, purge_due
from db import outbox, reports, retention, sealing
from db.engine import Database
from db.models import (
    AuditEvent,
    ConsoleSession,
    Conversation,
    Evidence,
    Officer,
    Outbox,
    PurgeRun,
    Report,
    ReportEvent,
    ReportWords,
    Resident,
    SetupToken,
    Throttle,
)
from tests.conftest import Clock

POLICY = retention.Policy()  # the defaults: 30, 365, 90, 30, 730 days


def _report(session: Session, code: str, status: str, closed: datetime) -> Report:
    resident = Resident(channel="test", user_id=f"r-{code}", created_at=closed)
    session.add(resident)
    session.flush()
    report = Report(
        receipt_code=code,
        channel="test",
        reporter=f"test:r-{code}",
        reporter_tag=sealing.reporter_tag(f"test:r-{code}"),
        scam_type="ngan_hang",
        account=f"Câu chuyện của {code}",
        victim_info=f"Nạn nhân ở {code}",
        amount_vnd=5_000_000,
        contact_phone="+84987654321",
        consent_version="1",
        status=status,
        created_at=closed - timedelta(days=3),
        updated_at=closed,
    )
    session.add(report)
    session.flush()
    assert report.id is not None
    session.add(Evidence(report_id=report.id, sha256="0" * 64, size=1, data=b"x"))
    session.add(ReportWords(report_id=report.id, words=f"cau chuyen cua {code}"))
    session.add(ReportEvent(report_id=report.id, actor="resident", action="info", note="thêm"))
    return report


def _fill(db: Database, now: datetime) -> None:
    """Each kind of data just past its time ("OLD…") and just within it ("NEW…")."""
    day = timedelta(days=1)
    with db.transaction() as session:
        _report(session, "OLDDONE", reports.RESOLVED, now - 366 * day)
        _report(session, "NEWDONE", reports.RESOLVED, now - 364 * day)
        _report(session, "OLDRAC", reports.SPAM, now - 91 * day)
        _report(session, "NEWRAC", reports.SPAM, now - 89 * day)
        _report(session, "OLDOPEN", reports.VERIFYING, now - 800 * day)  # open: kept whole
        for name, age in (("old", 31), ("new", 29)):
            at = now - age * day
            session.add(
                Conversation(channel="test", user_id=f"{name}-talker", state={}, updated_at=at)
            )
            # Photos of drafts whose conversation is gone.
            owner = f"test:{name}-gone"
            session.add(
                Evidence(draft_owner=owner, sha256="1" * 64, size=1, data=b"y", created_at=at)
            )
            sent = outbox.Message("test", f"{name}-talker", "reply", {"text": "x"})
            row = outbox.enqueue(session, sent, at)
            row.status = outbox.SENT
        # Rate-limit counters: one whose window ended days ago, one still counting.
        for name, start in (("old", now - 3 * day), ("new", now - timedelta(minutes=30))):
            session.add(Throttle(key=f"lookup:test:{name}", window_start=start, count=1))
        # A photo of a draft whose conversation goes on is kept, however old.
        session.add(Conversation(channel="test", user_id="writing", state={}, updated_at=now))
        session.add(
            Evidence(
                draft_owner="test:writing",
                sha256="2" * 64,
                size=1,
                data=b"z",
                created_at=now - 90 * day,
            )
        )
        pending = outbox.enqueue(
            session, outbox.Message("test", "slow", "reply", {}), now - 90 * day
        )
        assert pending.status == outbox.PENDING  # still being tried: kept
        officer = Officer(name="Cán bộ", role="officer")
        session.add(officer)
        session.flush()
        assert officer.id is not None
        for age in (731, 729):
            session.add(AuditEvent(at=now - age * day, officer_id=officer.id, action="x"))
        for name, age in (("old", 31), ("new", 29)):
            session.add(
                SetupToken(
                    token_hash=f"{name}-token", officer_id=officer.id, expires_at=now - age * day
                )
            )
            session.add(
                ConsoleSession(
                    token_hash=f"{name}-session",
                    officer_id=officer.id,
                    expires_at=now - age * day,
                    csrf="c",
                )
            )


def _snapshot(db: Database) -> dict[str, list[Any]]:
    with db.engine.connect() as conn:
        return {
            table.name: sorted(map(repr, conn.execute(select(table)).all()))
            for table in SQLModel.metadata.sorted_tables
            if table.name != "purge_run"
        }


def test_purge_clears_what_is_past_its_time_and_nothing_younger(db, clock: Clock) -> None:
    _fill(db, clock())
    with db.transaction() as session:
        counts = retention.purge(session, POLICY, clock())
    assert counts["closed_reports"] == 2 and counts["closed_photos"] == 2
    assert counts["closed_search_words"] == 2 and counts["closed_notes"] == 2
    assert counts["conversations"] == 1 and counts["draft_photos"] == 1
    assert counts["messages"] == 1 and counts["audit_events"] == 1
    assert counts["credentials"] == 2 and counts["throttles"] == 1
    assert counts["residents"] == 2  # the reporters of the two cleared reports, unsubscribed
    with db.transaction() as session:
        by_code = {r.receipt_code: r for r in session.exec(select(Report)).scalars()}
        for code in ("OLDDONE", "OLDRAC"):
            report = by_code[code]
            assert report.account == retention.PLACEHOLDER
            assert (report.victim_info, report.contact_phone, report.reporter_tag) == (None,) * 3
            # What statistics need stays.
            assert report.scam_type == "ngan_hang" and report.amount_vnd == 5_000_000
            assert report.status in reports.CLOSED and report.created_at
        for code in ("NEWDONE", "NEWRAC", "OLDOPEN"):
            report = by_code[code]
            assert report.account.startswith("Câu chuyện") and report.contact_phone
            assert report.victim_info and report.reporter_tag is not None
        left = {by_code[c].id for c in ("NEWDONE", "NEWRAC", "OLDOPEN")}
        photos = session.exec(select(Evidence.report_id, Evidence.draft_owner)).all()
        assert {r for r, _ in photos if r is not None} == left
        assert {o for _, o in photos if o is not None} == {"test:new-gone", "test:writing"}
        assert set(session.exec(select(ReportWords.report_id)).scalars()) == left
        noted = select(ReportEvent.report_id).where(ReportEvent.note.is_not(None))  # type: ignore[union-attr]
        assert set(session.exec(noted).scalars()) == left
        assert set(session.exec(select(Conversation.user_id)).scalars()) == {
            "new-talker",
            "writing",
        }
        assert sorted(session.exec(select(Outbox.recipient)).scalars()) == ["new-talker", "slow"]
        assert len(session.exec(select(AuditEvent)).all()) == 1
        assert list(session.exec(select(SetupToken.token_hash)).scalars()) == ["new-token"]
        assert list(session.exec(select(ConsoleSession.token_hash)).scalars()) == ["new-session"]
        assert list(session.exec(select(Throttle.key)).scalars()) == ["lookup:test:new"]
        run = session.exec(select(PurgeRun)).scalars().one()
        assert run.dry_run is False and run.counts == counts
    # A second run finds nothing left to clear.
    with db.transaction() as session:
        assert sum(retention.purge(session, POLICY, clock()).values()) == 0


def test_a_dry_run_counts_and_changes_nothing(db, clock: Clock) -> None:
    _fill(db, clock())
    before = _snapshot(db)
    with db.transaction() as session:
        counted = retention.purge(session, POLICY, clock(), dry_run=True)
    assert _snapshot(db) == before
    assert counted["closed_reports"] == 2 and sum(counted.values()) > 10
    with db.transaction() as session:
        run = session.exec(select(PurgeRun)).scalars().one()
        assert run.dry_run is True and run.counts == counted
        # A real run then clears exactly what the dry run counted.
        assert retention.purge(session, POLICY, clock()) == counted


def test_the_cli_purges_and_dry_runs(database_url: str, db, monkeypatch, capsys) -> None:
    _fill(db, datetime.now().astimezone() - timedelta(seconds=1))
    monkeypatch.setenv("DATABASE_URL", database_url)
    before = _snapshot(db)
    assert cli.main(["privacy", "purge", "--dry-run"]) == 0
    assert "closed_reports\twould clear 2" in capsys.readouterr().out
    assert _snapshot(db) == before
    assert cli.main(["privacy", "purge"]) == 0
    assert "closed_reports\tcleared 2" in capsys.readouterr().out
    with db.transaction() as session:
        runs = session.exec(select(PurgeRun.dry_run).order_by(PurgeRun.id)).scalars().all()
        assert runs == [True, False]


def test_the_scheduler_purges_once_a_day(db, database_url: str, clock: Clock) -> None:
    plan = Plan()  # purge at 03:00 Vietnam time
    clock.now = clock.now.replace(hour=19, minute=30)  # 02:30 in Vietnam, the next day
    _fill(db, clock())
    assert purge_due(db, clock(), plan) is None  # not yet
    clock.advance(hours=1)
    first = purge_due(db, clock(), plan)
    assert first is not None and first["closed_reports"] == 2
    # Ticked again, and by a second process: the day's purge is done.
    other = Database(database_url)
    try:
        assert purge_due(other, clock(), plan) is None
    finally:
        other.dispose()
    clock.advance(hours=12)
    assert purge_due(db, clock(), plan) is None
    with db.transaction() as session:
        assert session.exec(select(func.count()).select_from(PurgeRun)).scalar() == 1
    clock.advance(hours=12)  # the next day
    assert purge_due(db, clock(), plan) is not None
    with db.transaction() as session:
        assert session.exec(select(func.count()).select_from(PurgeRun)).scalar() == 2


@pytest.mark.parametrize("name", ["RETENTION_CLOSED_DAYS", "RETENTION_DRAFT_DAYS"])
def test_retention_settings_are_read(monkeypatch, name: str) -> None:
    from bot import settings as settings_module

    monkeypatch.setenv(name, "45")
    loaded = settings_module.load(env_file=None)
    field = name.removeprefix("RETENTION_").lower()
    assert getattr(loaded.retention, field) == 45
    monkeypatch.setenv(name, "0")
    with pytest.raises(settings_module.SettingsError):
        settings_module.load(env_file=None)
