"""`canhgiac bench report`: the yearly periodic report (DOCX and XLSX) over a million reports.

Fills a database (SQLite or PostgreSQL) in bulk with two whole years of what the report
counts (2025 and 2026, Vietnam time): N reports with their status histories, the
identifiers they name and the police's confirmations, residents and their subscriptions,
alerts and weekly tips with their deliveries, quiz rounds and scam-trick views. Then times
`canhgiac report periodic --period 2026` as the command line makes it (one transaction: the
figures, then the file), DOCX and XLSX, a few runs each, and prints where the time goes.

The filled database is kept and reused by the next run asking for the same N (a marker row
says how many it was filled with); `--refill` starts it again. Only the columns the report
reads are varied; the residents' own words are one short text (sealed like any other).
"""

from __future__ import annotations

import os
import random
import statistics as stats
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import make_url

import content
from bench.console import (
    CHANNELS,
    Writer,
    _code,
    _identifier_row,
    _marker,
    _secondary_indexes,
    _weighted,
    _wipe,
    reporter_of,
)
from bot import report_cli
from db import migrate, reports, statistics
from db.clock import VIETNAM
from db.engine import Database
from db.models import (
    AppSecret,
    Broadcast,
    Delivery,
    Identifier,
    IdentifierEvent,
    QuizRound,
    Report,
    ReportEvent,
    ReportIdentifier,
    Resident,
    ScamView,
)

DEFAULT_URL = "sqlite:////tmp/canhgiac_bench_report.db"
MARKER = "bench_report_reports"
CHUNK = 50_000
SEED = 20261124
FIRST = datetime(2025, 1, 1, tzinfo=VIETNAM).astimezone(UTC)
LAST = datetime(2027, 1, 1, tzinfo=VIETNAM).astimezone(UTC)
SPAN = LAST - FIRST
PERIOD = "2026"
UNIT = "CÔNG AN PHƯỜNG NAM GIA NGHĨA"
TARGET_SECONDS = 10.0
# What became of a report: its last status, and the path to it.
FATES = [
    ("resolved", 40),
    ("no_crime", 15),
    ("referred", 8),
    ("duplicate", 10),
    ("spam", 12),
    ("verifying", 3),
    ("accepted", 2),
    ("new", 1),
    ("reopened", 1),
]
AMOUNTS = (None, None, 500_000, 2_000_000, 5_000_000, 30_000_000, 150_000_000)
FILLED = [Resident, Identifier, Report, ReportIdentifier, ReportEvent, Delivery, QuizRound]


def _table(model: type) -> Any:
    return model.__table__  # type: ignore[attr-defined]


def _history(
    rng: random.Random, fate: str, created: datetime
) -> list[tuple[datetime, str, str, str]]:
    """(moment, action, from status, to status) of a report whose fate is ``fate``."""
    ack = created + timedelta(hours=rng.expovariate(1 / 12))  # late for about one in seven
    decided = ack + timedelta(days=rng.expovariate(1 / 8))  # after 20 days for about one in ten
    if fate == "duplicate":
        return [(ack, "dup", reports.NEW, reports.DUPLICATE)]
    if fate == "spam":
        return [(ack, "spam", reports.NEW, reports.SPAM)]
    if fate == "new":
        return []
    steps = [(ack, "claim", reports.NEW, reports.ACCEPTED)]
    if fate == "accepted":
        return steps
    middle = ack + (decided - ack) / 3
    steps.append((middle, "verify", reports.ACCEPTED, reports.VERIFYING))
    close = {
        "resolved": ("resolve", reports.RESOLVED),
        "no_crime": ("nocrime", reports.NO_CRIME),
        "referred": ("refer", reports.REFERRED),
        "reopened": ("resolve", reports.RESOLVED),
    }.get(fate)
    if close is None:  # verifying
        return steps
    steps.append((decided, close[0], reports.VERIFYING, close[1]))
    if fate == "reopened":
        again = decided + timedelta(days=2)
        steps.append((again, "reopen", reports.RESOLVED, reports.VERIFYING))
        steps.append((again + timedelta(days=3), "resolve", reports.VERIFYING, reports.RESOLVED))
    return steps


def fill(db: Database, n: int) -> dict[str, float]:
    """N reports over 2025 and 2026, and what else the report counts; seconds per stage."""
    rng = random.Random(SEED)
    words = content.load()
    stages: dict[str, float] = {}
    began = time.perf_counter()
    with db.engine.begin() as conn:
        dropped = _secondary_indexes(conn)
        for model in (Delivery, QuizRound, IdentifierEvent):
            present = {i.name for i in _table(model).indexes}
            dropped += [i for i in _table(model).indexes if i.name in present]
        for index in {i.name: i for i in dropped}.values():
            index.drop(conn)
    dropped = list({i.name: i for i in dropped}.values())

    residents = max(100, int(n * 0.4))
    pool = max(1000, int(n * 0.3))
    areas = [a["code"] for a in words.areas]
    tricks = [s["id"] for s in words.scams]
    channel = _weighted(rng, CHANNELS)
    fate_of = _weighted(rng, FATES)

    def moment(fraction: float) -> datetime:
        return FIRST + SPAN * fraction

    with db.engine.begin() as conn:
        w = Writer(conn)
        w.write(
            _table(Resident),
            [
                {
                    "id": i,
                    "channel": channel(),
                    "user_id": f"u{i}",
                    "subscribed": (subscribed := rng.random() < 0.3),
                    "area": rng.choice(areas) if rng.random() < 0.6 else None,
                    "subscribed_at": moment(rng.random()) if subscribed else None,
                    "blocked": False,
                    "weekly_tips": rng.random() < 0.1,
                    "created_at": FIRST,
                }
                for i in range(1, residents + 1)
            ],
        )
        seen: set[str] = set()
        named = [_identifier_row(rng, i, FIRST, seen) for i in range(1, pool + 1)]
        w.write(_table(Identifier), named)
        confirmed = rng.sample(range(1, pool + 1), pool // 50)
        w.write(
            _table(IdentifierEvent),
            [
                {
                    "id": k,
                    "identifier_id": i,
                    "at": moment(rng.random()),
                    "officer_id": None,
                    "actor": "Cán bộ đo",
                    "action": "confirm",
                    "reason": "Xác minh qua ngân hàng",
                    "report_id": None,
                }
                for k, i in enumerate(confirmed, 1)
            ],
        )
        # Alerts and weekly tips, each delivered to a slice of the residents.
        casts, deliveries, delivery_id = [], [], 0
        for b in range(1, 301):
            kind = "alert" if b <= 100 else "tip"
            started = moment(rng.random())
            casts.append(
                {
                    "id": b,
                    "kind": kind,
                    "text": "Cảnh báo thủ đoạn mới",
                    "audience": "all",
                    "send_at": started,
                    "status": "da_gui",
                    "author": "Cán bộ đo",
                    "created_at": started,
                    "started_at": started,
                    "finished_at": started,
                }
            )
            for resident in rng.sample(range(1, residents + 1), min(residents, 1000)):
                delivery_id += 1
                deliveries.append(
                    {
                        "id": delivery_id,
                        "broadcast_id": b,
                        "resident_id": resident,
                        "channel": channel(),
                        "recipient": f"u{resident}",
                        "status": "sent" if rng.random() < 0.97 else "blocked",
                        "attempts": 1,
                        "next_attempt_at": started,
                        "sent_at": started + timedelta(minutes=rng.random() * 30),
                    }
                )
        w.write(_table(Broadcast), casts)
        w.write(_table(Delivery), deliveries)
        w.write(
            _table(QuizRound),
            [
                {
                    "id": k,
                    "finished_at": moment(rng.random()),
                    "channel": channel(),
                    "score": rng.randrange(0, 7),
                    "total": 6,
                }
                for k in range(1, n // 20 + 1)
            ],
        )
        days = (LAST - FIRST).days
        w.write(
            _table(ScamView),
            [
                {
                    "day": (FIRST.astimezone(VIETNAM) + timedelta(days=d)).date(),
                    "scam": trick,
                    "count": rng.randrange(0, 40),
                }
                for d in range(days)
                for trick in tricks
            ],
        )
    stages["residents, identifiers, alerts, quiz"] = time.perf_counter() - began
    print(f"  the rest: {stages['residents, identifiers, alerts, quiz']:.0f} s", flush=True)

    taken: set[str] = set()
    event_id = 0
    report_t = time.perf_counter()
    for first in range(1, n + 1, CHUNK):
        last = min(n, first + CHUNK - 1)
        rows, links, events = [], [], []
        for rid in range(first, last + 1):
            created = moment((rid - 0.5) / n)
            urgent = rng.random() < 0.005
            history = [h for h in _history(rng, fate_of(), created) if h[0] < LAST]
            rows.append(
                {
                    "id": rid,
                    "receipt_code": _code(rng, taken),
                    "channel": channel(),
                    **reporter_of(rng.randrange(1, residents + 1) if rng.random() < 0.9 else None),
                    "area": rng.choice(areas) if rng.random() < 0.7 else None,
                    "scam_type": rng.choice(tricks),
                    "urgent": urgent,
                    "account": "(bench)",
                    "amount_vnd": rng.choice(AMOUNTS),
                    "occurred_on": created.date(),
                    "anonymous": True,
                    "consent_version": "2026-01",
                    "status": history[-1][3] if history else reports.NEW,
                    "created_at": created,
                    "updated_at": history[-1][0] if history else created,
                    "ack_due_at": created
                    + (timedelta(minutes=15) if urgent else timedelta(hours=24)),
                    "resolve_due_at": created + timedelta(days=20),
                }
            )
            for identifier in {rng.randrange(1, pool + 1) for _ in range(rng.randrange(0, 3))}:
                links.append({"report_id": rid, "identifier_id": identifier})
            for at, action, source, target in [
                (created, "created", None, reports.NEW),
                *history,
            ]:
                event_id += 1
                events.append(
                    {
                        "id": event_id,
                        "report_id": rid,
                        "at": at,
                        "actor": "Cán bộ đo",
                        "action": action,
                        "from_status": source,
                        "to_status": target,
                    }
                )
        with db.engine.begin() as conn:
            w = Writer(conn)
            w.write(_table(Report), rows)
            w.write(_table(ReportIdentifier), links)
            w.write(_table(ReportEvent), events)
        if last % 200_000 < CHUNK or last == n:
            print(f"  {last:>9,} reports, {time.perf_counter() - report_t:6.0f} s", flush=True)
    stages["reports, events, identifiers"] = time.perf_counter() - report_t

    index_t = time.perf_counter()
    with db.engine.begin() as conn:
        for index in dropped:
            index.create(conn)
        if conn.dialect.name == "postgresql":
            for table in (
                "resident",
                "identifier",
                "identifier_event",
                "report",
                "report_event",
                "broadcast",
                "delivery",
                "quiz_round",
            ):
                conn.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(SELECT max(id) FROM {table}))"
                    )
                )
        conn.execute(
            _table(AppSecret).insert(),
            [{"key": MARKER, "value": str(n), "updated_at": datetime.now(UTC)}],
        )
    stages["indexes"] = time.perf_counter() - index_t
    if db.engine.dialect.name == "postgresql":
        analyse_t = time.perf_counter()
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM (ANALYZE)"))
        stages["vacuum analyze"] = time.perf_counter() - analyse_t
    else:
        with db.engine.begin() as conn:
            conn.execute(text("ANALYZE"))
    stages["total"] = time.perf_counter() - began
    return stages


def measure(db: Database, runs: int) -> dict[str, list[float]]:
    """Seconds per run: the figures alone, the period's rows alone, and each whole file."""
    period = statistics.parse_period(PERIOD)
    timings: dict[str, list[float]] = {"figures": [], "rows": [], "docx": [], "xlsx": []}
    with tempfile.TemporaryDirectory() as folder:
        for run in range(runs + 1):  # the first warms the caches and is not counted
            with db.transaction() as session:
                began = time.perf_counter()
                figures = statistics.compute(session, period)
                counted = time.perf_counter() - began
            with db.transaction() as session:
                began = time.perf_counter()
                listed = statistics.reports_of(session, period)
                rows = time.perf_counter() - began
            files = {}
            for kind in ("docx", "xlsx"):
                out = Path(folder) / f"bao-cao.{kind}"
                began = time.perf_counter()
                report_cli.produce(db, period, kind, out, UNIT, period.last)
                files[kind] = time.perf_counter() - began
            if run:
                timings["figures"].append(counted)
                timings["rows"].append(rows)
                for kind, seconds in files.items():
                    timings[kind].append(seconds)
            print(
                f"  run {run}{' (warm-up)' if not run else ''}: figures {counted:.2f} s, "
                f"rows {rows:.2f} s, docx {files['docx']:.2f} s, xlsx {files['xlsx']:.2f} s "
                f"({figures.tips.received:,} reports in {PERIOD}, {len(listed):,} rows)",
                flush=True,
            )
    return timings


def run(database_url: str | None, n: int, runs: int, refill: bool) -> int:
    url = database_url or DEFAULT_URL
    backend = make_url(url).get_backend_name()
    db = Database(url)
    marked, present = _marker_of(db)
    if marked != n or refill:
        if present and marked is None and not refill:
            print(f"{url} holds {present} reports that are not the bench's: use a scratch database")
            return 2
        if present or refill:
            db.dispose()
            _wipe(url)
            db = Database(url)
        print(f"filling {url} with {n:,} reports…", flush=True)
        migrate.upgrade(url)
        for stage, seconds in fill(db, n).items():
            print(f"  fill {stage}: {seconds:.0f} s")
    else:
        print(f"reusing {url}: {present:,} reports (filled by an earlier run)")
        migrate.upgrade(url)
    try:
        timings = measure(db, runs)
    finally:
        db.dispose()
    print(
        f"report benchmark — {backend}, {n:,} reports, the yearly report of {PERIOD}, "
        f"{runs} runs, {os.cpu_count()} cores"
    )
    print(f"{'what':10}{'median s':>10}{'max s':>8}{'target':>9}")
    for name, took in timings.items():
        whole = name in ("docx", "xlsx")
        verdict = ("met" if max(took) < TARGET_SECONDS else "NOT met") if whole else ""
        target = f"<{TARGET_SECONDS:.0f}" if whole else ""
        print(f"{name:10}{stats.median(took):>10.2f}{max(took):>8.2f}{target:>9}  {verdict}")
    return 0


def _marker_of(db: Database) -> tuple[int | None, int]:
    """(the report bench's count, reports present): bench/console.py's check, this marker."""
    _, present = _marker(db)
    if not present:
        return None, 0
    with db.engine.connect() as conn:
        row = conn.execute(
            _table(AppSecret).select().where(_table(AppSecret).c.key == MARKER)
        ).first()
    return (int(row.value) if row else None), present
