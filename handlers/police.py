"""Messages for the police chat, as outbox rows: the tip card (posted once, then edited in
place), notes beside it, and the evidence album. The channel decides how to draw them."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from db import units
from db.models import Report
from db.outbox import POLICE_CHAT, Message

POLICE = POLICE_CHAT  # the outbox channel and recipient of the police chat
CARD, NOTE, ALBUM = "report_card", "police_note", "evidence_album"
# The police chat is paced (about 20 messages a minute): a new urgent card, and the reminders
# of an unclaimed urgent one, go before everything else waiting; other police messages go
# after the replies residents wait for, and before bulk alerts.
URGENT, ROUTINE = -10, 5


def card(report: Report) -> Message:
    """Post the report's card, or refresh it where it already is. A refresh waiting to be
    sent already shows the latest state when it goes, so another is not queued."""
    first = report.urgent and report.card_message_id is None
    return _row(CARD, {"report_id": report.id}, report, URGENT if first else ROUTINE, True)


def note(
    text: str, report: Report | None = None, urgent: bool = False, group: int | None = None
) -> Message:
    """A message in the police chat; under its report's card when there is one. `group`:
    in the Telegram group of that unit instead (db/units.py: its own, else the deployment's)."""
    payload: dict[str, Any] = {"text": text}
    if group is not None:
        payload["unit_id"] = group
    return _row(NOTE, payload, report, URGENT if urgent else ROUTINE)


def to_province(session: Session, report: Report, text: str) -> list[Message]:
    """An urgent report's news in the province's group too (trafficking reaches the province
    at once), unless that is the group its card is in already."""
    top = units.province(session)
    if not report.urgent or top is None or top.id is None:
        return []
    if units.group_of(session, report.unit_id) == top.telegram_chat_id:
        return []
    return [note(text, report, urgent=True, group=top.id)]


def album(report: Report, evidence_ids: list[int] | None = None) -> Message:
    """The report's evidence photos under its card: all of them, or the ones just added."""
    payload: dict[str, Any] = {"report_id": report.id}
    if evidence_ids is not None:
        payload["evidence_ids"] = evidence_ids
    return _row(ALBUM, payload, report, ROUTINE)


def _row(
    kind: str,
    payload: dict[str, Any],
    report: Report | None,
    priority: int,
    coalesce: bool = False,
) -> Message:
    report_id = report.id if report else None
    return Message(POLICE, POLICE, kind, payload, report_id, priority, coalesce)
