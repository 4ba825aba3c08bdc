"""Making and restoring backups of the reports database: SQLite through its online backup API,
PostgreSQL through pg_dump and pg_restore, plus the daily copies and how many are kept."""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
import uuid
from datetime import datetime
from pathlib import Path

from sqlalchemy import func, inspect, select, text
from sqlalchemy.engine import URL, make_url
from sqlmodel import SQLModel

from db.engine import make_engine
from db.migrate import upgrade
from db.models import Report

# Scheduled copies are named by their Vietnam time; only names like these are ever pruned.
SCHEDULED_NAME = re.compile(r"^canhgiac-\d{8}-\d{4}\.(db|dump)$")
# What a daily copy is written as until it is complete; one left behind was cut short.
LEFTOVER_NAME = re.compile(r"^canhgiac-\d{8}-\d{4}\.(db|dump)\.[0-9a-f]{8}\.part$")
SQLITE_MAGIC = b"SQLite format 3\x00"
PG_DUMP_MAGIC = b"PGDMP"


class BackupError(RuntimeError):
    """A backup or restore could not be done; the message tells the operator why."""


def backup(url: str, out: Path) -> Path:
    """A consistent copy of the database at `url` in `out`, taken while the bot runs. It is
    written beside `out` first and renamed, so `out` is never a half-written file."""
    out.parent.mkdir(parents=True, exist_ok=True)
    # A name of its own, so two copies made at once cannot write into each other's file.
    partial = out.with_name(f"{out.name}.{uuid.uuid4().hex[:8]}.part")
    try:
        if _is_sqlite(url):
            _sqlite_copy(_sqlite_path(url), partial)
        else:
            _run(["pg_dump", "--format=custom", f"--file={partial}", _libpq(url)], url)
        os.replace(partial, out)
    finally:
        partial.unlink(missing_ok=True)
    return out


def restore(url: str, source: Path, force: bool = False) -> None:
    """Put the backup `source` into the database at `url` in place of what it holds, then
    migrate it to the latest schema. Refuses a database that holds reports unless `force`."""
    if not source.is_file():
        raise BackupError(f"no backup file at {source}")
    if not force and (held := reports_held(url)):
        raise BackupError(
            f"the database already holds {held} report(s); restoring would replace them "
            "(use --force if that is what you want)"
        )
    with source.open("rb") as file:
        magic = file.read(len(SQLITE_MAGIC))
    if _is_sqlite(url):
        if not magic.startswith(SQLITE_MAGIC):
            raise BackupError(f"{source} is not a SQLite backup, and the database is SQLite")
        target = _sqlite_path(url)
        target.parent.mkdir(parents=True, exist_ok=True)
        _sqlite_copy(source, target)
    else:
        if not magic.startswith(PG_DUMP_MAGIC):
            raise BackupError(f"{source} is not a pg_dump backup, and the database is PostgreSQL")
        _drop_tables(url)
        restore_args = ["--clean", "--if-exists", "--no-owner", "--single-transaction"]
        _run(["pg_restore", *restore_args, f"--dbname={_libpq(url)}", str(source)], url)
    # An older backup is brought to the schema this code expects.
    upgrade(url)


def reports_held(url: str) -> int:
    """How many reports the database holds (0 when it has no tables yet)."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            if not inspect(conn).has_table(str(Report.__tablename__)):
                return 0
            return int(conn.execute(select(func.count()).select_from(Report)).scalar_one())
    finally:
        engine.dispose()


def _drop_tables(url: str) -> None:
    """Drop this app's tables: a database set up by newer code has tables and foreign keys
    the backup does not know, which pg_restore --clean cannot remove on its own."""
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            SQLModel.metadata.drop_all(conn)
            conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
    finally:
        engine.dispose()


def scheduled_name(url: str, moment: datetime) -> str:
    """canhgiac-YYYYMMDD-HHMM.db (SQLite) or .dump (pg_dump), from a Vietnam-time moment."""
    return f"canhgiac-{moment:%Y%m%d-%H%M}.{'db' if _is_sqlite(url) else 'dump'}"


def prune(directory: Path, keep: int) -> list[Path]:
    """Delete the daily copies beyond the newest `keep`, and half-written ones left by a copy
    that was cut short; returns what went. Files not named by us are never touched."""
    files = [p for p in directory.iterdir() if p.is_file()]
    ours = sorted(p for p in files if SCHEDULED_NAME.match(p.name))
    # The names sort by time: the oldest come first.
    gone = ours[: max(len(ours) - keep, 0)] + [p for p in files if LEFTOVER_NAME.match(p.name)]
    for path in gone:
        path.unlink(missing_ok=True)
    return gone


def scheduled(url: str, directory: Path, keep: int, moment: datetime) -> Path:
    """The daily copy, then the retention: old copies go only once the new one exists (and
    the job ledger lets one process at a time write here, so no partial file is live)."""
    made = backup(url, directory / scheduled_name(url, moment))
    prune(directory, keep)
    return made


def _is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def _sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up or restored")
    return Path(database)


def _sqlite_copy(source: Path, target: Path) -> None:
    """Page by page under a read snapshot: in WAL mode writers carry on meanwhile, and what
    is committed but not yet checkpointed is included."""
    if not source.is_file():
        raise BackupError(f"no SQLite database at {source}")
    src = sqlite3.connect(source, timeout=30)
    try:
        dst = sqlite3.connect(target, timeout=30)
        try:
            src.backup(dst)
        finally:
            dst.close()
    except sqlite3.Error as error:
        raise BackupError(f"SQLite backup from {source} to {target} failed: {error}") from error
    finally:
        src.close()


def _libpq(url: str) -> str:
    """The SQLAlchemy URL as a libpq one (pg_dump's); the password travels in PGPASSWORD,
    not on a command line every local user can read."""
    given = make_url(url)
    bare = URL.create(
        "postgresql",
        username=given.username,
        host=given.host,
        port=given.port,
        database=given.database,
        query=given.query,
    )
    return bare.render_as_string(hide_password=False)


def _run(command: list[str], url: str) -> None:
    if shutil.which(command[0]) is None:
        raise BackupError(
            f"{command[0]} was not found: install the PostgreSQL client tools "
            "(e.g. apt install postgresql-client) matching the server's version"
        )
    env = dict(os.environ)
    if (password := make_url(url).password) is not None:
        env["PGPASSWORD"] = str(password)
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BackupError(f"{command[0]} failed: {done.stderr.strip() or done.returncode}")
