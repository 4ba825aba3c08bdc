"""The tip card as Telegram shows it: the report's plain view (handlers/report_view.py) drawn
in the small HTML subset, cut to fit one message, with a button for each action the rules
(handlers/triage.py) offer now. `/xem` shows it whole."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from content import Content, Markup
from db import reports
from db.clock import to_vietnam
from db.models import Report, ReportEvent
from handlers import report_view
from handlers.flow import rows
from handlers.kinds import type_label
from handlers.parse import format_amount
from handlers.triage import ACTIONS, offered
from handlers.types import Button, Reply

CARD_LIMIT = 4096  # Telegram's limit for one message, which the card must always fit


@dataclass(frozen=True)
class Budget:
    """How much of each long part the card shows (/xem shows everything): characters of
    the account, of the victim's whereabouts, of each identifier and history note, and how
    many identifiers and history lines."""

    account: int
    victim: int
    identifiers: int
    identifier_chars: int
    events: int
    note_chars: int


# Tried in turn until the card fits; the last fits whatever the report holds.
BUDGETS = (
    Budget(1500, 500, 10, 100, 10, 200),
    Budget(600, 250, 5, 60, 5, 80),
    Budget(150, 80, 3, 40, 2, 40),
)


def card(session: Session, content: Content, report: Report, whole: bool = False) -> Reply:
    """The tip card: everything an officer needs to start, and the buttons for what's next,
    cut to fit one message. `whole` gives every word and the full history (for /xem),
    without buttons."""
    view = report_view.build(session, content, report, photos=False)
    facts = _CardFacts(
        identifiers=[(n.shown, n.before) for n in view.named],
        events=view.events,
        undelivered=view.undelivered,
    )
    if whole:
        return Reply(_card_text(content, report, facts, None))
    for budget in BUDGETS:
        text = _card_text(content, report, facts, budget)
        if len(text) <= CARD_LIMIT:
            break
    buttons = [
        Button(content.raw(f"police.actions.{action}"), f"t:{action}:{report.id}")
        for action in ACTIONS
        if offered(session, report, action)
    ]
    return Reply(text, rows(*buttons, per_row=2))


@dataclass
class _CardFacts:
    """What a card shows beyond the report row: (identifier, times reported before), the
    history, and notices that never reached the reporter."""

    identifiers: list[tuple[str, int]]
    events: list[ReportEvent]
    undelivered: int


def _card_text(content: Content, report: Report, facts: _CardFacts, budget: Budget | None) -> str:
    """The card's words within `budget` (None: all of them)."""
    none = content.text("report.summary_none")
    not_given = content.text("report.summary_not_given")

    def cut(text: str, limit: int) -> str:
        return text if budget is None else _cut(text, limit)

    listed = facts.identifiers if budget is None else facts.identifiers[: budget.identifiers]
    named = [
        content.text(
            "police.identifier",
            value=cut(value, budget.identifier_chars if budget else 0),
            times=times,
        )
        for value, times in listed
    ]
    if len(listed) < len(facts.identifiers):
        named.append(
            content.text("police.more_identifiers", count=len(facts.identifiers) - len(listed))
        )
    shown = facts.events if budget is None else facts.events[-budget.events :]
    history = [_event_line(content, e, budget.note_chars if budget else None) for e in shown]
    if len(shown) < len(facts.events):
        history.insert(
            0, content.text("police.earlier_events", count=len(facts.events) - len(shown))
        )
    flags = ""
    if report.urgent:
        flags += content.text("police.urgent")
    if report.escalated_at and report.status in reports.OPEN:
        flags += content.text("police.escalated")
    warning = (
        content.text("police.undelivered", count=facts.undelivered) if facts.undelivered else ""
    )
    return content.text(
        "police.card",
        code=report.receipt_code,
        urgent=Markup(flags),
        type=type_label(content, report.scam_type),
        created=_time(report.created_at),
        when=report.occurred_on.strftime("%d/%m/%Y") if report.occurred_on else not_given,
        amount=format_amount(report.amount_vnd)
        if report.amount_vnd
        else content.text(
            "report.summary_no_loss" if report.amount_vnd == 0 else "report.summary_not_given"
        ),
        identifiers=Markup("\n".join(named) or none),
        account=quoted(cut(report.account, budget.account if budget else 0)),
        victim=quoted(cut(report.victim_info, budget.victim if budget else 0))
        if report.victim_info
        else none,
        contact=report.contact_phone or content.text("report.summary_anonymous"),
        due=_due(content, report),
        status=content.text(f"status.{report.status}"),
        undelivered=Markup(warning),
        history=Markup("\n".join(history)),
    )


QUOTE = "▏"  # starts every line of what someone else wrote; no line of the card's own does


def quoted(text: str) -> str:
    """Words a resident (or anyone) wrote, on lines of their own that cannot pass for the
    card's lines: "Trạng thái: Đã giải quyết" typed into a story stays visibly theirs."""
    lines = text.split("\n")
    if len(lines) == 1:
        return text
    return "\n" + "\n".join(f"{QUOTE} {line}" for line in lines)


def _event_line(content: Content, event: ReportEvent, note_chars: int | None) -> str:
    label = (
        content.text(f"status.{event.to_status}")
        if event.to_status
        else content.text(f"police.event_{event.action}")
    )
    note = event.note or ""
    return content.text(
        "police.event",
        at=_time(event.at),
        actor=f"{event.actor} (#{event.officer_id})" if event.officer_id else event.actor,
        status=label,
        note=quoted(note if note_chars is None else _cut(note, note_chars)),
    )


def _due(content: Content, report: Report) -> str:
    if report.status == reports.NEW and report.ack_due_at:
        return content.text("police.due_ack", at=_time(report.ack_due_at))
    if report.status in reports.OPEN and report.resolve_due_at:
        return content.text("police.due_resolve", at=_time(report.resolve_due_at))
    return content.text("police.due_none")


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _time(moment: datetime) -> str:
    return to_vietnam(moment).strftime("%H:%M %d/%m/%Y")
