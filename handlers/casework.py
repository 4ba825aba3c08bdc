"""An officer working a card from the messenger: a button press, and, for actions that need
words (a question for the reporter, a reason, an outcome), a short exchange in the officer's
private chat with the bot, so nothing half-typed is posted in the group."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from content import Content
from db import conversations, identifiers, officers, reports, units
from db.models import Identifier, Officer, Report
from db.outbox import Message
from handlers import report_view, triage
from handlers.flow import Answer, Flow, choice, enter, finish, goto, rows, stay
from handlers.parse import parse_receipt_code, substance
from handlers.types import Context, Limits, Outcome, Reply, State

FLOW = Flow("casework")
# The Telegram card's notes are written in the officer's private chat with the bot.
CHANNEL = officers.TELEGRAM_LINK
MAX_NOTE = 1000
MIN_NOTE = 3  # letters or digits: "?" or an emoji says nothing to a reporter


def press(
    session: Session, content: Content, telegram_id: int, payload: str, now: datetime
) -> triage.Outcome:
    """A press of a card button (`t:<action>:<report id>`) by a Telegram account."""
    officer = officers.by_telegram(session, telegram_id)
    _, action, raw_id = [*payload.split(":", 2), "", ""][:3]
    report = session.get(Report, int(raw_id)) if raw_id.isdigit() else None
    if not officers.may_triage(officer):
        return triage.Outcome(content.text("police.not_officer"), refused=True)
    if report is None or action not in triage.ACTIONS:
        return triage.Outcome(content.text("police.stale"), refused=True)
    assert officer is not None
    if not triage.ACTIONS[action].needs_note:
        return triage.act(session, content, officer, report, action, now)
    why_not = triage.refusal(session, content, officer, report, action)
    if why_not:
        return triage.Outcome(why_not, refused=True)
    return triage.Outcome(
        content.text("police.note_in_private"),
        effects=[_begin(session, content, officer, report, action, now)],
    )


def _begin(
    session: Session,
    content: Content,
    officer: Officer,
    report: Report,
    action: str,
    now: datetime,
) -> Message:
    """Put the officer's private conversation on this note and queue its question there."""
    user_id = str(officer.telegram_id)
    conversation = conversations.lock(session, CHANNEL, user_id, now)
    state = State.from_json(conversation.state)
    ctx = Context(session=session, content=content, now=now, limits=Limits())
    data = {"action": action, "report_id": report.id, "code": report.receipt_code}
    first = "pick" if action == triage.CONFIRM else "note"
    state, replies = enter(ctx, state, FLOW, first, data)
    state.choices = [[b.label, b.payload] for r in replies for row in r.buttons for b in row]
    conversations.save(conversation, state.to_json(), now)
    return Message(CHANNEL, user_id, "reply", replies[0].to_dict(), report.id)


def prompt_pick(ctx: Context, state: State) -> list[Reply]:
    named = identifiers.of_report(ctx.session, state.data["report_id"], unconfirmed_only=True)
    options = [
        choice(state, f"id:{i.id}", report_view.shown(ctx.content, i)[:60]) for i in named[:20]
    ]
    options.append(choice(state, "cancel", ctx.content.raw("buttons.cancel")))
    return [
        Reply(
            ctx.content.text("casework.ask_confirm_pick", code=state.data["code"]), rows(*options)
        )
    ]


@FLOW.step("pick")
def pick(ctx: Context, state: State, answer: Answer) -> Outcome:
    picked = answer.value or ""
    if not picked.startswith("id:") or not picked[3:].isdigit():
        return stay(ctx, state, FLOW, ctx.content.text("casework.pick_one"))
    identifier = ctx.session.get(Identifier, int(picked[3:]))
    if identifier is None:
        return finish(state), [Reply(ctx.content.text("police.stale"))]
    state.data["identifier_id"] = identifier.id
    state.data["value"] = report_view.shown(ctx.content, identifier)
    return goto(ctx, state, FLOW, "note")


def prompt_note(ctx: Context, state: State) -> list[Reply]:
    key = f"casework.ask_{state.data['action']}"
    return [
        Reply(
            ctx.content.text(key, code=state.data["code"], value=state.data.get("value", "")),
            rows(choice(state, "cancel", ctx.content.raw("buttons.cancel"))),
        )
    ]


@FLOW.step("note")
def note(ctx: Context, state: State, answer: Answer) -> Outcome:
    assert answer.message is not None
    action, text = state.data["action"], answer.text
    officer = officers.by_sender(ctx.session, answer.message.channel, answer.message.user_id)
    report = ctx.session.get(Report, state.data["report_id"])
    if report is None:
        return finish(state), [Reply(ctx.content.text("police.stale"))]
    if action == triage.DUPLICATE:
        original_code = parse_receipt_code(text)
        original = reports.by_code(ctx.session, original_code) if original_code else None
        seen = officer is not None and units.scope(ctx.session, officer).sees(
            original.unit_id if original else None
        )
        if original is None or original.id == report.id or not seen:  # another unit's: absent
            return stay(ctx, state, FLOW, ctx.content.text("casework.dup_invalid"))
        text = ctx.content.text("casework.dup_note", code=original.receipt_code)
    elif substance(text) < MIN_NOTE:
        return stay(ctx, state, FLOW, ctx.content.text("casework.note_empty"))
    elif len(text) > MAX_NOTE:
        return stay(ctx, state, FLOW, ctx.content.text("casework.note_long", limit=MAX_NOTE))
    target = state.data.get("identifier_id")
    outcome = triage.act(
        ctx.session, ctx.content, officer, report, action, ctx.now, note=text, identifier_id=target
    )
    ctx.effects.extend(outcome.effects)
    return finish(state), [Reply(outcome.answer)]
