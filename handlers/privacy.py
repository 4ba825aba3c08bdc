"""Erasing a resident's personal data, after saying plainly what stays for police."""

from __future__ import annotations

from db import reports, residents
from handlers.flow import Answer, Flow, choice, enter, rows, stay
from handlers.menu import menu_reply
from handlers.types import Context, Incoming, Outcome, Reply, State

FLOW = Flow("privacy")


def start(ctx: Context, state: State, msg: Incoming, arg: str) -> Outcome:
    resident = residents.find(ctx.session, msg.channel, msg.user_id)
    mine = reports.of_resident(ctx.session, f"{msg.channel}:{msg.user_id}", 50)
    if resident is None and state.draft is None and not mine:
        return state, [menu_reply(ctx.content, ctx.content.text("privacy.nothing"))]
    # Open urgent reports: the police may need to reach this resident, who is told so first.
    urgent = [r.receipt_code for r in mine if r.urgent and r.status in reports.OPEN]
    state, _ = enter(ctx, state, FLOW, "confirm")
    state.data["user"] = [msg.channel, msg.user_id]
    state.data["urgent"] = urgent
    return state, prompt_confirm(ctx, state)


def prompt_confirm(ctx: Context, state: State) -> list[Reply]:
    label = ctx.content.raw
    text = ctx.content.text("privacy.explain")
    if urgent := state.data.get("urgent"):
        text = ctx.content.text("privacy.urgent_open", codes=", ".join(urgent)) + "\n\n" + text
    return [
        Reply(
            text,
            rows(
                choice(state, "erase", label("buttons.confirm_delete")),
                choice(state, "keep", label("buttons.keep")),
            ),
        )
    ]


@FLOW.step("confirm", can_go_back=False)
def confirm(ctx: Context, state: State, answer: Answer) -> Outcome:
    if answer.value == "keep":
        kept = ctx.content.text("privacy.kept")
        return _fresh(state), [menu_reply(ctx.content, kept, full=True)]
    if answer.value != "erase":
        return stay(ctx, state, FLOW, ctx.content.text("common.pick_button"))
    channel, user_id = state.data["user"]
    # The conversation row goes too: the state returned here is never saved, and the
    # farewell reply is deleted once sent (db/outbox.mark_sent).
    residents.forget(ctx.session, channel, user_id)
    return _fresh(state), [menu_reply(ctx.content, ctx.content.text("privacy.done"), full=True)]


def _fresh(state: State) -> State:
    """An empty conversation; the menu counter survives so old buttons stay recognisably old."""
    return State(seq=state.seq + 1)
