"""Alert subscriptions: opting in (with an area, if the resident wants one) and out; a
resident already subscribed is shown their area and may change it or stop."""

from __future__ import annotations

from content import Markup
from db import residents, units
from db.models import Resident
from handlers import areas
from handlers.flow import Answer, Flow, choice, enter, finish, rows, stay
from handlers.menu import menu_reply
from handlers.types import Context, Incoming, Outcome, Reply, State

FLOW = Flow("subscribe")
ANY_AREA = "all"


def start(ctx: Context, state: State, msg: Incoming, arg: str) -> Outcome:
    resident = residents.find(ctx.session, msg.channel, msg.user_id)
    step = "manage" if resident is not None and resident.subscribed else "area"
    state, replies = enter(ctx, state, FLOW, step)
    state.data["user"] = [msg.channel, msg.user_id]
    if step == "manage":  # the prompt names their area: drawn again now the user is known
        replies = prompt_manage(ctx, state)
    return state, replies


def prompt_manage(ctx: Context, state: State) -> list[Reply]:
    label = ctx.content.raw
    channel, user_id = state.data.get("user") or ["", ""]
    resident = residents.find(ctx.session, channel, user_id)
    area = units.place(ctx.session, resident.area or "", ctx.content.areas) if resident else None
    suffix = (
        ctx.content.text("subscribe.area_suffix", area=area.name)
        if area
        else ctx.content.text("subscribe.all_areas_suffix")
    )
    options = rows(
        choice(state, "change", label("buttons.change_area")),
        choice(state, "stop", label("buttons.unsubscribe")),
        choice(state, "keep", label("buttons.keep_subscription")),
    )
    return [Reply(ctx.content.text("subscribe.already", area=Markup(suffix)), options)]


@FLOW.step("manage", can_go_back=False)
def manage(ctx: Context, state: State, answer: Answer) -> Outcome:
    if answer.value == "change":
        state.step = "area"
        return state, prompt_area(ctx, state)
    if answer.value == "stop":
        channel, user_id = state.data["user"]
        finish(state)
        return _unsubscribe(ctx, state, residents.find(ctx.session, channel, user_id))
    if answer.value == "keep":
        finish(state)
        return state, [menu_reply(ctx.content, ctx.content.text("menu.pick"), full=True)]
    return stay(ctx, state, FLOW, ctx.content.text("common.pick_button"))


def prompt_area(ctx: Context, state: State) -> list[Reply]:
    return areas.ask(ctx, state, "subscribe", _skip(ctx))


def _skip(ctx: Context) -> tuple[str, str]:
    return ANY_AREA, ctx.content.raw("buttons.all_areas")


@FLOW.step("area", can_go_back=False)
def area(ctx: Context, state: State, answer: Answer) -> Outcome:
    picked = areas.read(ctx, state, answer, _skip(ctx))
    if (said := areas.unanswered(state, picked)) is not None:
        return said
    found = picked.place
    channel, user_id = state.data["user"]
    resident = residents.get_or_create(ctx.session, channel, user_id, ctx.now)
    resident.subscribed, resident.subscribed_at = True, ctx.now
    resident.area = found.code if found else None
    resident.blocked = False
    suffix = ctx.content.text("subscribe.area_suffix", area=found.name) if found else ""
    finish(state)
    done = ctx.content.text("subscribe.done", area=Markup(suffix))
    return state, [menu_reply(ctx.content, done, full=True)]


def stop(ctx: Context, state: State, msg: Incoming, arg: str) -> Outcome:
    return _unsubscribe(ctx, state, residents.find(ctx.session, msg.channel, msg.user_id))


def _unsubscribe(ctx: Context, state: State, resident: Resident | None) -> Outcome:
    if resident is None or not resident.subscribed:
        return state, [menu_reply(ctx.content, ctx.content.text("subscribe.not_subscribed"))]
    resident.subscribed = False
    return state, [menu_reply(ctx.content, ctx.content.text("subscribe.unsubscribed"))]
