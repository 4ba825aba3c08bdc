"""Notices to officers (a new report, an urgent one still unclaimed, an escalation, a
reporter's answer, a broadcast to approve) through the routes each officer chose: Web Push
to the console, their Zalo, their Telegram. The one place that decides how an officer is
reached; no caller names a messenger."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

from sqlmodel import Session, col, select

from db import officers, push, units
from db.models import Officer, Report
from db.outbox import Message
from handlers.types import Reply

WEBPUSH, ZALO, TELEGRAM = "webpush", "zalo", "telegram"
ROUTES = (WEBPUSH, ZALO, TELEGRAM)
PUSH = "push"  # the outbox kind of a Web Push notice


_TAG = re.compile(r"<[^>]+>")
BODY_CHARS = 240  # what a phone shows of a notification


@dataclass(frozen=True)
class Notice:
    """One notice in both forms: the messages a messenger shows (with their buttons), and,
    for Web Push, a title and the first message's words, opening a console page."""

    title: str
    path: str  # the console page, e.g. /reports/ABCD-2345
    replies: tuple[Reply, ...]
    tag: str = ""  # a newer notice with the same tag replaces the older on the phone
    urgent: bool = False
    report_id: int | None = None
    # The Telegram police chat already says it (a new card, a reminder, an answer): not
    # repeated to each officer's Telegram.
    in_police_chat: bool = False

    @property
    def body(self) -> str:
        words = html.unescape(_TAG.sub("", self.replies[0].text)) if self.replies else ""
        return words if len(words) <= BODY_CHARS else words[: BODY_CHARS - 1] + "…"


def report_path(code: str) -> str:
    return f"/reports/{code}"


def broadcast_path(broadcast_id: int | None) -> str:
    return f"/broadcasts/{broadcast_id}"


def routes(session: Session, officer: Officer) -> list[str]:
    """The routes this officer can be reached on now, of those they chose."""
    chosen = set(officer.notify_by or ())
    found = []
    if WEBPUSH in chosen and push.count(session, officer.id) > 0:
        found.append(WEBPUSH)
    if ZALO in chosen and officer.zalo_id:
        found.append(ZALO)
    if TELEGRAM in chosen and officer.telegram_id is not None:
        found.append(TELEGRAM)
    return found


def about_report(
    title: str, report: Report, *said: Reply, urgent: bool = False, in_police_chat: bool = False
) -> Notice:
    """A notice about a report, opening its console page."""
    path = report_path(report.receipt_code)
    tag = f"report-{report.id}"
    urgent = urgent or report.urgent
    return Notice(title, path, said, tag, urgent, report.id, in_police_chat)


def to_officer(session: Session, officer: Officer, notice: Notice) -> list[Message]:
    """The notice as outbox messages, one per route the officer is reachable on. News of a
    report goes only to someone who may work reports now (a role can change)."""
    if not officer.active:
        return []
    if notice.report_id is not None and not officers.may_triage(officer):
        return []
    messages = []
    for route in routes(session, officer):
        if route == TELEGRAM and notice.in_police_chat:
            continue
        if route == WEBPUSH:
            payload = {
                "title": notice.title,
                "body": notice.body,
                "url": notice.path,
                "tag": notice.tag,
                "urgent": notice.urgent,
            }
            messages.append(Message(WEBPUSH, str(officer.id), PUSH, payload, notice.report_id))
        else:
            channel, recipient = (
                (officers.ZALO_LINK, str(officer.zalo_id))
                if route == ZALO
                else (officers.TELEGRAM_LINK, str(officer.telegram_id))
            )
            messages += [
                Message(channel, recipient, "reply", reply.to_dict(), notice.report_id)
                for reply in notice.replies
            ]
    return messages


def to_all(session: Session, people: list[Officer], notice: Notice) -> list[Message]:
    return [m for officer in people for m in to_officer(session, officer, notice)]


def triage_officers(session: Session, report: Report | None = None) -> list[Officer]:
    """Everyone who works reports (of the report's unit, and the province's for an urgent
    one): new reports and urgent reminders go to each of them."""
    found = session.exec(
        select(Officer).where(
            col(Officer.active).is_(True), col(Officer.role).in_(officers.TRIAGE_ROLES)
        )
    ).all()
    if report is None:
        return list(found)
    return [officer for officer in found if units.concerned(session, officer, report)]
