"""Police triage as service functions: the tip card's content, the actions on a report, the
relay between officers and reporters, escalation. Any channel (Telegram today, a web console
later) renders the card and calls these; each checks the officer's role as it is now."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from content import Content, Markup
from db import identifiers, officers, outbox, reports
from db.clock import to_vietnam
from db.models import Identifier, Officer, Report, ReportEvent, Resident
from handlers import police
from handlers.flow import nav, rows
from handlers.parse import format_amount
from handlers.report import type_label
from handlers.types import Button, Reply

CONFIRM, ASK, ESCALATE, REOPEN, DUPLICATE = "confirm", "ask", "escalate", "reopen", "dup"
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


@dataclass(frozen=True)
class Action:
    """A card button: the status it leads to (None: the status stays), the statuses it is
    offered in, whether the officer must add words first, and whether only leads may."""

    target: str | None
    sources: tuple[str, ...] = reports.OPEN
    needs_note: bool = False
    leads_only: bool = False


# Card order. Which status may follow which is reports.TRANSITIONS' rule, checked as well.
ACTIONS: dict[str, Action] = {
    "claim": Action(reports.ACCEPTED),
    ASK: Action(None, needs_note=True),
    "verify": Action(reports.VERIFYING),
    DUPLICATE: Action(reports.DUPLICATE, needs_note=True),
    "resolve": Action(reports.RESOLVED, needs_note=True),
    "nocrime": Action(reports.NO_CRIME, needs_note=True),
    "refer": Action(reports.REFERRED),
    "spam": Action(reports.SPAM, needs_note=True),
    ESCALATE: Action(None),
    CONFIRM: Action(None, sources=(reports.ACCEPTED, reports.VERIFYING)),
    REOPEN: Action(reports.VERIFYING, sources=reports.CLOSED, leads_only=True),
}
# The reporter is told of every decision but rubbish; these decisions carry the officer's
# words to the reporter (the prompt says so).
UNTOLD = {reports.SPAM}
NOTE_TOLD = {reports.RESOLVED, reports.NO_CRIME}


@dataclass
class Outcome:
    """What an action did: a short answer for the officer (an alert if refused), and
    messages to queue (card refresh, reporter's notice, leads' notices)."""

    answer: str
    refused: bool = False
    effects: list[dict[str, Any]] = field(default_factory=list)


def offered(session: Session, report: Report, action: str) -> bool:
    """Whether the card offers this action for the report as it stands now."""
    rule = ACTIONS.get(action)
    if rule is None or report.status not in rule.sources:
        return False
    if rule.target and rule.target not in reports.TRANSITIONS.get(report.status, frozenset()):
        return False
    if action == ESCALATE:
        return report.escalated_at is None
    if action == CONFIRM:
        assert report.id is not None
        return bool(identifiers.of_report(session, report.id, unconfirmed_only=True))
    return True


def refusal(
    session: Session, content: Content, officer: Officer | None, report: Report, action: str
) -> str | None:
    """Why this officer may not do this to this report now, in words for them; None when
    they may (their role as it is now, and the report's status as it is now)."""
    if not officers.may_triage(officer):
        return content.text("police.not_officer")
    if ACTIONS[action].leads_only and not officers.may_lead(officer):
        return content.text("police.leads_only")
    if not offered(session, report, action):
        return content.text("police.already", status=content.text(f"status.{report.status}"))
    return None


def card(session: Session, content: Content, report: Report, whole: bool = False) -> Reply:
    """The tip card: everything an officer needs to start, and the buttons for what's next,
    cut to fit one message. `whole` gives every word and the full history (for /xem),
    without buttons."""
    assert report.id is not None
    facts = _CardFacts(
        identifiers=[
            (_shown(content, i), identifiers.times_reported(session, i.id or 0, report.id))
            for i in identifiers.of_report(session, report.id)
        ],
        events=list(
            session.exec(
                select(ReportEvent)
                .where(ReportEvent.report_id == report.id)
                .order_by(col(ReportEvent.id))
            ).all()
        ),
        undelivered=outbox.undelivered(session, report.id, police.POLICE),
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
        when=report.occurred_on.strftime("%d/%m/%Y") if report.occurred_on else none,
        amount=format_amount(report.amount_vnd) if report.amount_vnd else none,
        identifiers=Markup("\n".join(named) or none),
        account=cut(report.account, budget.account if budget else 0),
        victim=cut(report.victim_info, budget.victim if budget else 0)
        if report.victim_info
        else none,
        contact=report.contact_phone or content.text("report.summary_anonymous"),
        due=_due(content, report),
        status=content.text(f"status.{report.status}"),
        undelivered=Markup(warning),
        history=Markup("\n".join(history)),
    )


def act(
    session: Session,
    content: Content,
    officer: Officer | None,
    report: Report,
    action: str,
    now: datetime,
    note: str | None = None,
) -> Outcome:
    """Do one card action for an officer, if their role and the report's status allow it
    now. Actions that need words (a question, a reason) must be given `note`."""
    why_not = refusal(session, content, officer, report, action)
    if why_not:
        return Outcome(why_not, refused=True)
    assert officer is not None and report.id is not None
    rule = ACTIONS[action]
    if rule.needs_note and not note:
        raise ValueError(f"{action} needs a note")
    actor = _actor(officer)
    if action == CONFIRM:
        return _confirm_identifiers(session, content, actor, report, now)
    if action == ESCALATE:
        effects = escalate(session, content, report, now, actor)
        return Outcome(content.text("police.escalated_done"), effects=effects)
    if action == ASK:
        return _ask(session, content, actor, report, note or "", now)
    assert rule.target is not None
    reports.transition(session, report, rule.target, actor, now, note=note, action=action)
    if action == "claim":
        report.claimed_by = officer.id
    effects = [police.card(report)]
    if report.status not in UNTOLD:
        told = note if report.status in NOTE_TOLD else None
        effects += _to_reporter(session, content, report, _status_notice(content, report, told))
    status = content.text(f"status.{report.status}")
    return Outcome(content.text("police.done", status=status), effects=effects)


def assign(
    session: Session,
    content: Content,
    lead: Officer | None,
    report: Report,
    officer: Officer,
    now: datetime,
) -> Outcome:
    """A lead hands a report to an officer: a new report counts as taken in; the officer is
    told privately."""
    if not officers.may_lead(lead):
        return Outcome(content.text("police.leads_only_assign"), refused=True)
    if not officers.may_triage(officer):
        return Outcome(content.text("police.assignee_unknown"), refused=True)
    if report.status not in reports.OPEN:
        status = content.text(f"status.{report.status}")
        return Outcome(content.text("police.already", status=status), refused=True)
    assert lead is not None and report.id is not None
    actor, note = _actor(lead), _name(officer)
    effects = [police.card(report)]
    if report.status == reports.NEW:
        reports.transition(session, report, reports.ACCEPTED, actor, now, note, action="assign")
        effects += _to_reporter(session, content, report, _status_notice(content, report, None))
    else:
        reports.record(session, report, actor, "assign", now, note)
    report.claimed_by = officer.id
    if officer.telegram_id is not None:
        notice = Reply(
            content.text("police.assigned_notice", code=report.receipt_code, lead=lead.name),
            rows(nav(content.raw("police.view"), f"/xem {report.receipt_code}")),
        )
        effects.append(_message("telegram", str(officer.telegram_id), notice, report))
    return Outcome(content.text("police.assigned", name=officer.name), effects=effects)


def escalate(
    session: Session, content: Content, report: Report, now: datetime, actor: reports.Actor
) -> list[dict[str, Any]]:
    """Hand a report up to the leads: recorded, flagged on the card, each lead told."""
    report.escalated_at = now
    reports.record(session, report, actor, ESCALATE, now)
    notice = Reply(
        content.text(
            "police.escalation_notice",
            code=report.receipt_code,
            type=type_label(content, report.scam_type),
            status=content.text(f"status.{report.status}"),
            actor=actor.label,
        ),
        rows(nav(content.raw("police.view"), f"/xem {report.receipt_code}")),
    )
    effects = [police.card(report)]
    effects += [
        _message("telegram", str(lead.telegram_id), notice, report)
        for lead in officers.leads(session)
    ]
    return effects


def add_info(
    session: Session, content: Content, report: Report, text: str, now: datetime
) -> list[dict[str, Any]]:
    """The reporter's answer or addition: into the history, onto the card, and said in the
    police chat beside the card, under no name."""
    # The reporter appears to officers by this word, never by their account.
    reporter = reports.Actor(content.text("police.actor_reporter"))
    reports.record(session, report, reporter, "info", now, text)
    report.updated_at = now
    said = content.text("police.reporter_added", code=report.receipt_code, text=text)
    return [police.card(report), police.note(said, report)]


def add_photos(
    session: Session, content: Content, report: Report, evidence_ids: list[int], now: datetime
) -> list[dict[str, Any]]:
    """Photos the reporter added later: noted in the history, and sent under the card."""
    note = content.text("police.reporter_photos", count=len(evidence_ids))
    return [*add_info(session, content, report, note, now), police.album(report, evidence_ids)]


def _ask(
    session: Session,
    content: Content,
    actor: reports.Actor,
    report: Report,
    question: str,
    now: datetime,
) -> Outcome:
    """Relay an officer's question to the reporter, on the reporter's channel, with the code
    and a way to answer; neither learns who the other is."""
    reports.record(session, report, actor, ASK, now, question)
    report.updated_at = now
    code = report.receipt_code
    notice = Reply(
        content.text("police.question_to_reporter", code=code, question=question),
        rows(nav(content.raw("buttons.answer"), f"/bosung {code}")),
    )
    sent = _to_reporter(session, content, report, notice)
    answer = "police.asked" if sent else "police.reporter_gone"
    return Outcome(content.text(answer), effects=[police.card(report), *sent])


def _confirm_identifiers(
    session: Session, content: Content, actor: reports.Actor, report: Report, now: datetime
) -> Outcome:
    """The officer confirms the report's identifiers as scam: /kiemtra then says so."""
    assert report.id is not None
    named = identifiers.of_report(session, report.id, unconfirmed_only=True)
    for identifier in named:
        identifier.confirmed_scam, identifier.confirmed_at = True, now
    note = ", ".join(i.display for i in named)
    reports.record(session, report, actor, CONFIRM, now, note)
    return Outcome(
        content.text("police.confirmed", count=len(named)), effects=[police.card(report)]
    )


def _status_notice(content: Content, report: Report, note: str | None) -> Reply:
    text = content.text(
        "police.reporter_notice",
        code=report.receipt_code,
        status=content.text(f"status.{report.status}"),
    )
    if note:
        text += "\n" + content.text("police.reporter_notice_note", note=note)
    return Reply(text)


def _to_reporter(
    session: Session, content: Content, report: Report, reply: Reply
) -> list[dict[str, Any]]:
    """A message for the reporter on the channel they used; none if they erased their data."""
    resident = session.get(Resident, report.resident_id) if report.resident_id else None
    if resident is None:
        return []
    return [_message(resident.channel, resident.user_id, reply, report)]


def _message(channel: str, recipient: str, reply: Reply, report: Report) -> dict[str, Any]:
    return {
        "channel": channel,
        "recipient": recipient,
        "kind": "reply",
        "payload": reply.to_dict(),
        "report_id": report.id,
    }


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
        note=note if note_chars is None else _cut(note, note_chars),
    )


def _due(content: Content, report: Report) -> str:
    if report.status == reports.NEW and report.ack_due_at:
        return content.text("police.due_ack", at=_time(report.ack_due_at))
    if report.status in reports.OPEN and report.resolve_due_at:
        return content.text("police.due_resolve", at=_time(report.resolve_due_at))
    return content.text("police.due_none")


def _actor(officer: Officer) -> reports.Actor:
    return reports.Actor(officer.name, officer.id)


def _name(officer: Officer) -> str:
    return f"{officer.name} (#{officer.id})"


def _shown(content: Content, identifier: Identifier) -> str:
    bank = content.bank(identifier.bank)
    return f"{identifier.display} ({bank['name']})" if bank else identifier.display


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _time(moment: datetime) -> str:
    return to_vietnam(moment).strftime("%H:%M %d/%m/%Y")
