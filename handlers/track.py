"""Following reports up: one's own list, or any report by its receipt code (rate-limited)."""

from __future__ import annotations

from datetime import timedelta

from db import reports, throttle
from db.clock import to_vietnam
from db.models import Report
from handlers.flow import Answer, Flow, choice, enter, finish, nav, rows, stay
from handlers.kinds import type_label
from handlers.parse import parse_receipt_code
from handlers.types import Context, Incoming, Outcome, Reply, State

FLOW = Flow("track")
MAX_ADD_BUTTONS = 3


def start(ctx: Context, state: State, msg: Incoming, arg: str) -> Outcome:
    if arg:
        return by_code(ctx, state, msg, arg)
    mine = reports.of_resident(ctx.session, f"{msg.channel}:{msg.user_id}")
    content = ctx.content
    if mine:
        lines = [content.text("track.header")]
        lines += [
            content.text(
                "track.item",
                code=r.receipt_code,
                type=type_label(content, r.scam_type),
                date=_date(r),
                status=content.text(f"status.{r.status}"),
            )
            for r in mine
        ]
        text = "\n".join(lines)
    else:
        text = content.text("track.none")
    label = content.raw
    # The open ones can be added to (the answer to an officer's question, or anything new).
    adding = [
        nav(label("buttons.add_to").format(code=r.receipt_code), f"/bosung {r.receipt_code}")
        for r in mine
        if r.status in reports.OPEN
    ][:MAX_ADD_BUTTONS]
    buttons = rows(
        *adding, nav(label("buttons.by_code"), "/theodoi ma"), nav(label("buttons.menu"), "/start")
    )
    return state, [Reply(text, buttons)]


def by_code(ctx: Context, state: State, msg: Incoming, text: str) -> Outcome:
    code = parse_receipt_code(text)
    if code is None:
        return enter(ctx, state, FLOW, "code")
    return finish(state), _show(ctx, msg, code)


def prompt_code(ctx: Context, state: State) -> list[Reply]:
    return [
        Reply(
            ctx.content.text("track.ask_code"),
            rows(choice(state, "cancel", ctx.content.raw("buttons.cancel"))),
        )
    ]


@FLOW.step("code")
def code(ctx: Context, state: State, answer: Answer) -> Outcome:
    parsed = parse_receipt_code(answer.text)
    if parsed is None:
        return stay(ctx, state, FLOW, ctx.content.text("track.code_invalid"))
    assert answer.message is not None
    return finish(state), _show(ctx, answer.message, parsed)


def _show(ctx: Context, msg: Incoming, code: str) -> list[Reply]:
    """A report's public face by code: type, date, status; nothing about who reported it."""
    key = f"track:{msg.channel}:{msg.user_id}"
    menu = rows(nav(ctx.content.raw("buttons.menu"), "/start"))
    if not throttle.allow(
        ctx.session, key, ctx.limits.code_lookups_per_hour, timedelta(hours=1), ctx.now
    ):
        return [Reply(ctx.content.text("track.too_many"), menu)]
    report = reports.by_code(ctx.session, code)
    if report is None:
        return [Reply(ctx.content.text("track.not_found", code=code), menu)]
    # Anyone holding a code sees its status; only its reporter sees what it is about (a
    # trafficking report's type alone says too much).
    mine = reports.is_reporter(report, f"{msg.channel}:{msg.user_id}")
    kind = (
        type_label(ctx.content, report.scam_type) if mine else ctx.content.text("track.type_hidden")
    )
    return [
        Reply(
            ctx.content.text(
                "track.detail",
                code=code,
                type=kind,
                date=_date(report),
                status=ctx.content.text(f"status.{report.status}"),
            ),
            menu,
        )
    ]


def _date(report: Report) -> str:
    return to_vietnam(report.created_at).strftime("%d/%m/%Y %H:%M")
