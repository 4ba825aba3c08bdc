"""The console in a test: the real ASGI app (webhooks and console) served over HTTP by
uvicorn on 127.0.0.1, and officers who sign in to it with httpx as a browser would."""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx
import uvicorn

import content
from bot.console import Console
from bot.web import create_app
from db import accounts, officers
from db.engine import Database
from db.models import Officer
from tests.conftest import Clock, free_port

PASSWORD = "mật khẩu dài của cán bộ"


class Site:
    """The web app on its own thread and port."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self.db, self.clock = db, clock
        self.console = Console(db, content.load(), clock=clock)
        self.port = free_port()
        self.root = f"http://127.0.0.1:{self.port}"
        self.app = app = create_app(db, console=self.console, public_url=self.root)
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=lambda: asyncio.run(self.server.serve()), daemon=True)

    def start(self) -> Site:
        self.thread.start()
        for _ in range(500):
            if self.server.started:
                return self
            threading.Event().wait(0.01)
        raise RuntimeError("the console did not start")

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)

    def browser(self) -> Browser:
        return Browser(self, httpx.Client(base_url=self.root, follow_redirects=False, timeout=30))

    def officer(self, role: str, name: str | None = None) -> Officer:
        """An officer with a console account (set up, and enrolled in TOTP if a lead)."""
        with self.db.transaction() as session:
            officer = officers.add(session, name or f"Cán bộ {role}", role, None)
            username = f"{role}{officer.id}"
            accounts.set_credentials(session, officer, username, PASSWORD, self.clock())
            if accounts.needs_second_factor(officer):
                officer.totp_secret = accounts.new_totp_secret()
                officer.totp_enrolled_at = self.clock()
            return officer

    def signed_in(self, role: str, name: str | None = None) -> Browser:
        browser = self.browser()
        browser.sign_in(self.officer(role, name))
        return browser


@dataclass
class Browser:
    site: Site
    http: httpx.Client

    def get(self, path: str, **kwargs: object) -> httpx.Response:
        return self.http.get(path, **kwargs)  # type: ignore[arg-type]

    def csrf(self, path: str = "/account") -> str:
        """The form token of a page, read as the browser's form would carry it."""
        found = re.search(r'name="csrf" value="([^"]+)"', self.get(path).text)
        assert found, f"no form token on {path}"
        return found.group(1)

    def post(self, path: str, data: dict[str, str], token: str | None = None) -> httpx.Response:
        """A form posted as the page would (with its token, unless `token` says otherwise)."""
        form = {"csrf": self.csrf() if token is None else token, **data}
        return self.http.post(path, data=form)

    def sign_in(self, officer: Officer) -> None:
        token = self.csrf("/signin")
        answer = self.http.post(
            "/signin",
            data={"csrf": token, "username": officer.username or "", "password": PASSWORD},
        )
        assert answer.status_code == 303, answer.text
        if answer.headers["location"] == "/signin/totp":
            code = self.totp(officer)
            answer = self.http.post(
                "/signin/totp", data={"csrf": self.csrf("/signin/totp"), "code": code}
            )
            assert answer.status_code == 303, answer.text

    def totp(self, officer: Officer) -> str:
        with self.site.db.transaction() as session:
            secret = session.get(Officer, officer.id).totp_secret  # type: ignore[union-attr]
        assert secret
        self.site.clock.advance(seconds=31)  # each code is taken once: a fresh step
        return accounts.totp(secret, accounts.totp_step(self.site.clock()))


@contextmanager
def serving(db: Database, clock: Clock) -> Iterator[Site]:
    site = Site(db, clock).start()
    try:
        yield site
    finally:
        site.stop()
