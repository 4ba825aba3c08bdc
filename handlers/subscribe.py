"""Alert subscriptions: opting in (with an area, if the resident wants one) and out."""

from __future__ import annotations

from content import Markup
from db import residents
from handlers.flow import Answer, Flow, choice, enter, finish, stay
from handlers.menu import menu_reply
from handlers.types import Context, Incoming, Outcome, Reply, State

FLOW = Flow("subscribe")
ANY_AREA = "all"


def start(ctx: Context, state: State, msg: Incoming, arg: str) -> Outcome:
    state, replies = enter(ctx, state, FLOW, "area")
    state.data["user"] = [msg.channel, msg.user_id]
    return state, replies


def prompt_area(ctx: Context, state: State) -> list[Reply]:
    options = [(choice(state, a["code"], a["name"]),) for a in ctx.content.areas]
    options.append((choice(state, ANY_AREA, ctx.content.raw("buttons.all_areas")),))
    options.append((choice(state, "cancel", ctx.content.raw("buttons.cancel")),))
    return [Reply(ctx.content.text("subscribe.ask_area"), tuple(options))]


@FLOW.step("area", can_go_back=False)
def area(ctx: Context, state: State, answer: Answer) -> Outcome:
    chosen = ctx.content.area(answer.value or "")
    if chosen is None and answer.value != ANY_AREA:
        return stay(ctx, state, FLOW, ctx.content.text("common.pick_button"))
    channel, user_id = state.data["user"]
    resident = residents.get_or_create(ctx.session, channel, user_id, ctx.now)
    resident.subscribed, resident.subscribed_at = True, ctx.now
    resident.area = chosen["code"] if chosen else None
    resident.blocked = False
    suffix = ctx.content.text("subscribe.area_suffix", area=chosen["name"]) if chosen else ""
    finish(state)
    return state, [menu_reply(ctx.content, ctx.content.text("subscribe.done", area=Markup(suffix)))]


def stop(ctx: Context, state: State, msg: Incoming, arg: str) -> Outcome:
    resident = residents.find(ctx.session, msg.channel, msg.user_id)
    if resident is None or not resident.subscribed:
        return state, [menu_reply(ctx.content, ctx.content.text("subscribe.not_subscribed"))]
    resident.subscribed = False
    return state, [menu_reply(ctx.content, ctx.content.text("subscribe.unsubscribed"))]
