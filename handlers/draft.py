"""A report as the resident is writing it: typed, kept in the conversation state as JSON, so
it survives detours into other journeys and restarts."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any


@dataclass
class ReportDraft:
    """Everything the report flow has gathered so far. A field left None has not been asked
    yet; the `*_answered` flags tell "asked, and skipped" from "not asked"."""

    owner: str  # "channel:user": who writes it, and the key of its photos until it is saved
    channel: str
    photos: bool  # the channel can carry photos: the evidence step is offered
    # The resident agreed to the report's data notice (now, or in an earlier report).
    consented: bool = False
    type: str | None = None
    # The type their own story suggests, offered for a yes; "" once they chose otherwise.
    type_guess: str | None = None
    urgent: bool = False
    # Words in what they wrote may mean someone is held: the flow asks (once), never decides.
    held_words: bool = False
    urgent_asked: bool = False
    victim: str | None = None
    account: str | None = None
    # Parsed identifiers (ParsedIdentifier fields), and bank-account digits awaiting a bank.
    identifiers: list[dict[str, Any]] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)
    identifiers_done: bool = False
    amount: int | None = None
    amount_answered: bool = False
    # A bare number the resident typed at the money question, waiting for "đúng".
    amount_guess: int | None = None
    when: str | None = None  # ISO date
    # A time said vaguely ("tuần trước"), kept as said: no exact day is made up for it.
    when_said: str | None = None
    when_answered: bool = False
    when_guess: str | None = None
    evidence: int = 0
    evidence_done: bool = False
    anonymous: bool | None = None  # None: not chosen yet
    phone: str | None = None
    # An urgent report is saved (and the police paged) as soon as the victim's whereabouts are
    # known; the steps after that add to this saved report.
    report_id: int | None = None
    receipt_code: str | None = None
    # Where the flow stood, so /totgiac resumes there after a detour.
    step: str | None = None
    trail: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ReportDraft:
        """Tolerant of drafts stored by older versions: unknown keys are dropped and the
        old names (`evidence` count, `when`, `phone`) still mean what they meant."""
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        known.setdefault("owner", "")
        known.setdefault("channel", str(known["owner"]).split(":", 1)[0])
        known.setdefault("photos", False)
        # Drafts from before consent was a step of the flow were all written after it.
        known.setdefault("consented", True)
        if "amount" in data and "amount_answered" not in data:
            known["amount_answered"] = True
        if "when" in data and "when_answered" not in data:
            known["when_answered"] = True
        return cls(**known)
