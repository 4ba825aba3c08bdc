"""From one ward to a province (issue 15): units and their areas, where a report goes, what
each officer sees, and handing a report to another unit."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import select

from bot import cli
from db import officers, units
from db.engine import Database
from db.models import Broadcast, Officer, Outbox, Report, ReportEvent, Resident
from handlers import alerts
from handlers.dispatcher import Dispatcher
from tests.chat import Chat
from tests.conftest import Clock
from tests.console_site import Browser, Site, serving
from tests.walker import Story, walk

PROVINCE_CSV = Path(__file__).parent / "examples" / "areas_province.csv"
NAM, BAC = "Công an phường Nam Gia Nghĩa", "Công an phường Bắc Gia Nghĩa"


@pytest.fixture
def province(db: Database, clock: Clock) -> dict[str, int]:
    """The example province loaded from its CSV, unit #1 made the province's."""
    with db.transaction() as session:
        loaded, created = units.import_areas(session, PROVINCE_CSV.read_text(), clock())
        assert (loaded, created) == (35, 11)
        top = units.get(session, units.DEFAULT)
        assert top is not None
        units.update(session, top, name="Công an tỉnh Lâm Đồng", kind=units.PROVINCE)
        return {u.name: u.id or 0 for u in units.all_units(session)}


def _resident(dispatcher: Dispatcher, user: str, typed_area: str | None) -> Chat:
    chat = Chat(dispatcher, user=user)
    if typed_area is not None:
        chat.send("/dangky")
        assert "Gõ tên" in chat.text  # 35 areas: typed, not 35 buttons
        chat.send(typed_area)
        assert "Đã đăng ký" in chat.text or "đăng ký" in chat.text.lower(), chat.text
    return chat


def _report(chat: Chat, **story: object) -> str:
    chat.send("/totgiac")
    code = walk(chat, Story(**story)).code  # type: ignore[arg-type]
    assert code, chat.text
    return code


def _unit_of(db: Database, code: str) -> int | None:
    with db.transaction() as session:
        return session.exec(select(Report.unit_id).where(Report.receipt_code == code)).one()


def test_reports_go_to_the_unit_of_the_residents_area(
    dispatcher: Dispatcher, db: Database, province: dict[str, int]
) -> None:
    south = _resident(dispatcher, "r-nam", "nam gia nghia")  # no accents, no "phường"
    north = _resident(dispatcher, "r-bac", "Phường Bắc Gia Nghĩa")
    nowhere = _resident(dispatcher, "r-none", None)
    codes = {
        name: _report(chat) for name, chat in (("nam", south), ("bac", north), ("none", nowhere))
    }
    assert _unit_of(db, codes["nam"]) == province[NAM]
    assert _unit_of(db, codes["bac"]) == province[BAC]
    assert _unit_of(db, codes["none"]) == units.DEFAULT  # the province triages it
    with db.transaction() as session:
        areas = {r.user_id: r.area for r in session.exec(select(Resident)).all()}
    assert areas["r-nam"] == "nam-gia-nghia" and areas["r-bac"] == "bac-gia-nghia"


def test_a_typed_area_that_matches_several_or_none_is_asked_again(
    dispatcher: Dispatcher, province: dict[str, int]
) -> None:
    chat = Chat(dispatcher, user="r-typo")
    chat.send("/dangky")
    chat.send("gia nghia")  # three wards
    assert "Có 3 nơi" in chat.text and "Phường Đông Gia Nghĩa" in chat.screen()[1]
    chat.send("Sài Gòn")
    assert "Chưa tìm thấy" in chat.text and "Sài Gòn" in chat.text
    chat.send("gia nghia")
    chat.press("Phường Đông Gia Nghĩa")
    assert "Đông Gia Nghĩa" in chat.text and "đăng ký" in chat.text.lower()


@pytest.fixture
def site(db: Database, clock: Clock) -> Iterator[Site]:
    with serving(db, clock) as running:
        yield running


def _officer_of(site: Site, unit_id: int, role: str = "officer") -> tuple[Browser, Officer]:
    officer = site.officer(role)
    with site.db.transaction() as session:
        row = session.get(Officer, officer.id)
        assert row is not None
        row.unit_id = unit_id
    browser = site.browser()
    browser.sign_in(officer)
    return browser, officer


def test_each_unit_sees_its_own_and_the_province_sees_all(
    dispatcher: Dispatcher, db: Database, site: Site, province: dict[str, int]
) -> None:
    south = _report(_resident(dispatcher, "r-nam", "nam gia nghia"), account="Shop online lừa cọc")
    north = _report(_resident(dispatcher, "r-bac", "bac gia nghia"), account="Shop online lừa cọc")
    nam, _ = _officer_of(site, province[NAM])
    top, _ = _officer_of(site, units.DEFAULT)

    queue = nam.get("/reports").text
    assert south in queue and north not in queue
    assert nam.get(f"/reports/{north}").status_code == 404  # as if it did not exist
    assert north not in nam.get("/search", params={"q": "shop online"}).text
    assert nam.get("/search", params={"q": north}).status_code != 303

    everything = top.get("/reports").text
    assert south in everything and north in everything
    only_bac = top.get("/reports", params={"unit": str(province[BAC])}).text
    assert north in only_bac and south not in only_bac


def test_a_transfer_moves_the_report_and_tells_the_reporter_nothing_changes(
    dispatcher: Dispatcher, db: Database, site: Site, province: dict[str, int]
) -> None:
    # Lives in Bắc Gia Nghĩa but was registered in Nam Gia Nghĩa.
    code = _report(_resident(dispatcher, "r-moved", "nam gia nghia"))
    nam, _ = _officer_of(site, province[NAM])
    bac, _ = _officer_of(site, province[BAC])
    assert bac.get(f"/reports/{code}").status_code == 404
    page = nam.get(f"/reports/{code}").text
    assert "Chuyển cho đơn vị khác" in page

    refused = nam.post(f"/reports/{code}/transfer", {"unit": str(province[BAC]), "note": ""})
    assert refused.status_code == 303 and _unit_of(db, code) == province[NAM]
    moved = nam.post(
        f"/reports/{code}/transfer",
        {"unit": str(province[BAC]), "note": "Người báo tin ở Bắc Gia Nghĩa"},
    )
    assert moved.status_code == 303 and moved.headers["location"].startswith("/reports")
    assert _unit_of(db, code) == province[BAC]
    assert nam.get(f"/reports/{code}").status_code == 404
    assert bac.get(f"/reports/{code}").status_code == 200
    with db.transaction() as session:
        report = session.exec(select(Report).where(Report.receipt_code == code)).one()
        events = session.exec(select(ReportEvent).where(ReportEvent.report_id == report.id)).all()
        told = session.exec(select(Outbox).where(Outbox.recipient == "r-moved")).all()
    assert any(e.action == "transfer" and "Bắc Gia Nghĩa" in (e.note or "") for e in events)
    assert any(
        "Mã tiếp nhận và cách theo dõi giữ nguyên" in m.payload.get("text", "") for m in told
    )


def test_new_report_notices_reach_the_units_officers_and_urgent_ones_the_province(
    dispatcher: Dispatcher, db: Database, province: dict[str, int]
) -> None:
    with db.transaction() as session:
        people = {}
        for name, unit_id in (("nam", province[NAM]), ("bac", province[BAC]), ("top", 1)):
            officer = officers.add(session, f"Cán bộ {name}", "officer", None)
            officer.unit_id, officer.zalo_id, officer.notify_by = unit_id, f"z-{name}", ["zalo"]
            people[name] = officer.zalo_id
    resident = _resident(dispatcher, "r-nam", "nam gia nghia")
    _report(resident)
    _report(resident, type="Mua bán người", victim="Không rõ", account="Em tôi bị giữ ở Bavet")

    def heard(zalo_id: str) -> int:
        with db.transaction() as session:
            rows = session.exec(select(Outbox).where(Outbox.recipient == zalo_id)).all()
        return len(rows)

    assert heard(people["nam"]) >= 2  # both of its unit's reports
    assert heard(people["bac"]) == 0  # another unit's
    assert heard(people["top"]) >= 1  # the urgent one, at once


def test_a_bad_area_file_is_refused_whole_with_its_line(db: Database, clock: Clock) -> None:
    with pytest.raises(units.UnitError, match="Dòng 3"), db.transaction() as session:
        units.import_areas(
            session, "code,name,unit\nok,Xã A,Công an xã A\nBAD CODE,Xã B,X\n", clock()
        )
    with db.transaction() as session:
        assert not units.loaded_areas(session) and len(units.all_units(session)) == 1


def test_the_unit_commands(
    database_url: str, capsys: pytest.CaptureFixture[str], monkeypatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    assert cli.main(["unit", "import", str(PROVINCE_CSV)]) == 0
    assert (
        cli.main(["unit", "set", "1", "--name", "Công an tỉnh Lâm Đồng", "--kind", "province"]) == 0
    )
    assert cli.main(["unit", "add", "--name", "Công an tỉnh khác", "--kind", "province"]) == 2
    assert cli.main(["unit", "list"]) == 0
    out = capsys.readouterr()
    assert "loaded 35 area(s); 11 new unit(s)" in out.out
    assert (
        "#1\tCông an tỉnh Lâm Đồng\tprovince" in out.out and "Đã có một đơn vị cấp tỉnh" in out.err
    )


def test_an_admin_moves_an_officer_to_another_unit(
    db: Database, site: Site, province: dict[str, int]
) -> None:
    admin = site.signed_in("admin")
    page = admin.get("/admin/officers").text
    assert "Đổi đơn vị" in page and NAM in page
    officer = site.officer("officer")
    moved = admin.post(f"/admin/officers/{officer.id}/unit", {"unit": str(province[BAC])})
    assert moved.status_code == 303
    assert admin.post(f"/admin/officers/{officer.id}/unit", {"unit": "999"}).status_code == 303
    with db.transaction() as session:
        assert session.get(Officer, officer.id).unit_id == province[BAC]  # type: ignore[union-attr]


def test_help_names_the_duty_phone_of_the_residents_own_unit(
    dispatcher: Dispatcher, db: Database, province: dict[str, int]
) -> None:
    with db.transaction() as session:
        unit = units.get(session, province[BAC])
        assert unit is not None
        units.update(session, unit, duty_phone="0261 3 555 777", address="12 Lê Duẩn")
    north = _resident(dispatcher, "r-bac", "bac gia nghia")
    north.send("/trogiup")
    assert "0261 3 555 777" in north.text and BAC in north.text and "12 Lê Duẩn" in north.text
    south = _resident(dispatcher, "r-nam", "nam gia nghia")
    south.send("/trogiup")
    assert "0261 3 555 777" not in south.text


def test_a_report_without_area_asks_where_and_goes_to_that_unit(
    dispatcher: Dispatcher, db: Database, province: dict[str, int]
) -> None:
    chat = _resident(dispatcher, "r-home", None)
    code = _report(chat)
    assert "Bạn ở phường, xã nào?" in chat.text and code in chat.text
    assert _unit_of(db, code) == units.DEFAULT  # at the province until they say
    chat.send("Bac Gia Nghia")
    assert "được chuyển tới" in chat.text and BAC in chat.text
    assert _unit_of(db, code) == province[BAC]
    with db.transaction() as session:
        resident = session.exec(select(Resident).where(Resident.user_id == "r-home")).one()
        report = session.exec(select(Report).where(Report.receipt_code == code)).one()
        moved = session.exec(select(ReportEvent).where(ReportEvent.report_id == report.id)).all()
    assert resident.area == "bac-gia-nghia" and any(e.action == "transfer" for e in moved)
    # The next report goes straight there, and is not asked again.
    again = _report(chat)
    assert "Bạn ở phường, xã nào?" not in chat.text
    assert _unit_of(db, again) == province[BAC]


def test_the_area_question_answers_distress_with_help_and_can_be_skipped(
    dispatcher: Dispatcher, db: Database, province: dict[str, int]
) -> None:
    chat = _resident(dispatcher, "r-help", None)
    code = _report(chat)
    chat.send("con tôi bị giữ bên Campuchia, họ đòi tiền chuộc, giúp tôi với")
    assert "113" in chat.text and "Chưa tìm thấy" not in chat.text
    other = _resident(dispatcher, "r-skip", None)
    second = _report(other)
    other.press("Bỏ qua")
    assert "Công an tỉnh sẽ chuyển" in other.text
    assert _unit_of(db, code) == _unit_of(db, second) == units.DEFAULT


def test_a_single_ward_never_asks_where(dispatcher: Dispatcher) -> None:
    chat = _resident(dispatcher, "r-ward", None)
    _report(chat)
    assert "Bạn ở phường, xã nào?" not in chat.text


_users = itertools.count()


def test_any_text_at_the_area_question_is_answered_and_keeps_the_place(
    dispatcher: Dispatcher, province: dict[str, int]
) -> None:
    @settings(
        max_examples=40,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(st.text(max_size=120))
    def throw(text: str) -> None:
        chat = Chat(dispatcher, user=f"area-{next(_users)}")
        chat.send("/dangky")
        replies = chat.send(text)
        assert replies and all(r.text.strip() for r in replies), text
        assert "hệ thống đang gặp sự cố" not in chat.text
        state = chat.state()
        subscribed = "đăng ký" in chat.text.lower() and state.flow is None
        helped = "113" in chat.text and state.flow is None  # distress: help, out of the question
        commanded = text.strip().startswith("/")
        assert subscribed or helped or commanded or state.step == "area", (text, chat.text)

    throw()


def test_a_units_staff_alert_its_own_areas_and_its_leads_approve(
    db: Database, site: Site, clock: Clock, province: dict[str, int]
) -> None:
    with db.transaction() as session:
        for n, area in enumerate(["nam-gia-nghia"] * 2 + ["bac-gia-nghia"] * 3):
            session.add(
                Resident(
                    channel="telegram", user_id=f"sub-{n}", subscribed=True, area=area,
                    subscribed_at=clock(), created_at=clock(),
                )
            )  # fmt: skip

    def person(role: str, unit_id: int) -> tuple[Officer, Browser]:
        officer = site.officer(role)
        with db.transaction() as session:
            row = session.get(Officer, officer.id)
            assert row is not None
            row.unit_id, row.zalo_id, row.notify_by = unit_id, f"z-{role}-{unit_id}", ["zalo"]
        browser = site.browser()
        browser.sign_in(officer)
        return officer, browser

    _, writer = person("staff", province[NAM])
    _, nam = person("lead", province[NAM])
    _, bac = person("lead", province[BAC])
    person("lead", units.DEFAULT)

    offered = writer.get("/broadcasts/new").text
    assert f"Địa bàn {NAM}" in offered and BAC not in offered
    form = {"csrf": writer.csrf("/broadcasts/new"), "text": "Cảnh giác cuộc gọi giả danh công an",
            "link_url": "", "link_label": "", "when": "now", "day": "", "hour": ""}  # fmt: skip
    everyone = writer.http.post(
        "/broadcasts", data={**form, "audience": "all"}, files={"photo": ("", b"")}
    )
    assert everyone.status_code != 303  # a ward's staff cannot alert the whole province
    made = writer.http.post(
        "/broadcasts",
        data={**form, "audience": f"unit:{province[NAM]}"},
        files={"photo": ("", b"")},
    )
    assert made.status_code == 303, made.text
    number = int(made.headers["location"].rsplit("/", 1)[1])
    assert writer.post(f"/broadcasts/{number}/submit", {}).status_code == 303

    def told(role: str, unit_id: int) -> int:
        with db.transaction() as session:
            to = f"z-{role}-{unit_id}"
            rows = session.exec(select(Outbox).where(Outbox.recipient == to)).all()
        return sum(f"#{number}" in row.payload.get("text", "") for row in rows)

    assert told("lead", province[NAM]) and told("lead", units.DEFAULT)
    assert not told("lead", province[BAC])
    refused = bac.post(f"/broadcasts/{number}/approve", {})
    assert "đơn vị khác" in bac.get(refused.headers["location"]).text
    nam.post(f"/broadcasts/{number}/approve", {})
    with db.transaction() as session:
        broadcast = session.get(Broadcast, number)
        assert broadcast is not None and broadcast.status != "cho_duyet"
        assert alerts.reach(session, broadcast) == 2  # Nam Gia Nghĩa's two subscribers


def test_the_provinces_staff_alert_several_units_at_once(
    db: Database, site: Site, clock: Clock, province: dict[str, int]
) -> None:
    dong = "Công an phường Đông Gia Nghĩa"
    with db.transaction() as session:
        areas = ["nam-gia-nghia"] * 2 + ["bac-gia-nghia"] * 3 + ["dong-gia-nghia"] * 4
        for n, area in enumerate(areas):
            session.add(
                Resident(
                    channel="telegram", user_id=f"sub-{n}", subscribed=True, area=area,
                    subscribed_at=clock(), created_at=clock(),
                )
            )  # fmt: skip
    writer, _ = _officer_of(site, units.DEFAULT, "staff")
    ward_writer, _ = _officer_of(site, province[NAM], "staff")
    offered = writer.get("/broadcasts/new").text
    assert 'name="units"' in offered and f"Địa bàn {dong}" in offered
    assert 'name="units"' not in ward_writer.get("/broadcasts/new").text  # one unit: no ticks

    ticked = f"unit:{province[NAM]},{province[BAC]}"
    counted = writer.http.get("/broadcasts/reach", params={"audience": ticked}).json()
    assert counted["reach"] == 5 and NAM in counted["label"] and BAC in counted["label"]

    form = {"csrf": writer.csrf("/broadcasts/new"), "text": "Cảnh giác lừa đảo việc nhẹ lương cao",
            "link_url": "", "link_label": "", "when": "now", "day": "", "hour": "",
            "audience": "all", "units": [str(province[BAC]), str(province[NAM])]}  # fmt: skip
    made = writer.http.post("/broadcasts", data=form, files={"photo": ("", b"")})
    assert made.status_code == 303, made.text
    number = int(made.headers["location"].rsplit("/", 1)[1])
    with db.transaction() as session:
        broadcast = session.get(Broadcast, number)
        assert broadcast is not None and broadcast.audience == ticked  # the ticks, not "all"
        assert alerts.reach(session, broadcast) == 5  # Nam's two and Bắc's three, not Đông's
    shown = writer.get(f"/broadcasts/new?draft={number}").text
    assert all(f'value="{province[u]}" checked' in shown for u in (NAM, BAC))  # kept ticked

    # A ward's staff cannot reach past their unit by ticking by hand (nor by the count).
    form.update(csrf=ward_writer.csrf("/broadcasts/new"), audience=f"unit:{province[NAM]}")
    refused = ward_writer.http.post("/broadcasts", data=form, files={"photo": ("", b"")})
    assert refused.status_code != 303 and "Mời chọn nhóm người nhận" in refused.text
    assert ward_writer.http.get("/broadcasts/reach", params={"audience": ticked}).status_code == 400
    # Ticks that are no unit id (a superscript two is a "digit" to str.isdigit) are refused.
    form.update(csrf=writer.csrf("/broadcasts/new"), units=["²", "1e5", ""])
    odd = writer.http.post("/broadcasts", data=form, files={"photo": ("", b"")})
    assert odd.status_code == 400 and "Mời chọn nhóm người nhận" in odd.text


def test_officers_commands_in_the_chat_keep_to_their_unit(
    dispatcher: Dispatcher, db: Database, province: dict[str, int]
) -> None:
    south = _report(_resident(dispatcher, "r-nam", "nam gia nghia"))
    north = _report(_resident(dispatcher, "r-bac", "bac gia nghia"))
    with db.transaction() as session:
        officer = officers.add(session, "Cán bộ Nam", "officer", 9001)
        officer.unit_id = province[NAM]
        lead = officers.add(session, "Lãnh đạo Nam", "lead", 9002)
        lead.unit_id = province[NAM]
    me = Chat(dispatcher, channel="telegram", user="9001")
    me.send("/hangdoi")
    assert south in me.text and north not in me.text
    me.send(f"/xem {north}")
    assert f"Không tìm thấy tố giác có mã {north}" in me.text
    me.send("/thongke")
    assert "1 tố giác" in me.text
    boss = Chat(dispatcher, channel="telegram", user="9002")
    boss.send(f"/giao {north} {officer.id}")
    with db.transaction() as session:
        assert (
            session.exec(select(Report).where(Report.receipt_code == north)).one().claimed_by
            is None
        )


def test_after_review_no_way_around_the_units(
    dispatcher: Dispatcher, db: Database, site: Site, province: dict[str, int]
) -> None:
    south = _report(_resident(dispatcher, "r-nam", "nam gia nghia"))
    north = _report(_resident(dispatcher, "r-bac", "bac gia nghia"))
    # An officer whose unit is gone sees nothing, not everything.
    lost, _ = _officer_of(site, 999)
    assert lost.get(f"/reports/{north}").status_code == 404
    assert south not in lost.get("/reports").text
    # Another unit's code is no "duplicate of": as absent as a code that does not exist.
    nam, _ = _officer_of(site, province[NAM])
    nam.post(f"/reports/{south}/act", {"action": "claim"})
    said = nam.post(f"/reports/{south}/act", {"action": "dup", "note": north})
    # Told as for a code that does not exist (the other unit's report is not named).
    assert "Cần mã của một tố giác khác đã có" in nam.get(said.headers["location"]).text
    with db.transaction() as session:
        assert (
            session.exec(select(Report).where(Report.receipt_code == south)).one().status != "trung"
        )


def test_a_late_answer_about_home_does_not_undo_an_officers_transfer(
    dispatcher: Dispatcher, db: Database, site: Site, province: dict[str, int]
) -> None:
    chat = _resident(dispatcher, "r-late", None)
    code = _report(chat)  # at the province, the area question open
    top, _ = _officer_of(site, units.DEFAULT)
    moved = top.post(
        f"/reports/{code}/transfer", {"unit": str(province[BAC]), "note": "Ở Bắc Gia Nghĩa"}
    )
    assert moved.status_code == 303 and _unit_of(db, code) == province[BAC]
    chat.send("nam gia nghia")  # the resident answers later, differently
    assert _unit_of(db, code) == province[BAC]
    with db.transaction() as session:
        assert (
            session.exec(select(Report).where(Report.receipt_code == code)).one().area
            == "nam-gia-nghia"
        )


def test_statistics_and_the_periodic_files_count_the_officers_unit(
    dispatcher: Dispatcher, db: Database, site: Site, clock: Clock, province: dict[str, int],
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, database_url: str,
) -> None:  # fmt: skip
    import io

    from openpyxl import load_workbook

    south = _report(_resident(dispatcher, "r-nam", "nam gia nghia"))
    north = _report(_resident(dispatcher, "r-bac", "bac gia nghia"))
    month = f"{clock():%Y-%m}"

    def codes_in(browser: Browser, query: str = "") -> set[str]:
        answer = browser.get(f"/statistics/report.xlsx?period={month}{query}")
        assert answer.status_code == 200, answer.text[:300]
        book = load_workbook(io.BytesIO(answer.content))
        cells = {str(c.value) for sheet in book for row in sheet.iter_rows() for c in row}
        return {code for code in (south, north) if code in cells}

    nam, _ = _officer_of(site, province[NAM], role="lead")
    top, _ = _officer_of(site, units.DEFAULT, role="lead")
    assert codes_in(nam) == {south}
    assert codes_in(top) == {south, north}
    assert codes_in(top, f"&unit={province[BAC]}") == {north}
    assert codes_in(nam, f"&unit={province[BAC]}") == {south}  # a unit's lead stays in it
    page = top.get(f"/statistics?period={month}&unit={province[BAC]}").text
    assert BAC.upper() in page

    monkeypatch.setenv("DATABASE_URL", database_url)
    out = tmp_path / "nam.xlsx"
    args = [
        "report",
        "periodic",
        "--period",
        month,
        "--unit",
        str(province[NAM]),
        "--out",
        str(out),
    ]
    assert cli.main(args) == 0
    cells = {str(c.value) for sheet in load_workbook(out) for row in sheet.iter_rows() for c in row}
    assert south in cells and north not in cells
