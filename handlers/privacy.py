"""Erasing a resident's personal data, after saying plainly what stays for police."""

from __future__ import annotations

from db import residents
from handlers.flow import Answer, Flow, choice, enter, rows, stay
from handlers.menu import menu_reply
from handlers.types import Context, Incoming, Outcome, Reply, State

FLOW = Flow("privacy")


def start(ctx: Context, state: State, msg: Incoming, arg: str) -> Outcome:
    resident = residents.find(ctx.session, msg.channel, msg.user_id)
    if resident is None and state.draft is None:
        return state, [menu_reply(ctx.content, ctx.content.text("privacy.nothing"))]
    state, replies = enter(ctx, state, FLOW, "confirm")
    state.data["user"] = [msg.channel, msg.user_id]
    return state, replies


def prompt_confirm(ctx: Context, state: State) -> list[Reply]:
    label = ctx.content.raw
    return [
        Reply(
            ctx.content.text("privacy.explain"),
            rows(
                choice(state, "erase", label("buttons.confirm_delete")),
                choice(state, "keep", label("buttons.keep")),
            ),
        )
    ]


@FLOW.step("confirm", can_go_back=False)
def confirm(ctx: Context, state: State, answer: Answer) -> Outcome:
    if answer.value == "keep":
        return _fresh(state), [menu_reply(ctx.content, ctx.content.text("privacy.kept"))]
    if answer.value != "erase":
        return stay(ctx, state, FLOW, ctx.content.text("common.pick_button"))
    channel, user_id = state.data["user"]
    resident = residents.find(ctx.session, channel, user_id)
    if resident is not None:
        # Also drops the photos of a half-written report (keyed by the same owner).
        residents.erase(ctx.session, resident, f"{channel}:{user_id}")
    return _fresh(state), [menu_reply(ctx.content, ctx.content.text("privacy.done"))]


def _fresh(state: State) -> State:
    """An empty conversation; the menu counter survives so old buttons stay recognisably old."""
    return State(seq=state.seq + 1)
