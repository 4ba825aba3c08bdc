"""Messages for the police chat, as outbox rows: the tip card (posted once, then edited in
place), notes beside it, and the evidence album. The channel decides how to draw them."""

from __future__ import annotations

from typing import Any

from db.models import Report

POLICE = "police"  # the outbox channel and recipient of the police chat
CARD, NOTE, ALBUM = "report_card", "police_note", "evidence_album"


def card(report: Report) -> dict[str, Any]:
    """Post the report's card, or refresh it where it already is."""
    return _row(CARD, {"report_id": report.id}, report)


def note(text: str, report: Report | None = None) -> dict[str, Any]:
    """A message in the police chat; under its report's card when there is one."""
    return _row(NOTE, {"text": text}, report)


def album(report: Report, evidence_ids: list[int] | None = None) -> dict[str, Any]:
    """The report's evidence photos under its card: all of them, or the ones just added."""
    payload: dict[str, Any] = {"report_id": report.id}
    if evidence_ids is not None:
        payload["evidence_ids"] = evidence_ids
    return _row(ALBUM, payload, report)


def _row(kind: str, payload: dict[str, Any], report: Report | None) -> dict[str, Any]:
    return {
        "channel": POLICE,
        "recipient": POLICE,
        "kind": kind,
        "payload": payload,
        "report_id": report.id if report else None,
    }
