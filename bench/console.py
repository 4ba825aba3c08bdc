"""`canhgiac bench console`: the web console over a million reports.

Fills a database (SQLite or PostgreSQL) with two years of realistic reports in bulk (Core
`executemany` on SQLite, `COPY` on PostgreSQL), then serves the real ASGI app on uvicorn at
127.0.0.1, signs an officer in with a real session, and times K requests of each page: the
default queue, a deep page of every report, a report's page, search by an identifier typed in
another spelling, and search by two accent-free words. Prints p50/p95/p99 per page.

The filled database is kept and reused by the next run asking for the same number of
reports (a marker row says how many it was filled with); `--refill` starts it again.
"""

from __future__ import annotations

import asyncio
import random
import re
import socket
import statistics
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import uvicorn
from sqlalchemy import Index, Table, func, inspect, select, text
from sqlalchemy.engine import Connection, make_url

import content
from db import accounts, migrate, officers, outbox, reports, sealing
from db.engine import Database
from db.models import (
    AppSecret,
    Evidence,
    Identifier,
    Outbox,
    Report,
    ReportEvent,
    ReportIdentifier,
    ReportWords,
    Resident,
)

DEFAULT_URL = "sqlite:////tmp/canhgiac_bench_console.db"
MARKER = "bench_console_reports"
PASSWORD = "mật khẩu dài của cán bộ bench"
USERNAME = "bench_officer"
CHUNK = 20_000
SPAN = timedelta(days=730)
SEED = 20261123

CHANNELS = [("zalo_oa", 45), ("telegram", 30), ("zalo_bot", 20), ("terminal", 5)]
CLOSED_MIX = [
    (reports.RESOLVED, 45),
    (reports.NO_CRIME, 20),
    (reports.SPAM, 15),
    (reports.DUPLICATE, 12),
    (reports.REFERRED, 8),
]
OFFICER_NAMES = [
    "Nguyễn Văn Hùng", "Trần Thị Lan", "Lê Minh Tuấn", "Phạm Quốc Bảo", "Hoàng Thị Mai",
    "Vũ Đức Thắng", "Đặng Thu Hà", "Bùi Văn Nam", "Đỗ Thị Hương", "Ngô Thanh Sơn",
]  # fmt: skip
PHONE_PREFIXES = [
    "32", "33", "34", "35", "36", "37", "38", "39", "70", "76", "77", "78", "79", "81", "82",
    "83", "84", "85", "86", "88", "89", "90", "91", "93", "94", "96", "97", "98",
]  # fmt: skip
BANKS = ["VCB", "BIDV", "CTG", "AGR", "TCB", "MB", "ACB", "VPB", "STB", "TPB"]
BANK_NAMES = {
    "VCB": "Vietcombank", "BIDV": "BIDV", "CTG": "Vietinbank", "AGR": "Agribank",
    "TCB": "Techcombank", "MB": "MB Bank", "ACB": "ACB", "VPB": "VPBank", "STB": "Sacombank",
    "TPB": "TPBank",
}  # fmt: skip
SITES = ["facebook.com", "tiktok.com", "t.me"]
WORDS = {
    "who": [
        "một người tự xưng là nhân viên ngân hàng",
        "một tài khoản Facebook tên Thu Trang",
        "người lạ trên Zalo",
        "một số điện thoại lạ",
        "nhóm Telegram 'Kiếm tiền online'",
        "người tự nhận là công an quận",
        "một cô gái quen qua mạng",
        "chị hàng xóm giới thiệu",
        "trang TikTok bán hàng giá rẻ",
        "một công ty tuyển dụng ở Campuchia",
        "người xưng là nhân viên điện lực",
        "shop trên Shopee",
        "một anh tên Minh ở Hà Nội",
        "tổng đài viên nhà mạng",
        "người tự xưng luật sư",
        "bạn học cũ bị hack Facebook",
    ],
    "did": [
        "gọi điện báo tôi trúng thưởng xe máy",
        "nhắn tin mời làm nhiệm vụ like video",
        "nói tài khoản của tôi liên quan đến vụ rửa tiền",
        "hứa lãi 5% mỗi ngày khi đầu tư tiền ảo",
        "bảo tôi cài ứng dụng lạ để cập nhật định danh",
        "mời đi làm việc nhẹ lương cao",
        "nhờ chuyển tiền giúp vì đang kẹt ở nước ngoài",
        "gửi đường link để nhận quà tri ân",
        "bán điện thoại giá rẻ, đòi đặt cọc trước",
        "hướng dẫn vay tiền không cần thế chấp",
        "rủ đầu tư chứng khoán quốc tế, sàn USDT",
        "báo có bưu phẩm bị giữ ở hải quan",
        "đề nghị thuê tài khoản ngân hàng của tôi",
        "hẹn gặp rồi nhờ mua thẻ cào",
        "nói con tôi bị tai nạn đang cấp cứu",
        "yêu cầu nộp phí để nhận khoản vay",
    ],
    "then": [
        "Tôi đã chuyển khoản",
        "Em lỡ chuyển",
        "Mẹ tôi đã chuyển",
        "Chồng tôi chuyển",
        "Tôi chưa chuyển đồng nào nhưng họ vẫn gọi",
        "Tôi đã nạp",
        "Cháu tôi chuyển",
    ],
    "amount": [
        "500 nghìn",
        "2 triệu",
        "5 triệu",
        "12 triệu",
        "30 triệu",
        "150 triệu",
        "1,2 tỷ",
        "800 nghìn",
        "45 triệu",
        "3 triệu rưỡi",
    ],
    "into": [
        "vào số tài khoản",
        "vào stk",
        "qua tài khoản",
        "vào ví điện tử liên kết với tài khoản",
    ],
    "after": [
        "Sau đó họ chặn liên lạc.",
        "Họ đòi nộp thêm phí mới rút được tiền.",
        "Giờ không gọi được nữa.",
        "Họ còn dọa sẽ khởi tố nếu tôi báo ai.",
        "Nhóm chat đã bị giải tán.",
        "Họ bảo đợi 24 giờ nhưng không thấy gì.",
        "Tôi lo họ lừa thêm người trong xóm.",
        "Nhờ công an phường xác minh giúp.",
        "Tôi có chụp màn hình tin nhắn.",
        "Người thân tôi vẫn đang liên lạc với họ.",
    ],
    "where": [
        "ở tổ dân phố 3",
        "gần chợ Gia Nghĩa",
        "ở thôn Nghĩa Thuận",
        "đường Lê Duẩn",
        "khu tái định cư",
        "ở phường bên cạnh",
        "bên kia cầu",
        "gần trường tiểu học",
    ],
    "when": [
        "tối hôm qua",
        "sáng nay",
        "tuần trước",
        "hôm thứ bảy",
        "cách đây hai ngày",
        "đầu tháng này",
        "chiều 20/11",
        "khoảng 9 giờ tối",
    ],
}


@dataclass
class Timings:
    name: str
    seconds: list[float] = field(default_factory=list)
    failed: int = 0

    def percentile(self, p: float) -> float:
        if not self.seconds:
            return float("nan")
        ordered = sorted(self.seconds)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000


# The fill -------------------------------------------------------------------------------


def _weighted(rng: random.Random, pairs: list[tuple[str, int]]) -> Callable[[], str]:
    values = [v for v, _ in pairs]
    cum = list(_cumulative([w for _, w in pairs]))
    return lambda: rng.choices(values, cum_weights=cum)[0]


def _cumulative(weights: Iterable[int]) -> Iterator[int]:
    total = 0
    for w in weights:
        total += w
        yield total


def _phone_digits(rng: random.Random) -> str:
    return rng.choice(PHONE_PREFIXES) + f"{rng.randrange(10_000_000):07d}"


def _identifier_row(
    rng: random.Random, number: int, at: datetime, seen: set[str]
) -> dict[str, Any]:
    row = _identifier_draw(rng, number, at)
    while row["value"] in seen:  # (kind, value, bank) is unique; values differ by kind anyway
        row = _identifier_draw(rng, number, at)
    seen.add(row["value"])
    return row


def _identifier_draw(rng: random.Random, number: int, at: datetime) -> dict[str, Any]:
    kind = rng.random()
    if kind < 0.5:
        d = _phone_digits(rng)
        value, display, bank, k = f"+84{d}", f"0{d[:2]} {d[2:5]} {d[5:]}", "", "phone"
    elif kind < 0.8:
        digits = f"{rng.randrange(10**11, 10**13)}"
        value, display, bank, k = digits, digits, rng.choice(BANKS), "bank"
    elif kind < 0.9:
        name = rng.choice(["nhanqua", "vay", "dautu", "shop", "khuyenmai"])
        value = f"{name}{number}.{rng.choice(['com', 'net', 'vip', 'top'])}"
        display, bank, k = value, "", "url"
    else:
        site = rng.choice(SITES)
        handle = f"{rng.choice(['thutrang', 'kiemtien', 'hotro', 'admin', 'shopgiare'])}.{number}"
        value, display, bank, k = f"{site}/{handle}", f"{site}/{handle}", "", "social"
    return {
        "id": number,
        "kind": k,
        "value": value,
        "bank": bank,
        "display": display,
        "confirmed_scam": rng.random() < 0.02,
        "created_at": at,
    }


def _spelled(identifier: dict[str, Any], rng: random.Random) -> str:
    """How a resident writes it in their account."""
    if identifier["kind"] == "phone":
        d = identifier["value"][3:]
        return rng.choice(
            [f"0{d}", f"0{d[:2]}.{d[2:5]}.{d[5:]}", f"+84 {d}", identifier["display"]]
        )
    if identifier["kind"] == "bank":
        return f"{identifier['value']} {BANK_NAMES[identifier['bank']]}"
    return rng.choice([identifier["value"], f"https://{identifier['value']}"])


def _account(rng: random.Random, named: list[dict[str, Any]]) -> str:
    w = WORDS
    parts = [
        f"{rng.choice(w['when']).capitalize()}, {rng.choice(w['who'])} {rng.choice(w['did'])}.",
    ]
    phones = [i for i in named if i["kind"] != "bank"]
    banks = [i for i in named if i["kind"] == "bank"]
    if phones:
        parts.append("Liên lạc qua " + ", ".join(_spelled(i, rng) for i in phones) + ".")
    if rng.random() < 0.7:
        into = (
            f" {rng.choice(w['into'])} " + ", ".join(_spelled(i, rng) for i in banks)
            if banks
            else ""
        )
        parts.append(f"{rng.choice(w['then'])} {rng.choice(w['amount'])}{into}.")
    parts.append(f"Nhà tôi {rng.choice(w['where'])}.")
    parts.append(rng.choice(w["after"]))
    if rng.random() < 0.6:
        parts.append(rng.choice(w["after"]))
    if rng.random() < 0.4:
        parts.append(f"Lần này {rng.choice(w['who'])} lại {rng.choice(w['did'])}.")
    return " ".join(parts)


def reporter_of(resident: int | None) -> dict[str, str | None]:
    """A report's reporter columns for resident number ``resident`` (None: erased)."""
    if resident is None:
        return {"reporter": None, "reporter_tag": None}
    owner = f"zalo_oa:u{resident}"
    return {"reporter": owner, "reporter_tag": sealing.reporter_tag(owner)}


def _code(rng: random.Random, taken: set[str]) -> str:
    while True:
        raw = "".join(rng.choices(reports.RECEIPT_ALPHABET, k=8))
        code = f"{raw[:4]}-{raw[4:]}"
        if code not in taken:
            taken.add(code)
            return code


class Writer:
    """Bulk rows into one table: COPY on PostgreSQL, executemany elsewhere."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.postgres = conn.dialect.name == "postgresql"

    def write(self, table: Table, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        if not self.postgres:
            self.conn.execute(table.insert(), rows)
            return
        columns = list(rows[0])
        # COPY bypasses SQLAlchemy's types: seal (db/sealing.py) and encode JSON here, as an
        # INSERT would.
        dialect = self.conn.dialect
        process = [table.c[c].type.bind_processor(dialect) for c in columns]
        cursor = self.conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        with cursor.copy(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(
                    tuple(
                        f(row[c]) if f is not None else row[c]
                        for c, f in zip(columns, process, strict=True)
                    )
                )


FILLED_TABLES = [Resident, Identifier, Report, ReportWords, ReportIdentifier, ReportEvent]


def _secondary_indexes(conn: Connection) -> list[Index]:
    """The filled tables' declared indexes that exist: dropped for the fill, built after."""
    inspector = inspect(conn)
    found: list[Index] = []
    for model in FILLED_TABLES:
        table: Table = model.__table__  # type: ignore[attr-defined]
        present = {i["name"] for i in inspector.get_indexes(table.name)}
        found.extend(i for i in table.indexes if i.name in present)
    return found


def fill(db: Database, n: int) -> dict[str, float]:
    """N reports over two years up to now; returns seconds per stage."""
    rng = random.Random(SEED)
    now = datetime.now(UTC)
    start = now - SPAN
    stages: dict[str, float] = {}
    began = time.perf_counter()

    with db.transaction() as session:
        officer_ids = [officers.add(session, name, "officer", None).id for name in OFFICER_NAMES]
        bench = officers.add(session, "Cán bộ đo", "officer", None)
        accounts.set_credentials(session, bench, USERNAME, PASSWORD, now)
    assert all(officer_ids)
    names = dict(zip(officer_ids, OFFICER_NAMES, strict=True))

    with db.engine.begin() as conn:
        dropped = _secondary_indexes(conn)
        for index in dropped:
            index.drop(conn)
    writer_t = time.perf_counter()

    residents = max(100, int(n * 0.4))
    pool = max(1000, int(n * 0.6))
    area_codes = [a["code"] for a in content.load().areas]
    channel = _weighted(rng, CHANNELS)
    scam_types = [s["id"] for s in content.load().scams]
    urgent_types = [t for t in scam_types if t in ("qua_nuoc_ngoai", "viec_lam_nuoc_ngoai")]
    closed_status = _weighted(rng, CLOSED_MIX)

    with db.engine.begin() as conn:
        w = Writer(conn)
        rows = [
            {
                "id": i,
                "channel": channel(),
                "user_id": f"u{i}",
                "subscribed": rng.random() < 0.3,
                "area": rng.choice(area_codes) if rng.random() < 0.5 else None,
                "subscribed_at": None,
                "blocked": rng.random() < 0.02,
                "weekly_tips": False,
                "created_at": start + SPAN * (i / residents),
            }
            for i in range(1, residents + 1)
        ]
        w.write(Resident.__table__, rows)  # type: ignore[attr-defined]
        seen: set[str] = set()
        identifiers_ = [_identifier_row(rng, i, start, seen) for i in range(1, pool + 1)]
        w.write(Identifier.__table__, identifiers_)  # type: ignore[attr-defined]
    stages["residents + identifiers"] = time.perf_counter() - writer_t
    print(f"  residents and identifiers: {stages['residents + identifiers']:.0f} s", flush=True)

    # Which reports are still open: most from the last 30 days, a backlog from before.
    opened = max(50, int(n * 0.003))
    recent_from = max(1, int(n * (1 - 30 / 730)))
    open_ids = set(rng.sample(range(recent_from, n + 1), min(n - recent_from + 1, opened * 4 // 5)))
    open_ids |= set(rng.sample(range(1, recent_from), min(recent_from - 1, opened // 5)))
    week_from = int(n * (1 - 7 / 730))
    taken: set[str] = set()
    event_id = outbox_id = evidence_id = 0
    hot = min(1000, pool)
    report_t = time.perf_counter()
    for first in range(1, n + 1, CHUNK):
        last = min(n, first + CHUNK - 1)
        report_rows: list[dict[str, Any]] = []
        words: list[dict[str, Any]] = []
        links: list[dict[str, Any]] = []
        events: list[dict[str, Any]] = []
        notices: list[dict[str, Any]] = []
        photos: list[dict[str, Any]] = []
        for rid in range(first, last + 1):
            created = start + SPAN * (rid / (n + 1)) + timedelta(seconds=rng.random())
            count = rng.choices((0, 1, 2, 3, 4), cum_weights=(10, 35, 70, 90, 100))[0]
            chosen: dict[int, None] = {}
            for _ in range(count):
                if rng.random() < 0.1:  # a campaign: a few numbers named again and again
                    chosen[int(hot * rng.random() ** 2) + 1] = None
                else:
                    chosen[rng.randrange(1, pool + 1)] = None
            named = [identifiers_[i - 1] for i in chosen]
            account = _account(rng, named)
            is_open = rid in open_ids
            urgent = rng.random() < (0.03 if is_open else 0.004)
            scam_type = rng.choice(urgent_types if urgent else scam_types)
            age = now - created
            if is_open:
                status = (
                    reports.NEW
                    if age < timedelta(days=2) or rng.random() < 0.15
                    else rng.choice((reports.ACCEPTED, reports.VERIFYING))
                )
            else:
                status = closed_status()
            holder = None if status == reports.NEW else rng.choice(officer_ids)
            ack = timedelta(minutes=15) if urgent else timedelta(hours=24)
            report_rows.append(
                {
                    "id": rid,
                    "receipt_code": _code(rng, taken),
                    "channel": channel(),
                    # Sealed at rest (db/sealing.py) with a keyed tag; none once erased.
                    **reporter_of(rng.randrange(1, residents + 1) if rng.random() < 0.95 else None),
                    "area": rng.choice(area_codes) if rng.random() < 0.7 else None,
                    "scam_type": scam_type,
                    "urgent": urgent,
                    "account": account,
                    "victim_info": "Đang bị giữ ở Campuchia, gần Bavet" if urgent else None,
                    "amount_vnd": rng.choice((None, 500_000, 2_000_000, 5_000_000, 30_000_000)),
                    "occurred_on": (created - timedelta(days=rng.randrange(0, 5))).date(),
                    "anonymous": rng.random() < 0.6,
                    "contact_phone": None,
                    "consent_version": "2026-01",
                    "status": status,
                    "created_at": created,
                    "updated_at": created,
                    "ack_due_at": created + ack,
                    "resolve_due_at": created + timedelta(days=20),
                    "card_message_id": rid + 1000,
                    "claimed_by": holder,
                    "escalated_at": None,
                }
            )
            words.append({"report_id": rid, "words": reports.search_words(account)})
            links.extend({"report_id": rid, "identifier_id": i} for i in chosen)
            history: list[tuple[str, int | None, str, str | None, str | None, str | None]] = [
                ("resident", None, "created", None, reports.NEW, None)
            ]
            if holder is not None:
                history.append(
                    (names[holder], holder, "claim", reports.NEW, reports.ACCEPTED, None)
                )
                if status == reports.VERIFYING or (status in reports.CLOSED and rng.random() < 0.6):
                    history.append(
                        (names[holder], holder, "verify", reports.ACCEPTED, reports.VERIFYING, None)
                    )
                if rng.random() < 0.08:
                    history.append(
                        (
                            names[holder],
                            holder,
                            "ask",
                            None,
                            None,
                            "Anh/chị cho xin ảnh chụp giao dịch.",
                        )
                    )
                    history.append(("reporter", None, "info", None, None, "Em gửi ảnh rồi ạ."))
                if status in reports.CLOSED:
                    history.append(
                        (names[holder], holder, "resolve", history[-1][4] or reports.VERIFYING,
                         status, "Đã xác minh, hướng dẫn người dân trình báo.")
                    )  # fmt: skip
            for step, (actor, officer_id, action, source, target, note) in enumerate(history):
                event_id += 1
                events.append(
                    {
                        "id": event_id,
                        "report_id": rid,
                        "at": created + timedelta(hours=step * 7),
                        "actor": actor,
                        "officer_id": officer_id,
                        "action": action,
                        "from_status": source,
                        "to_status": target,
                        "note": note,
                    }
                )
            # Sent messages are pruned after 7 days; failed ones stay.
            sent = rid >= week_from
            if sent or rng.random() < 0.004:
                for kind in ("tip_card", "receipt", "notice"):
                    outbox_id += 1
                    notices.append(
                        {
                            "id": outbox_id,
                            "channel": "telegram" if kind == "tip_card" else "zalo_oa",
                            "recipient": "-100123" if kind == "tip_card" else f"u{rid}",
                            "kind": kind,
                            "payload": {"text": "..."},
                            "priority": 0,
                            "status": outbox.SENT if sent else outbox.FAILED,
                            "attempts": 1,
                            "next_attempt_at": created,
                            "lease_until": None,
                            "report_id": rid,
                            "last_error": None if sent else "blocked by user",
                            "created_at": created,
                            "sent_at": created if sent else None,
                        }
                    )
            if rng.random() < 0.03:
                for _ in range(rng.randrange(1, 4)):
                    evidence_id += 1
                    photos.append(
                        {
                            "id": evidence_id,
                            "report_id": rid,
                            "draft_owner": None,
                            "sha256": f"{evidence_id:064x}",
                            "size": 256,
                            "mime": "image/jpeg",
                            "data": rng.randbytes(256),
                            "created_at": created,
                        }
                    )
        with db.engine.begin() as conn:
            w = Writer(conn)
            w.write(Report.__table__, report_rows)  # type: ignore[attr-defined]
            w.write(ReportWords.__table__, words)  # type: ignore[attr-defined]
            w.write(ReportIdentifier.__table__, links)  # type: ignore[attr-defined]
            w.write(ReportEvent.__table__, events)  # type: ignore[attr-defined]
            w.write(Outbox.__table__, notices)  # type: ignore[attr-defined]
            w.write(Evidence.__table__, photos)  # type: ignore[attr-defined]
        if last % 100_000 < CHUNK or last == n:
            print(f"  {last:>9,} reports, {time.perf_counter() - report_t:6.0f} s", flush=True)
    stages["reports, words, identifiers, events"] = time.perf_counter() - report_t

    index_t = time.perf_counter()
    with db.engine.begin() as conn:
        for index in dropped:
            index.create(conn)
        if conn.dialect.name == "postgresql":
            for table in ("resident", "identifier", "report", "report_event", "outbox", "evidence"):
                conn.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(SELECT max(id) FROM {table}))"
                    )
                )
        conn.execute(
            AppSecret.__table__.insert(),  # type: ignore[attr-defined]
            [{"key": MARKER, "value": str(n), "updated_at": now}],
        )
    stages["indexes"] = time.perf_counter() - index_t
    analyse_t = time.perf_counter()
    if db.engine.dialect.name == "postgresql":
        # What autovacuum would have done by the time a database holds a million reports.
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM (ANALYZE)"))
        stages["vacuum analyze"] = time.perf_counter() - analyse_t
    stages["total"] = time.perf_counter() - began
    return stages


def _marker(db: Database) -> tuple[int | None, int]:
    """(the bench's report count, reports present)."""
    with db.engine.connect() as conn:
        if not inspect(conn).has_table("report"):
            return None, 0
        present = conn.execute(select(func.count()).select_from(Report.__table__)).scalar_one()  # type: ignore[attr-defined]
        row = conn.execute(
            select(AppSecret.__table__.c.value).where(AppSecret.__table__.c.key == MARKER)  # type: ignore[attr-defined]
        ).first()
    return (int(row[0]) if row else None), int(present)


def _wipe(url: str) -> None:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            Path(f"{parsed.database}{suffix}").unlink(missing_ok=True)
        return
    db = Database(url)
    try:
        with db.engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    finally:
        db.dispose()


# The measurement ---------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Site:
    def __init__(self, db: Database) -> None:
        from bot.console import Console
        from bot.web import create_app

        self.port = _free_port()
        self.root = f"http://127.0.0.1:{self.port}"
        console = Console(db, content.load())
        app = create_app(db, console=console, public_url=self.root)
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=lambda: asyncio.run(self.server.serve()), daemon=True)

    def __enter__(self) -> Site:
        self.thread.start()
        for _ in range(1000):
            if self.server.started:
                return self
            time.sleep(0.01)
        raise RuntimeError("the console did not start")

    def __exit__(self, *_: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)


def _sign_in(http: httpx.Client) -> None:
    form = http.get("/signin").text
    token = re.search(r'name="csrf" value="([^"]+)"', form)
    assert token, "no form token on /signin"
    answer = http.post(
        "/signin", data={"csrf": token.group(1), "username": USERNAME, "password": PASSWORD}
    )
    if answer.status_code != 303 or "signin" in answer.headers.get("location", "signin"):
        raise RuntimeError(f"sign-in failed: {answer.status_code} {answer.headers}")


def _samples(db: Database, n: int, k: int) -> dict[str, list[str]]:
    """Paths to ask for: random report codes, identifiers in another spelling, words."""
    rng = random.Random()
    ids = [rng.randrange(1, n + 1) for _ in range(k)]
    with db.engine.connect() as conn:
        r, w = Report.__table__, ReportWords.__table__  # type: ignore[attr-defined]
        codes = [c for (c,) in conn.execute(select(r.c.receipt_code).where(r.c.id.in_(ids)))]
        texts = [t for (t,) in conn.execute(select(w.c.words).where(w.c.report_id.in_(ids)))]
        i, ri = Identifier.__table__, ReportIdentifier.__table__  # type: ignore[attr-defined]
        # Half popular ones (from the campaign pool), half any identifier a report names.
        hot = conn.execute(select(i).where(i.c.id <= 1000, i.c.kind.in_(("phone", "bank")))).all()
        some = conn.execute(
            select(i).join(ri, ri.c.identifier_id == i.c.id).where(ri.c.report_id.in_(ids))
        ).all()
    typed = []
    for row in [*rng.sample(hot, min(len(hot), k // 2)), *some][:k]:
        if row.kind == "phone":
            d = row.value[3:]
            typed.append(
                rng.choice([f"0{d[:3]}.{d[3:6]}.{d[6:]}", f"+84 {d[:2]} {d[2:]}", f"0{d}"])
            )
        elif row.kind == "bank":
            v = row.value
            typed.append(f"{v[:4]} {v[4:8]} {v[8:]}")
        else:
            typed.append(f"https://www.{row.value}/")
    pairs = []
    for words in texts:
        choices = [x for x in words.split() if len(x) >= 3 and x.isalpha()]
        a, b = sorted(rng.sample(range(len(choices)), 2))
        pairs.append(f"{choices[a]} {choices[b]}")
    return {
        "queue (open, default)": ["/reports"] * k,
        "queue (all, page 200)": ["/reports?status=all&page=200"] * k,
        "report page": [f"/reports/{c}" for c in codes],
        "search: identifier": [f"/search?{urlencode({'q': t})}" for t in typed],
        "search: two words": [f"/search?{urlencode({'q': p})}" for p in pairs],
    }


def measure(db: Database, n: int, k: int) -> list[Timings]:
    samples = _samples(db, n, k)
    results: list[Timings] = []
    with Site(db) as site, httpx.Client(base_url=site.root, timeout=120) as http:
        _sign_in(http)
        for name, paths in samples.items():
            timings = Timings(name)
            for path in paths[:3]:  # warm-up, not counted
                http.get(path)
            for path in paths[:k]:
                began = time.perf_counter()
                try:
                    status = http.get(path).status_code
                except httpx.TransportError:
                    status = 0
                elapsed = time.perf_counter() - began
                if status != 200:
                    timings.failed += 1
                timings.seconds.append(elapsed)
            results.append(timings)
            print(f"  {name}: p95 {timings.percentile(95):.1f} ms", flush=True)
    return results


def run(database_url: str | None, n: int, k: int, refill: bool) -> int:
    url = database_url or DEFAULT_URL
    backend = make_url(url).get_backend_name()
    db = Database(url)
    marked, present = _marker(db)
    if marked != n or refill:
        if present and marked is None and not refill:
            print(f"{url} holds {present} reports that are not the bench's: use a scratch database")
            return 2
        if marked is not None or refill:
            db.dispose()
            _wipe(url)
            db = Database(url)
        print(f"filling {url} with {n:,} reports…", flush=True)
        migrate.upgrade(url)
        stages = fill(db, n)
        for stage, seconds in stages.items():
            print(f"  fill {stage}: {seconds:.0f} s")
    else:
        print(f"reusing {url}: {present:,} reports (filled by an earlier run)")
        migrate.upgrade(url)  # the code may have moved on since it was filled
    if k <= 0:  # fill only
        db.dispose()
        return 0
    try:
        results = measure(db, n, k)
    finally:
        db.dispose()
    _print(backend, n, k, results)
    return 1 if any(t.failed for t in results) else 0


TARGETS = {
    "queue (open, default)": 100,
    "queue (all, page 200)": 100,
    "report page": 100,
    "search: identifier": 50,
    "search: two words": 300,
}


def _print(backend: str, n: int, k: int, results: list[Timings]) -> None:
    import os

    print(
        f"console benchmark — {backend}, {n:,} reports, {k} requests per page, "
        f"{os.cpu_count()} cores"
    )
    print(f"{'page':24}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'mean':>9}{'target':>9}  failed")
    for t in results:
        target = TARGETS.get(t.name, 0)
        met = "met" if t.percentile(95) < target else "NOT met"
        print(
            f"{t.name:24}{t.percentile(50):>9.1f}{t.percentile(95):>9.1f}{t.percentile(99):>9.1f}"
            f"{statistics.fmean(t.seconds) * 1000:>9.1f}{'<' + str(target):>9}  {t.failed}  {met}"
        )
