"""Police triage as service functions: the tip card's content and the actions on it. Any
channel (Telegram today, a web console later) renders the card and calls the actions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from content import Content, Markup
from db import identifiers, officers, reports
from db.clock import to_vietnam
from db.models import Identifier, Officer, Report, ReportEvent, Resident
from handlers.flow import rows
from handlers.parse import format_amount
from handlers.report import type_label
from handlers.types import Button, Reply

CLAIM, CONFIRM = "claim", "confirm"
POLICE = "police"  # the outbox channel of the police chat
# Card buttons that move a report, by the status they lead to; which show is decided by
# reports.TRANSITIONS, the one place that says what may follow what.
ACTIONS = {
    CLAIM: reports.ACCEPTED,
    "verify": reports.VERIFYING,
    "resolve": reports.RESOLVED,
    "nocrime": reports.NO_CRIME,
    "refer": reports.REFERRED,
    "spam": reports.SPAM,
}
# The reporter is told of every step but this one.
UNTOLD = {reports.SPAM}


def card(session: Session, content: Content, report: Report) -> Reply:
    """The tip card: everything an officer needs to start, and the buttons for what's next."""
    assert report.id is not None
    none = content.text("report.summary_none")
    found = identifiers.of_report(session, report.id)
    named = [
        content.text(
            "police.identifier",
            value=_shown(content, i),
            times=identifiers.times_reported(session, i.id or 0, report.id),
        )
        for i in found
    ]
    history = [
        content.text(
            "police.event",
            at=_time(e.at),
            actor=e.actor,
            status=content.text(f"status.{e.to_status}") if e.to_status else e.action,
            note=e.note or "",
        )
        for e in session.exec(
            select(ReportEvent)
            .where(ReportEvent.report_id == report.id)
            .order_by(col(ReportEvent.id))
        ).all()
    ]
    text = content.text(
        "police.card",
        code=report.receipt_code,
        urgent=Markup(content.text("police.urgent") if report.urgent else ""),
        type=type_label(content, report.scam_type),
        created=_time(report.created_at),
        when=report.occurred_on.strftime("%d/%m/%Y") if report.occurred_on else none,
        amount=format_amount(report.amount_vnd) if report.amount_vnd else none,
        identifiers=Markup("\n".join(named) or none),
        account=report.account,
        victim=report.victim_info or none,
        contact=report.contact_phone or content.text("report.summary_anonymous"),
        due=_time(report.ack_due_at) if report.ack_due_at else none,
        status=content.text(f"status.{report.status}"),
        history=Markup("\n".join(history)),
    )
    allowed = reports.TRANSITIONS.get(report.status, frozenset())
    buttons = [
        Button(content.raw(f"police.actions.{action}"), f"t:{action}:{report.id}")
        for action, target in ACTIONS.items()
        if target in allowed
    ]
    if report.status in (reports.ACCEPTED, reports.VERIFYING) and any(
        not i.confirmed_scam for i in found
    ):
        buttons.append(Button(content.raw("police.actions.confirm"), f"t:{CONFIRM}:{report.id}"))
    return Reply(text, rows(*buttons, per_row=2))


@dataclass
class Outcome:
    """What a press did: a short answer for the presser (an alert if refused), and messages
    to queue (the card refresh, the reporter's notice)."""

    answer: str
    refused: bool = False
    effects: list[dict[str, Any]] | None = None


def press(
    session: Session, content: Content, telegram_id: int, payload: str, now: datetime
) -> Outcome:
    """A press of a card button by a Telegram account: checked against the officer's role as
    it is now; anyone else changes nothing."""
    officer = officers.by_telegram(session, telegram_id)
    if not officers.may_triage(officer):
        return Outcome(content.text("police.not_officer"), refused=True)
    assert officer is not None
    _, action, raw_id = [*payload.split(":", 2), "", ""][:3]
    report = session.get(Report, int(raw_id)) if raw_id.isdigit() else None
    if report is None or (action not in ACTIONS and action != CONFIRM):
        return Outcome(content.text("police.stale"), refused=True)
    if action == CONFIRM:
        return confirm_identifiers(session, content, officer, report, now)
    if ACTIONS[action] not in reports.TRANSITIONS.get(report.status, frozenset()):
        status = content.text(f"status.{report.status}")
        return Outcome(content.text("police.already", status=status), refused=True)
    return decide(session, content, officer, report, action, now)


def decide(
    session: Session, content: Content, officer: Officer, report: Report, action: str, now: datetime
) -> Outcome:
    """Move the report as the button says, record who and when, refresh the card, tell the
    reporter (except for rubbish)."""
    reports.transition(
        session, report, ACTIONS[action], actor=_actor(officer), now=now, action=action
    )
    if action == CLAIM:
        report.claimed_by = officer.id
    effects = [_card_refresh(report)]
    notice = _reporter_notice(session, content, report) if report.status not in UNTOLD else None
    if notice:
        effects.append(notice)
    status = content.text(f"status.{report.status}")
    return Outcome(content.text("police.done", status=status), effects=effects)


def confirm_identifiers(
    session: Session, content: Content, officer: Officer, report: Report, now: datetime
) -> Outcome:
    """The officer confirms the report's identifiers as scam: /kiemtra then says so."""
    assert report.id is not None
    if report.status not in (reports.ACCEPTED, reports.VERIFYING):
        return Outcome(content.text("police.stale"), refused=True)
    named = identifiers.of_report(session, report.id, unconfirmed_only=True)
    for identifier in named:
        identifier.confirmed_scam, identifier.confirmed_at = True, now
    session.add(
        ReportEvent(
            report_id=report.id,
            at=now,
            actor=_actor(officer),
            action=CONFIRM,
            note=", ".join(i.display for i in named),
        )
    )
    return Outcome(
        content.text("police.confirmed", count=len(named)), effects=[_card_refresh(report)]
    )


def _card_refresh(report: Report) -> dict[str, Any]:
    return {
        "channel": POLICE,
        "recipient": POLICE,
        "kind": "report_card",
        "payload": {"report_id": report.id},
        "report_id": report.id,
    }


def _reporter_notice(session: Session, content: Content, report: Report) -> dict[str, Any] | None:
    """The reporter hears of each step, with the receipt code, on the channel they used."""
    if report.resident_id is None:
        return None  # erased their data: nobody to tell
    resident = session.get(Resident, report.resident_id)
    if resident is None:
        return None
    text = content.text(
        "police.reporter_notice",
        code=report.receipt_code,
        status=content.text(f"status.{report.status}"),
    )
    return {
        "channel": resident.channel,
        "recipient": resident.user_id,
        "kind": "reply",
        "payload": Reply(text).to_dict(),
        "report_id": report.id,
    }


def _actor(officer: Officer) -> str:
    return f"{officer.name} (#{officer.id})"


def _shown(content: Content, identifier: Identifier) -> str:
    bank = content.bank(identifier.bank)
    return f"{identifier.display} ({bank['name']})" if bank else identifier.display


def _time(moment: datetime) -> str:
    return to_vietnam(moment).strftime("%H:%M %d/%m/%Y")
