"""The periodic report over records made the way residents and officers make them: quiz
rounds played and scam tricks opened in the chat, reports filed through the report flow
(tests/walker.py) and moved by the triage rules (handlers/triage.py), all on a controlled
clock; every figure on the page, in the DOCX and in the XLSX equals a count made here."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from statistics import median
from typing import Any

import lxml.html
from docx import Document
from openpyxl import load_workbook
from sqlmodel import select

from bot.periodic import docx, xlsx
from bot.periodic.tables import Cell, Labels, by_key, sections
from content import Content, fold
from db import officers, reports, statistics
from db.clock import to_vietnam
from db.engine import Database
from db.models import Officer, QuizRound, ScamView
from handlers import quiz, triage
from handlers.dispatcher import Dispatcher
from tests.chat import Chat
from tests.conftest import Clock
from tests.console_site import serving
from tests.walker import Story, walk


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


# --- two years of reports, filed and handled as people do ------------------------------------

START = datetime(2025, 1, 6, 2, 0, tzinfo=UTC)  # 09:00 on 6/1/2025 in Vietnam
NOTE = "Đã xác minh, trả lời người báo."


@dataclass(frozen=True)
class Filed:
    """One report in the plan: who files it when, what it says, and what the police do."""

    day: int  # days after START
    resident: str  # key of RESIDENTS
    type: str  # a scam trick's button label (a part of it)
    amount: str  # as typed, or "Bỏ qua"
    lost: int | None  # what the amount is read as
    moves: tuple[tuple[timedelta, str], ...] = ()  # a triage action, this long after filing


# Residents: channel, and the area they subscribe with (None: they never subscribe).
RESIDENTS = {
    "an": ("telegram", "nam-gia-nghia"),
    "binh": ("zalo_bot", "bac-gia-nghia"),
    "cuc": ("zalo_oa", None),
    "dung": ("telegram", "dong-gia-nghia"),
    "em": ("zalo_bot", "nam-gia-nghia"),
}
POLICE, JOBS, INVEST, SHOP = "Giả danh công an", "Việc online", "Đầu tư, tiền ảo", "Mua bán hàng"
CLAIM, VERIFY, RESOLVE, REFER, NOCRIME, DUP, SPAM, REOPEN = (
    "claim", "verify", "resolve", "refer", "nocrime", "dup", "spam", "reopen",
)  # fmt: skip
H, D = timedelta(hours=1), timedelta(days=1)
SKIP = "Bỏ qua"
PLAN = (
    Filed(3, "an", POLICE, "5 triệu", 5_000_000, ((2 * H, CLAIM), (5 * D, RESOLVE))),
    Filed(20, "binh", JOBS, "2 triệu", 2_000_000, ((30 * H, CLAIM), (3 * D, REFER))),
    Filed(45, "cuc", INVEST, SKIP, None, ((H, SPAM),)),
    Filed(70, "dung", POLICE, "10 triệu", 10_000_000, ((3 * H, CLAIM), (25 * D, NOCRIME))),
    Filed(71, "an", POLICE, "10 triệu", 10_000_000, ((4 * H, DUP),)),
    Filed(120, "em", SHOP, "700 nghìn", 700_000,
          ((5 * H, CLAIM), (2 * D, VERIFY), (9 * D, RESOLVE))),
    Filed(180, "binh", INVEST, "50 triệu", 50_000_000, ((H, CLAIM), (10 * D, REFER))),
    Filed(200, "cuc", JOBS, SKIP, None),  # never handled: overdue ever after
    Filed(260, "an", SHOP, "1 triệu", 1_000_000, ((26 * H, CLAIM),)),
    Filed(300, "dung", INVEST, "3 triệu", 3_000_000, ((2 * H, CLAIM), (15 * D, RESOLVE))),
    # Filed in late December 2025, decided in January 2026: open at the end of 2025.
    Filed(353, "em", POLICE, "4 triệu", 4_000_000, ((H, CLAIM), (12 * D, REFER))),
    Filed(380, "binh", JOBS, "6 triệu", 6_000_000, ((2 * H, CLAIM), (4 * D, RESOLVE))),
    Filed(400, "cuc", POLICE, SKIP, None, ((40 * H, SPAM),)),
    Filed(430, "an", INVEST, "20 triệu", 20_000_000, ((H, CLAIM), (30 * D, RESOLVE))),
    Filed(470, "dung", SHOP, "900 nghìn", 900_000, ((3 * H, DUP),)),
    Filed(520, "em", JOBS, "15 triệu", 15_000_000, ((H, CLAIM), (6 * D, NOCRIME))),
    Filed(560, "binh", POLICE, "8 triệu", 8_000_000, ((2 * H, CLAIM), (2 * D, REFER))),
    Filed(600, "an", JOBS, SKIP, None, ((H, CLAIM),)),
    Filed(640, "cuc", SHOP, "2 triệu", 2_000_000, ((20 * H, CLAIM), (8 * D, RESOLVE))),
    # Resolved, reopened by the lead, resolved again.
    Filed(680, "dung", POLICE, "12 triệu", 12_000_000,
          ((H, CLAIM), (3 * D, RESOLVE), (5 * D, REOPEN), (9 * D, RESOLVE))),
    Filed(700, "em", INVEST, "30 triệu", 30_000_000, ((2 * H, CLAIM),)),
    Filed(716, "binh", SHOP, SKIP, None),
)  # fmt: skip
STATUS_OF = {
    CLAIM: "da_tiep_nhan", VERIFY: "dang_xac_minh", RESOLVE: "da_giai_quyet",
    REFER: "chuyen_cqdt", NOCRIME: "khong_co_dau_hieu", DUP: "trung", SPAM: "rac",
    REOPEN: "dang_xac_minh",
}  # fmt: skip
CLOSED = {"da_giai_quyet", "chuyen_cqdt", "khong_co_dau_hieu", "trung", "rac"}
OPEN = {"moi", "da_tiep_nhan", "dang_xac_minh"}


@dataclass
class Made:
    """What the test did, kept by the test: the source of every expected figure."""

    plan: Filed
    code: str
    created: datetime
    channel: str
    area: str | None
    type_code: str

    def status_at(self, end: datetime) -> str:
        status = "moi"
        for after, action in self.plan.moves:
            if self.created + after < end:
                status = STATUS_OF[action]
        return status

    def first(self, end: datetime, statuses: set[str] | None = None) -> datetime | None:
        for after, action in self.plan.moves:
            moment = self.created + after
            if moment < end and (statuses is None or STATUS_OF[action] in statuses):
                return moment
        return None


TRICK, OTHER_TRICK = "gia_danh_co_quan", "dau_tu"


def _type_code(words: Content, label: str) -> str:
    return next(s["id"] for s in words.scams if fold(label) in fold(s["short"]))


def _live_two_years(
    dispatcher: Dispatcher, db: Database, clock: Clock, words: Content
) -> list[Made]:
    clock.now = START
    with db.transaction() as session:
        lead = officers.add(session, "Trưởng Công an phường", "lead", 9900)
        lead_id = lead.id
    chats = {
        name: Chat(dispatcher, channel=channel, user=f"{name}-{channel}")
        for name, (channel, _) in RESIDENTS.items()
    }
    for name, (_, area) in RESIDENTS.items():
        if area is not None:
            chats[name].send("/dangky")
            chats[name].press(words.area(area)["name"])  # type: ignore[index]
            assert "Đã đăng ký nhận cảnh báo" in chats[name].text
        clock.advance(days=1)
    _play(chats["an"], words, 4)  # January 2025
    for _ in range(2):
        chats["binh"].send(f"/thudoan {TRICK}")
    # Every filing and every action, in the order of the clock.
    agenda: list[tuple[datetime, int, int]] = []  # (moment, plan index, move index or -1)
    for index, filed in enumerate(PLAN):
        created = START + filed.day * D
        agenda.append((created, index, -1))
        agenda += [(created + after, index, n) for n, (after, _) in enumerate(filed.moves)]
    made: dict[int, Made] = {}
    for moment, index, move in sorted(agenda):
        clock.now = moment
        filed = PLAN[index]
        if move < 0:
            chat = chats[filed.resident]
            chat.send("/totgiac")
            walker = walk(chat, Story(type=filed.type, amount=filed.amount))
            assert walker.code, chat.text
            channel, area = RESIDENTS[filed.resident]
            kind = _type_code(words, filed.type)
            made[index] = Made(filed, walker.code, moment, channel, area, kind)
            continue
        action = filed.moves[move][1]
        with db.transaction() as session:
            report = reports.by_code(session, made[index].code)
            officer = session.get(Officer, lead_id)
            assert report is not None
            note = NOTE if triage.ACTIONS[action].needs_note else None
            outcome = triage.act(session, words, officer, report, action, clock(), note=note)
            assert not outcome.refused, outcome.answer
    clock.advance(days=1)  # December 2026
    _play(chats["em"], words, 6)
    chats["dung"].send(f"/thudoan {TRICK}")
    chats["dung"].send(f"/thudoan {OTHER_TRICK}")
    return [made[i] for i in range(len(PLAN))]


Rows = dict[str, tuple[Cell, ...]]


def _expected(made: list[Made], period: statistics.Period, labels: Labels) -> dict[str, Rows]:
    """The figures of the period, counted here from what the test did (not from the
    database), as the tables show them: by table key, each row's first cell → the rest."""
    w, start, end = labels.words, period.start, period.end
    mine = [m for m in made if start <= m.created < end]
    status = {m.code: m.status_at(end) for m in mine}
    losing = [m for m in mine if m.plan.lost and status[m.code] not in ("trung", "rac")]
    acked = {m.code: m.first(end) for m in mine}
    decided = {m.code: m.first(end, CLOSED) for m in mine}
    earlier = [m for m in made if m.created < end]
    backlog = [m for m in earlier if m.status_at(end) in OPEN]

    def counted(key: Callable[[Made], str]) -> dict[str, int]:
        return dict(Counter(key(m) for m in mine))

    def median_hours(spans: list[timedelta]) -> float | None:
        return round(median(s.total_seconds() for s in spans) / 3600, 1) if spans else None

    def within(moment: datetime | None, m: Made, limit: timedelta) -> bool:
        return moment is not None and moment <= m.created + limit

    def row(table: str, **values: Cell) -> Rows:
        return {w.row(table, name): (value,) for name, value in values.items()}

    in_time_ack = sum(within(acked[m.code], m, 24 * H) for m in mine)
    in_time_decision = sum(within(decided[m.code], m, 20 * D) for m in mine)
    months = {f"{m[5:]}/{m[:4]}": [0, 0] for m in period.months()}
    for m in mine:
        local = to_vietnam(m.created)
        months[f"{local.month:02d}/{local.year}"][0] += 1
    for m in losing:
        local = to_vietnam(m.created)
        months[f"{local.month:02d}/{local.year}"][1] += m.plan.lost or 0
    lost_by_type: Counter[str] = Counter()
    for m in losing:
        lost_by_type[m.type_code] += m.plan.lost or 0
    n = len(mine)
    outcome = Counter(status.values())
    return {
        "summary": row(
            "summary",
            received=n,
            urgent=0,
            reports_with_loss=len(losing),
            lost_vnd=sum(m.plan.lost or 0 for m in losing),
        ),
        "by_type": {
            labels.scam(k): (v, lost_by_type[k]) for k, v in counted(lambda m: m.type_code).items()
        },
        "by_channel": {labels.channel(k): (v,) for k, v in counted(lambda m: m.channel).items()},
        "by_area": {labels.area(k): (v,) for k, v in counted(lambda m: m.area or "").items()},
        "by_month": {month: (a, b) for month, (a, b) in months.items()},
        "handling": row(
            "handling",
            received=n,
            acknowledged=sum(1 for v in acked.values() if v),
            acknowledged_in_time=in_time_ack,
            acknowledged_in_time_share=round(100 * in_time_ack / n, 1) if n else None,
            decided=sum(1 for v in decided.values() if v),
            decided_in_time=in_time_decision,
            decided_in_time_share=round(100 * in_time_decision / n, 1) if n else None,
            referred=outcome["chuyen_cqdt"],
            resolved=outcome["da_giai_quyet"],
            no_crime=outcome["khong_co_dau_hieu"],
            duplicates=outcome["trung"],
            rubbish=outcome["rac"],
            open_of_period=sum(outcome[s] for s in OPEN),
            open_at_end=len(backlog),
            overdue_at_end=sum(1 for m in backlog if m.created + 20 * D < end),
            median_ack=median_hours([v - m.created for m in mine if (v := acked[m.code])]),
            median_decision=median_hours([v - m.created for m in mine if (v := decided[m.code])]),
        ),
    }


def _normal(rows: list[list[Cell]], none: str) -> Rows:
    return {str(r[0]): tuple(r[1:]) for r in rows if r and r[0] != none}


def _shown(rows: Rows) -> Rows:
    """Figures as the page and the DOCX write them (1.000.000; 66,7; -)."""
    return {k: tuple(docx.amount(v) for v in values) for k, values in rows.items()}


def test_two_years_filed_and_handled_give_the_same_figures_everywhere(
    dispatcher: Dispatcher, db: Database, clock: Clock, words: Content, tmp_path: Path
) -> None:
    made = _live_two_years(dispatcher, db, clock, words)
    labels = Labels(words)
    none = labels.words("none_yet")
    unit = "CÔNG AN PHƯỜNG NAM GIA NGHĨA"
    with serving(db, clock) as site:
        lead = site.signed_in("lead")
        for name in ("2025", "2026", "2025-12", "2026-H1"):
            period = statistics.parse_period(name)
            want = _expected(made, period, labels)
            with db.transaction() as session:
                stats = statistics.compute(session, period)
                listing = statistics.reports_of(session, period)
            keys = [t.key for s in sections(stats, labels) for t in s.tables]
            captions = {t.key: t.caption for s in sections(stats, labels) for t in s.tables}

            # The console's page.
            page = lead.get(f"/statistics?period={name}")
            assert page.status_code == 200
            on_page = {
                caption: _normal(rows, none) for caption, rows in _page_tables(page.text).items()
            }
            # The DOCX, read back: its tables after the heading, in the report's order.
            word = docx.write(stats, labels, unit, period.last, tmp_path / f"{name}.docx")
            grids = Document(str(word)).tables[1:-1]
            in_docx = {
                key: _normal([[c.text for c in r.cells] for r in grid.rows[1:]], none)
                for key, grid in zip(keys, grids, strict=True)
            }
            # The XLSX, read back: each table under its caption, until a blank row.
            book = load_workbook(str(xlsx.write(stats, labels, listing, unit, tmp_path / "b.xlsx")))
            in_xlsx = _workbook_tables(book, set(captions.values()))

            for key, rows in want.items():
                assert on_page[captions[key]] == _shown(rows), (name, key, "page")
                assert in_docx[key] == _shown(rows), (name, key, "docx")
                assert in_xlsx[captions[key]] == rows, (name, key, "xlsx")
            # The spreadsheet's list: the period's reports, each as it stood at the end.
            mine = [m for m in made if period.start <= m.created < period.end]
            listed = list(book[labels.words("sheets.reports")].iter_rows(values_only=True))[1:]
            assert sorted((r[0], r[7], r[8]) for r in listed) == sorted(
                (m.code, labels.status(m.status_at(period.end)), m.plan.lost) for m in mine
            )
            propaganda = _normal([list(r) for r in stats_rows(stats, labels, "alerts")], none)
            subscribers = (0, 4) if name in ("2025",) else (4, 4)
            assert propaganda[labels.words.row("alerts", "subscribers_at_start")] == (
                subscribers[0],
            )
            assert propaganda[labels.words.row("alerts", "subscribers_at_end")] == (subscribers[1],)

    assert len(made) == len(PLAN)
    with db.transaction() as session:
        year_2025 = statistics.compute(session, statistics.parse_period("2025"))
        year_2026 = statistics.compute(session, statistics.parse_period("2026"))
    assert (year_2025.propaganda.quiz.rounds, year_2025.propaganda.quiz.average) == (1, 6.7)
    assert year_2025.propaganda.scam_views == {TRICK: 2}
    assert (year_2026.propaganda.quiz.rounds, year_2026.propaganda.quiz.average) == (1, 10.0)
    assert year_2026.propaganda.scam_views == {TRICK: 1, OTHER_TRICK: 1}


def stats_rows(stats: statistics.Statistics, labels: Labels, key: str) -> list[tuple[Cell, ...]]:
    return list(by_key(sections(stats, labels))[key].rows)


def _page_tables(html: str) -> dict[str, list[list[Cell]]]:
    tree = lxml.html.fromstring(html)
    return {
        str(table.findtext("caption")): [
            [c.text_content().strip() for c in row.xpath("./th|./td")]
            for row in table.xpath("./tbody/tr")
        ]
        for table in tree.xpath("//table[caption]")
    }


def _workbook_tables(book: Any, captions: set[str]) -> dict[str, Rows]:
    found: dict[str, Rows] = {}
    for sheet in book.worksheets:
        rows = list(sheet.iter_rows(values_only=True))
        for index, row in enumerate(rows):
            if row and row[0] in captions:
                body = []
                for values in rows[index + 2 :]:
                    if all(v is None for v in values):
                        break
                    width = len([v for v in rows[index + 1] if v is not None])
                    body.append(list(values[:width]))
                found[str(row[0])] = {str(r[0]): tuple(r[1:]) for r in body}
    return found
