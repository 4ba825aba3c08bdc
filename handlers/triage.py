"""Police triage's rules as service functions: which actions a report offers now, who may do
them, and what each does (the relay between officers and reporters, escalation). The Telegram
card (handlers/card.py) and the console (bot/console/reports.py) both call these; each checks
the officer's role as it is now."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import Session, col, select

from content import Content
from db import identifiers, officers, reports, units
from db.models import Officer, Report, Unit
from db.outbox import Message
from handlers import notify, police
from handlers.flow import nav, rows
from handlers.kinds import type_label
from handlers.types import Reply

CONFIRM, ASK, ESCALATE, REOPEN, DUPLICATE = "confirm", "ask", "escalate", "reopen", "dup"


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
    # One identifier at a time, with a reason: a report also names the victim's own account.
    CONFIRM: Action(None, sources=(reports.ACCEPTED, reports.VERIFYING), needs_note=True),
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
    effects: list[Message] = field(default_factory=list)


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
    assert officer is not None
    if not units.scope(session, officer).sees(report.unit_id):
        return content.text("police.not_officer")
    if ACTIONS[action].leads_only and not officers.may_lead(officer):
        return content.text("police.leads_only")
    if not offered(session, report, action):
        return content.text("police.already", status=content.text(f"status.{report.status}"))
    return None


def act(
    session: Session,
    content: Content,
    officer: Officer | None,
    report: Report,
    action: str,
    now: datetime,
    note: str | None = None,
    identifier_id: int | None = None,
) -> Outcome:
    """Do one card action for an officer, if their role and the report's status allow it
    now. Actions that need words (a question, a reason) must be given `note`; confirming,
    the one identifier it confirms."""
    _lock(session, report)
    why_not = refusal(session, content, officer, report, action)
    if why_not:
        return Outcome(why_not, refused=True)
    assert officer is not None and report.id is not None
    rule = ACTIONS[action]
    if rule.needs_note and not note:
        raise ValueError(f"{action} needs a note")
    actor = _actor(officer)
    if action == CONFIRM:
        return _confirm(session, content, actor, report, identifier_id, note or "", now)
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
    assert lead is not None
    _lock(session, report)
    if not units.scope(session, lead).sees(report.unit_id):
        return Outcome(content.text("police.not_officer"), refused=True)
    if not officers.may_triage(officer) or not units.scope(session, officer).sees(report.unit_id):
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
    said = Reply(
        content.text("police.assigned_notice", code=report.receipt_code, lead=lead.name),
        rows(nav(content.raw("police.view"), f"/xem {report.receipt_code}")),
    )
    title = content.text("police.push_assigned", code=report.receipt_code)
    effects += notify.to_officer(session, officer, notify.about_report(title, report, said))
    return Outcome(content.text("police.assigned", name=officer.name), effects=effects)


def transfer(
    session: Session,
    content: Content,
    officer: Officer | None,
    report: Report,
    unit_id: int,
    reason: str,
    now: datetime,
) -> Outcome:
    """Hand an open report to another unit (its area's, when the reporter named the wrong
    one): the history says so, the other unit's officers are told, the reporter learns that
    nothing changes for them. Only an officer who sees the report may."""
    if officer is None or not officers.may_triage(officer):
        return Outcome(content.text("police.not_officer"), refused=True)
    _lock(session, report)
    if not units.scope(session, officer).sees(report.unit_id):
        return Outcome(content.text("police.not_officer"), refused=True)
    if report.status not in reports.OPEN:
        status = content.text(f"status.{report.status}")
        return Outcome(content.text("police.transfer_closed", status=status), refused=True)
    assert report.id is not None
    try:
        target, effects = move(session, content, report, unit_id, _actor(officer), reason, now)
    except units.UnitError:
        same = (report.unit_id or units.DEFAULT) == unit_id
        key = "police.transfer_same" if same else "police.transfer_unknown"
        said = content.text(key, unit=units.name_of(session, report.unit_id))
        return Outcome(said, refused=True)
    told = Reply(
        content.text("police.reporter_transferred", code=report.receipt_code, unit=target.name)
    )
    effects += _to_reporter(session, content, report, told)
    return Outcome(
        content.text("police.transferred", code=report.receipt_code, unit=target.name),
        effects=effects,
    )


def move(
    session: Session,
    content: Content,
    report: Report,
    unit_id: int,
    actor: reports.Actor,
    reason: str,
    now: datetime,
) -> tuple[Unit, list[Message]]:
    """The report handed to another unit, whoever decided it (an officer, or the reporter
    naming where they live): recorded, the card redrawn, the other unit's officers told.
    Raises units.UnitError for no such unit or the same one."""
    source = units.name_of(session, report.unit_id)
    target = units.transfer(session, report, unit_id)
    note = content.text("police.transfer_note", source=source, target=target.name, reason=reason)
    reports.record(session, report, actor, "transfer", now, note)
    report.updated_at = now
    said = Reply(
        content.text(
            "police.transferred_notice",
            code=report.receipt_code,
            type=type_label(content, report.scam_type),
            source=source,
            target=target.name,
            reason=reason,
        )
    )
    title = content.text("police.push_transferred", code=report.receipt_code)
    heard = notify.about_report(title, report, said)
    return target, [
        police.card(report),
        *notify.to_all(session, notify.triage_officers(session, report), heard),
    ]


def escalate(
    session: Session, content: Content, report: Report, now: datetime, actor: reports.Actor
) -> list[Message]:
    """Hand a report up to the leads: recorded, flagged on the card, each lead told."""
    report.escalated_at = now
    reports.record(session, report, actor, ESCALATE, now)
    said = Reply(
        content.text(
            "police.escalation_notice",
            code=report.receipt_code,
            type=type_label(content, report.scam_type),
            status=content.text(f"status.{report.status}"),
            actor=actor.label,
        ),
        rows(nav(content.raw("police.view"), f"/xem {report.receipt_code}")),
    )
    title = content.text("police.push_escalated", code=report.receipt_code)
    effects = [police.card(report)]
    leads = [o for o in officers.leads(session) if units.concerned(session, o, report)]
    effects += notify.to_all(session, leads, notify.about_report(title, report, said))
    return effects


def add_info(
    session: Session, content: Content, report: Report, text: str, now: datetime
) -> list[Message]:
    """The reporter's answer or addition: into the history, onto the card, and said in the
    police chat beside the card, under no name."""
    # The reporter appears to officers by this word, never by their account.
    reporter = reports.Actor(content.text("police.actor_reporter"))
    reports.record(session, report, reporter, "info", now, text)
    report.updated_at = now
    said = content.text("police.reporter_added", code=report.receipt_code, text=text)
    title = content.text("police.push_answer", code=report.receipt_code)
    heard = notify.about_report(title, report, Reply(said), in_police_chat=True)
    return [
        police.card(report),
        police.note(said, report),
        *notify.to_all(session, _handlers(session, report), heard),
    ]


def _handlers(session: Session, report: Report) -> list[Officer]:
    """Who hears of a report's news: the officer who holds it, or, unclaimed, everyone."""
    holder = session.get(Officer, report.claimed_by) if report.claimed_by else None
    if officers.may_triage(holder):
        assert holder is not None
        return [holder]
    return notify.triage_officers(session, report)


def add_photos(
    session: Session, content: Content, report: Report, evidence_ids: list[int], now: datetime
) -> list[Message]:
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


def _confirm(
    session: Session,
    content: Content,
    actor: reports.Actor,
    report: Report,
    identifier_id: int | None,
    reason: str,
    now: datetime,
) -> Outcome:
    """The officer confirms one identifier the report names as a scammer's, with a reason:
    /kiemtra then says so. The others stay as they are."""
    assert report.id is not None
    named = {i.id: i for i in identifiers.of_report(session, report.id, unconfirmed_only=True)}
    identifier = named.get(identifier_id)
    if identifier is None:
        return Outcome(content.text("police.stale"), refused=True)
    identifiers.confirm(session, identifier, actor.officer_id, actor.label, reason, now, report.id)
    reports.record(session, report, actor, CONFIRM, now, f"{identifier.display}: {reason}")
    said = content.text("police.confirmed", value=identifier.display)
    return Outcome(said, effects=[police.card(report)])


def _status_notice(content: Content, report: Report, note: str | None) -> Reply:
    text = content.text(
        "police.reporter_notice",
        code=report.receipt_code,
        status=content.text(f"status.{report.status}"),
    )
    if note:
        text += "\n" + content.text("police.reporter_notice_note", note=note)
    return Reply(text)


def _to_reporter(session: Session, content: Content, report: Report, reply: Reply) -> list[Message]:
    """A message for the reporter on the channel they used; none if they erased their data."""
    if report.reporter is None:
        return []
    channel, user_id = report.reporter.split(":", 1)
    return [Message(channel, user_id, "reply", reply.to_dict(), report.id)]


def _lock(session: Session, report: Report) -> None:
    """The report as it is now, held until this transaction ends (PostgreSQL): a claim and a
    transfer, or two presses, decide one after the other, each seeing the other's result."""
    if report.id is not None and session.get_bind().dialect.name != "sqlite":
        session.refresh(report, with_for_update=True)


def _actor(officer: Officer) -> reports.Actor:
    return reports.Actor(officer.name, officer.id)


def _name(officer: Officer) -> str:
    return f"{officer.name} (#{officer.id})"


def release(
    session: Session, officer: Officer, actor: reports.Actor, now: datetime
) -> list[Message]:
    """An officer who no longer works reports (role changed, deactivated) lets go of the open
    reports they held: back in the queue, the history says so, the cards are redrawn."""
    held = session.exec(
        select(Report).where(
            col(Report.claimed_by) == officer.id, col(Report.status).in_(reports.OPEN)
        )
    ).all()
    effects = []
    for report in held:
        report.claimed_by = None
        reports.record(session, report, actor, "release", now, _name(officer))
        effects.append(police.card(report))
    return effects
