"""Staff write alerts in the bot (/phatthanh): words, an optional photo and link button, the
audience, when, and a preview exactly as residents will see it; a lead approves (/duyet) or
rejects with a reason (/tuchoi); /bantin shows progress and cancels what has not started."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from content import Content
from db import broadcasts, officers, residents
from db.clock import VIETNAM
from db.models import Broadcast, Officer
from handlers import alerts, audiences, evidence
from handlers.flow import Answer, Flow, choice, enter, finish, goto, nav, rows, stay
from handlers.menu import menu_reply
from handlers.parse import substance
from handlers.types import Context, Incoming, Outcome, Reply, State

MAX_TEXT, MIN_TEXT, MAX_LABEL, MAX_LINK, MIN_REASON = 3500, 10, 40, 512, 3
LATEST_START = timedelta(days=60)  # further out is more likely a typo than a plan
# Zalo takes a message's image as JPEG or PNG of at most 1 MB; Telegram takes those too.
MAX_PHOTO = 1024 * 1024
PHOTO_TYPES = {b"\xff\xd8\xff": "image/jpeg", b"\x89PNG\r\n\x1a\n": "image/png"}
_WHEN = re.compile(r"^(\d{1,2})/(\d{1,2})(?:/(\d{4}))?\s+(\d{1,2})[:hg](\d{2})$")


def _discard(ctx: Context, state: State) -> None:
    """Cancelling a draft removes it (and its photo)."""
    if state.data.get("id"):
        broadcasts.discard_draft(ctx.session, state.data["id"])


FLOW = Flow("broadcast", on_cancel=_discard)


def _officer(ctx: Context, msg: Incoming) -> Officer | None:
    return officers.by_sender(ctx.session, msg.channel, msg.user_id)


def _draft(ctx: Context, state: State) -> Broadcast:
    found = ctx.session.get(Broadcast, state.data["id"])
    assert found is not None
    return found


def _controls(ctx: Context, state: State, *extra: tuple[str, str]) -> tuple:
    buttons = [choice(state, value, ctx.content.raw(label)) for value, label in extra]
    buttons.append(choice(state, "cancel", ctx.content.raw("buttons.cancel")))
    return rows(*buttons)


def start(ctx: Context, state: State, msg: Incoming, arg: str) -> Outcome:
    """/phatthanh: staff, leads and admins write; a lead approves."""
    officer = _officer(ctx, msg)
    if not alerts.may_write(officer):
        return state, [Reply(ctx.content.text("broadcast.not_staff"))]
    assert officer is not None
    return enter(
        ctx,
        state,
        FLOW,
        "text",
        {"officer": officer.id, "author": officer.name, "photos": msg.carries_photos},
    )


def prompt_text(ctx: Context, state: State) -> list[Reply]:
    text = ctx.content.text("broadcast.ask_text", limit=MAX_TEXT)
    return [Reply(text, _controls(ctx, state))]


# --- the rules of an alert's parts, shared by this chat and the web console ---------------


def text_problem(content: Content, text: str) -> str | None:
    """Why these words cannot be an alert (too short to say anything, too long), or None."""
    if substance(text) < MIN_TEXT:
        return content.text("broadcast.text_short")
    if len(text) > MAX_TEXT:
        return content.text("broadcast.text_long", limit=MAX_TEXT)
    return None


def link_ok(url: str) -> bool:
    """A web address residents can open: http(s), with a domain."""
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and "." in parts.netloc and len(url) <= MAX_LINK


def photo_type(data: bytes) -> str | None:
    """The image type residents' apps take (JPEG or PNG), read from the bytes; else None."""
    return next((kind for magic, kind in PHOTO_TYPES.items() if data.startswith(magic)), None)


def when_problem(content: Content, moment: datetime, now: datetime) -> str | None:
    """A chosen sending time must be ahead, and not too far."""
    return None if now < moment <= now + LATEST_START else content.text("broadcast.when_range")


def reason_problem(content: Content, reason: str) -> str | None:
    """A rejection's reason, told to the author, must say something."""
    return content.text("broadcast.reason_short") if substance(reason) < MIN_REASON else None


# --- the staff's chat -------------------------------------------------------------------------


@FLOW.step("text")
def text(ctx: Context, state: State, answer: Answer) -> Outcome:
    problem = text_problem(ctx.content, answer.text)
    if problem is not None:
        return stay(ctx, state, FLOW, problem)
    if state.data.get("id"):
        _draft(ctx, state).text = answer.text
    else:
        author = ctx.session.get(Officer, state.data["officer"] or 0)
        draft = broadcasts.create(
            ctx.session,
            text=answer.text,
            audience=audiences.choices(ctx.session, ctx.content, author)[0],
            send_at=ctx.now,
            author=state.data["author"],
            author_id=state.data["officer"],
            now=ctx.now,
            status=broadcasts.DRAFT,
        )
        state.data["id"] = draft.id
    return goto(ctx, state, FLOW, "photo" if state.data.get("photos") else "link")


def prompt_photo(ctx: Context, state: State) -> list[Reply]:
    controls = _controls(ctx, state, ("skip", "buttons.skip"), ("back", "buttons.back"))
    return [Reply(ctx.content.text("broadcast.ask_photo"), controls)]


@FLOW.step("photo", takes_photos=True)
def photo(ctx: Context, state: State, answer: Answer) -> Outcome:
    draft = _draft(ctx, state)
    if answer.value == "skip":
        draft.photo = None
        return goto(ctx, state, FLOW, "link")
    pictures = [a for a in answer.attachments if a.kind == "photo"]
    if not pictures:
        return stay(ctx, state, FLOW, ctx.content.text("broadcast.photo_expected"))
    why_not = evidence.unusable(ctx, pictures[0])
    if why_not is not None:
        return stay(ctx, state, FLOW, why_not)
    draft.photo = pictures[0].data
    return goto(ctx, state, FLOW, "link")


def prompt_link(ctx: Context, state: State) -> list[Reply]:
    controls = _controls(ctx, state, ("skip", "buttons.skip"), ("back", "buttons.back"))
    return [Reply(ctx.content.text("broadcast.ask_link"), controls)]


@FLOW.step("link")
def link(ctx: Context, state: State, answer: Answer) -> Outcome:
    draft = _draft(ctx, state)
    if answer.value == "skip":
        draft.link_url = draft.link_label = None
        return goto(ctx, state, FLOW, "audience")
    label, _, url = answer.text.rpartition("|")
    url, label = url.strip(), label.strip()
    if not link_ok(url):
        return stay(ctx, state, FLOW, ctx.content.text("broadcast.link_invalid"))
    if len(label) > MAX_LABEL:
        return stay(ctx, state, FLOW, ctx.content.text("broadcast.label_long", limit=MAX_LABEL))
    draft.link_url, draft.link_label = url, label or None
    return goto(ctx, state, FLOW, "audience")


def prompt_audience(ctx: Context, state: State) -> list[Reply]:
    author = ctx.session.get(Officer, state.data.get("officer") or 0)
    options = [
        choice(state, value, alerts.audience_label(ctx.content, value, ctx.session))
        for value in audiences.choices(ctx.session, ctx.content, author)[: audiences.MAX_BUTTONS]
    ]
    options.append(choice(state, "back", ctx.content.raw("buttons.back")))
    options.append(choice(state, "cancel", ctx.content.raw("buttons.cancel")))
    return [Reply(ctx.content.text("broadcast.ask_audience"), rows(*options))]


@FLOW.step("audience")
def audience(ctx: Context, state: State, answer: Answer) -> Outcome:
    author = ctx.session.get(Officer, state.data.get("officer") or 0)
    try:
        chosen = audiences.parse(ctx.session, ctx.content, author, answer.value or "")
    except broadcasts.BroadcastError:
        return stay(ctx, state, FLOW, ctx.content.text("common.pick_button"))
    _draft(ctx, state).audience = chosen
    return goto(ctx, state, FLOW, "when")


def prompt_when(ctx: Context, state: State) -> list[Reply]:
    controls = _controls(ctx, state, ("now", "broadcast.now"), ("back", "buttons.back"))
    return [Reply(ctx.content.text("broadcast.ask_when"), controls)]


@FLOW.step("when")
def when_step(ctx: Context, state: State, answer: Answer) -> Outcome:
    draft = _draft(ctx, state)
    if answer.value == "now":
        draft.send_at = ctx.now
        return goto(ctx, state, FLOW, "preview")
    moment = parse_when(answer.text, ctx.now)
    if moment is None:
        return stay(ctx, state, FLOW, ctx.content.text("broadcast.when_invalid"))
    problem = when_problem(ctx.content, moment, ctx.now)
    if problem is not None:
        return stay(ctx, state, FLOW, problem)
    draft.send_at = moment
    return goto(ctx, state, FLOW, "preview")


def parse_when(text: str, now: datetime) -> datetime | None:
    """'25/11 08:00' or '25/11/2026 8h30', Vietnam time; the coming such date if no year."""
    match = _WHEN.match(" ".join(text.split()))
    if match is None:
        return None
    day, month, year, hour, minute = match.groups()
    local_now = now.astimezone(VIETNAM)
    try:
        moment = datetime(
            int(year or local_now.year),
            int(month),
            int(day),
            int(hour),
            int(minute),
            tzinfo=VIETNAM,
        )
    except ValueError:
        return None
    if year is None and moment < local_now:
        moment = moment.replace(year=moment.year + 1)
    return moment.astimezone(now.tzinfo)


def prompt_preview(ctx: Context, state: State) -> list[Reply]:
    draft = _draft(ctx, state)
    summary = ctx.content.text(
        "broadcast.preview_summary",
        audience=alerts.audience_label(ctx.content, draft.audience, ctx.session),
        at=alerts.when(draft.send_at),
        reach=alerts.reach(ctx.session, draft),
    )
    controls = _controls(ctx, state, ("submit", "broadcast.submit"), ("back", "buttons.back"))
    return [
        Reply(ctx.content.text("broadcast.preview_header")),
        alerts.render(ctx.content, draft),
        Reply(summary, controls),
    ]


@FLOW.step("preview")
def preview(ctx: Context, state: State, answer: Answer) -> Outcome:
    if answer.value != "submit":
        return stay(ctx, state, FLOW, ctx.content.text("common.pick_button"))
    draft = _draft(ctx, state)
    broadcasts.submit(draft, ctx.now)
    ctx.effects.extend(alerts.submitted(ctx.session, ctx.content, draft))
    finish(state)
    return state, [Reply(ctx.content.text("broadcast.submitted", id=draft.id))]


# --- a lead's decision --------------------------------------------------------------------


def _pending(ctx: Context, msg: Incoming, arg: str) -> tuple[Officer, Broadcast] | str:
    """The lead and the broadcast awaiting approval, or what to say instead."""
    lead = _officer(ctx, msg)
    if not officers.may_lead(lead):
        return ctx.content.text("broadcast.leads_only")
    assert lead is not None
    found = broadcasts.find(ctx.session, arg)
    if found is None or not alerts.may_decide(ctx.session, lead, found):
        return ctx.content.text("broadcast.not_found", id=arg.strip() or "?")
    if found.status != broadcasts.PENDING_APPROVAL:
        status = ctx.content.text(f"broadcast.status.{found.status}")
        return ctx.content.text("broadcast.already_decided", id=found.id, status=status)
    return lead, found


def approve(ctx: Context, state: State, msg: Incoming, arg: str) -> Outcome:
    """/duyet <number>."""
    pending = _pending(ctx, msg, arg)
    if isinstance(pending, str):
        return state, [Reply(pending)]
    lead, broadcast = pending
    broadcasts.approve(ctx.session, broadcast, lead.name, ctx.now)
    ctx.effects.extend(alerts.decided(ctx.session, ctx.content, broadcast))
    at = alerts.when(broadcast.send_at)
    return state, [Reply(ctx.content.text("broadcast.approved", id=broadcast.id, at=at))]


def reject(ctx: Context, state: State, msg: Incoming, arg: str) -> Outcome:
    """/tuchoi <number>: the reason is asked next, and told to the author."""
    pending = _pending(ctx, msg, arg)
    if isinstance(pending, str):
        return state, [Reply(pending)]
    _, broadcast = pending
    return enter(ctx, state, FLOW, "reason", {"id": broadcast.id})


def prompt_reason(ctx: Context, state: State) -> list[Reply]:
    text = ctx.content.text("broadcast.ask_reason", id=state.data["id"])
    return [Reply(text, _controls(ctx, state))]


@FLOW.step("reason")
def reason(ctx: Context, state: State, answer: Answer) -> Outcome:
    problem = reason_problem(ctx.content, answer.text)
    if problem is not None:
        return stay(ctx, state, FLOW, problem)
    assert answer.message is not None
    lead = _officer(ctx, answer.message)
    broadcast = _draft(ctx, state)
    finish(state)
    if not officers.may_lead(lead):  # roles are checked when acting, not when asked
        return state, [Reply(ctx.content.text("broadcast.leads_only"))]
    assert lead is not None
    if broadcast.status != broadcasts.PENDING_APPROVAL:  # another lead decided meanwhile
        status = ctx.content.text(f"broadcast.status.{broadcast.status}")
        already = ctx.content.text("broadcast.already_decided", id=broadcast.id, status=status)
        return state, [Reply(already)]
    broadcasts.reject(ctx.session, broadcast, lead.name, ctx.now, answer.text)
    ctx.effects.extend(alerts.decided(ctx.session, ctx.content, broadcast))
    return state, [Reply(ctx.content.text("broadcast.rejected", id=broadcast.id))]


# --- progress and cancelling ----------------------------------------------------------------


def status(ctx: Context, state: State, msg: Incoming, arg: str) -> Outcome:
    """/bantin: the latest broadcasts with progress; /bantin <number>: one, with a bar."""
    officer = _officer(ctx, msg)
    if not (alerts.may_write(officer) or officers.may_lead(officer)):
        return state, [Reply(ctx.content.text("broadcast.not_staff"))]
    if arg.strip().isdigit():
        found = broadcasts.find(ctx.session, arg)
        if found is None:
            return state, [Reply(ctx.content.text("broadcast.not_found", id=arg.strip()))]
        counted = broadcasts.progress(ctx.session, found.id or 0)
        lines = [alerts.describe(ctx.content, ctx.session, found), progress_bar(counted)]
        buttons = (
            rows(nav(ctx.content.raw("broadcast.cancel"), f"/huybantin {found.id}"))
            if alerts.may_cancel(ctx.session, officer, found)
            and found.status in broadcasts.CANCELLABLE
            else ()
        )
        return state, [Reply("\n".join(lines), buttons)]
    shown = broadcasts.recent(ctx.session, limit=10)
    if not shown:
        return state, [Reply(ctx.content.text("broadcast.none"))]
    lines = [ctx.content.text("broadcast.list_header")]
    lines += [alerts.describe(ctx.content, ctx.session, b) for b in shown]
    details = [nav(f"#{b.id}", f"/bantin {b.id}") for b in shown]
    return state, [Reply("\n".join(lines), rows(*details, per_row=5))]


def progress_bar(counted: broadcasts.Progress, width: int = 20) -> str:
    done = counted.total - counted.remaining
    filled = round(width * done / counted.total) if counted.total else 0
    share = 100 * done // counted.total if counted.total else 0
    return f"[{'█' * filled}{'░' * (width - filled)}] {share}% ({done}/{counted.total})"


def cancel(ctx: Context, state: State, msg: Incoming, arg: str) -> Outcome:
    """/huybantin <number>: the author or a lead, until sending starts."""
    officer = _officer(ctx, msg)
    found = broadcasts.find(ctx.session, arg)
    if found is None:
        return state, [Reply(ctx.content.text("broadcast.not_found", id=arg.strip() or "?"))]
    if not alerts.may_cancel(ctx.session, officer, found):
        return state, [Reply(ctx.content.text("broadcast.cancel_not_yours"))]
    assert officer is not None
    try:
        broadcasts.cancel(ctx.session, found, officer.name, ctx.now)
    except broadcasts.BroadcastError:
        status = ctx.content.text(f"broadcast.status.{found.status}")
        return state, [Reply(ctx.content.text("broadcast.too_late", id=found.id, status=status))]
    return state, [Reply(ctx.content.text("broadcast.cancelled", id=found.id))]


# --- residents: the weekly tip ----------------------------------------------------------------


def weekly_tips(ctx: Context, state: State, msg: Incoming, arg: str) -> Outcome:
    """/meohangtuan [tat]: subscribers opt in (or out) to the weekly awareness tip."""
    resident = residents.find(ctx.session, msg.channel, msg.user_id)
    if resident is None or not resident.subscribed:
        return state, [
            menu_reply(ctx.content, ctx.content.text("broadcast.tips_need_subscription"))
        ]
    resident.weekly_tips = arg.strip().lower() not in ("tat", "tắt", "off")
    key = "broadcast.tips_on" if resident.weekly_tips else "broadcast.tips_off"
    return state, [menu_reply(ctx.content, ctx.content.text(key))]
