"""Checking a phone, bank account or link against police confirmations and residents' reports."""

from __future__ import annotations

from datetime import timedelta

from content import Content
from db import identifiers, throttle
from db.clock import to_vietnam
from db.identifiers import ParsedIdentifier, bank_account
from handlers.extract import extract
from handlers.flow import Answer, Flow, choice, enter, finish, nav, rows, stay
from handlers.report import FORWARDED
from handlers.types import Context, Incoming, Outcome, Reply, State

FLOW = Flow("lookup")


def start(ctx: Context, state: State, msg: Incoming, arg: str) -> Outcome:
    if arg == FORWARDED:  # checking a forwarded message: its text is in memory
        arg = state.memory.pop(FORWARDED, "")
    if arg:
        found = answer_for(ctx, arg, f"{msg.channel}:{msg.user_id}")
        if found:
            return state, found
    return enter(ctx, state, FLOW, "ask")


def prompt_ask(ctx: Context, state: State) -> list[Reply]:
    return [
        Reply(
            ctx.content.text("lookup.ask"),
            rows(choice(state, "cancel", ctx.content.raw("buttons.cancel"))),
        )
    ]


@FLOW.step("ask")
def ask(ctx: Context, state: State, answer: Answer) -> Outcome:
    who = f"{answer.message.channel}:{answer.message.user_id}" if answer.message else ""
    replies = answer_for(ctx, answer.text, who)
    if replies is None:
        return stay(ctx, state, FLOW, ctx.content.text("lookup.invalid"))
    return finish(state), replies


def answer_for(ctx: Context, text: str, who: str = "") -> list[Reply] | None:
    """The verdict for every identifier in the text, or None if it names none. `who` (the
    resident, "channel:user") is held to a number of look-ups an hour."""
    found = extract(ctx.content, text)
    wanted = found.identifiers + [
        p for d in found.accounts_without_bank if (p := bank_account(d)) is not None
    ]
    if not wanted:
        return None
    limit = ctx.limits.identifier_lookups_per_hour
    if who and not throttle.allow(ctx.session, f"lookup:{who}", limit, timedelta(hours=1), ctx.now):
        return [
            Reply(ctx.content.text("lookup.too_many", limit=limit), _after_buttons(ctx.content))
        ]
    lines = []
    for parsed in wanted[:5]:
        lines.append(_verdict(ctx, parsed))
    advice = {ctx.content.text(f"lookup.advice_{p.kind}") for p in wanted[:5]}
    return [Reply("\n\n".join([*lines, *sorted(advice)]), _after_buttons(ctx.content))]


def _verdict(ctx: Context, parsed: ParsedIdentifier) -> str:
    standing = identifiers.standing(ctx.session, parsed)
    bank = ctx.content.bank(parsed.bank)
    shown = f"{parsed.display} ({bank['name']})" if bank else parsed.display
    if standing.confirmed:
        review = timedelta(days=ctx.limits.confirmation_review_days)
        at = standing.confirmed_at
        if at is not None and ctx.now - at > review:
            day = to_vietnam(at).strftime("%d/%m/%Y")
            return ctx.content.text("lookup.confirmed_dated", value=shown, day=day)
        return ctx.content.text("lookup.confirmed", value=shown)
    if standing.reporters >= ctx.limits.min_reporters:
        return ctx.content.text("lookup.unverified", value=shown, count=standing.reporters)
    return ctx.content.text("lookup.none", value=shown)


def _after_buttons(content: Content) -> tuple:
    label = content.raw
    return rows(
        nav(label("buttons.check_more"), "/kiemtra"),
        nav(label("buttons.report_now"), "/totgiac"),
        nav(label("buttons.menu"), "/start"),
    )
