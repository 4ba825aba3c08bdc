"""Every console route × every role (and no session): allowed or refused, on the server.
A route added without a line here fails the test, so none is left unguarded by accident."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.routing import APIRoute
from sqlmodel import select

from bot.console import routers
from db.models import Evidence, Identifier, Officer
from tests.chat import Chat
from tests.console_site import Browser, Site, serving
from tests.walker import Story, walk

NOBODY, OFFICER, LEAD, STAFF, ADMIN = "nobody", "officer", "lead", "staff", "admin"
SIGNED_IN = {OFFICER, LEAD, STAFF, ADMIN}
TRIAGE = {OFFICER, LEAD, ADMIN}
WRITERS = {STAFF, LEAD, ADMIN}
# (method, route) → who may use it. Public pages are open to everyone, signed in or not.
EVERYONE = {NOBODY, *SIGNED_IN}
TABLE: dict[tuple[str, str], set[str]] = {
    ("GET", "/signin"): EVERYONE,
    ("POST", "/signin"): EVERYONE,
    ("GET", "/setup/{token}"): EVERYONE,
    ("POST", "/setup/{token}"): EVERYONE,
    ("GET", "/link/{token}"): EVERYONE,
    ("GET", "/signin/totp"): SIGNED_IN,
    ("POST", "/signin/totp"): SIGNED_IN,
    ("GET", "/account/totp"): SIGNED_IN,
    ("POST", "/account/totp"): SIGNED_IN,
    ("POST", "/signout"): SIGNED_IN,
    ("GET", "/account"): SIGNED_IN,
    ("POST", "/account/notify"): SIGNED_IN,
    ("POST", "/account/push"): SIGNED_IN,
    ("POST", "/account/zalo"): SIGNED_IN,
    ("GET", "/"): SIGNED_IN,
    ("GET", "/reports"): TRIAGE,
    ("GET", "/reports/feed"): TRIAGE,
    ("GET", "/reports/{code}"): TRIAGE,
    ("POST", "/reports/{code}/act"): TRIAGE,
    ("POST", "/reports/{code}/assign"): {LEAD, ADMIN},
    ("POST", "/reports/{code}/transfer"): TRIAGE,
    ("GET", "/photos/{evidence_id}"): TRIAGE,
    ("GET", "/search"): TRIAGE,
    ("GET", "/identifiers/{identifier_id}"): TRIAGE,
    ("POST", "/identifiers/{identifier_id}/{verdict}"): TRIAGE,
    ("GET", "/broadcasts"): WRITERS,
    ("GET", "/broadcasts/new"): WRITERS,
    ("GET", "/broadcasts/reach"): WRITERS,
    ("POST", "/broadcasts"): WRITERS,
    ("GET", "/broadcasts/{broadcast_id}"): WRITERS,
    ("GET", "/broadcasts/{broadcast_id}/progress"): WRITERS,
    ("GET", "/broadcasts/{broadcast_id}/photo"): WRITERS,
    ("POST", "/broadcasts/{broadcast_id}/submit"): WRITERS,
    ("POST", "/broadcasts/{broadcast_id}/approve"): {LEAD, ADMIN},
    ("POST", "/broadcasts/{broadcast_id}/reject"): {LEAD, ADMIN},
    ("POST", "/broadcasts/{broadcast_id}/cancel"): WRITERS,
    ("GET", "/admin/officers"): {ADMIN},
    ("POST", "/admin/officers"): {ADMIN},
    ("POST", "/admin/officers/{officer_id}/{change}"): {ADMIN},
    ("GET", "/admin/audit"): {ADMIN},
    ("GET", "/statistics"): {LEAD, ADMIN},
    ("GET", "/statistics/report.docx"): {LEAD, ADMIN},
    ("GET", "/statistics/report.xlsx"): {LEAD, ADMIN},
}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Site, dict[str, str]]]:
    """One site for the whole table (SQLite): a report with a photo and an identifier."""
    import dataclasses

    import content
    from bot import settings as settings_module
    from bot.wiring import open_database
    from handlers.dispatcher import Dispatcher
    from tests.conftest import Clock

    url = f"sqlite:///{tmp_path_factory.mktemp('access')}/canhgiac.db"
    db = open_database(dataclasses.replace(settings_module.load(env_file=None), database_url=url))
    clock = Clock()
    chat = Chat(
        Dispatcher(db, content.load(), settings_module.load(env_file=None).limits, clock),
        user="r",
        photos=True,
    )
    chat.send("/totgiac")
    chat.press("Đồng ý")
    code = walk(chat, Story(identifiers=["0912345678"], photos=[b"\x89PNG x"])).code
    assert code
    with serving(db, clock) as site:
        with db.transaction() as session:
            values = {
                "code": code,
                "evidence_id": str(session.exec(select(Evidence.id)).first()),
                "identifier_id": str(session.exec(select(Identifier.id)).first()),
                "token": "no-such-token",
                "verdict": "confirm",
                "change": "signout",
                "broadcast_id": "1",
            }
        yield site, values
    db.dispose()


def _browser(site: Site, role: str) -> Browser:
    return site.browser() if role == NOBODY else site.signed_in(role)


def test_the_table_names_every_console_route(world: tuple[Site, dict[str, str]]) -> None:
    site, _ = world
    served = {
        (method, re.sub(r":\w+\}", "}", route.path))  # a converter is not part of the name
        for router in routers(site.console, site.root)
        for route in router.routes
        if isinstance(route, APIRoute)
        for method in route.methods
    }
    assert served == set(TABLE)


@pytest.mark.parametrize("role", [NOBODY, OFFICER, LEAD, STAFF, ADMIN])
def test_every_route_admits_exactly_its_roles(
    world: tuple[Site, dict[str, str]], role: str
) -> None:
    site, values = world
    browser = _browser(site, role)
    with site.db.transaction() as session:
        target = Officer(name="Người thử", role=OFFICER)
        session.add(target)
        session.flush()
        values = {**values, "officer_id": str(target.id)}
    wrong = []
    for (method, route), allowed in sorted(TABLE.items()):
        path = route.format(**values)
        token = browser.csrf("/signin") if role == NOBODY else browser.csrf("/account")
        if method == "GET":
            answer = browser.get(path)
        elif route == "/account/push":  # the page's script posts JSON with the token
            answer = browser.http.post(path, json={}, headers={"X-CSRF": token})
        else:
            answer = browser.http.post(path, data={"csrf": token})
        # Refused: forbidden, or sent to sign in; anything else (a page, a redirect after
        # the form, "wrong password", "no such link") means the route let this role in.
        refused = answer.status_code == 403 or (
            answer.status_code == 303 and answer.headers["location"].startswith("/signin?")
        )
        if (role in allowed) == refused:
            wrong.append(f"{method} {route} → {answer.status_code}")
    assert not wrong, f"{role}: {wrong}"
