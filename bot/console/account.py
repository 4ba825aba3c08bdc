"""Signing in and out, first set-up, the second factor, and an officer's own settings."""

from __future__ import annotations

import json
from datetime import timedelta
from urllib.parse import urlsplit

import segno
from fastapi import APIRouter
from fastapi.responses import JSONResponse, RedirectResponse, Response

from bot import webpush
from bot.console import guard
from bot.console.app import Console, Page, Route
from db import accounts, audit, push, throttle
from db.models import Officer
from handlers import notify

SIGNIN_TRIES = 10  # per account and per 15 minutes; an address gets a few accounts' worth
SIGNIN_WINDOW = timedelta(minutes=15)
ADDRESS_TRIES = 30


def routes(console: Console) -> APIRouter:
    public, before_factor = {"public": True}, {"unverified_ok": True}
    return console.router(
        [
            Route("GET", "/signin", guard.PUBLIC, _signin_form, **public),
            Route("POST", "/signin", guard.PUBLIC, _signin, form=True, **public),
            Route("GET", "/signin/totp", guard.ANY, _totp_form, **before_factor),
            Route("POST", "/signin/totp", guard.ANY, _totp_check, form=True, **before_factor),
            Route("GET", "/account/totp", guard.ANY, _enrol_form, **before_factor),
            Route("POST", "/account/totp", guard.ANY, _enrol, form=True, **before_factor),
            Route("POST", "/signout", guard.ANY, _signout, form=True, **before_factor),
            Route("GET", "/setup/{token}", guard.PUBLIC, _setup_form, **public),
            Route("POST", "/setup/{token}", guard.PUBLIC, _setup, form=True, **public),
            Route("GET", "/link/{token}", guard.PUBLIC, _sign_in_link, **public),
            Route("GET", "/account", guard.ANY, _account),
            Route("POST", "/account/notify", guard.ANY, _notify_by, form=True),
            Route("POST", "/account/zalo", guard.ANY, _zalo_code, form=True),
            Route("POST", "/account/push", guard.ANY, _subscribe, raw=True),
        ]
    )


def _signin_form(console: Console, page: Page, problem: str = "") -> Response:
    if page.viewer is not None and page.viewer.verified:
        return RedirectResponse("/", status_code=303)
    target = _safe_next(page.query.get("next", ""))
    return console.render(page, "signin.html", problem=problem, next=target)


def _signin(console: Console, page: Page) -> Response:
    username = str(page.form.get("username", "")).strip().lower()[:64]
    password = str(page.form.get("password", ""))
    target = _safe_next(str(page.form.get("next", "")))
    # Failures are counted, per account and per address. An account past its limit waits;
    # an address past its limit (many officers behind one proxy) stops guessing, but never
    # an officer whose own account is under its limit and who knows the password.
    user_key, address_key = f"signin:user:{username}", f"signin:addr:{page.address}"
    limited = throttle.exceeded(page.session, user_key, SIGNIN_TRIES, SIGNIN_WINDOW, page.now)
    officer = accounts.by_username(page.session, username) if username else None
    # Always the same work, whether the username exists or not: timing tells nothing.
    known = officer if officer is not None and officer.active else None
    right = accounts.password_matches(known, password)
    too_many = console.content.text("console.account.too_many")
    if limited:
        return console.render(page, "signin.html", status=429, problem=too_many, next=target)
    if not right or known is None:
        crowded = throttle.exceeded(
            page.session, address_key, ADDRESS_TRIES, SIGNIN_WINDOW, page.now
        )
        throttle.allow(page.session, user_key, SIGNIN_TRIES, SIGNIN_WINDOW, page.now)
        throttle.allow(page.session, address_key, ADDRESS_TRIES, SIGNIN_WINDOW, page.now)
        who = known.id if known else None
        detail = console.text("console.account.failed_detail", username=username)
        audit.record(page.session, who, "sign_in_failed", page.now, None, detail, page.address)
        wrong = console.content.text("console.account.wrong")
        status, problem = (429, too_many) if crowded else (401, wrong)
        return console.render(page, "signin.html", status=status, problem=problem, next=target)
    officer = known
    started = accounts.start_session(page.session, officer, page.now, page.address, page.agent)
    audit.record(page.session, officer.id, "sign_in", page.now, address=page.address)
    response = RedirectResponse(_after_sign_in(officer, target), status_code=303)
    console.sign_in_cookie(response, started.token)
    return response


def _after_sign_in(officer: Officer, target: str) -> str:
    if accounts.needs_second_factor(officer):
        return "/signin/totp" if officer.totp_enrolled_at else "/account/totp"
    return target or "/"


def _totp_form(console: Console, page: Page) -> Response:
    return console.render(page, "totp.html", enrol=False)


def _totp_check(console: Console, page: Page) -> Response:
    officer = page.officer
    if not throttle.allow(
        page.session, f"totp:{officer.id}", SIGNIN_TRIES, SIGNIN_WINDOW, page.now
    ):
        too_many = console.content.text("console.account.too_many")
        return console.render(page, "totp.html", status=429, enrol=False, problem=too_many)
    # Locked: two requests with one code at the same moment cannot both pass.
    page.session.refresh(officer, with_for_update=True)
    if not accounts.check_totp(officer, str(page.form.get("code", "")), page.now):
        audit.record(page.session, officer.id, "totp_failed", page.now, address=page.address)
        problem = console.content.text("console.account.totp_wrong")
        return console.render(page, "totp.html", status=401, enrol=False, problem=problem)
    assert page.viewer is not None
    page.viewer.row.verified_at = page.now
    return RedirectResponse("/", status_code=303)


def _enrol_form(console: Console, page: Page, problem: str = "") -> Response:
    officer = page.officer
    if officer.totp_enrolled_at is not None:
        return RedirectResponse("/signin/totp", status_code=303)
    # The secret is this session's until enrolled: someone else signed in with the same
    # password before the officer enrols sees another one, which will never be theirs.
    assert page.viewer is not None
    row = page.viewer.row
    if not row.pending_totp:
        row.pending_totp = accounts.new_totp_secret()
    uri = accounts.totp_uri(row.pending_totp, officer.username or str(officer.id))
    qr = segno.make(uri, error="m").svg_inline(scale=5, dark="#000", light="#fff")
    return console.render(
        page, "totp.html", enrol=True, secret=row.pending_totp, qr=qr, problem=problem
    )


def _enrol(console: Console, page: Page) -> Response:
    officer, row = page.officer, page.viewer.row if page.viewer else None
    assert row is not None
    if officer.totp_enrolled_at is not None or not row.pending_totp:
        return RedirectResponse("/account/totp", status_code=303)
    code = str(page.form.get("code", ""))
    if not accounts.check_totp(officer, code, page.now, secret=row.pending_totp):
        return _enrol_form(console, page, console.content.text("console.account.enrol_wrong"))
    officer.totp_secret, officer.totp_enrolled_at = row.pending_totp, page.now
    row.pending_totp, row.verified_at = None, page.now
    audit.record(page.session, officer.id, "totp_enrolled", page.now, address=page.address)
    return RedirectResponse("/", status_code=303)


def _signout(console: Console, page: Page) -> Response:
    assert page.viewer is not None
    page.viewer.row.ended_at = page.now
    response = RedirectResponse("/signin", status_code=303)
    response.delete_cookie(guard.COOKIE, path="/")
    return response


def _setup_form(console: Console, page: Page, token: str, problem: str = "") -> Response:
    found = accounts.link_officer(page.session, token, page.now)
    if found is None or found[0].purpose != accounts.SETUP:
        message = console.content.text("console.account.setup_link_dead")
        return console.render(page, "refused.html", status=410, message=message)
    return console.render(
        page,
        "setup.html",
        officer=found[1],
        token=token,
        problem=problem,
        minimum=accounts.MIN_PASSWORD,
    )


def _setup(console: Console, page: Page, token: str) -> Response:
    found = accounts.link_officer(page.session, token, page.now)
    if found is None or found[0].purpose != accounts.SETUP:
        return _setup_form(console, page, token)
    link, officer = found
    password = str(page.form.get("password", ""))
    if password != str(page.form.get("again", "")):
        problem = console.content.text("console.account.passwords_differ")
        return _setup_form(console, page, token, problem)
    try:
        accounts.set_credentials(
            page.session, officer, str(page.form.get("username", "")), password, page.now
        )
    except accounts.AccountError as error:
        return _setup_form(console, page, token, str(error))
    link.used_at = page.now
    accounts.end_sessions(page.session, officer.id or 0, page.now)
    started = accounts.start_session(page.session, officer, page.now, page.address, page.agent)
    audit.record(page.session, officer.id, "account_set_up", page.now, address=page.address)
    response = RedirectResponse(_after_sign_in(officer, ""), status_code=303)
    console.sign_in_cookie(response, started.token)
    return response


def _sign_in_link(console: Console, page: Page, token: str) -> Response:
    """A one-time sign-in link (the local admin `make run` creates): no password to set."""
    found = accounts.link_officer(page.session, token, page.now)
    if found is None:
        message = console.content.text("console.account.sign_in_link_dead")
        return console.render(page, "refused.html", status=410, message=message)
    link, officer = found
    if link.purpose == accounts.SETUP:
        return RedirectResponse(f"/setup/{token}", status_code=303)
    if not console.local:  # a password-less admin session is for a machine trying it out
        message = console.content.text("console.account.sign_in_link_local_only")
        return console.render(page, "refused.html", status=410, message=message)
    link.used_at = page.now
    started = accounts.start_session(
        page.session,
        officer,
        page.now,
        page.address,
        page.agent,
        verified=True,  # a local link, printed to whoever runs the process
    )
    audit.record(page.session, officer.id, "sign_in_link", page.now, address=page.address)
    response = RedirectResponse("/", status_code=303)
    console.sign_in_cookie(response, started.token)
    return response


def _account(console: Console, page: Page, zalo_code: bool = False) -> Response:
    officer = page.officer
    code = accounts.messenger_code(page.session, officer, page.now) if zalo_code else ""
    sessions = [
        s for s in accounts.live_sessions(page.session, page.now) if s.officer_id == officer.id
    ]
    return console.render(
        page,
        "account.html",
        routes=notify.routes(page.session, officer),
        chosen=set(officer.notify_by or ()),
        devices=push.count(page.session, officer.id),
        sessions=sessions,
        push_key=webpush.load_vapid(page.session, page.now).public_key,
        zalo_code=code,
    )


def _zalo_code(console: Console, page: Page) -> Response:
    return _account(console, page, zalo_code=True)


def _notify_by(console: Console, page: Page) -> Response:
    chosen = [route for route in notify.ROUTES if page.form.get(route)]
    page.officer.notify_by = chosen
    return console.back(page, "/account", console.content.text("console.account.notify_saved"))


def _subscribe(console: Console, page: Page) -> Response:
    """The browser's push subscription (JSON from PushManager.subscribe), with the page's
    CSRF token in a header."""
    assert page.viewer is not None
    body = page.body
    if not guard.csrf_ok(page.viewer.row, page.headers.get("X-CSRF", "")):
        return JSONResponse({"ok": False}, status_code=403)
    try:
        data = json.loads(body)
        endpoint, keys = str(data["endpoint"]), data["keys"]
        p256dh, auth = str(keys["p256dh"]), str(keys["auth"])
    except (ValueError, KeyError, TypeError):
        return JSONResponse({"ok": False}, status_code=400)
    if not webpush.endpoint_allowed(endpoint, local=console.local):
        return JSONResponse({"ok": False}, status_code=400)
    if len(endpoint) > 2000 or len(p256dh) > 128 or len(auth) > 64:
        return JSONResponse({"ok": False}, status_code=400)
    push.save(page.session, page.officer.id, endpoint, p256dh, auth, page.now)
    if notify.WEBPUSH not in (page.officer.notify_by or []):
        page.officer.notify_by = [*(page.officer.notify_by or []), notify.WEBPUSH]
    return JSONResponse({"ok": True})


def _safe_next(target: str) -> str:
    """Only a path on this site: never an open redirect."""
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return ""
    return target
