"""The words of Cảnh giác, as data: YAML files beside this module, loaded once."""

from __future__ import annotations

import html
import unicodedata
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).parent
# Bumped whenever the consent text in messages.yaml changes; recorded with every consent.
CONSENT_VERSION = "2026-11-v1"
# In any text, stands for how to reach the ward's police (see hotlines.yaml: ward_contact).
WARD_CONTACT = "{ward_contact}"


@dataclass(frozen=True)
class Content:
    """All texts, the scam library, the quiz, hotlines, areas, banks and the periodic
    report's fixed words."""

    messages: dict[str, Any]
    rules: dict[str, Any]
    scams: list[dict[str, Any]]
    quiz: list[dict[str, Any]]
    hotlines: dict[str, Any]
    areas: list[dict[str, str]]
    banks: list[dict[str, Any]]
    # Phrase lists by what they may signal (held, money_lost, …): content/signals.yaml.
    signals: dict[str, list[str]]
    # The fixed words of the periodic report upward (DOCX, XLSX): content/periodic.yaml.
    periodic: dict[str, Any]

    def raw(self, key: str) -> Any:
        """The value at a dotted key, e.g. 'report.ask_type'; KeyError if absent."""
        node: Any = self.messages
        for part in key.split("."):
            node = node[part]
        return node

    def text(self, key: str, **values: Any) -> str:
        """A message with its {fields} filled; values are HTML-escaped (they may be user text)."""
        template = self.raw(key)
        safe = {
            k: v.markup if isinstance(v, Markup) else html.escape(str(v), quote=False)
            for k, v in values.items()
        }
        return template.format_map(safe) if values else template

    def scam(self, scam_id: str) -> dict[str, Any] | None:
        return next((s for s in self.scams if s["id"] == scam_id), None)

    def area(self, code: str) -> dict[str, str] | None:
        return next((a for a in self.areas if a["code"] == code), None)

    def bank(self, code: str) -> dict[str, Any] | None:
        return next((b for b in self.banks if b["code"] == code), None)

    @property
    def ward_contact(self) -> str:
        """How to reach the ward's police, as markup: duty phone and address when the ward
        has filled them in hotlines.yaml, else a fallback that always works (113)."""
        return contact_phrase(self.hotlines)


@dataclass(frozen=True)
class Markup:
    """Text already safe for the reply format (built from content), passed through unescaped."""

    markup: str


def _load(name: str) -> Any:
    with open(HERE / name, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def contact_phrase(hotlines: dict[str, Any]) -> str:
    """How texts name the ward's police, by what the ward filled in (see hotlines.yaml)."""
    phone = html.escape(str(hotlines.get("ward_duty_phone") or "").strip(), quote=False)
    address = html.escape(str(hotlines.get("ward_address") or "").strip(), quote=False)
    form = (
        "phone_and_address"
        if phone and address
        else "phone"
        if phone
        else "address"
        if address
        else "none"
    )
    ward = html.escape(hotlines["ward_name"], quote=False)
    return str(hotlines["ward_contact"][form]).format(ward=ward, phone=phone, address=address)


def _with_ward_contact(node: Any, contact: str) -> Any:
    """Every WARD_CONTACT in the texts replaced by how to reach the ward's police: a constant
    of the deployment, filled once at load, so the code that sends a text need not pass it."""
    if isinstance(node, str):
        return node.replace(WARD_CONTACT, contact)
    if isinstance(node, dict):
        return {key: _with_ward_contact(value, contact) for key, value in node.items()}
    if isinstance(node, list):
        return [_with_ward_contact(value, contact) for value in node]
    return node


@cache
def load() -> Content:
    return build()


def build(hotlines: dict[str, Any] | None = None) -> Content:
    """The content as the files hold it; `hotlines` stands in for hotlines.yaml if given
    (e.g. to see the texts as a ward that filled in its phone and address would)."""
    hotlines = hotlines if hotlines is not None else _load("hotlines.yaml")
    contact = contact_phrase(hotlines)
    return Content(
        messages=_with_ward_contact(_load("messages.yaml"), contact),
        rules=_with_ward_contact(_load("rules.yaml"), contact),
        scams=_with_ward_contact(_load("scams.yaml"), contact),
        quiz=_with_ward_contact(_load("quiz.yaml"), contact),
        hotlines=hotlines,
        areas=_load("areas.yaml"),
        banks=_load("banks.yaml"),
        signals=_load("signals.yaml"),
        periodic=_load("periodic.yaml"),
    )


def fold(text: str) -> str:
    """Lower-case, accents removed, đ→d, spaces collapsed: for forgiving matching."""
    decomposed = unicodedata.normalize("NFD", text.lower().replace("đ", "d"))
    bare = "".join(c for c in decomposed if unicodedata.category(c) != "Mn")
    return " ".join(bare.split())
