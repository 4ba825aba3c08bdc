"""The console in Chromium: a set-up link to the queue with a second factor, who may see
what, forms without their token, an officer locked out while signed in, and every page's
labels, language and headings, photographed at a phone's and a desk's width."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from fastapi.routing import APIRoute
from playwright.sync_api import Page, expect
from sqlmodel import select

from bot.console import guard, routers
from db import accounts, officers
from db.models import Identifier, Report
from handlers.dispatcher import Dispatcher
from tests.browser.conftest import DESK, PHONE, add_officer, shoot, sign_in
from tests.chat import Chat
from tests.console_site import PASSWORD, Site
from tests.walker import Story, walk

# On SQLite only: what these check is the browser's side; the same pages and rules run on
# PostgreSQL in tests/test_console*.py, and the whole flow here in test_zalo_to_console.py.
pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
NewPage = Callable[..., Page]
SIGN_IN = re.compile(r"/signin(\?|$)")


def _file(dispatcher: Dispatcher, user: str, **story: object) -> str:
    """A report filed by a resident in a chat, as the queue will show it."""
    chat = Chat(dispatcher, user=user)
    chat.send("/totgiac")
    chat.press("Đồng ý")
    code = walk(chat, Story(**story)).code  # type: ignore[arg-type]
    assert code
    return code


def test_a_set_up_link_a_password_and_a_second_factor_lead_to_the_queue(
    site: Site, new_page: NewPage, dispatcher: Dispatcher
) -> None:
    code = _file(dispatcher, "r-setup")
    with site.db.transaction() as session:
        lead = officers.add(session, "Lãnh đạo Hoàng Văn Thái", "lead", None)
        token = accounts.issue_link(session, lead, site.clock())
    page = new_page()
    page.goto(f"{site.root}/setup/{token}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Thiết lập tài khoản")
    expect(page.locator("main")).to_contain_text("Hoàng Văn Thái")
    page.get_by_label("Tên đăng nhập").fill("thai.hoang")
    page.get_by_label("Mật khẩu", exact=False).first.fill(PASSWORD)
    page.get_by_label("Nhập lại mật khẩu").fill(PASSWORD)
    page.get_by_role("button", name="Lưu và đăng nhập").click()
    # A lead enrols a second factor before anything else: the key shown as text (and a QR).
    expect(page).to_have_url(re.compile(r"/account/totp$"))
    expect(page.locator(".qr svg")).to_be_visible()
    secret = page.locator("#secret").inner_text().strip()
    assert re.fullmatch(r"[A-Z2-7]{16,}", secret), secret
    page.get_by_label("Mã 6 số").fill("000000")
    page.get_by_role("button", name="Xác nhận").click()
    expect(page.get_by_role("alert")).to_contain_text("chưa đúng")
    page.get_by_label("Mã 6 số").fill(accounts.totp(secret, accounts.totp_step(site.clock())))
    page.get_by_role("button", name="Xác nhận").click()
    expect(page).to_have_url(re.compile(r"/reports$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Tố giác")
    expect(page.get_by_role("link", name=code)).to_be_visible()
    # Signed out and back in: the password, then a fresh code from the same key.
    page.goto(f"{site.root}/account")
    page.get_by_role("button", name="Đăng xuất").click()
    expect(page).to_have_url(SIGN_IN)
    page.get_by_label("Tên đăng nhập").fill("thai.hoang")
    page.get_by_label("Mật khẩu").fill(PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    expect(page).to_have_url(re.compile(r"/signin/totp$"))
    site.clock.advance(seconds=31)
    page.get_by_label("Mã 6 số").fill(accounts.totp(secret, accounts.totp_step(site.clock())))
    page.get_by_role("button", name="Xác nhận").click()
    expect(page.get_by_role("link", name=code)).to_be_visible()


def test_a_staff_account_cannot_triage(site: Site, new_page: NewPage) -> None:
    staff = add_officer(site.db, "staff", "Tuyên truyền viên Mai", site.clock)
    page = new_page()
    sign_in(page, site.root, staff, site.db, site.clock)
    page.goto(f"{site.root}/account")
    nav = page.get_by_role("navigation", name="Chính")
    expect(nav).to_be_visible()
    expect(nav.get_by_role("link", name="Tố giác")).to_have_count(0)
    expect(nav.get_by_role("link", name="Tra cứu")).to_have_count(0)
    for path in ["/reports", "/search?q=0912345678", "/reports/ABCD-2345"]:
        answer = page.goto(f"{site.root}{path}")
        assert answer is not None and answer.status == 403, path
        expect(page.locator("main")).to_contain_text("không có quyền")


def test_a_signed_out_browser_gets_the_sign_in_page_at_every_console_address(
    site: Site, new_page: NewPage
) -> None:
    public = {"/signin", "/setup/{token}", "/link/{token}"}
    fill = {"{code}": "ABCD-2345", "{evidence_id}": "1", "{identifier_id}": "1", "{token}": "x"}
    paths = []
    for router in routers(site.console, site.root):
        for route in router.routes:
            if isinstance(route, APIRoute) and "GET" in route.methods and route.path not in public:
                path = re.sub(r":\w+\}", "}", route.path)  # {evidence_id:int} → {evidence_id}
                for name, value in fill.items():
                    path = path.replace(name, value)
                path = re.sub(r"\{[a-z_]+\}", "1", path)  # any other number in an address
                paths.append(path)
    assert "/reports" in paths and "/admin/audit" in paths and "/account" in paths
    page = new_page()
    for path in paths:
        page.goto(f"{site.root}{path}")
        expect(page, path).to_have_url(SIGN_IN)
        expect(page.get_by_role("heading", level=1), path).to_have_text("Đăng nhập")
        expect(page.get_by_role("navigation", name="Chính")).to_have_count(0)


def test_a_form_posted_without_its_token_is_refused(
    site: Site, new_page: NewPage, dispatcher: Dispatcher
) -> None:
    code = _file(dispatcher, "r-csrf")
    officer = add_officer(site.db, "officer", "Trung úy Vũ Đức", site.clock)
    page = new_page()
    sign_in(page, site.root, officer, site.db, site.clock)
    page.goto(f"{site.root}/reports/{code}")
    claim = page.locator("form.action").filter(has=page.locator("input[value=claim]"))
    claim.locator("input[name=csrf]").evaluate("input => input.remove()")
    claim.get_by_role("button").click()
    expect(page.locator("main")).to_contain_text(guard.STALE_FORM)
    with site.db.transaction() as session:
        assert session.exec(select(Report)).one().status == "moi"
    # A forged token fares no better; the page's own form, reloaded, works.
    page.goto(f"{site.root}/reports/{code}")
    claim.locator("input[name=csrf]").evaluate("input => { input.value = 'x'.repeat(43) }")
    claim.get_by_role("button").click()
    expect(page.locator("main")).to_contain_text(guard.STALE_FORM)
    page.goto(f"{site.root}/reports/{code}")
    claim.get_by_role("button").click()
    expect(page.get_by_role("status")).to_be_visible()
    with site.db.transaction() as session:
        assert session.exec(select(Report)).one().status == "da_tiep_nhan"


def test_a_deactivated_officer_is_signed_out_at_once(site: Site, new_page: NewPage) -> None:
    admin = add_officer(site.db, "admin", "Quản trị Lý Thu", site.clock)
    officer = add_officer(site.db, "officer", "Thượng sĩ Đỗ Văn Dũng", site.clock)
    at_desk, on_phone = new_page(), new_page(width=PHONE)
    sign_in(on_phone, site.root, officer, site.db, site.clock)
    sign_in(at_desk, site.root, admin, site.db, site.clock)
    on_phone.goto(f"{site.root}/reports")
    expect(on_phone.get_by_role("heading", level=1)).to_contain_text("Tố giác")
    at_desk.goto(f"{site.root}/admin/officers")
    row = at_desk.locator("li.row").filter(has_text="Đỗ Văn Dũng")
    expect(row).to_contain_text("đang đăng nhập")
    row.get_by_role("button", name="Khóa tài khoản").click()
    expect(at_desk.locator("li.row").filter(has_text="Đỗ Văn Dũng")).to_contain_text("đã khóa")
    # The officer's next click, on a page drawn before, lands on the sign-in page.
    on_phone.get_by_role("link", name="Tra cứu").click()
    expect(on_phone).to_have_url(SIGN_IN)
    expect(on_phone.get_by_role("heading", level=1)).to_have_text("Đăng nhập")
    on_phone.get_by_label("Tên đăng nhập").fill(officer.username or "")
    on_phone.get_by_label("Mật khẩu").fill(PASSWORD)
    on_phone.get_by_role("button", name="Đăng nhập").click()
    expect(on_phone).to_have_url(SIGN_IN)
    expect(on_phone.get_by_role("alert")).to_be_visible()


# --- every main page: accessible, and photographed at 360 and 1280 pixels -------------------

UNLABELLED = """() => [...document.querySelectorAll('input, select, textarea')]
  .filter(e => e.type !== 'hidden')
  .filter(e => !([...(e.labels || [])].some(l => l.textContent.trim()))
               && !e.getAttribute('aria-label') && !e.getAttribute('aria-labelledby'))
  .map(e => e.outerHTML)"""
NAMELESS = """() => [...document.querySelectorAll('button, a[href], img')]
  .filter(e => e.tagName === 'IMG' ? !e.hasAttribute('alt')
               : !(e.textContent.trim() || e.getAttribute('aria-label')))
  .map(e => e.outerHTML)"""
# What makes the page itself scroll sideways (a table scrolling inside its own box does not).
WIDER = """() => document.documentElement.scrollWidth <= document.documentElement.clientWidth ? []
  : ['page ' + document.documentElement.scrollWidth + 'px', ...document.querySelectorAll('body *')]
    .filter(e => typeof e === 'string'
                 || e.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
    .map(e => typeof e === 'string' ? e
         : e.tagName.toLowerCase() + (e.className ? '.' + e.className : '')
           + ' ' + Math.round(e.getBoundingClientRect().right) + 'px')"""


def _checked(page: Page, name: str, overflows: dict[str, list[str]]) -> None:
    """The page's language, headings and labels; a photograph; what sticks out sideways."""
    assert page.locator("html").get_attribute("lang") == "vi", name
    assert page.locator("h1").count() == 1, name
    assert page.locator("h1").inner_text().strip(), name
    assert page.locator("main#main").count() == 1, name
    assert page.evaluate(UNLABELLED) == [], name
    assert page.evaluate(NAMELESS) == [], name
    shoot(page, name)
    wider = page.evaluate(WIDER)
    if wider:
        overflows[f"{name}-{page.viewport_size['width'] if page.viewport_size else 0}"] = wider


def test_the_main_pages_are_labelled_and_photographed_at_two_widths(
    site: Site, new_page: NewPage, dispatcher: Dispatcher
) -> None:
    code = _file(
        dispatcher,
        "r-shots",
        account="Có người gọi từ số 0912 345 678 xưng là công an quận, bảo tôi chuyển "
        "45 triệu vào tài khoản tạm giữ 190312345678 tại Techcombank để xác minh",
        identifiers=["0912 345 678", "190312345678"],
        amount="45 triệu",
        phone="0987654321",
    )
    _file(dispatcher, "r-shots-2", type="Việc nhẹ lương cao", held=True)
    admin = add_officer(site.db, "admin", "Quản trị Lý Thu", site.clock)
    add_officer(site.db, "officer", "Trung úy Nguyễn Thị Hồng Nhung", site.clock)
    with site.db.transaction() as session:
        identifier = session.exec(select(Identifier)).first()
        assert identifier is not None
        identifier_id = identifier.id
    overflows: dict[str, list[str]] = {}
    for width in (PHONE, DESK):
        page = new_page(width=width)
        page.goto(f"{site.root}/signin")
        _checked(page, "signin", overflows)
        sign_in(page, site.root, admin, site.db, site.clock)
        for name, path in [
            ("queue", "/reports"),
            ("report", f"/reports/{code}"),
            ("search", "/search?q=0912+345+678"),
            ("identifier", f"/identifiers/{identifier_id}"),
            ("account", "/account"),
            ("admin-officers", "/admin/officers"),
            ("admin-audit", "/admin/audit"),
        ]:
            answer = page.goto(f"{site.root}{path}")
            assert answer is not None and answer.status == 200, path
            if name == "queue":
                page.locator("details.filters summary").click()  # the filters, open
            _checked(page, name, overflows)
    # Nothing sticks out sideways, on a phone either (a wide table scrolls inside its box).
    assert not overflows, overflows
