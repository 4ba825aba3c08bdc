"""Plain data crossing the core's boundary: what came in, what to answer, where we are."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlmodel import Session

from content import Content
from db.outbox import Message
from handlers.draft import ReportDraft


@dataclass(frozen=True)
class Attachment:
    """A photo or file the channel already fetched (bytes), or could not (data is None)."""

    kind: str  # "photo", "file", "sticker"
    data: bytes | None = None
    mime: str = "image/jpeg"
    size: int = 0


@dataclass(frozen=True)
class Incoming:
    """One update from any channel, stripped of everything platform-specific."""

    channel: str
    user_id: str
    update_id: str
    text: str = ""
    payload: str | None = None  # a pressed button's payload
    attachments: tuple[Attachment, ...] = ()
    # The channel cannot show buttons: options are numbered and picked by number.
    numbered_choices: bool = False
    carries_photos: bool = False
    forwarded: bool = False


@dataclass(frozen=True)
class Button:
    label: str
    payload: str  # a command, a flow choice, or a web address to open

    @property
    def is_link(self) -> bool:
        return self.payload.startswith(("https://", "http://"))


@dataclass(frozen=True)
class Reply:
    """A message to show: text in the small HTML subset, and rows of buttons."""

    text: str
    buttons: tuple[tuple[Button, ...], ...] = ()
    # A stored picture to show with the text ("broadcast:<id>"); the channel fetches it.
    image: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "text": self.text,
            "buttons": [[[b.label, b.payload] for b in row] for row in self.buttons],
        }
        if self.image:
            data["image"] = self.image
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Reply:
        rows = tuple(
            tuple(Button(label, payload) for label, payload in row)
            for row in data.get("buttons", [])
        )
        return cls(text=data["text"], buttons=rows, image=data.get("image"))


@dataclass
class State:
    """Where a conversation stands; stored as JSON in the Conversation row."""

    flow: str | None = None
    step: str | None = None
    # Bumped when a flow starts: buttons carry it, so presses on old menus are recognised.
    seq: int = 0
    data: dict[str, Any] = field(default_factory=dict)
    trail: list[str] = field(default_factory=list)
    # The report being written survives detours into other journeys and restarts.
    draft: ReportDraft | None = None
    memory: dict[str, Any] = field(default_factory=dict)
    # The options last shown, so "2" or a typed label can stand for a press.
    choices: list[list[str]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        data = copy.deepcopy({k: v for k, v in self.__dict__.items() if k != "draft"})
        data["draft"] = self.draft.to_json() if self.draft is not None else None
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> State:
        known = {k: copy.deepcopy(v) for k, v in data.items() if k in cls.__dataclass_fields__}
        if isinstance(known.get("draft"), dict):
            known["draft"] = ReportDraft.from_json(known["draft"])
        return cls(**known)


@dataclass(frozen=True)
class Limits:
    """The operational numbers a ward may tune (from settings)."""

    max_text: int = 4000
    reports_per_day: int = 10
    code_lookups_per_hour: int = 10
    # /kiemtra: look-ups one resident may make per hour (against scraping), different
    # residents needed before reports are mentioned (against poisoning), and the age after
    # which a police confirmation is told with its date (numbers change hands).
    identifier_lookups_per_hour: int = 30
    min_reporters: int = 2
    confirmation_review_days: int = 180
    evidence_max_bytes: int = 10 * 1024 * 1024
    evidence_per_report: int = 10
    identifiers_per_report: int = 20
    ack_hours: float = 24
    urgent_ack_minutes: float = 15
    resolve_days: int = 20


@dataclass
class Context:
    """What a step may use besides the state and the message."""

    session: Session
    content: Content
    now: datetime  # aware UTC
    limits: Limits
    # Messages for others (police, other residents), written to the outbox with the turn.
    effects: list[Message] = field(default_factory=list)


Outcome = tuple[State, list[Reply]]
