"""The officers' view of the work: the open queue, one report in full, and the figures.
Each command checks, at the time of use, that the sender is an active triage officer."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import case
from sqlmodel import col, select

from db import officers, reports, units
from db import queue as db_queue
from db.clock import to_vietnam
from db.models import Officer, Report
from handlers import card, triage
from handlers.flow import nav, rows
from handlers.kinds import type_label
from handlers.parse import format_amount, parse_receipt_code
from handlers.types import Context, Incoming, Outcome, Reply, State

PAGE = 10


def _officer(ctx: Context, msg: Incoming) -> Officer | None:
    return officers.by_sender(ctx.session, msg.channel, msg.user_id)


def _allowed(ctx: Context, msg: Incoming) -> bool:
    return officers.may_triage(_officer(ctx, msg))


def _scope(ctx: Context, msg: Incoming) -> units.Scope:
    officer = _officer(ctx, msg)
    return units.scope(ctx.session, officer) if officer else units.EVERYWHERE


def _refuse(ctx: Context, state: State) -> Outcome:
    return state, [Reply(ctx.content.text("police.not_officer"))]


def queue(ctx: Context, state: State, msg: Incoming, arg: str) -> Outcome:
    """/hangdoi [page]: open reports, urgent first, then overdue, then oldest."""
    if not _allowed(ctx, msg):
        return _refuse(ctx, state)
    page = max(1, int(arg)) if arg.isdigit() else 1
    overdue = case((col(Report.ack_due_at) < ctx.now, 0), else_=1)
    found = ctx.session.exec(
        select(Report)
        .where(col(Report.status).in_(reports.OPEN), *db_queue.in_scope(_scope(ctx, msg)))
        .order_by(col(Report.urgent).desc(), overdue, col(Report.created_at))
        .offset((page - 1) * PAGE)
        .limit(PAGE + 1)
    ).all()
    if not found:
        return state, [Reply(ctx.content.text("police.queue_empty"))]
    lines = [ctx.content.text("police.queue_header", page=page)]
    for report in found[:PAGE]:
        late = report.status == reports.NEW and report.ack_due_at and report.ack_due_at < ctx.now
        flags = ("🆘 " if report.urgent else "") + ("⏰ " if late else "")
        lines.append(
            ctx.content.text(
                "police.queue_item",
                flags=flags,
                code=report.receipt_code,
                type=type_label(ctx.content, report.scam_type),
                status=ctx.content.text(f"status.{report.status}"),
                created=_day(report.created_at),
            )
        )
    buttons = (
        rows(nav(ctx.content.raw("police.next_page"), f"/hangdoi {page + 1}"))
        if len(found) > PAGE
        else ()
    )
    return state, [Reply("\n".join(lines), buttons)]


def show(ctx: Context, state: State, msg: Incoming, arg: str) -> Outcome:
    """/xem <code>: the whole card, history included."""
    if not _allowed(ctx, msg):
        return _refuse(ctx, state)
    code = parse_receipt_code(arg)
    report = reports.by_code(ctx.session, code) if code else None
    if report is None or not _scope(ctx, msg).sees(report.unit_id):  # another unit's: absent
        return state, [Reply(ctx.content.text("track.not_found", code=arg or "?"))]
    return state, [card.card(ctx.session, ctx.content, report, whole=True)]


def figures(ctx: Context, state: State, msg: Incoming, arg: str) -> Outcome:
    """/thongke: counts by status and by type, and money lost, this month and this year."""
    if not _allowed(ctx, msg):
        return _refuse(ctx, state)
    local = to_vietnam(ctx.now)
    year_start = local.replace(month=1, day=1, hour=0, minute=0, second=0, microsecond=0)
    month_start = year_start.replace(month=local.month)
    scope = _scope(ctx, msg).units
    parts = [
        _period(ctx, "police.stats_month", month_start, scope),
        _period(ctx, "police.stats_year", year_start, scope),
    ]
    return state, [Reply("\n\n".join(parts))]


def _period(ctx: Context, key: str, since: datetime, scope: frozenset[int] | None) -> str:
    counted = reports.tally(ctx.session, since, scope)
    lines = [ctx.content.text(key, count=counted.count, lost=format_amount(counted.lost))]
    lines += [
        f"• {ctx.content.text(f'status.{s}')}: {n}" for s, n in counted.by_status.most_common()
    ]
    lines += [f"• {type_label(ctx.content, t)}: {n}" for t, n in counted.by_type.most_common()]
    return "\n".join(lines)


def _day(moment: datetime) -> str:
    return to_vietnam(moment).strftime("%d/%m %H:%M")


def assign(ctx: Context, state: State, msg: Incoming, arg: str) -> Outcome:
    """/giao <code> <officer number>: a lead hands a report to an officer."""
    lead = _officer(ctx, msg)
    if not officers.may_triage(lead):
        return _refuse(ctx, state)
    parts = arg.split()
    code = parse_receipt_code(parts[0]) if parts else None
    number = parts[1].lstrip("#") if len(parts) == 2 else ""
    if code is None or not number.isdigit():
        return state, [Reply(ctx.content.text("police.assign_usage"))]
    report = reports.by_code(ctx.session, code)
    if report is None or not _scope(ctx, msg).sees(report.unit_id):
        return state, [Reply(ctx.content.text("track.not_found", code=code))]
    target = ctx.session.get(Officer, int(number))
    if target is None:
        return state, [Reply(ctx.content.text("police.assignee_unknown"))]
    outcome = triage.assign(ctx.session, ctx.content, lead, report, target, ctx.now)
    ctx.effects.extend(outcome.effects)
    return state, [Reply(outcome.answer)]


def roster(ctx: Context, state: State, msg: Incoming, arg: str) -> Outcome:
    """/canbo: who can take reports, with the numbers /giao uses."""
    if not _allowed(ctx, msg):
        return _refuse(ctx, state)
    lines = [ctx.content.text("police.roster_header")]
    lines += [
        ctx.content.text("police.roster_item", id=o.id, name=o.name, role=o.role)
        for o in officers.every(ctx.session)
        if officers.may_triage(o) and _sees_same(ctx, msg, o)
    ]
    return state, [Reply("\n".join(lines))]


def _sees_same(ctx: Context, msg: Incoming, other: Officer) -> bool:
    """An officer of the asker's unit (a province officer lists everyone)."""
    scope = _scope(ctx, msg)
    return scope.units is None or (other.unit_id or units.DEFAULT) in scope.units
