"""The whole command surface in one place, and how a message finds its step."""

from __future__ import annotations

import re
from collections.abc import Callable

from handlers import (
    awareness,
    broadcast,
    casework,
    distress,
    followup,
    home,
    lookup,
    menu,
    privacy,
    queue,
    quiz,
    report,
    scams,
    signals,
    staff,
    subscribe,
    track,
)
from handlers.flow import Answer, Flow, back, finish, nav, rows, stay
from handlers.menu import menu_reply
from handlers.parse import parse_receipt_code
from handlers.signals import Signal
from handlers.types import Context, Incoming, Outcome, Reply, State

Command = Callable[[Context, State, Incoming, str], Outcome]


def cancel(ctx: Context, state: State, msg: Incoming, arg: str) -> Outcome:
    flow = FLOWS.get(state.flow or "")
    if flow is None and state.draft is None:
        return state, [menu_reply(ctx.content, ctx.content.text("common.nothing_to_cancel"))]
    if flow in (None, report.FLOW) and (asked := report.ask_before_discarding(ctx, state)):
        return asked
    # Outside a flow, the only thing left to cancel is a report draft.
    owner = flow if flow is not None else report.FLOW
    said = owner.on_cancel(ctx, state) if owner.on_cancel is not None else None
    cancelled = said or ctx.content.text("common.cancelled")
    return finish(state), [menu_reply(ctx.content, cancelled, full=True)]


# Every command, once, in menu order. Deep links (/start <name>) reach the same entries.
COMMANDS: dict[str, Command] = {
    "start": menu.start,
    "canhgiac": awareness.show,
    "thudoan": scams.show,
    "totgiac": report.start,
    "kiemtra": lookup.start,
    "theodoi": track.start,
    "cauhoi": quiz.start,
    "dangky": subscribe.start,
    "huydangky": subscribe.stop,
    "trogiup": menu.show_help,
    "xoadulieu": privacy.start,
    "huy": cancel,
}
# Reached from buttons and notices, not listed in the menu.
UNLISTED_COMMANDS: dict[str, Command] = {
    "bosung": followup.start,
    "meohangtuan": broadcast.weekly_tips,
}
# The officers' commands: not in the residents' menu; each checks the sender's role.
OFFICER_COMMANDS: dict[str, Command] = {
    "hangdoi": queue.queue,
    "xem": queue.show,
    "thongke": queue.figures,
    "giao": queue.assign,
    "canbo": queue.roster,
    "phatthanh": broadcast.start,
    "duyet": broadcast.approve,
    "tuchoi": broadcast.reject,
    "bantin": broadcast.status,
    "huybantin": broadcast.cancel,
    "moi": staff.invite,
    "dangnhap": staff.login,
    "lienket": staff.link,
}
FLOWS: dict[str, Flow] = {
    f.name: f
    for f in (
        report.FLOW,
        lookup.FLOW,
        track.FLOW,
        quiz.FLOW,
        subscribe.FLOW,
        home.FLOW,
        privacy.FLOW,
        followup.FLOW,
        casework.FLOW,
        broadcast.FLOW,
    )
}

_COMMAND = re.compile(r"^/([A-Za-z_]+)(?:@\w+)?(?:\s+(.*))?$", re.DOTALL)
_FLOW_PAYLOAD = re.compile(r"^(\d+):(\w+):(.*)$", re.DOTALL)


def route(ctx: Context, state: State, msg: Incoming, text: str, payload: str | None) -> Outcome:
    """Send one cleaned-up message to the command, flow step or free-text answer it is for."""
    command = payload if payload and payload.startswith("/") else text
    if match := _COMMAND.match(command):
        return _run_command(ctx, state, msg, match.group(1).lower(), (match.group(2) or "").strip())
    flow = FLOWS.get(state.flow or "")
    if payload is not None:
        parts = _FLOW_PAYLOAD.match(payload)
        if (
            parts is None
            or flow is None
            or parts.group(1) != str(state.seq)
            or parts.group(2) != state.step
        ):
            return _stale(ctx, state, flow)
        return _in_flow(ctx, state, flow, msg, text, parts.group(3))
    if flow is not None:
        return _in_flow(ctx, state, flow, msg, text, None)
    return _idle(ctx, state, msg, text)


def _run_command(ctx: Context, state: State, msg: Incoming, name: str, arg: str) -> Outcome:
    if name == "start" and arg.lower() in COMMANDS and arg.lower() != "start":
        name, arg = arg.lower(), ""  # deep link: t.me/<bot>?start=totgiac
    handler = COMMANDS.get(name) or UNLISTED_COMMANDS.get(name) or OFFICER_COMMANDS.get(name)
    if handler is None:
        notice = ctx.content.text("common.unknown_command", command=f"/{name}")
        flow = FLOWS.get(state.flow or "")
        return (
            stay(ctx, state, flow, notice)
            if flow and state.step
            else (state, [menu_reply(ctx.content, notice)])
        )
    if handler is not cancel:
        finish(state)  # leaving a flow; a report draft stays in state.draft for later
    return handler(ctx, state, msg, arg)


def _in_flow(
    ctx: Context, state: State, flow: Flow, msg: Incoming, text: str, value: str | None
) -> Outcome:
    if value == "cancel":
        return cancel(ctx, state, msg, "")
    if value == "back":
        return back(ctx, state, flow, ctx.content.text("common.no_back"))
    answer = Answer(text=text, value=value, attachments=msg.attachments, message=msg)
    if value is None and msg.attachments and not flow.steps[state.step or ""].takes_photos:
        return stay(ctx, state, flow, ctx.content.text("common.attachment_ignored"))
    if value is None and not text and not msg.attachments:
        return stay(ctx, state, flow, ctx.content.text("common.empty"))
    return flow.steps[state.step or ""].accept(ctx, state, answer)


def _stale(ctx: Context, state: State, flow: Flow | None) -> Outcome:
    notice = ctx.content.text("common.stale_button")
    if flow is None or not state.step:
        return state, [menu_reply(ctx.content, notice)]
    return state, [Reply(notice), *flow.steps[state.step].prompt(ctx, state)]


def _idle(ctx: Context, state: State, msg: Incoming, text: str) -> Outcome:
    """Outside any journey: a number or link is checked, a receipt code is looked up."""
    if not text:
        key = "common.attachment_ignored" if msg.attachments else "common.empty"
        return state, [menu_reply(ctx.content, ctx.content.text(key))]
    if msg.forwarded:  # a scam message passed on: the resident chooses check or report
        state.memory[report.FORWARDED] = text
        label = ctx.content.raw
        buttons = rows(
            nav(label("buttons.check_forwarded"), f"/kiemtra {report.FORWARDED}"),
            nav(label("buttons.report_forwarded"), f"/totgiac {report.FORWARDED}"),
            nav(label("buttons.menu"), "/start"),
        )
        return state, [Reply(ctx.content.text("common.forwarded"), buttons)]
    # Someone in danger, or money just lost, is answered with help before anything else.
    signal = signals.read(ctx.content, text)
    if signal in (Signal.HELD, Signal.MONEY_LOST, Signal.HELP, Signal.REPORT):
        state.memory[report.TOLD] = text  # the one-tap report starts from their words
        return state, [distress.reply(ctx.content, signal, text)]
    # A code with letters ("EH74-6878") is looked up as a code, throttled and answered alike
    # whether it exists or not (it is never first checked, which would tell); digits alone
    # are a number or an account (a code of digits only is tracked with /theodoi).
    code = parse_receipt_code(text)
    has_letters = any(c.isalpha() for c in text)
    if code and has_letters and any(c.isdigit() or c == "-" for c in text):
        return track.by_code(ctx, state, msg, text)  # "asdf qwer" is no code
    verdict = lookup.answer_for(ctx, text, f"{msg.channel}:{msg.user_id}")
    if verdict is not None:
        return state, verdict
    if signal in (Signal.SCAM, Signal.GREETING, Signal.THANKS):
        return state, [distress.reply(ctx.content, signal)]
    return state, [menu_reply(ctx.content, ctx.content.text("common.not_understood"), full=True)]
