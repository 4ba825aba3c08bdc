"""The web console's plumbing: one `Console` shared by its pages, which runs each request's
work in one database transaction after the guard admits it, and draws the templates."""

from __future__ import annotations

import hmac
import logging
import secrets
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlmodel import Session

from bot.console import guard
from bot.console.format import filters
from content import Content, Markup
from db import outbox
from db.clock import utcnow
from db.engine import Database
from db.outbox import Message

log = logging.getLogger(__name__)
HERE = Path(__file__).resolve().parent
# Pages hold personal data: never cached, never framed, scripts only from here.
HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
}


MAX_FIELDS = 600
LISTS = frozenset({"units"})  # the form fields that hold several values (checkboxes)
RAW_CAP = 8 * 1024  # a push subscription is a few hundred bytes


@dataclass
class Page:
    """One request's world once admitted: the transaction, who asks, when, what they sent."""

    session: Session
    viewer: guard.Viewer | None
    now: datetime
    form: Mapping[str, Any]
    query: Mapping[str, str]
    address: str
    path: str
    before: str = ""  # the pre-sign-in form token
    agent: str = ""  # the browser's User-Agent, kept with a session
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""  # the raw body, for routes that take JSON (Route.raw)
    messages: list[Message] = field(default_factory=list)

    @property
    def officer(self) -> Any:
        assert self.viewer is not None
        return self.viewer.officer

    def send(self, *messages: Message) -> None:
        """Queue messages (to reporters, the police chat, officers) with this request's work."""
        self.messages.extend(messages)


@dataclass(frozen=True)
class Route:
    """One console address: who may use it, and the work it does, called as
    `work(console, page, **path parameters)` once the guard has admitted the request."""

    method: str
    path: str
    roles: frozenset[str]
    work: Callable[..., Response]
    form: bool = False  # a form post: read, and its CSRF token checked
    raw: bool = False  # the body is kept whole (JSON from the page's script)
    unverified_ok: bool = False  # before the second factor (signing in, enrolling)
    public: bool = False  # no session needed (sign-in, set-up links)


class Console:
    def __init__(
        self,
        db: Database,
        content: Content,
        secure_cookies: bool = False,
        max_body_bytes: int = 1024 * 1024,
        clock: Callable[[], datetime] = utcnow,
        local: bool = True,
    ) -> None:
        self.db, self.content, self.clock = db, content, clock
        self.secure_cookies, self.max_body_bytes = secure_cookies, max_body_bytes
        self.public_url = ""  # where officers open the console (set-up links point there)
        # Not in production: push endpoints on 127.0.0.1 (a stand-in push service) and the
        # one-time sign-in links `make run` prints are accepted.
        self.local = local
        self.templates = Environment(
            loader=FileSystemLoader(HERE / "templates"),
            autoescape=select_autoescape(["html"]),
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.templates.filters.update(filters(content))
        self.templates.globals["words"] = content

    def text(self, key: str, **values: Any) -> str:
        """A console message (messages.yaml: console.*) with its {fields} filled as plain
        text. Unlike Content.text, the values are not HTML-escaped: the templates escape
        what they show (a flash message, a refusal, a problem), and a detail kept in the
        audit log is kept as typed, so escaping here too would show "&amp;" for "&"."""
        return self.content.text(key, **{k: Markup(str(v)) for k, v in values.items()})

    def _too_large(self) -> guard.Refusal:
        return guard.Refusal(413, message=self.content.text("console.too_large"))

    def router(self, routes: list[Route]) -> APIRouter:
        """The routes as one router: each admitted by the guard, then its work done."""
        router = APIRouter()
        for route in routes:
            router.add_api_route(route.path, self._endpoint(route), methods=[route.method])
        return router

    def _endpoint(self, route: Route) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            body = b""
            if route.raw:  # small JSON from the page's script: refused unread beyond the cap
                announced = request.headers.get("Content-Length", "")
                if not announced.isdigit() or int(announced) > RAW_CAP:
                    return self.refused(self._too_large())
                async for chunk in request.stream():
                    body += chunk
                    if len(body) > RAW_CAP:
                        return self.refused(self._too_large())
            params = request.path_params

            def work(page: Page) -> Response:
                page.body = body
                return route.work(self, page, **params)

            return await self.page(
                request,
                route.roles,
                work,
                form=route.form,
                unverified_ok=route.unverified_ok,
                public=route.public,
            )

        return endpoint

    async def page(
        self,
        request: Request,
        roles: frozenset[str],
        work: Callable[[Page], Response],
        *,
        form: bool = False,
        unverified_ok: bool = False,
        public: bool = False,
    ) -> Response:
        """Admit the request (unless `public`), then do `work` and queue what it sends, in
        one transaction; a refusal changes nothing."""
        posted: dict[str, Any] | None = None
        if form:
            try:
                posted = await self.read_form(request)
            except guard.Refusal as refusal:
                return self.refused(refusal)
        cookie = request.cookies.get(guard.COOKIE, "")
        # Forms shown before signing in carry a token matching a cookie of their own
        # (double submit), so another site cannot post them in this browser's name either.
        before = request.cookies.get(guard.PRE_COOKIE, "") or secrets.token_urlsafe(24)
        address = request.client.host if request.client else ""
        path = request.url.path + (f"?{request.url.query}" if request.url.query else "")

        def run() -> Response:
            now = self.clock()
            try:
                with self.db.transaction() as session:
                    viewer = (
                        guard.viewer(session, cookie, now)
                        if public
                        else guard.admit(session, cookie, roles, now, path, posted, unverified_ok)
                    )
                    if public and posted is not None:
                        given = str(posted.get("csrf", ""))
                        if not (
                            guard.csrf_ok(viewer.row, given)
                            if viewer
                            else _same(given, request.cookies.get(guard.PRE_COOKIE, ""))
                        ):
                            raise guard.Refusal(403, message=guard.STALE_FORM)
                    query = dict(request.query_params)
                    page = Page(session, viewer, now, posted or {}, query, address, path, before)
                    page.agent = request.headers.get("User-Agent", "")
                    page.headers = request.headers
                    response = work(page)
                    for message in page.messages:
                        outbox.enqueue(session, message, now)
                    return response
            except guard.Refusal as refusal:
                return self.refused(refusal)

        response = await self.db.run(run)
        if public and guard.PRE_COOKIE not in request.cookies:
            response.set_cookie(
                guard.PRE_COOKIE, before, httponly=True, samesite="lax", secure=self.secure_cookies
            )
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    async def read_form(self, request: Request) -> dict[str, Any]:
        announced = request.headers.get("Content-Length", "")
        if not announced.isdigit() or int(announced) > self.max_body_bytes:
            # Forms always announce their length; one that does not could be endless.
            raise guard.Refusal(
                413 if announced else 411,
                message=self.content.text("console.form_too_large"),
            )
        # Fields: a province's staff may tick each of its units for an alert (a few hundred).
        data = await request.form(max_files=2, max_fields=MAX_FIELDS)
        read: dict[str, Any] = {}
        for key, value in data.multi_items():
            # NUL can be stored in no text column (PostgreSQL refuses it): gone from every field.
            clean = value.replace("\x00", "") if isinstance(value, str) else await value.read()
            if key in LISTS:  # ticked boxes: all of their values, in order
                read.setdefault(key, []).append(clean)
            else:  # any other field sent twice: the last, as one value
                read[key] = clean
        return read

    def render(self, page: Page, name: str, status: int = 200, **values: Any) -> HTMLResponse:
        viewer = page.viewer
        html = self.templates.get_template(name).render(
            viewer=viewer,
            me=viewer.officer if viewer else None,
            csrf=viewer.row.csrf if viewer else page.before,
            path=page.path,
            said=self.said(page),
            **values,
        )
        return HTMLResponse(html, status_code=status)

    def refused(self, refusal: guard.Refusal) -> Response:
        if refusal.location:
            return RedirectResponse(refusal.location, status_code=refusal.status)
        html = self.templates.get_template("refused.html").render(
            viewer=None, me=None, csrf="", message=refusal.message, path="", said=""
        )
        return HTMLResponse(html, status_code=refusal.status)

    def back(self, page: Page, location: str, said: str = "") -> RedirectResponse:
        """After a form: back to a page (post/redirect/get), with what was done, signed."""
        if said and page.viewer is not None:
            joiner = "&" if "?" in location else "?"
            query = urlencode({"said": said, "sig": guard.seal(page.viewer.row, said)})
            location = f"{location}{joiner}{query}"
        return RedirectResponse(location, status_code=303)

    def said(self, page: Page) -> str:
        if page.viewer is None:
            return ""
        return guard.unseal(page.viewer.row, page.query.get("said", ""), page.query.get("sig", ""))

    def sign_in_cookie(self, response: Response, token: str) -> None:
        response.set_cookie(
            guard.COOKIE,
            token,
            httponly=True,
            samesite="lax",
            secure=self.secure_cookies,
            path="/",
        )


def _same(given: str, expected: str) -> bool:
    return bool(given and expected) and hmac.compare_digest(given.encode(), expected.encode())
