"""A province's console in Chromium (issue 15): the controls that only appear with several
units — the queue's unit filter, a report's transfer form, the units ticked for an alert
(whose count of recipients follows the ticks), the statistics' unit choice and an officer's
unit — used as a person would, labelled, and photographed at a phone's and a desk's width."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlmodel import select

from db import units
from db.models import Report, Resident
from handlers.dispatcher import Dispatcher
from tests.browser.conftest import DESK, PHONE, add_officer, sign_in
from tests.browser.test_console_in_chromium import _checked
from tests.chat import Chat
from tests.console_site import Site
from tests.walker import Story, walk

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
NewPage = Callable[..., Page]
PROVINCE_CSV = Path(__file__).parent.parent / "examples" / "areas_province.csv"
NAM, BAC = "Công an phường Nam Gia Nghĩa", "Công an phường Bắc Gia Nghĩa"


def _province(site: Site) -> dict[str, int]:
    with site.db.transaction() as session:
        units.import_areas(session, PROVINCE_CSV.read_text(), site.clock())
        top = units.get(session, units.DEFAULT)
        assert top is not None
        units.update(session, top, name="Công an tỉnh Lâm Đồng", kind=units.PROVINCE)
        for n, area in enumerate(["nam-gia-nghia"] * 2 + ["bac-gia-nghia"] * 3):
            session.add(
                Resident(
                    channel="zalo_oa", user_id=f"sub-{n}", subscribed=True, area=area,
                    subscribed_at=site.clock(), created_at=site.clock(),
                )
            )  # fmt: skip
        return {u.name: u.id or 0 for u in units.all_units(session)}


def _file_in(dispatcher: Dispatcher, user: str, area: str) -> str:
    chat = Chat(dispatcher, user=user)
    chat.send("/dangky")
    chat.send(area)
    chat.send("/totgiac")
    code = walk(chat, Story(account="Có người gọi xưng công an đòi chuyển tiền")).code
    assert code, chat.text
    return code


def test_a_provinces_unit_controls_work_in_a_browser(
    site: Site, new_page: NewPage, dispatcher: Dispatcher
) -> None:
    ids = _province(site)
    code = _file_in(dispatcher, "r-province", "nam gia nghia")
    lead = add_officer(site.db, "lead", "Thượng tá Lê Văn Tỉnh", site.clock)
    staff = add_officer(site.db, "staff", "Cán bộ tuyên truyền tỉnh", site.clock)
    admin = add_officer(site.db, "admin", "Quản trị tỉnh", site.clock)
    overflows: dict[str, list[str]] = {}

    # The province's lead: the queue filtered to one unit, then the report handed on.
    page = new_page(width=DESK)
    sign_in(page, site.root, lead, site.db, site.clock)
    page.goto(f"{site.root}/reports")
    page.locator("details.filters summary").click()
    page.get_by_label("Đơn vị").select_option(label=BAC)
    page.get_by_role("button", name=re.compile("Lọc")).click()
    expect(page.get_by_role("main")).not_to_contain_text(code)
    page.get_by_label("Đơn vị").select_option(label=NAM)
    page.get_by_role("button", name=re.compile("Lọc")).click()
    expect(page.get_by_role("main")).to_contain_text(code)
    page.goto(f"{site.root}/reports/{code}")
    _checked(page, "province-report", overflows)
    page.get_by_label("Chuyển cho đơn vị khác").select_option(label=BAC)
    page.get_by_label("Lý do chuyển").fill("Người báo tin sống ở Bắc Gia Nghĩa")
    page.get_by_role("button", name="Chuyển", exact=True).click()
    expect(page.get_by_role("main")).to_contain_text(BAC)
    with site.db.transaction() as session:
        moved = session.exec(select(Report).where(Report.receipt_code == code)).one()
        assert moved.unit_id == ids[BAC]
    page.goto(f"{site.root}/statistics")
    page.get_by_text("Chọn kỳ báo cáo").click()
    page.get_by_label("Đơn vị").select_option(label=BAC)
    page.get_by_role("button", name="Xem", exact=True).first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(BAC.upper())
    # Dates typed for the same unit keep it (the second form carries the unit chosen).
    page.get_by_text("Chọn kỳ báo cáo").click()
    page.get_by_label("Từ ngày").fill("2026-01-01")
    page.get_by_label("Đến ngày").fill("2026-06-30")
    page.get_by_role("button", name="Xem", exact=True).last.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(BAC.upper())
    _checked(page, "province-statistics", overflows)

    # The province's staff: two units ticked, and the count of recipients follows.
    for width in (PHONE, DESK):
        page = new_page(width=width)
        sign_in(page, site.root, staff, site.db, site.clock)
        page.goto(f"{site.root}/broadcasts/new")
        page.get_by_text("Hoặc gửi tới nhiều đơn vị").click()
        page.get_by_label(NAM).check()  # its two, and the reporter, who subscribed
        expect(page.locator("#reach")).to_have_text("Hiện có 3 người nhận.")
        page.get_by_label(BAC).check()
        expect(page.locator("#reach")).to_have_text("Hiện có 6 người nhận.")
        _checked(page, "province-compose", overflows)
    page.get_by_label("Nội dung cảnh báo", exact=False).fill("Cảnh giác cuộc gọi giả danh")
    page.get_by_role("button", name="Xem trước").click()
    expect(page.get_by_role("main")).to_contain_text(f"{NAM}, {BAC}")

    # The admin: an officer's unit.
    page = new_page(width=PHONE)
    sign_in(page, site.root, admin, site.db, site.clock)
    page.goto(f"{site.root}/admin/officers")
    _checked(page, "province-admin-officers", overflows)
    assert not overflows, overflows
