"""Administration: officers (add, role, deactivate, set-up links, sessions) and the audit log."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response
from sqlmodel import col, select

from bot.console import guard
from bot.console.app import Console, Page, Route
from db import accounts, audit, officers, reports, units
from db.models import AuditEvent, Officer, Report
from handlers import triage


def routes(console: Console) -> APIRouter:
    return console.router(
        [
            Route("GET", "/admin/officers", guard.ADMIN, _roster),
            Route("POST", "/admin/officers", guard.ADMIN, _add, form=True),
            Route(
                "POST", "/admin/officers/{officer_id:int}/{change}", guard.ADMIN, _change, form=True
            ),
            Route("GET", "/admin/audit", guard.ADMIN, _audit),
        ]
    )


def _roster(
    console: Console, page: Page, link: str = "", linked: Officer | None = None
) -> Response:
    people = officers.every(page.session)
    live = accounts.live_sessions(page.session, page.now)
    signed_in = {s.officer_id: s for s in live}
    return console.render(
        page,
        "officers.html",
        people=people,
        signed_in=signed_in,
        roles=officers.ROLES,
        units=units.all_units(page.session),
        link=link,
        linked=linked,
    )


def _add(console: Console, page: Page) -> Response:
    name = " ".join(str(page.form.get("name", "")).split())
    role = str(page.form.get("role", ""))
    raw_unit = str(page.form.get("unit", "")) or str(units.DEFAULT)
    unit = (
        units.get(page.session, int(raw_unit)) if raw_unit.isdigit() and len(raw_unit) < 9 else None
    )
    if unit is None:
        return console.back(
            page, "/admin/officers", console.content.text("console.admin.pick_unit")
        )
    try:
        officer = officers.add(page.session, name, role, None)
    except officers.OfficerError:
        said = console.content.text("console.admin.name_and_role")
        return console.back(page, "/admin/officers", said)
    officer.unit_id = unit.id
    token = accounts.issue_link(page.session, officer, page.now)
    audit.record(
        page.session,
        page.officer.id,
        "officer_add",
        page.now,
        None,
        f"#{officer.id} {officer.name} ({role})",
        page.address,
    )
    return _roster(console, page, f"{console.public_url}/setup/{token}", officer)


def _change(console: Console, page: Page, officer_id: int, change: str) -> Response:
    target = page.session.get(Officer, officer_id)
    here = "/admin/officers"
    if target is None:
        raise guard.Refusal(404, message=console.content.text("console.admin.no_such_officer"))
    if change == "role":
        role = str(page.form.get("role", ""))
        if role not in officers.ROLES:
            return console.back(page, here, console.content.text("console.admin.bad_role"))
        if target.id == page.officer.id and role != officers.ADMIN:
            return console.back(page, here, console.content.text("console.admin.keep_own_admin"))
        before = target.role
        officers.set_role(page.session, officer_id, role)
        # A new role may need the second factor: each session proves it again.
        accounts.end_sessions(page.session, officer_id, page.now)
        if not officers.may_triage(target):
            page.send(*triage.release(page.session, target, _actor(page), page.now))
        detail = f"#{officer_id} {target.name}: {before} → {role}"
        audit.record(
            page.session, page.officer.id, "officer_role", page.now, None, detail, page.address
        )
        return console.back(
            page, here, console.text("console.admin.role_changed", name=target.name)
        )
    elif change == "unit":
        raw = str(page.form.get("unit", ""))
        unit = units.get(page.session, int(raw)) if raw.isdigit() and len(raw) < 9 else None
        if unit is None:
            return console.back(page, here, console.content.text("console.admin.pick_unit"))
        target.unit_id = unit.id
        # Reports held in the old unit go back to its queue; open pages are checked again.
        page.send(*triage.release(page.session, target, _actor(page), page.now))
        accounts.end_sessions(page.session, officer_id, page.now)
        said = console.text("console.admin.moved", name=target.name, unit=unit.name)
    elif change == "deactivate":
        if target.id == page.officer.id:
            return console.back(page, here, console.content.text("console.admin.keep_own_account"))
        officers.deactivate(page.session, officer_id)
        accounts.end_sessions(page.session, officer_id, page.now)
        page.send(*triage.release(page.session, target, _actor(page), page.now))
        said = console.text("console.admin.deactivated", name=target.name)
    elif change == "link":
        token = accounts.issue_link(page.session, target, page.now)
        audit.record(
            page.session,
            page.officer.id,
            "officer_link",
            page.now,
            None,
            f"#{officer_id}",
            page.address,
        )
        return _roster(console, page, f"{console.public_url}/setup/{token}", target)
    elif change == "signout":
        ended = accounts.end_sessions(page.session, officer_id, page.now)
        said = console.text("console.admin.signed_out", count=ended, name=target.name)
    else:
        raise guard.Refusal(404, message=console.content.text("console.admin.no_such_change"))
    audit.record(
        page.session,
        page.officer.id,
        f"officer_{change}",
        page.now,
        None,
        f"#{officer_id}",
        page.address,
    )
    return console.back(page, here, said)


def _audit(console: Console, page: Page) -> Response:
    raw_officer, code = page.query.get("officer", ""), page.query.get("report", "").strip()
    officer_id = int(raw_officer) if raw_officer.isdigit() and len(raw_officer) < 10 else None
    report = reports.by_code(page.session, code.upper()) if code else None
    raw_page = page.query.get("page", "1")
    number = int(raw_page) if raw_page.isdigit() and len(raw_page) < 7 else 1
    rows: list[AuditEvent] = []
    total = 0
    if not code or report is not None:
        rows, total = audit.search(page.session, officer_id, report.id if report else None, number)
    names = dict(page.session.exec(select(Officer.id, Officer.name)).all())
    codes = dict(
        page.session.exec(
            select(Report.id, Report.receipt_code).where(
                col(Report.id).in_({r.report_id for r in rows if r.report_id})
            )
        ).all()
    )
    return console.render(
        page,
        "audit.html",
        rows=rows,
        total=total,
        names=names,
        codes=codes,
        officer_id=officer_id,
        code=code,
        number=number,
        pages=max(1, -(-total // audit.PAGE)),
    )


def _actor(page: Page) -> reports.Actor:
    return reports.Actor(page.officer.name, page.officer.id)
