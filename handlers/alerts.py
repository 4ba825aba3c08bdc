"""Broadcast alerts as service functions: how an alert looks to residents, and the steps of
its approval with the messages each step owes (leads asked, author told). The bot's staff
conversation and the command line both call these."""

from __future__ import annotations

from datetime import datetime, time

from sqlalchemy import func
from sqlmodel import Session, col, select

from content import Content
from db import broadcasts, jobs, officers, units
from db.clock import to_vietnam
from db.models import Broadcast, Officer, Resident
from db.outbox import Message
from handlers import notify
from handlers.flow import nav, rows
from handlers.types import Button, Reply

TIP = "tip"
IMAGE_PREFIX = "broadcast:"


def render(content: Content, broadcast: Broadcast) -> Reply:
    """The alert exactly as a resident gets it: heading, the staff's words (escaped), the
    link button if any, and always the one-tap unsubscribe."""
    key = "broadcast.tip" if broadcast.kind == TIP else "broadcast.alert"
    buttons = []
    if broadcast.link_url:
        label = broadcast.link_label or content.raw("broadcast.link_default")
        buttons.append(Button(label, broadcast.link_url))
    buttons.append(nav(content.raw("buttons.unsubscribe"), "/huydangky"))
    image = f"{IMAGE_PREFIX}{broadcast.id}" if broadcast.photo else None
    return Reply(content.text(key, text=broadcast.text), rows(*buttons), image=image)


def describe(content: Content, session: Session, broadcast: Broadcast) -> str:
    """One line on a broadcast for staff: number, status, audience, when, progress."""
    counted = broadcasts.progress(session, broadcast.id or 0)
    return content.text(
        "broadcast.line",
        id=broadcast.id,
        status=content.text(f"broadcast.status.{broadcast.status}"),
        audience=audience_label(content, broadcast.audience, session),
        at=when(broadcast.send_at),
        sent=counted.by_status[broadcasts.SENT],
        failed=counted.by_status[broadcasts.FAILED],
        blocked=counted.by_status[broadcasts.BLOCKED],
        remaining=counted.remaining + counted.by_status[broadcasts.WAITING],
    )


def audience_label(content: Content, audience: str, session: Session | None = None) -> str:
    """The audience in words; with a session, a province's loaded areas and units by name."""
    kind, _, value = audience.partition(":")
    if kind == "unit":
        ids = [int(part) for part in value.split(",") if part.isascii() and part.isdigit()]
        names = [units.name_of(session, i) for i in ids] if session else [value]
        return content.text("broadcast.audience_unit", unit=", ".join(names))
    if kind == "area":
        place = units.place(session, value, content.areas) if session else None
        area = content.area(value)
        name = place.name if place else area["name"] if area else value
        return content.text("broadcast.audience_area", area=name)
    if kind == "channel":
        return content.text("broadcast.audience_channel", channel=value)
    return content.text("broadcast.audience_all")


def reach(session: Session, broadcast: Broadcast) -> int:
    """How many residents the audience holds now (the count shown before approval)."""
    statement = select(func.count()).select_from(Resident).where(*broadcasts.audience_of(broadcast))
    return int(session.exec(statement).one())


def submitted(session: Session, content: Content, broadcast: Broadcast) -> list[Message]:
    """A new broadcast awaits approval: each lead gets the preview and the two buttons."""
    summary = Reply(
        content.text(
            "broadcast.approval_request",
            id=broadcast.id,
            author=broadcast.author,
            audience=audience_label(content, broadcast.audience, session),
            at=when(broadcast.send_at),
            reach=reach(session, broadcast),
        ),
        rows(
            nav(content.raw("broadcast.approve"), f"/duyet {broadcast.id}"),
            nav(content.raw("broadcast.reject"), f"/tuchoi {broadcast.id}"),
            per_row=2,
        ),
    )
    title = content.text("broadcast.push_pending", id=broadcast.id)
    notice = _notice(title, broadcast, summary, render(content, broadcast))
    deciders = [lead for lead in officers.leads(session) if may_decide(session, lead, broadcast)]
    return notify.to_all(session, deciders, notice)


def sending_unit(session: Session, broadcast: Broadcast) -> int:
    """The unit of the broadcast's author: its leads approve it."""
    author = session.get(Officer, broadcast.author_id) if broadcast.author_id else None
    return (author.unit_id if author else None) or units.DEFAULT


def may_decide(session: Session, lead: Officer | None, broadcast: Broadcast) -> bool:
    """A lead of the sending unit, or of the province, approves or rejects it."""
    if not officers.may_lead(lead):
        return False
    assert lead is not None
    return units.scope(session, lead).sees(sending_unit(session, broadcast))


def decided(session: Session, content: Content, broadcast: Broadcast) -> list[Message]:
    """The author hears the lead's decision (and the reason, if rejected)."""
    author = session.get(Officer, broadcast.author_id) if broadcast.author_id else None
    if author is None:
        return []
    if broadcast.status == broadcasts.REJECTED:
        text = content.text(
            "broadcast.rejected_notice", id=broadcast.id, reason=broadcast.reason or ""
        )
    else:
        text = content.text(
            "broadcast.approved_notice", id=broadcast.id, at=when(broadcast.send_at)
        )
    title = content.text("broadcast.push_decided", id=broadcast.id)
    return notify.to_officer(session, author, _notice(title, broadcast, Reply(text)))


def finished(session: Session, content: Content, broadcast: Broadcast) -> list[Message]:
    """The author hears that their alert has gone out, with the final counts."""
    author = session.get(Officer, broadcast.author_id) if broadcast.author_id else None
    if author is None:
        return []
    line = describe(content, session, broadcast)
    said = Reply(content.text("broadcast.finished_notice", line=line))
    title = content.text("broadcast.push_finished", id=broadcast.id)
    return notify.to_officer(session, author, _notice(title, broadcast, said))


def may_write(officer: Officer | None) -> bool:
    return officer is not None and officer.active and officer.role in officers.BROADCAST_ROLES


def may_cancel(session: Session, officer: Officer | None, broadcast: Broadcast) -> bool:
    """The author, or a lead who may decide it (of the sending unit, or the province's)."""
    return may_decide(session, officer, broadcast) or (
        may_write(officer) and officer is not None and officer.id == broadcast.author_id
    )


def weekly_tip_due(
    session: Session, content: Content, now: datetime, weekday: int, at: time
) -> Broadcast | None:
    """The week's tip once its day and hour (Vietnam time) have come; once per ISO week,
    whichever process gets there first."""
    local = to_vietnam(now)
    if local.isoweekday() != weekday or local.time() < at:
        return None
    year, week, _ = local.isocalendar()
    if not jobs.take(session, f"tip:{year}-W{week:02d}", now):
        return None
    return weekly_tip(session, content, now)


def weekly_tip(session: Session, content: Content, now: datetime) -> Broadcast:
    """The week's tip, rotating through the rules and the scam library; approved by
    standing order (its words are the ward's reviewed content)."""
    tips = _tips(content)
    sent = session.exec(
        select(func.count()).select_from(Broadcast).where(col(Broadcast.kind) == TIP)
    ).one()
    broadcast = broadcasts.create(
        session,
        text=tips[int(sent) % len(tips)],
        audience=broadcasts.ALL,
        send_at=now,
        author=content.text("broadcast.system_author"),
        now=now,
        kind=TIP,
    )
    broadcasts.approve(session, broadcast, content.text("broadcast.system_author"), now)
    return broadcast


def _tips(content: Content) -> list[str]:
    """The rotation: each of the six rules, then each scam trick's first sign and warning."""
    rules = content.rules
    tips = [f"{rule['name']}: {rule['text']}" for rule in [*rules["khong"], *rules["phai"]]]
    template = content.raw("broadcast.tip_scam")
    tips += [
        template.format(title=scam["title"], sign=scam["signs"][0], never=scam["never"][0])
        for scam in content.scams
    ]
    return tips


def when(moment: datetime) -> str:
    return to_vietnam(moment).strftime("%H:%M %d/%m/%Y")


def _notice(title: str, broadcast: Broadcast, *said: Reply) -> notify.Notice:
    path = notify.broadcast_path(broadcast.id)
    return notify.Notice(title, path, said, tag=f"broadcast-{broadcast.id}")
