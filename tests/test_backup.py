"""Backups: a restore brings back every report with its history, evidence, identifiers and
outbox; a copy can be taken while the bot writes; old daily copies go, nothing else does;
the daily backup happens once a day however many schedulers tick."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import shutil
import sqlite3
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlmodel import select

import content
from bot import backup
from bot.cli import main
from bot.scheduler import BACKUP_RETRY_AFTER, Plan, Scheduler
from db.engine import Database
from db.migrate import alembic_config, upgrade
from db.models import Evidence, Outbox, Report
from handlers.dispatcher import Dispatcher
from handlers.types import Attachment, Limits
from tests.chat import Chat
from tests.walker import Story, walk

# What a restore must bring back, row for row.
TABLES = ("report", "report_event", "evidence", "identifier", "report_identifier", "outbox")
PHOTO = Attachment("photo", data=b"\x89PNG the scammer's transfer slip", mime="image/png")
# 02:05 in Vietnam on 23/11/2026, just after the default BACKUP_AT.
AFTER_TWO = datetime(2026, 11, 22, 19, 5, tzinfo=UTC)


def _needs_pg_tools(url: str) -> None:
    if not url.startswith("sqlite") and shutil.which("pg_dump") is None:
        pytest.skip("pg_dump/pg_restore are not installed (they come with postgresql-client)")


@pytest.fixture
def fresh_database(database_url: str, tmp_path: Path) -> Iterator[Callable[[], str]]:
    """Makes empty databases on the same backend as `database_url`, gone after the test."""
    _needs_pg_tools(database_url)
    made: list[str] = []

    def make() -> str:
        if database_url.startswith("sqlite"):
            return f"sqlite:///{tmp_path / f'fresh-{uuid.uuid4().hex[:8]}.db'}"
        name = f"canhgiac_restore_{uuid.uuid4().hex[:12]}"
        with server.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        made.append(name)
        return make_url(database_url).set(database=name).render_as_string(hide_password=False)

    server = create_engine(database_url, isolation_level="AUTOCOMMIT")
    yield make
    with server.connect() as conn:
        for name in made:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    server.dispose()


def _file_reports(chat: Chat) -> None:
    """Two residents' reports, one with a screenshot; their tip cards wait in the outbox."""
    chat.photos = True
    chat.send("/totgiac")
    walk(
        chat,
        Story(
            type="Việc online",
            account="Nhóm @viec_online_99 bắt nạp vào stk 190312345678 Techcombank, gọi 0912345678",
            amount="5tr5",
            when="hôm qua",
            photos=[PHOTO.data or b""],
        ),
    )
    assert "Mã tiếp nhận" in chat.text
    other = Chat(chat.dispatcher, user=f"{chat.user}-b")
    other.send("/totgiac")
    walk(other, Story(account="Người xưng công an gọi từ 0987 111 222 đòi chuyển tiền"))
    assert "Mã tiếp nhận" in other.text


def _rows(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the tables a restore must bring back, in key order."""
    database = Database(url)
    try:
        with database.engine.connect() as conn:
            return {
                table: [tuple(row) for row in conn.execute(text(f"SELECT * FROM {table}"))]
                for table in TABLES
            }
    finally:
        database.dispose()


def _head() -> str:
    return str(ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head())


def _revision(url: str) -> str:
    database = Database(url)
    try:
        with database.engine.connect() as conn:
            return str(conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one())
    finally:
        database.dispose()


def test_a_restore_into_a_fresh_database_brings_everything_back(
    chat: Chat, db: Database, fresh_database: Callable[[], str], tmp_path: Path
) -> None:
    _file_reports(chat)
    before = _rows(db.url)
    assert all(before[table] for table in TABLES), before
    copy = backup.backup(db.url, tmp_path / "copy")

    target = fresh_database()
    backup.restore(target, copy)

    assert _rows(target) == before
    restored = Database(target)
    try:
        with restored.transaction() as session:
            evidence = session.exec(select(Evidence)).one()
            assert evidence.data == PHOTO.data
            assert evidence.sha256 == hashlib.sha256(PHOTO.data or b"").hexdigest()
            cards = session.exec(select(Outbox).where(Outbox.kind == "report_card")).all()
            assert len(cards) == 2 and {card.status for card in cards} == {"pending"}
            assert len(session.exec(select(Report)).all()) == 2
        # The restored database takes new reports: its ids carry on after the restored ones.
        _file_reports(Chat(Dispatcher(restored, content.load(), Limits()), user="resident-3"))
        with restored.transaction() as session:
            assert len(session.exec(select(Report)).all()) == 4
    finally:
        restored.dispose()


def test_a_restore_refuses_a_database_with_reports_unless_forced(
    chat: Chat, db: Database, fresh_database: Callable[[], str], tmp_path: Path
) -> None:
    _file_reports(chat)
    copy = backup.backup(db.url, tmp_path / "copy")
    before = _rows(db.url)
    with db.transaction() as session:
        report = session.exec(select(Report)).first()
        assert report is not None
        report.account = "written after the backup"

    with pytest.raises(backup.BackupError, match="already holds 2 report"):
        backup.restore(db.url, copy)
    assert _rows(db.url) != before
    db.dispose()
    backup.restore(db.url, copy, force=True)
    assert _rows(db.url) == before


def test_an_older_backup_is_migrated_on_restore(
    fresh_database: Callable[[], str], tmp_path: Path
) -> None:
    older = fresh_database()
    upgrade(older, "0005")
    copy = backup.backup(older, tmp_path / "older")

    # The new server was set up by today's code first: its tables are newer than the backup's.
    target = fresh_database()
    upgrade(target)
    backup.restore(target, copy)

    assert _revision(target) == _head() != "0005"


def test_a_backup_of_the_wrong_kind_is_refused(
    db: Database, fresh_database: Callable[[], str], tmp_path: Path
) -> None:
    wrong = tmp_path / "notes.txt"
    wrong.write_text("not a backup")
    with pytest.raises(backup.BackupError, match="is not a"):
        backup.restore(fresh_database(), wrong)


def test_a_sqlite_backup_completes_while_another_connection_is_writing(
    tmp_path: Path, sqlite_template: Path
) -> None:
    path = tmp_path / "live.db"
    shutil.copy(sqlite_template, path)
    database = Database(f"sqlite:///{path}")
    with database.connection() as conn:
        conn.execute(text("INSERT INTO job_run (key, at) VALUES ('committed', '2026-11-23')"))
    writer = sqlite3.connect(path, isolation_level=None)
    try:
        writer.execute("BEGIN IMMEDIATE")
        writer.execute("INSERT INTO job_run (key, at) VALUES ('uncommitted', '2026-11-23')")

        copy = backup.backup(database.url, tmp_path / "copy.db")
    finally:
        writer.execute("ROLLBACK")
        writer.close()
        database.dispose()
    # Committed work still in the write-ahead log is in the copy; the open transaction is not.
    with sqlite3.connect(copy) as conn:
        keys = [key for (key,) in conn.execute("SELECT key FROM job_run")]
    assert keys == ["committed"]


def test_retention_deletes_the_oldest_beyond_the_count_and_nothing_else(tmp_path: Path) -> None:
    ours = [f"canhgiac-202611{day:02d}-0200.db" for day in range(1, 6)]
    others = [
        "canhgiac-latest.db",
        "canhgiac-20261101-0200.db.part",
        "my-backup-20261101-0200.db",
        "canhgiac-20261031-0200.dump.gz",
        "notes.txt",
    ]
    cut_short = "canhgiac-20261104-0200.db.0a1b2c3d.part"
    for name in [*ours, *others, cut_short]:
        (tmp_path / name).write_bytes(b"x")

    gone = backup.prune(tmp_path, keep=3)

    assert sorted(path.name for path in gone) == sorted([*ours[:2], cut_short])
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(ours[2:] + others)


def test_a_scheduled_backup_is_named_by_its_time_and_prunes_after(
    db: Database, tmp_path: Path
) -> None:
    _needs_pg_tools(db.url)
    folder = tmp_path / "backups"
    folder.mkdir()
    suffix = _kind(db.url)
    for day in (20, 21, 22):
        (folder / f"canhgiac-202611{day}-0200.{suffix}").write_bytes(b"old")

    made = backup.scheduled(db.url, folder, 2, datetime(2026, 11, 23, 2, 0))

    assert made.name == f"canhgiac-20261123-0200.{suffix}"
    assert sorted(p.name for p in folder.iterdir()) == [
        f"canhgiac-20261122-0200.{suffix}",
        made.name,
    ]


def _kind(url: str) -> str:
    return "db" if url.startswith("sqlite") else "dump"


class _Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def _schedulers(url: str, folder: Path, clock: _Clock) -> list[Scheduler]:
    plan = Plan(backup_dir=folder, backup_keep=14)
    words = content.load()
    return [Scheduler(Database(url), words, plan, 30, clock=clock) for _ in range(2)]


async def test_the_daily_backup_fires_once_a_day_with_two_schedulers(
    database_url: str, tmp_path: Path
) -> None:
    _needs_pg_tools(database_url)
    folder, kind = tmp_path / "backups", _kind(database_url)
    clock = _Clock(AFTER_TWO - timedelta(minutes=10))  # 01:55 in Vietnam
    schedulers = _schedulers(database_url, folder, clock)
    try:
        await asyncio.gather(*(s.backup() for s in schedulers))
        assert not folder.exists()

        clock.now = AFTER_TWO
        await asyncio.gather(*(s.backup() for s in schedulers))
        for scheduler in schedulers:
            clock.now += timedelta(minutes=1)
            await scheduler.backup()
        clock.now += timedelta(hours=3)
        await asyncio.gather(*(s.backup() for s in schedulers))
        assert [p.name for p in folder.iterdir()] == [f"canhgiac-20261123-0205.{kind}"]

        clock.now += timedelta(days=1)
        await asyncio.gather(*(s.backup() for s in schedulers))
        assert len(list(folder.iterdir())) == 2
    finally:
        for scheduler in schedulers:
            scheduler.db.dispose()


async def test_a_failed_backup_is_logged_and_tried_again_later(
    database_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    _needs_pg_tools(database_url)
    folder, kind = tmp_path / "backups", _kind(database_url)
    folder.write_text("a file where the folder should be")
    clock = _Clock(AFTER_TWO)
    scheduler = _schedulers(database_url, folder, clock)[0]
    try:
        with caplog.at_level(logging.ERROR, logger="bot.scheduler"):
            await scheduler.backup()
        assert "daily backup failed" in caplog.text

        folder.unlink()
        clock.now += BACKUP_RETRY_AFTER / 2
        await scheduler.backup()
        assert not folder.exists()  # not every tick: this process waits before trying again
        clock.now += BACKUP_RETRY_AFTER
        await scheduler.backup()
        assert [p.name for p in folder.iterdir()] == [f"canhgiac-20261123-0227.{kind}"]
    finally:
        scheduler.db.dispose()


def test_backup_and_restore_from_the_command_line(
    chat: Chat,
    db: Database,
    fresh_database: Callable[[], str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _file_reports(chat)
    copy = tmp_path / "ward.backup"
    monkeypatch.setenv("DATABASE_URL", db.url)
    assert main(["backup", "--out", str(copy)]) == 0
    assert main(["restore", str(copy)]) == 1
    assert "already holds 2 report(s)" in capsys.readouterr().err

    monkeypatch.setenv("DATABASE_URL", fresh_database())
    assert main(["restore", str(copy)]) == 0
    assert "restored" in capsys.readouterr().out


def test_without_pg_dump_the_message_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(backup.BackupError, match="pg_dump was not found: install"):
        backup.backup("postgresql+psycopg://canhgiac@127.0.0.1:1/canhgiac", tmp_path / "x")
    assert not list(tmp_path.iterdir())


def test_the_password_stays_off_the_command_line() -> None:
    url = "postgresql+psycopg://canhgiac:s%40cret@db.example:5433/ward?sslmode=require"
    assert backup._libpq(url) == "postgresql://canhgiac@db.example:5433/ward?sslmode=require"
