"""The period's figures (db/statistics.py) over a hand-built data set where each is known:
every boundary (a report at 23:30 on the last day, one at 00:30 on the first, an
acknowledgement exactly at its deadline, a decision after the period's end) is on purpose."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import Session

from db import sealing, statistics
from db.engine import Database
from db.models import (
    Broadcast,
    Delivery,
    Identifier,
    IdentifierEvent,
    Report,
    ReportEvent,
    ReportIdentifier,
    Resident,
)
from db.statistics import Period, PeriodError, TopIdentifier, parse_period

NOVEMBER = Period(date(2026, 11, 1), date(2026, 11, 30))
# What no periodic document may ever show: the residents' own words and whereabouts.
PERSONAL = (
    "TAIKHOAN-rieng-tu-8841",
    "NANNHAN-o-Campuchia-5512",
    "0901111222",
    "user-secret-77",
    "Nguyen Thi Bi Mat",
)


def at(month: int, day: int, hour: int = 0, minute: int = 0, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def build(session: Session) -> None:
    """The data set; the figures it must give are spelled out in test_every_figure."""
    r1 = Resident(channel="telegram", user_id="user-secret-77", area="nam-gia-nghia",
                  subscribed=True, subscribed_at=at(10, 1))  # fmt: skip
    r2 = Resident(channel="zalo_bot", user_id="z2", area="bac-gia-nghia",
                  subscribed=True, subscribed_at=at(11, 10))  # fmt: skip
    r3 = Resident(channel="telegram", user_id="t3")
    r4 = Resident(channel="zalo_oa", user_id="o4", area="nam-gia-nghia",
                  subscribed=True, subscribed_at=at(12, 5))  # fmt: skip
    session.add_all([r1, r2, r3, r4])
    session.flush()

    def report(code: str, resident: Resident | None, channel: str, scam: str, created: datetime,
               amount: int | None = None, urgent: bool = False) -> Report:  # fmt: skip
        row = Report(
            receipt_code=code,
            channel=channel,
            reporter=f"{resident.channel}:{resident.user_id}" if resident else None,
            reporter_tag=(
                sealing.reporter_tag(f"{resident.channel}:{resident.user_id}") if resident else None
            ),
            area=resident.area if resident else None,
            scam_type=scam,
            urgent=urgent,
            account=f"{PERSONAL[0]} {PERSONAL[4]}",
            victim_info=PERSONAL[1],
            contact_phone=PERSONAL[2],
            anonymous=False,
            amount_vnd=amount,
            occurred_on=created.date(),
            consent_version="v1",
            created_at=created,
            updated_at=created,
            ack_due_at=created + (timedelta(minutes=15) if urgent else timedelta(hours=24)),
            resolve_due_at=created + timedelta(days=20),
        )
        session.add(row)
        session.flush()
        return row

    def moves(row: Report, *steps: tuple[datetime, str]) -> None:
        status = "moi"
        for when, to in steps:
            session.add(ReportEvent(report_id=row.id, at=when, actor="An", action="status",
                                    from_status=status, to_status=to))  # fmt: skip
            status = to
        row.status = status

    a = report("AAAA-AAAA", r1, "telegram", "dau_tu", at(11, 2, 3), 5_000_000)
    moves(a, (at(11, 2, 5), "da_tiep_nhan"), (at(11, 5, 3), "chuyen_cqdt"))
    b = report("BBBB-BBBB", r2, "zalo_bot", "viec_lam", at(11, 10), urgent=True)
    moves(b, (at(11, 10, 1), "da_tiep_nhan"), (at(12, 5), "da_giai_quyet"))
    c = report("CCCC-CCCC", r1, "telegram", "dau_tu", at(11, 15, 10), 2_000_000)
    moves(c, (at(11, 15, 12), "trung"))
    # 23:30 on 30/11 in Vietnam: the period's last half hour.
    d = report("DDDD-DDDD", None, "zalo_oa", "viec_lam", at(11, 30, 16, 30), 1_000_000)
    # 00:30 on 1/11 in Vietnam; acknowledged exactly at its deadline; closed, reopened, resolved.
    e = report("EEEE-EEEE", r3, "telegram", "dau_tu", at(10, 31, 17, 30), 3_000_000)
    moves(
        e,
        (at(11, 1, 17, 30), "da_tiep_nhan"),
        (at(11, 3, 17, 30), "dang_xac_minh"),
        (at(11, 4, 17, 30), "khong_co_dau_hieu"),
        (at(11, 20), "dang_xac_minh"),
        (at(11, 25), "da_giai_quyet"),
    )
    f = report("FFFF-FFFF", r1, "telegram", "dau_tu", at(10, 20))  # before; open, overdue
    # 23:30 on 31/10 in Vietnam: not in November.
    g = report("GGGG-GGGG", r2, "zalo_bot", "dau_tu", at(10, 31, 16, 30), 4_000_000)
    moves(g, (at(10, 31, 16, 45), "rac"))
    report("HHHH-HHHH", r1, "telegram", "dau_tu", at(12, 1), 7_000_000)  # after
    i = report("IIII-IIII", r2, "zalo_bot", "dau_tu", at(11, 20), 9_000_000)
    moves(i, (at(11, 20, 1), "rac"))

    phone = Identifier(kind="phone", value="0912345678", display="0912 345 678")
    bank = Identifier(kind="bank", value="123456789", bank="VCB", display="123456789 (VCB)")
    link = Identifier(kind="url", value="lua.example", display="lua.example")
    other = Identifier(kind="phone", value="0987654321", display="0987 654 321")
    session.add_all([phone, bank, link, other])
    session.flush()
    for row, ident in [(a, phone), (c, phone), (b, phone), (i, phone), (d, bank), (e, bank),
                       (a, link), (f, other), (g, link)]:  # fmt: skip
        session.add(ReportIdentifier(report_id=row.id, identifier_id=ident.id))
    for ident, when, action in [(link, at(11, 6), "confirm"), (other, at(10, 15), "confirm"),
                                (phone, at(12, 2), "confirm"), (bank, at(11, 7), "confirm"),
                                (bank, at(11, 8), "withdraw")]:  # fmt: skip
        session.add(IdentifierEvent(identifier_id=ident.id, at=when, actor="An", action=action,
                                    reason="r"))  # fmt: skip

    def broadcast(kind: str, started: datetime | None, status: str = "da_gui") -> Broadcast:
        row = Broadcast(kind=kind, text="Cảnh báo", author="B", status=status, started_at=started)
        session.add(row)
        session.flush()
        return row

    def delivered(row: Broadcast, resident: Resident | None, channel: str,
                  sent: datetime | None, status: str = "sent") -> None:  # fmt: skip
        who = resident.id if resident else None
        session.add(Delivery(broadcast_id=row.id, resident_id=who, channel=channel,
                             recipient="", status=status, sent_at=sent))  # fmt: skip

    x = broadcast("alert", at(11, 5))
    delivered(x, r1, "telegram", at(11, 5))
    delivered(x, r2, "zalo_bot", at(11, 5))
    delivered(x, r4, "zalo_oa", None, "waiting")
    delivered(x, None, "telegram", at(11, 6))  # an erased resident: counted, area unknown
    y = broadcast("alert", at(10, 28))  # started in October, one delivery in November
    delivered(y, r1, "telegram", at(10, 28))
    delivered(y, r2, "zalo_bot", at(11, 1, 2))
    tip = broadcast("tip", at(11, 10))
    delivered(tip, r1, "telegram", at(11, 10))
    broadcast("alert", None, "cho_duyet")


@pytest.fixture
def figures(db: Database) -> statistics.Statistics:
    with db.transaction() as session:
        build(session)
    with db.transaction() as session:
        return statistics.compute(session, NOVEMBER)


def test_every_figure(figures: statistics.Statistics) -> None:
    tips = figures.tips
    assert tips.received == 6  # A B C D E I
    assert tips.urgent == 1
    assert tips.by_type == {"dau_tu": 4, "viec_lam": 2}
    assert tips.by_channel == {"telegram": 3, "zalo_bot": 2, "zalo_oa": 1}
    assert tips.by_area == {"bac-gia-nghia": 2, "nam-gia-nghia": 2, None: 2}
    # C (duplicate) and I (rubbish) are not losses.
    assert tips.lost_vnd == 9_000_000
    assert tips.reports_with_loss == 3
    assert tips.lost_by_type == {"dau_tu": 8_000_000, "viec_lam": 1_000_000}
    assert [(m.month, m.received, m.lost_vnd) for m in tips.by_month] == [("2026-11", 6, 9_000_000)]

    handling = figures.handling
    assert handling.received == 6
    assert handling.acknowledged == 5  # all but D
    assert handling.acknowledged_in_time == 4  # B, urgent, took an hour
    assert handling.acknowledged_in_time_share == pytest.approx(4 / 6)
    assert handling.decided == 4  # A C E I; B only after the period
    assert handling.decided_in_time == 4
    assert (handling.referred, handling.resolved, handling.no_crime) == (1, 1, 0)
    assert (handling.duplicates, handling.rubbish, handling.open_of_period) == (1, 1, 2)
    assert handling.open_at_end == 3  # B D F
    assert handling.overdue_at_end == 2  # B F
    assert handling.median_ack == timedelta(hours=2)  # 1 1 2 2 24
    assert handling.median_decision == timedelta(hours=37)  # 1h 2h 72h 72h

    propaganda = figures.propaganda
    assert propaganda.alerts == 1
    assert propaganda.reached == 4
    assert propaganda.reached_by_channel == {"telegram": 2, "zalo_bot": 2}
    assert propaganda.reached_by_area == {"bac-gia-nghia": 2, "nam-gia-nghia": 1, None: 1}
    assert propaganda.tips_sent == 1
    assert (propaganda.subscribers_at_start, propaganda.subscribers_at_end) == (1, 2)

    identifiers = figures.identifiers
    assert identifiers.confirmed == 2
    assert identifiers.confirmed_by_kind == {"bank": 1, "url": 1}
    assert identifiers.top == {
        "phone": [TopIdentifier("phone", "0912 345 678", 2, 3, False)],
        "bank": [TopIdentifier("bank", "123456789 (VCB)", 1, 2, False)],
        "url": [TopIdentifier("url", "lua.example", 1, 1, True)],
    }


def test_the_rows_of_the_period(db: Database) -> None:
    with db.transaction() as session:
        build(session)
    with db.transaction() as session:
        rows = statistics.reports_of(session, NOVEMBER)
    assert [r.receipt_code for r in rows] == [
        "EEEE-EEEE", "AAAA-AAAA", "BBBB-BBBB", "CCCC-CCCC", "IIII-IIII", "DDDD-DDDD",
    ]  # fmt: skip
    b = rows[2]
    assert (b.status, b.area, b.channel, b.urgent, b.amount_vnd) == (
        "da_tiep_nhan", "bac-gia-nghia", "zalo_bot", True, None,
    )  # fmt: skip
    assert rows[-1].area is None and rows[-1].status == "moi"


def test_a_month_before_shows_what_was_known_then(db: Database) -> None:
    with db.transaction() as session:
        build(session)
    with db.transaction() as session:
        october = statistics.compute(session, parse_period("2026-10"))
        year = statistics.compute(session, parse_period("2026"))
    assert october.tips.received == 2  # F G
    assert october.handling.rubbish == 1 and october.tips.lost_vnd == 0
    assert october.handling.open_at_end == 1  # F (E came on 1/11 Vietnam time)
    assert october.identifiers.confirmed_by_kind == {"phone": 1}
    assert year.tips.received == 9
    months = {m.month: (m.received, m.lost_vnd) for m in year.tips.by_month}
    assert len(months) == 12 and months["2026-01"] == (0, 0)
    assert months["2026-10"] == (2, 0) and months["2026-12"] == (1, 7_000_000)
    assert year.handling.resolved == 2  # B was resolved in December


def test_an_empty_period(db: Database) -> None:
    with db.transaction() as session:
        empty = statistics.compute(session, parse_period("2025-Q1"))
    assert empty.tips.received == 0 and empty.handling.median_ack is None
    assert empty.handling.acknowledged_in_time_share is None
    assert [m.month for m in empty.tips.by_month] == ["2025-01", "2025-02", "2025-03"]


@pytest.mark.parametrize(
    ("text", "first", "last"),
    [
        ("2026", date(2026, 1, 1), date(2026, 12, 31)),
        ("2026-H1", date(2026, 1, 1), date(2026, 6, 30)),
        ("2026-h2", date(2026, 7, 1), date(2026, 12, 31)),
        ("2026-Q3", date(2026, 7, 1), date(2026, 9, 30)),
        ("2028-02", date(2028, 2, 1), date(2028, 2, 29)),
        ("2026-11", date(2026, 11, 1), date(2026, 11, 30)),
        ("2026-12", date(2026, 12, 1), date(2026, 12, 31)),
        ("2026-01-05..2026-02-10", date(2026, 1, 5), date(2026, 2, 10)),
    ],
)
def test_periods(text: str, first: date, last: date) -> None:
    assert parse_period(text) == Period(first, last)


def test_period_bounds_are_vietnam_days() -> None:
    assert NOVEMBER.start == at(10, 31, 17) and NOVEMBER.end == at(11, 30, 17)


@pytest.mark.parametrize("text", ["26", "2026-13", "2026-Q5", "2026-H3", "2026-02-30..2026-03-01",
                                  "2026-03-01..2026-02-01", "tháng 11"])  # fmt: skip
def test_bad_periods(text: str) -> None:
    with pytest.raises(PeriodError):
        parse_period(text)
