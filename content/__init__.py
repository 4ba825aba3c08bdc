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


@dataclass(frozen=True)
class Content:
    """All texts, the scam library, the quiz, hotlines, areas and banks."""

    messages: dict[str, Any]
    rules: dict[str, Any]
    scams: list[dict[str, Any]]
    quiz: list[dict[str, Any]]
    hotlines: dict[str, Any]
    areas: list[dict[str, str]]
    banks: list[dict[str, Any]]
    urgent_words: list[str]

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


@dataclass(frozen=True)
class Markup:
    """Text already safe for the reply format (built from content), passed through unescaped."""

    markup: str


def _load(name: str) -> Any:
    with open(HERE / name, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


@cache
def load() -> Content:
    return Content(
        messages=_load("messages.yaml"),
        rules=_load("rules.yaml"),
        scams=_load("scams.yaml"),
        quiz=_load("quiz.yaml"),
        hotlines=_load("hotlines.yaml"),
        areas=_load("areas.yaml"),
        banks=_load("banks.yaml"),
        urgent_words=_load("urgent.yaml"),
    )


def fold(text: str) -> str:
    """Lower-case, accents removed, đ→d, spaces collapsed: for forgiving matching."""
    decomposed = unicodedata.normalize("NFD", text.lower().replace("đ", "d"))
    bare = "".join(c for c in decomposed if unicodedata.category(c) != "Mn")
    return " ".join(bare.split())
