"""The police's pages: the queue, a report, its actions, photos, search and identifiers.
Every action goes through handlers/triage.py, the same rules as the Telegram card."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from urllib.parse import urlencode

from fastapi import APIRouter
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy import func
from sqlmodel import col, select

from bot.console import guard
from bot.console.app import Console, Page, Route
from content import Content
from db import audit, identifiers, officers, queue, reports, units
from db.models import Evidence, Identifier, Officer, Report
from handlers import casework, report_view, triage
from handlers.kinds import type_label
from handlers.parse import parse_receipt_code, substance

FEED_LIMIT = 20


def routes(console: Console) -> APIRouter:
    identifier = "/identifiers/{identifier_id:int}"
    return console.router(
        [
            Route("GET", "/", guard.ANY, _home),
            Route("GET", "/reports", guard.TRIAGE, _queue),
            Route("GET", "/reports/feed", guard.TRIAGE, _feed),
            Route("GET", "/reports/{code}", guard.TRIAGE, _report),
            Route("POST", "/reports/{code}/act", guard.TRIAGE, _act, form=True),
            Route("POST", "/reports/{code}/assign", guard.LEAD, _assign, form=True),
            Route("POST", "/reports/{code}/transfer", guard.TRIAGE, _transfer, form=True),
            Route("GET", "/photos/{evidence_id:int}", guard.TRIAGE, _photo),
            Route("GET", "/search", guard.TRIAGE, _search),
            Route("GET", identifier, guard.TRIAGE, _identifier),
            Route("POST", f"{identifier}/{{verdict}}", guard.TRIAGE, _judge, form=True),
        ]
    )


def _home(console: Console, page: Page) -> Response:
    role = page.officer.role
    if role in officers.TRIAGE_ROLES:
        return RedirectResponse("/reports", status_code=303)
    return RedirectResponse("/broadcasts", status_code=303)


def _filters(page: Page) -> queue.Filters:
    q = page.query

    def day(key: str) -> date | None:
        try:
            return date.fromisoformat(q.get(key, ""))
        except ValueError:
            return None

    page_number = q.get("page", "1")
    unit = q.get("unit", "")
    return queue.Filters(
        unit=int(unit) if unit.isdigit() and len(unit) < 9 else None,
        status=q.get("status", queue.OPEN) or queue.OPEN,
        scam_type=q.get("type", ""),
        urgent=q.get("urgent") == "1",
        overdue=q.get("overdue") == "1",
        holder=q.get("holder", queue.ANYONE) or queue.ANYONE,
        channel=q.get("channel", ""),
        area=q.get("area", ""),
        since=day("since"),
        until=day("until"),
        page=int(page_number) if page_number.isdigit() and len(page_number) < 7 else 1,
    )


def _queue(console: Console, page: Page) -> Response:
    filters = _filters(page)
    scope = _scope(page)
    found = queue.queue(page.session, filters, page.officer.id, page.now, scope)
    holders = _names(page, {r.claimed_by for r in found.reports if r.claimed_by})
    latest = page.session.exec(select(func.max(Report.id))).one() or 0
    return console.render(
        page,
        "queue.html",
        found=found,
        filters=filters,
        holders=holders,
        latest=latest,
        overdue_ids={r.id for r in found.reports if _overdue(console.content, r, page.now)},
        types=console.content.scams,
        areas=units.places(page.session, console.content.areas),
        units=units.all_units(page.session) if scope.units is None else [],
        statuses=[*reports.OPEN, *reports.CLOSED],
        type_label=lambda t: type_label(console.content, t),
        args=_args(page),
    )


def _feed(console: Console, page: Page) -> Response:
    """Reports newer than `after` (the queue's newest when drawn), for the page to announce
    without a reload."""
    after = page.query.get("after", "0")
    newer = page.session.exec(
        select(Report.id, Report.receipt_code, Report.urgent)
        .where(
            col(Report.id) > (int(after) if after.isdigit() and len(after) < 12 else 0),
            *queue.in_scope(_scope(page)),
        )
        .order_by(col(Report.id))
        .limit(FEED_LIMIT)
    ).all()
    return JSONResponse(
        {
            "reports": [{"id": i, "code": c, "urgent": bool(u)} for i, c, u in newer],
            "urgent": any(bool(u) for _, _, u in newer),
        }
    )


def _find(console: Console, page: Page, code: str) -> Report:
    normal = parse_receipt_code(code)
    report = reports.by_code(page.session, normal) if normal else None
    # Another unit's report is as absent as a code that does not exist.
    if report is None or not _scope(page).sees(report.unit_id):
        said = console.text("console.reports.no_such_report", code=code[:12])
        raise guard.Refusal(404, message=said)
    return report


def _scope(page: Page) -> units.Scope:
    return units.scope(page.session, page.officer)


def _report(console: Console, page: Page, code: str) -> Response:
    report = _find(console, page, code)
    view = report_view.build(page.session, console.content, report)
    audit.record(
        page.session, page.officer.id, audit.OPEN_REPORT, page.now, report.id, address=page.address
    )
    # Confirming is per identifier, on its page (linked from each identifier here).
    actions = [
        name
        for name in triage.ACTIONS
        if name != triage.CONFIRM and triage.offered(page.session, report, name)
    ]
    lead = officers.may_lead(page.officer)
    return console.render(
        page,
        "report.html",
        view=view,
        report=report,
        actions=actions,
        rules=triage.ACTIONS,
        may_act={
            a: triage.refusal(page.session, console.content, page.officer, report, a) is None
            for a in actions
        },
        deadlines=_deadlines(console.content, report, page.now),
        type_label=type_label(console.content, report.scam_type),
        assignees=_assignees(page, report) if lead and report.status in reports.OPEN else [],
        unit=units.name_of(page.session, report.unit_id),
        targets=[
            u
            for u in units.all_units(page.session)
            if u.id != (report.unit_id or units.DEFAULT) and report.status in reports.OPEN
        ],
        names=_names(page, {e.officer_id for e in view.events if e.officer_id}),
        max_note=casework.MAX_NOTE,
    )


def _act(console: Console, page: Page, code: str) -> Response:
    report = _find(console, page, code)
    action = str(page.form.get("action", ""))
    here = f"/reports/{report.receipt_code}"
    if action not in triage.ACTIONS or action == triage.CONFIRM:
        return console.back(page, here, console.content.text("console.reports.bad_action"))
    note = " ".join(str(page.form.get("note", "")).split()) or None
    if action == triage.DUPLICATE:  # the words are the other report's code, as on the card
        original_code = parse_receipt_code(note or "")
        original = reports.by_code(page.session, original_code) if original_code else None
        if original is None or original.id == report.id or not _scope(page).sees(original.unit_id):
            return console.back(page, here, console.content.text("casework.dup_invalid"))
        note = console.content.text("casework.dup_note", code=original.receipt_code)
    if triage.ACTIONS[action].needs_note:
        if not note or substance(note) < casework.MIN_NOTE:
            return console.back(page, here, console.content.text("console.reports.note_short"))
        if len(note) > casework.MAX_NOTE:
            said = console.text("console.reports.note_long", limit=casework.MAX_NOTE)
            return console.back(page, here, said)
    else:
        note = None
    outcome = triage.act(
        page.session, console.content, page.officer, report, action, page.now, note
    )
    if not outcome.refused:
        page.send(*outcome.effects)
        audit.record(page.session, page.officer.id, action, page.now, report.id, note, page.address)
    return console.back(page, here, outcome.answer)


def _assign(console: Console, page: Page, code: str) -> Response:
    report = _find(console, page, code)
    here = f"/reports/{report.receipt_code}"
    raw = str(page.form.get("officer", ""))
    assignee = page.session.get(Officer, int(raw)) if raw.isdigit() else None
    if assignee is None:
        return console.back(page, here, console.content.text("console.reports.pick_officer"))
    outcome = triage.assign(page.session, console.content, page.officer, report, assignee, page.now)
    if not outcome.refused:
        page.send(*outcome.effects)
        detail = f"{assignee.name} (#{assignee.id})"
        audit.record(
            page.session, page.officer.id, "assign", page.now, report.id, detail, page.address
        )
    return console.back(page, here, outcome.answer)


def _transfer(console: Console, page: Page, code: str) -> Response:
    report = _find(console, page, code)
    here = f"/reports/{report.receipt_code}"
    raw = str(page.form.get("unit", ""))
    reason = " ".join(str(page.form.get("note", "")).split())
    if not raw.isdigit() or len(raw) > 9:
        return console.back(page, here, console.content.text("console.reports.pick_unit"))
    if substance(reason) < casework.MIN_NOTE or len(reason) > casework.MAX_NOTE:
        said = console.content.text("console.reports.transfer_reason")
        return console.back(page, here, said)
    outcome = triage.transfer(
        page.session, console.content, page.officer, report, int(raw), reason, page.now
    )
    if outcome.refused:
        return console.back(page, here, outcome.answer)
    page.send(*outcome.effects)
    detail = f"{units.name_of(page.session, report.unit_id)}: {reason}"
    audit.record(
        page.session, page.officer.id, "transfer", page.now, report.id, detail, page.address
    )
    # The report may now be out of this officer's sight: back to the queue.
    target = here if _scope(page).sees(report.unit_id) else "/reports"
    return console.back(page, target, outcome.answer)


def _photo(console: Console, page: Page, evidence_id: int) -> Response:
    row = page.session.get(Evidence, evidence_id)
    report = page.session.get(Report, row.report_id) if row and row.report_id else None
    if row is None or report is None or not _scope(page).sees(report.unit_id):
        raise guard.Refusal(404, message=console.content.text("console.reports.no_such_photo"))
    audit.record(
        page.session,
        page.officer.id,
        audit.OPEN_PHOTO,
        page.now,
        row.report_id,
        str(evidence_id),
        page.address,
    )
    mime = row.mime if row.mime.startswith("image/") else "application/octet-stream"
    return Response(row.data, media_type=mime, headers={"Content-Disposition": "inline"})


def _search(console: Console, page: Page) -> Response:
    text = page.query.get("q", "").strip()[:200]
    if not text:
        return console.render(page, "search.html", q="", matched=[], worded=[])
    code = parse_receipt_code(text)
    coded = reports.by_code(page.session, code) if code else None
    scope = _scope(page)
    if coded is not None and scope.sees(coded.unit_id):
        return RedirectResponse(f"/reports/{code}", status_code=303)
    readings = queue.readings(text)
    matched = queue.by_identifier(page.session, readings, scope=scope)
    # A number, account or link is looked up as such; words are searched when it is none.
    worded = [] if readings else queue.by_words(page.session, text, scope=scope)
    # Who looked for what, and which reports it showed: search reads accounts too.
    shown = sorted(
        {r.receipt_code for _, rs in matched for r in rs} | {r.receipt_code for r in worded}
    )
    detail = f"«{text}» → {len(shown)}: {', '.join(shown[:50])}"
    audit.record(page.session, page.officer.id, "search", page.now, None, detail, page.address)
    return console.render(
        page,
        "search.html",
        q=text,
        matched=[(i, report_view.shown(console.content, i), rs) for i, rs in matched],
        worded=worded,
        type_label=lambda t: type_label(console.content, t),
    )


def _identifier(console: Console, page: Page, identifier_id: int, problem: str = "") -> Response:
    found = page.session.get(Identifier, identifier_id)
    if found is None:
        said = console.content.text("console.reports.no_such_identifier")
        raise guard.Refusal(404, message=said)
    naming = queue.naming(page.session, identifier_id, limit=200, scope=_scope(page))
    audit.record(
        page.session,
        page.officer.id,
        "open_identifier",
        page.now,
        None,
        found.display,
        page.address,
    )
    history = identifiers.history(page.session, identifier_id)
    names = _names(page, {e.officer_id for e in history if e.officer_id})
    return console.render(
        page,
        "identifier.html",
        identifier=found,
        shown=report_view.shown(console.content, found),
        naming=naming,
        total=report_view.reports_naming(page.session, identifier_id),
        history=history,
        names=names,
        confirmer=names.get(found.confirmed_by or 0, ""),
        type_label=lambda t: type_label(console.content, t),
        problem=problem,
    )


def _judge(console: Console, page: Page, identifier_id: int, verdict: str) -> Response:
    found = page.session.get(Identifier, identifier_id)
    if found is None or verdict not in ("confirm", "withdraw"):
        said = console.content.text("console.reports.no_such_identifier")
        raise guard.Refusal(404, message=said)
    here = f"/identifiers/{identifier_id}"
    reason = " ".join(str(page.form.get("reason", "")).split())
    if substance(reason) < casework.MIN_NOTE or len(reason) > casework.MAX_NOTE:
        return console.back(page, here, console.content.text("console.reports.judge_reason"))
    officer: Officer = page.officer
    actor = f"{officer.name}"
    if verdict == "confirm":
        if found.confirmed_scam:
            said = console.content.text("console.reports.already_confirmed")
            return console.back(page, here, said)
        identifiers.confirm(page.session, found, officer.id, actor, reason, page.now)
        said = console.content.text("console.reports.confirmed")
    else:
        if not found.confirmed_scam:
            said = console.content.text("console.reports.not_confirmed")
            return console.back(page, here, said)
        identifiers.withdraw(page.session, found, officer.id, actor, reason, page.now)
        said = console.content.text("console.reports.withdrawn")
    audit.record(
        page.session,
        officer.id,
        f"identifier_{verdict}",
        page.now,
        None,
        f"{found.display}: {reason}",
        page.address,
    )
    return console.back(page, here, said)


def _deadlines(
    words: Content, report: Report, now: datetime
) -> list[tuple[str, datetime, timedelta]]:
    found = []
    if report.status == reports.NEW and report.ack_due_at:
        label = words.text("console.reports.ack_due")
        found.append((label, report.ack_due_at, report.ack_due_at - now))
    if report.status in reports.OPEN and report.resolve_due_at:
        label = words.text("console.reports.resolve_due")
        found.append((label, report.resolve_due_at, report.resolve_due_at - now))
    return found


def _overdue(words: Content, report: Report, now: datetime) -> bool:
    return any(left.total_seconds() < 0 for _, _, left in _deadlines(words, report, now))


def _names(page: Page, ids: set[int | None]) -> dict[int, str]:
    wanted = [i for i in ids if i]
    if not wanted:
        return {}
    rows = page.session.exec(select(Officer.id, Officer.name).where(col(Officer.id).in_(wanted)))
    return {i: n for i, n in rows.all() if i is not None}


def _assignees(page: Page, report: Report) -> list[Officer]:
    """Officers who may take this report: those who work reports and see its unit's."""
    return [
        o
        for o in officers.every(page.session)
        if officers.may_triage(o) and units.scope(page.session, o).sees(report.unit_id)
    ]


def _args(page: Page) -> str:
    """The queue's filters as a query string, without the page number (for paging links)."""
    return urlencode(
        {k: v for k, v in page.query.items() if k not in ("page", "said", "sig") and v}
    )
