"""The console in a real browser: Debian's Chromium driven by Playwright's sync API.

Playwright's own browser download cannot work here, so it drives /usr/bin/chromium, which
`make test` installs with apt-get when it is missing and the user may (root). Without it,
every test here is skipped, and the run says so loudly, why and how to enable them.

The sync API marks its own event loop as running in this thread while it is alive, so the
tests here are plain `def` functions, and one Chromium is shared by this package only (it is
closed before any asyncio test elsewhere runs). What must run on asyncio (the whole bot, a
resident on the Zalo stand-in) runs on a loop in a thread of its own (tests/browser/running.py).
The environment variable CHROMIUM names another Chromium to drive.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import re
import warnings
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from db import accounts, officers
from db.engine import Database
from db.models import Officer
from tests.conftest import Clock
from tests.console_site import PASSWORD, Site, serving

if TYPE_CHECKING:  # imported when used, so that a missing package only skips the tests
    from playwright.sync_api import Browser, Page

HERE = Path(__file__).resolve().parent
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = HERE / "screenshots"
# As root Chromium needs --no-sandbox; the rest keep it from calling Google's hosts, which
# this machine's closed network refuses many at a time.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PHONE, DESK = 360, 1280
TIMEOUT_MS = 15_000


def why_no_browser() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    if importlib.util.find_spec("playwright") is None:
        return "the playwright package is missing; install the dev extras: pip install -e '.[dev]'"
    if not os.access(CHROMIUM, os.X_OK):
        return (
            f"{CHROMIUM} is missing; run `make test` as root (it installs Debian's Chromium), "
            "or `sudo apt-get install chromium` (Playwright's own download cannot work here)"
        )
    return None


# Without the package the test modules cannot even be imported: they are left out, and said so.
if importlib.util.find_spec("playwright") is None:
    collect_ignore_glob = ["test_*.py"]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    mine = [item for item in items if HERE in Path(str(item.path)).parents]
    for item in mine:
        item.add_marker(pytest.mark.browser)
    reason = why_no_browser()
    if reason is None:
        return
    notice = f"BROWSER TESTS SKIPPED: {reason}"
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line("")
        reporter.write_line(f"!!! {notice} !!!", red=True, bold=True)
    warnings.warn(pytest.PytestWarning(notice), stacklevel=1)
    for item in mine:
        item.add_marker(pytest.mark.skip(reason=notice))


# --- the browser ------------------------------------------------------------------------------


@pytest.fixture(scope="package")
def chromium() -> Iterator[Browser]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        yield browser
        browser.close()


@pytest.fixture
def new_page(chromium: Browser) -> Iterator[Callable[..., Page]]:
    """A page in a browser context of its own (its own cookies): `new_page(width=360)`."""
    contexts = []

    def make(width: int = DESK, height: int = 800) -> Page:
        context = chromium.new_context(
            viewport={"width": width, "height": height},
            locale="vi-VN",
            timezone_id="Asia/Ho_Chi_Minh",
        )
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


# --- the console ------------------------------------------------------------------------------


@pytest.fixture
def site(db: Database, clock: Clock) -> Iterator[Site]:
    with serving(db, clock) as running:
        yield running


@functools.cache
def _password_hash() -> str:
    return accounts.hash_password(PASSWORD)


def add_officer(db: Database, role: str, name: str, clock: Callable[[], datetime]) -> Officer:
    """An officer with a username and password (and a second factor enrolled if the role
    needs one), as if they had used their set-up link."""
    with db.transaction() as session:
        officer = officers.add(session, name, role, None)
        # What set_credentials stores, with the one argon2 hash made once (half a second each).
        officer.username, officer.password_hash = f"{role}{officer.id}", _password_hash()
        if accounts.needs_second_factor(officer):
            officer.totp_secret = accounts.new_totp_secret()
            officer.totp_enrolled_at = clock()
        return officer


def totp_now(db: Database, officer_id: int, clock: Callable[[], datetime]) -> str:
    with db.transaction() as session:
        secret = session.get(Officer, officer_id).totp_secret  # type: ignore[union-attr]
    assert secret
    return accounts.totp(secret, accounts.totp_step(clock()))


def sign_in(page: Page, root: str, officer: Officer, db: Database, clock: Callable) -> None:
    """Sign in through the form, with the authenticator's code when asked for one."""
    from playwright.sync_api import expect

    page.goto(f"{root}/signin")
    page.get_by_label("Tên đăng nhập").fill(officer.username or "")
    page.get_by_label("Mật khẩu").fill(PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_load_state()
    if page.url.endswith("/signin/totp"):
        if isinstance(clock, Clock):
            clock.advance(seconds=31)  # each code is taken once: a fresh step
        page.get_by_label("Mã 6 số").fill(totp_now(db, officer.id, clock))  # type: ignore[arg-type]
        page.get_by_role("button", name="Xác nhận").click()
    expect(page).not_to_have_url(re.compile(r"/signin"))


def shoot(page: Page, name: str) -> Path:
    """A full-page screenshot for a person to look at, named by page and width."""
    SCREENSHOTS.mkdir(exist_ok=True)
    width = page.viewport_size["width"] if page.viewport_size else 0
    path = SCREENSHOTS / f"{name}-{width}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
