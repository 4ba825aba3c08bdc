"""Checking a phone, bank account or link against police confirmations and residents' reports."""

from __future__ import annotations

from content import Content
from db import identifiers
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
        found = answer_for(ctx, arg)
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
    replies = answer_for(ctx, answer.text)
    if replies is None:
        return stay(ctx, state, FLOW, ctx.content.text("lookup.invalid"))
    return finish(state), replies


def answer_for(ctx: Context, text: str) -> list[Reply] | None:
    """The verdict for every identifier in the text, or None if it names none."""
    found = extract(ctx.content, text)
    wanted = found.identifiers + [
        p for d in found.accounts_without_bank if (p := bank_account(d)) is not None
    ]
    if not wanted:
        return None
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
        return ctx.content.text("lookup.confirmed", value=shown)
    if standing.reports:
        return ctx.content.text("lookup.unverified", value=shown, count=standing.reports)
    return ctx.content.text("lookup.none", value=shown)


def _after_buttons(content: Content) -> tuple:
    label = content.raw
    return rows(
        nav(label("buttons.check_more"), "/kiemtra"),
        nav(label("buttons.report_now"), "/totgiac"),
        nav(label("buttons.menu"), "/start"),
    )
