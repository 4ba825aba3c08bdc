"""What a fresh-eyes review of the console found, each shut and kept shut: bodies read before
the guard, news of reports reaching someone who no longer works them, the server posting to
internal addresses, usernames told by timing, one address locking a ward out, audit gaps,
and the local sign-in link in production."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlmodel import select

from bot import webpush
from db import accounts, push
from db.engine import Database
from db.models import AuditEvent, Officer, Outbox, Report
from handlers import triage
from tests.chat import Chat
from tests.conftest import Clock
from tests.console_site import PASSWORD, Site, serving
from tests.walker import Story, walk


@pytest.fixture
def site(db: Database, clock: Clock) -> Iterator[Site]:
    with serving(db, clock) as running:
        yield running


def test_a_large_body_is_refused_before_it_is_read(site: Site) -> None:
    huge = b"x" * (64 * 1024)
    answer = site.browser().http.post("/account/push", content=huge)
    assert answer.status_code == 413


def test_an_officer_moved_to_staff_hears_nothing_of_their_old_report(
    site: Site, dispatcher, db: Database, words
) -> None:
    resident = Chat(dispatcher, user="r-demoted")
    resident.send("/totgiac")
    code = walk(resident, Story()).code
    officer = site.officer("officer", "Cán bộ sẽ chuyển việc")
    with db.transaction() as session:
        push.save(
            session,
            officer.id or 0,
            "https://fcm.googleapis.com/x",
            "k" * 87,
            "a" * 22,
            site.clock(),
        )
        report = session.exec(select(Report)).one()
        holder = session.get(Officer, officer.id)
        triage.act(session, words, holder, report, "claim", site.clock())
    admin = site.signed_in("admin")
    admin.post(f"/admin/officers/{officer.id}/role", {"role": "staff"})
    with db.transaction() as session:
        report = session.exec(select(Report)).one()
        assert report.claimed_by is None  # back in the queue, the history says why
    resident.send(f"/bosung {code}")
    resident.send("Tên tôi là Trần Thị Hoa, nhà số 12 ngõ 34")
    with db.transaction() as session:
        to_them = session.exec(select(Outbox).where(Outbox.recipient == str(officer.id))).all()
        assert not [row for row in to_them if "Trần Thị Hoa" in str(row.payload)]


@pytest.mark.parametrize(
    ("endpoint", "local", "allowed"),
    [
        ("https://fcm.googleapis.com/fcm/send/abc", False, True),
        ("https://updates.push.services.mozilla.com/wpush/v2/abc", False, True),
        ("https://web.push.apple.com/abc", False, True),
        ("https://169.254.169.254/latest/meta-data/", False, False),
        ("https://10.0.0.5:6443/api", False, False),
        ("http://127.0.0.1:5432/", False, False),
        ("http://127.0.0.1:5432/", True, True),
        ("http://127.0.0.1.attacker.example/x", True, False),
        ("http://127.0.0.1@attacker.example/x", True, False),
        ("https://user@fcm.googleapis.com/x", False, False),
        ("https://fcm.googleapis.com.attacker.example/x", False, False),
    ],
)
def test_push_endpoints_are_push_services_only(endpoint: str, local: bool, allowed: bool) -> None:
    assert webpush.endpoint_allowed(endpoint, local=local) is allowed


def test_in_production_an_internal_endpoint_is_refused(site: Site, db: Database) -> None:
    site.console.local = False
    browser = site.signed_in("officer")
    token = browser.csrf("/account")
    body = {"endpoint": "http://127.0.0.1:5432/", "keys": {"p256dh": "k" * 87, "auth": "a" * 22}}
    answer = browser.http.post("/account/push", json=body, headers={"X-CSRF": token})
    assert answer.status_code == 400
    with db.transaction() as session:
        assert push.count(session) == 0


def test_an_unknown_username_costs_a_password_check_too(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    checked: list[object] = []
    real = accounts.password_matches
    monkeypatch.setattr(accounts, "password_matches", lambda o, p: checked.append(o) or real(o, p))
    browser = site.browser()
    token = browser.csrf("/signin")
    browser.http.post("/signin", data={"csrf": token, "username": "khongco", "password": "x" * 12})
    assert checked == [None]  # the decoy hash ran: no short cut tells who exists


def test_a_busy_address_does_not_lock_out_an_officer_who_knows_the_password(site: Site) -> None:
    officer = site.officer("officer")
    attacker = site.browser()
    token = attacker.csrf("/signin")
    for n in range(30):  # thirty wrong guesses at made-up names, from the shared address
        attacker.http.post(
            "/signin", data={"csrf": token, "username": f"gia{n}", "password": "sai mat khau"}
        )
    assert (
        attacker.http.post(
            "/signin", data={"csrf": token, "username": "gia99", "password": "sai mat khau"}
        ).status_code
        == 429
    )
    colleague = site.browser()
    token = colleague.csrf("/signin")
    answer = colleague.http.post(
        "/signin", data={"csrf": token, "username": officer.username, "password": PASSWORD}
    )
    assert answer.status_code == 303
    with site.db.transaction() as session:
        failed = session.exec(select(AuditEvent).where(AuditEvent.action == "sign_in_failed")).all()
        assert len(failed) >= 30


def test_searches_and_identifier_pages_are_in_the_audit_log(site: Site, dispatcher) -> None:
    resident = Chat(dispatcher, user="r-audit")
    resident.send("/totgiac")
    code = walk(resident, Story(identifiers=["0912345678"])).code
    browser = site.signed_in("officer")
    browser.get("/search", params={"q": "tai khoan tam giu"})
    browser.get("/search", params={"q": "0912 345 678"})
    with site.db.transaction() as session:
        rows = session.exec(select(AuditEvent).where(AuditEvent.action == "search")).all()
        assert len(rows) == 2 and all(code in (row.detail or "") for row in rows)


def test_the_local_sign_in_link_is_refused_in_production(site: Site, db: Database) -> None:
    from bot.local import sign_in_link

    link = sign_in_link(db, site.root)
    site.console.local = False
    answer = site.browser().http.get(link.removeprefix(site.root))
    assert answer.status_code == 410
    site.console.local = True
    assert site.browser().http.get(link.removeprefix(site.root)).status_code == 303


def test_the_terminal_chat_refuses_production(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    from bot.cli import main

    monkeypatch.setenv("ENVIRONMENT", "production")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/x.db")
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123:ABC")
    monkeypatch.setenv("PUBLIC_URL", "https://canhgiac.example.vn")
    monkeypatch.setenv("WEBPUSH_SUBJECT", "mailto:truc-ban@example.vn")
    monkeypatch.chdir(tmp_path)
    assert main(["chat"]) == 2


def test_a_nul_in_a_form_is_dropped_not_a_server_error(site: Site, dispatcher) -> None:
    resident = Chat(dispatcher, user="r-nul")
    resident.send("/totgiac")
    code = walk(resident, Story()).code
    browser = site.signed_in("officer")
    answer = browser.post(f"/reports/{code}/act", {"action": "ask", "note": "Bạn\x00 ở đâu?"})
    assert answer.status_code == 303
    assert "Bạn ở đâu?" in browser.get(f"/reports/{code}").text
