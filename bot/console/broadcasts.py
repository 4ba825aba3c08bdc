"""Broadcasts in the console: staff compose (words, photo, link, audience, time) and see the
alert as residents will; leads approve or reject with a reason; everyone follows progress;
the author or a lead cancels until sending starts. The rules are the chat's own
(handlers/broadcast.py, handlers/alerts.py, db/broadcasts.py)."""

from __future__ import annotations

import html
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from markupsafe import Markup, escape
from sqlmodel import col, select

from bot.console import guard
from bot.console.app import Console, Page, Route
from bot.console.format import size
from db import audit, broadcasts, officers, units
from db.clock import VIETNAM
from db.models import Broadcast
from handlers import alerts, audiences, casework
from handlers import broadcast as rules
from handlers.types import Reply

LIST_LIMIT = 30
FORM_SLACK = 64 * 1024  # the form's other fields, beside the photo, within the body limit
LIVE = (broadcasts.APPROVED, broadcasts.SENDING)  # progress still moving
_MARKUP = re.compile(r"(</?(?:b|i)>)")


def routes(console: Console) -> APIRouter:
    one, lead = "/broadcasts/{broadcast_id:int}", guard.LEAD
    return console.router(
        [
            Route("GET", "/broadcasts", guard.BROADCAST, _list),
            Route("GET", "/broadcasts/new", guard.BROADCAST, _compose),
            Route("GET", "/broadcasts/reach", guard.BROADCAST, _reach),
            Route("POST", "/broadcasts", guard.BROADCAST, _save, form=True),
            Route("GET", one, guard.BROADCAST, _show),
            Route("GET", f"{one}/progress", guard.BROADCAST, _progress),
            Route("GET", f"{one}/photo", guard.BROADCAST, _photo),
            Route("POST", f"{one}/submit", guard.BROADCAST, _submit, form=True),
            Route("POST", f"{one}/approve", lead, _approve, form=True),
            Route("POST", f"{one}/reject", lead, _reject, form=True),
            Route("POST", f"{one}/cancel", guard.BROADCAST, _cancel, form=True),
        ]
    )


def _show(console: Console, page: Page, broadcast_id: int) -> Response:
    return _details(console, page, _find(console, page, broadcast_id))


def _find(console: Console, page: Page, broadcast_id: int, lock: bool = False) -> Broadcast:
    """A broadcast this officer may see: any submitted one, and their own drafts."""
    statement = select(Broadcast).where(col(Broadcast.id) == broadcast_id)
    found = page.session.exec(statement.with_for_update() if lock else statement).first()
    if found is None or (found.status == broadcasts.DRAFT and found.author_id != page.officer.id):
        said = console.text("console.broadcasts.no_such_broadcast", id=broadcast_id)
        raise guard.Refusal(404, message=said)
    return found


@dataclass(frozen=True)
class Counted:
    """A broadcast's progress as staff read it."""

    total: int
    sent: int
    remaining: int  # queued, or waiting for the resident to write again
    failed: int
    blocked: int

    @property
    def percent(self) -> int:
        return 100 * (self.total - self.remaining) // self.total if self.total else 0


def _counted(page: Page, broadcast: Broadcast) -> Counted:
    found = broadcasts.progress(page.session, broadcast.id or 0)
    by = found.by_status
    return Counted(
        total=found.total,
        sent=by[broadcasts.SENT],
        remaining=found.remaining + by[broadcasts.WAITING],
        failed=by[broadcasts.FAILED],
        blocked=by[broadcasts.BLOCKED],
    )


def _list(console: Console, page: Page) -> Response:
    session, me = page.session, page.officer
    shown = broadcasts.recent(session, limit=LIST_LIMIT)
    if officers.may_lead(me):  # what waits for their decision comes first, however old
        pending = list(
            session.exec(
                select(Broadcast)
                .where(col(Broadcast.status) == broadcasts.PENDING_APPROVAL)
                .order_by(col(Broadcast.id))
            ).all()
        )
        waiting = {b.id for b in pending}
        shown = [*pending, *(b for b in shown if b.id not in waiting)]
    drafts = session.exec(
        select(Broadcast)
        .where(col(Broadcast.status) == broadcasts.DRAFT, col(Broadcast.author_id) == me.id)
        .order_by(col(Broadcast.id).desc())
    ).all()
    return console.render(
        page,
        "broadcasts.html",
        rows=[(b, _counted(page, b), _audience(console, b.audience, page)) for b in shown],
        drafts=drafts,
        label_of=lambda b: _status(console, b),
        soon=lambda b: _immediate(page, b),
    )


def _details(
    console: Console,
    page: Page,
    broadcast: Broadcast,
    reason: str = "",
    problem: str = "",
    status: int = 200,
) -> Response:
    me = page.officer
    started = broadcast.status in (broadcasts.SENDING, broadcasts.DONE)
    return console.render(
        page,
        "broadcast.html",
        status=status,
        b=broadcast,
        label=_status(console, broadcast),
        audience=_audience(console, broadcast.audience, page),
        reach=None if started else alerts.reach(page.session, broadcast),
        counted=_counted(page, broadcast),
        preview=_preview(console, broadcast),
        draft=broadcast.status == broadcasts.DRAFT,
        live=broadcast.status in LIVE,
        immediate=_immediate(page, broadcast),
        may_decide=alerts.may_decide(page.session, me, broadcast)
        and broadcast.status == broadcasts.PENDING_APPROVAL,
        may_cancel=alerts.may_cancel(page.session, me, broadcast)
        and broadcast.status in broadcasts.CANCELLABLE,
        reason=reason,
        problem=problem,
        max_reason=casework.MAX_NOTE,
    )


def _progress(console: Console, page: Page, broadcast_id: int) -> Response:
    """For the page's script: the numbers a reload would show."""
    found = _find(console, page, broadcast_id)
    counted = _counted(page, found)
    return JSONResponse(
        {
            "status": found.status,
            "label": _status(console, found),
            "live": found.status in LIVE,
            "total": counted.total,
            "sent": counted.sent,
            "remaining": counted.remaining,
            "failed": counted.failed,
            "blocked": counted.blocked,
            "percent": counted.percent,
        }
    )


def _photo(console: Console, page: Page, broadcast_id: int) -> Response:
    found = _find(console, page, broadcast_id)
    if not found.photo:
        raise guard.Refusal(404, message=console.content.text("console.broadcasts.no_photo"))
    kind = rules.photo_type(found.photo) or "application/octet-stream"
    return Response(found.photo, media_type=kind, headers={"Content-Disposition": "inline"})


def _reach(console: Console, page: Page) -> Response:
    """The live size of an audience, for the compose page's script."""
    try:
        audience = _parse_audience(console, page, page.query.get("audience", ""))
    except broadcasts.BroadcastError:
        unknown = console.content.text("console.broadcasts.no_such_audience")
        return JSONResponse({"error": unknown}, status_code=400)
    reach = alerts.reach(page.session, Broadcast(text="", author="", audience=audience))
    return JSONResponse(
        {"audience": audience, "label": _audience(console, audience, page), "reach": reach}
    )


# --- composing -------------------------------------------------------------------------------


@dataclass
class Typed:
    """What the compose form holds, given back as typed when something needs fixing."""

    text: str = ""
    link_url: str = ""
    link_label: str = ""
    audience: str = broadcasts.ALL
    when: str = "now"  # or "later", at day and hour (Vietnam time)
    day: str = ""
    hour: str = ""
    draft: Broadcast | None = None
    problems: list[str] = field(default_factory=list)


def _compose(
    console: Console, page: Page, typed: Typed | None = None, status: int = 200
) -> Response:
    if typed is None:
        typed = _blank(page)
        raw = page.query.get("draft", "")
        if raw.isdigit() and len(raw) < 12:
            typed = _from_draft(page, _own_draft(console, page, int(raw)))
    try:
        chosen = _parse_audience(console, page, typed.audience)
        reach: int | None = alerts.reach(
            page.session, Broadcast(text="", author="", audience=chosen)
        )
    except broadcasts.BroadcastError:
        reach = None
    return console.render(
        page,
        "broadcast_compose.html",
        status=status,
        typed=typed,
        audiences=_audiences(console, page),
        unit_choices=_unit_choices(console, page),
        ticked=_ticked(typed.audience),
        reach=reach,
        max_text=rules.MAX_TEXT,
        max_label=rules.MAX_LABEL,
        max_link=rules.MAX_LINK,
        max_photo=size(_photo_cap(console)),
    )


def _blank(page: Page) -> Typed:
    """A new alert: to everyone, as soon as approved; a later time offered at the next hour."""
    local = page.now.astimezone(VIETNAM).replace(minute=0, second=0, microsecond=0)
    later = local + timedelta(hours=1)
    return Typed(day=later.date().isoformat(), hour=later.strftime("%H:%M"))


def _from_draft(page: Page, draft: Broadcast) -> Typed:
    local = draft.send_at.astimezone(VIETNAM)
    later = draft.send_at > page.now
    blank = _blank(page)
    return Typed(
        text=draft.text,
        link_url=draft.link_url or "",
        link_label=draft.link_label or "",
        audience=draft.audience,
        when="later" if later else "now",
        day=local.date().isoformat() if later else blank.day,
        hour=local.strftime("%H:%M") if later else blank.hour,
        draft=draft,
    )


def _own_draft(console: Console, page: Page, broadcast_id: int) -> Broadcast:
    found = _find(console, page, broadcast_id, lock=True)
    if found.status != broadcasts.DRAFT:
        said = console.text("console.broadcasts.not_editable", id=broadcast_id)
        raise guard.Refusal(409, message=said)
    return found


def _save(console: Console, page: Page) -> Response:
    """The compose form: checked by the chat's rules, kept as a draft, then previewed."""
    form, content = page.form, console.content
    text = unicodedata.normalize("NFC", _field(form, "text").replace("\r\n", "\n").strip())
    typed = Typed(
        text=text,
        link_url=_field(form, "link_url").strip(),
        link_label=" ".join(_field(form, "link_label").split()),
        audience=_picked_audience(form),
        when=_field(form, "when") or "now",
        day=_field(form, "day").strip(),
        hour=_field(form, "hour").strip(),
    )
    raw_draft = _field(form, "draft")
    if raw_draft.isdigit() and len(raw_draft) < 12:
        typed.draft = _own_draft(console, page, int(raw_draft))
    problems = typed.problems
    problem = rules.text_problem(content, typed.text)
    if problem:
        problems.append(problem)
    photo = form.get("photo")
    if isinstance(photo, str) and photo:  # a field posted by hand, not a file
        photo = photo.encode()
    photo = photo or None
    photo_ok = False
    if photo is not None:
        if rules.photo_type(photo) is None:
            problems.append(content.text("console.broadcasts.photo_type"))
        elif len(photo) > _photo_cap(console):
            limit = size(_photo_cap(console))
            too_large = console.text(
                "console.broadcasts.photo_too_large", size=size(len(photo)), limit=limit
            )
            problems.append(too_large)
        else:
            photo_ok = True
    if typed.link_url and not rules.link_ok(typed.link_url):
        problems.append(content.text("console.broadcasts.link_invalid"))
    if typed.link_label and not typed.link_url:
        problems.append(content.text("console.broadcasts.label_without_link"))
    if len(typed.link_label) > rules.MAX_LABEL:
        problems.append(content.text("broadcast.label_long", limit=rules.MAX_LABEL))
    audience = ""
    try:
        audience = _parse_audience(console, page, typed.audience)
    except broadcasts.BroadcastError:
        problems.append(content.text("console.broadcasts.pick_audience"))
    send_at = page.now
    if typed.when == "later":
        moment = _moment(typed.day, typed.hour, page.now)
        if moment is None:
            problems.append(content.text("console.broadcasts.ask_when"))
        else:
            problem = rules.when_problem(content, moment, page.now)
            if problem:
                problems.append(problem)
            send_at = moment
    elif typed.when != "now":
        problems.append(content.text("console.broadcasts.pick_when"))
    if problems:
        if photo_ok:  # a file input cannot be filled in again by the page
            problems.append(content.text("console.broadcasts.photo_not_kept"))
        return _compose(console, page, typed, status=400)
    me = page.officer
    link_label = typed.link_label or None
    if typed.draft is None:
        draft = broadcasts.create(
            page.session,
            text=typed.text,
            audience=audience,
            send_at=send_at,
            author=me.name,
            author_id=me.id,
            now=page.now,
            photo=photo,
            link_url=typed.link_url or None,
            link_label=link_label,
            status=broadcasts.DRAFT,
        )
    else:
        draft = typed.draft
        draft.text, draft.audience, draft.send_at = typed.text, audience, send_at
        draft.link_url, draft.link_label = typed.link_url or None, link_label
        if photo is not None:
            draft.photo = photo
        elif _field(form, "drop_photo"):
            draft.photo = None
    return console.back(page, f"/broadcasts/{draft.id}")


def _picked_audience(form: Any) -> str:
    """The list's choice, or the units ticked below it (a province's staff: several)."""
    ticked = [u for u in form.get("units", []) if isinstance(u, str)]
    return audiences.several_units(ticked) if ticked else _field(form, "audience")


def _field(form: Any, name: str) -> str:
    value = form.get(name, "")
    return value if isinstance(value, str) else ""


def _moment(day: str, hour: str, now: datetime) -> datetime | None:
    """The date and time inputs (Vietnam time); typed by hand where a browser shows them as
    text, as staff type a time in the chat ('25/11/2026 08:00')."""
    try:
        local = datetime.combine(date.fromisoformat(day), time.fromisoformat(hour))
        return local.replace(tzinfo=VIETNAM).astimezone(UTC)
    except ValueError:
        return rules.parse_when(f"{day} {hour}", now)


def _photo_cap(console: Console) -> int:
    return min(rules.MAX_PHOTO, console.max_body_bytes - FORM_SLACK)


# --- deciding --------------------------------------------------------------------------------


def _submit(console: Console, page: Page, broadcast_id: int) -> Response:
    found = _find(console, page, broadcast_id, lock=True)
    here = f"/broadcasts/{broadcast_id}"
    if found.status != broadcasts.DRAFT:
        said = console.text("console.broadcasts.already_submitted", id=broadcast_id)
        return console.back(page, here, said)
    broadcasts.submit(found, page.now)
    page.send(*alerts.submitted(page.session, console.content, found))
    _record(page, "broadcast_submit", found)
    said = console.text("console.broadcasts.submitted", id=broadcast_id)
    return console.back(page, here, said)


def _pending(console: Console, page: Page, broadcast_id: int) -> Broadcast | str:
    found = _find(console, page, broadcast_id, lock=True)
    if not alerts.may_decide(page.session, page.officer, found):  # another unit's leads decide
        return console.content.text("broadcast.other_unit", id=found.id)
    if found.status != broadcasts.PENDING_APPROVAL:
        status = _status(console, found)
        return console.content.text("broadcast.already_decided", id=found.id, status=status)
    return found


def _approve(console: Console, page: Page, broadcast_id: int) -> Response:
    here = f"/broadcasts/{broadcast_id}"
    found = _pending(console, page, broadcast_id)
    if isinstance(found, str):
        return console.back(page, here, found)
    broadcasts.approve(page.session, found, page.officer.name, page.now)
    page.send(*alerts.decided(page.session, console.content, found))
    _record(page, "broadcast_approve", found)
    at = alerts.when(found.send_at)
    return console.back(page, here, console.content.text("broadcast.approved", id=found.id, at=at))


def _reject(console: Console, page: Page, broadcast_id: int) -> Response:
    here = f"/broadcasts/{broadcast_id}"
    found = _pending(console, page, broadcast_id)
    if isinstance(found, str):
        return console.back(page, here, found)
    reason = " ".join(_field(page.form, "reason").split())
    problem = rules.reason_problem(console.content, reason)
    if problem is None and len(reason) > casework.MAX_NOTE:
        problem = console.text("console.broadcasts.reason_long", limit=casework.MAX_NOTE)
    if problem is not None:
        return _details(console, page, found, reason=reason, problem=problem, status=400)
    broadcasts.reject(page.session, found, page.officer.name, page.now, reason)
    page.send(*alerts.decided(page.session, console.content, found))
    _record(page, "broadcast_reject", found, reason)
    return console.back(page, here, console.content.text("broadcast.rejected", id=found.id))


def _cancel(console: Console, page: Page, broadcast_id: int) -> Response:
    """Until sending starts, by the author or a lead; a draft is simply dropped."""
    found = _find(console, page, broadcast_id, lock=True)
    here = f"/broadcasts/{broadcast_id}"
    content = console.content
    if found.status == broadcasts.DRAFT:
        broadcasts.discard_draft(page.session, broadcast_id)
        return console.back(page, "/broadcasts", content.text("console.broadcasts.draft_dropped"))
    if not alerts.may_cancel(page.session, page.officer, found):
        return console.back(page, here, content.text("broadcast.cancel_not_yours"))
    try:
        broadcasts.cancel(page.session, found, page.officer.name, page.now)
    except broadcasts.BroadcastError:
        status = _status(console, found)
        return console.back(
            page, here, content.text("broadcast.too_late", id=found.id, status=status)
        )
    _record(page, "broadcast_cancel", found)
    return console.back(page, here, content.text("broadcast.cancelled", id=found.id))


def _record(page: Page, action: str, broadcast: Broadcast, note: str = "") -> None:
    detail = f"#{broadcast.id}" + (f": {note}" if note else "")
    audit.record(page.session, page.officer.id, action, page.now, None, detail, page.address)


# --- words and the preview -------------------------------------------------------------------


def _status(console: Console, broadcast: Broadcast) -> str:
    return str(console.content.text(f"broadcast.status.{broadcast.status}"))


def _audience(console: Console, audience: str, page: Page | None = None) -> str:
    session = page.session if page is not None else None
    return html.unescape(alerts.audience_label(console.content, audience, session))


def _audiences(console: Console, page: Page) -> list[tuple[str, str]]:
    """The audiences this author may choose (a unit's staff: their unit's areas)."""
    values = audiences.choices(page.session, console.content, page.officer)
    return [(v, _audience(console, v, page)) for v in values]


def _unit_choices(console: Console, page: Page) -> list[tuple[str, str]]:
    """The units this author may alert, when there are several to tick together."""
    values = audiences.choices(page.session, console.content, page.officer)
    ids = [v.partition(":")[2] for v in values if v.startswith("unit:")]
    found = [(i, units.name_of(page.session, int(i))) for i in ids]
    return found if len(found) > 1 else []


def _ticked(audience: str) -> set[str]:
    kind, _, value = audience.partition(":")
    return set(value.split(",")) if kind == "unit" and "," in value else set()


def _parse_audience(console: Console, page: Page, raw: str) -> str:
    return audiences.parse(page.session, console.content, page.officer, raw)


def _immediate(page: Page, broadcast: Broadcast) -> bool:
    """Not yet approved and its time already come: it goes as soon as a lead approves."""
    waiting = (broadcasts.DRAFT, broadcasts.PENDING_APPROVAL)
    return broadcast.status in waiting and broadcast.send_at <= page.now


@dataclass(frozen=True)
class Preview:
    """The alert as a resident's app shows it: picture, words, buttons."""

    text: Markup
    photo: str | None
    buttons: list[tuple[str, str | None]]  # label, and the address a link button opens


def _preview(console: Console, broadcast: Broadcast) -> Preview:
    reply: Reply = alerts.render(console.content, broadcast)
    buttons = [(b.label, b.payload if b.is_link else None) for row in reply.buttons for b in row]
    photo = f"/broadcasts/{broadcast.id}/photo" if reply.image else None
    return Preview(_markup(reply.text), photo, buttons)


def _markup(text: str) -> Markup:
    """The replies' small HTML subset (<b>, <i>, entities) as safe page markup."""
    return Markup(
        "".join(
            part if _MARKUP.fullmatch(part) else str(escape(html.unescape(part)))
            for part in _MARKUP.split(text)
        )
    )
