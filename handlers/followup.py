"""A reporter adds to their own open report: answering an officer's question, or anything
they remember later. Only the reporter, on the channel they reported from, may."""

from __future__ import annotations

from datetime import timedelta

from db import reports, throttle
from db.models import Report
from handlers import triage
from handlers.evidence import count as evidence_count
from handlers.evidence import keep as keep_evidence
from handlers.flow import Answer, Flow, choice, enter, finish, nav, rows, stay
from handlers.menu import menu_reply
from handlers.parse import parse_receipt_code, substance
from handlers.types import Attachment, Context, Incoming, Outcome, Reply, State

FLOW = Flow("followup")
MIN_INFO = 3  # letters or digits
# Additions (words or photos) per report in a window: each becomes a message in the paced
# police chat, so one reporter's burst must not delay other people's urgent cards.
ADDITIONS, ADDITION_WINDOW = 10, timedelta(minutes=10)


def start(ctx: Context, state: State, msg: Incoming, arg: str) -> Outcome:
    """/bosung <code>: the code's report must be this resident's and still open."""
    code = parse_receipt_code(arg)
    if code is None:
        return state, [menu_reply(ctx.content, ctx.content.text("followup.usage"))]
    report = reports.by_code(ctx.session, code)
    if report is None or not reports.is_reporter(report, f"{msg.channel}:{msg.user_id}"):
        # The same answer whether the code exists or not: codes can't be probed here.
        return state, [menu_reply(ctx.content, ctx.content.text("followup.not_yours", code=code))]
    if report.status not in reports.OPEN:
        status = ctx.content.text(f"status.{report.status}")
        closed = ctx.content.text("followup.closed", code=code, status=status)
        return state, [menu_reply(ctx.content, closed)]
    return enter(ctx, state, FLOW, "info", {"report_id": report.id, "code": code})


def prompt_info(ctx: Context, state: State) -> list[Reply]:
    # Once photos have gone to the police there is nothing to cancel, only to finish.
    last = "done" if state.data.get("photos") else "cancel"
    label = ctx.content.raw("buttons.done" if last == "done" else "buttons.cancel")
    ask = ctx.content.text("followup.ask", code=state.data["code"])
    return [Reply(ask, rows(choice(state, last, label)))]


@FLOW.step("info", takes_photos=True)
def info(ctx: Context, state: State, answer: Answer) -> Outcome:
    photos = [a for a in answer.attachments if a.kind == "photo"]
    if answer.value != "done" and not photos:
        if answer.attachments:  # a sticker, a file, a voice message
            return stay(ctx, state, FLOW, ctx.content.text("followup.text_or_photo"))
        if substance(answer.text) < MIN_INFO:
            return stay(ctx, state, FLOW, ctx.content.text("followup.too_short"))
    report = ctx.session.get(Report, state.data["report_id"])
    code = state.data["code"]
    if report is None or report.status not in reports.OPEN:
        finish(state)  # closed while they typed: say so rather than pretend it was added
        return state, [menu_reply(ctx.content, ctx.content.text("followup.closed_meanwhile"))]
    adds = answer.value != "done" or bool(photos)
    key = f"bosung:{report.id}"
    if adds and not throttle.allow(ctx.session, key, ADDITIONS, ADDITION_WINDOW, ctx.now):
        minutes = int(ADDITION_WINDOW.total_seconds() // 60)
        refusal = ctx.content.text("followup.too_many", limit=ADDITIONS, minutes=minutes)
        return stay(ctx, state, FLOW, refusal)
    if photos:
        return _photos(ctx, state, report, photos)
    if answer.value != "done":
        ctx.effects.extend(triage.add_info(ctx.session, ctx.content, report, answer.text, ctx.now))
    finish(state)
    label = ctx.content.raw
    buttons = rows(
        nav(label("buttons.add_more"), f"/bosung {code}"), nav(label("buttons.menu"), "/start")
    )
    return state, [Reply(ctx.content.text("followup.sent", code=code), buttons)]


def _photos(ctx: Context, state: State, report: Report, photos: list[Attachment]) -> Outcome:
    """Screenshots sent in: kept as evidence and sent under the card at once; the step stays
    open for more (an album arrives as several messages)."""
    assert report.id is not None
    kept, notes = keep_evidence(
        ctx, photos, evidence_count(ctx.session, report.id), report_id=report.id
    )
    if kept:
        ctx.session.flush()  # the new photos' ids, for the album
        ids = [e.id for e in kept if e.id is not None]
        ctx.effects.extend(triage.add_photos(ctx.session, ctx.content, report, ids, ctx.now))
        state.data["photos"] = state.data.get("photos", 0) + len(kept)
    if state.data.get("photos"):
        notes.append(ctx.content.text("followup.photos_sent", count=state.data["photos"]))
    return stay(ctx, state, FLOW, "\n".join(notes))
