"""`canhgiac content check`: the words are complete, well-formed, short enough and NFC."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import content
from content import Content
from db.identifiers import BANK, PHONE, SOCIAL, URL
from db.reports import TRANSITIONS
from handlers import triage
from handlers.router import COMMANDS, OFFICER_COMMANDS, UNLISTED_COMMANDS

TELEGRAM_LIMIT = 4096
ROOT = Path(__file__).resolve().parent.parent
_KEY_USE = re.compile(r"""\.(?:text|raw)\(\s*["']([a-z_]+(?:\.[a-z_]+)+)["']""")
_NAV = re.compile(r"""["'](/[a-z_]+)(?:\s[^"']*)?["']""")
_MARKUP = re.compile(r"</?(?:b|i)>|&(?:lt|gt|amp);")
# Keys built at run time from a known family of names.
DYNAMIC_KEYS = (
    [f"status.{s}" for s in TRANSITIONS]
    + [f"lookup.advice_{k}" for k in (PHONE, BANK, URL, SOCIAL)]
    + [
        "report.amount_invalid",
        "report.amount_absurd",
        "quiz.verdict_high",
        "quiz.verdict_mid",
        "quiz.verdict_low",
        "report.when_future",
        "report.when_too_old",
        "report.when_invalid",
    ]
    + [f"commands.{c}" for c in COMMANDS]
    + [f"police.actions.{a}" for a in (*triage.ACTIONS, triage.CONFIRM)]
)


def strings(node: Any, path: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(node, str):
        yield path, node
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from strings(value, f"{path}.{key}" if path else str(key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from strings(value, f"{path}[{index}]")


def problems(words: Content | None = None) -> list[str]:
    words = words or content.load()
    found: list[str] = []
    every = {
        "messages": words.messages,
        "rules": words.rules,
        "scams": words.scams,
        "quiz": words.quiz,
        "hotlines": words.hotlines,
        "areas": words.areas,
        "banks": words.banks,
        "urgent": words.urgent_words,
    }
    for path, text in strings(every):
        if unicodedata.normalize("NFC", text) != text:
            found.append(f"{path}: not NFC")
        if len(text) > TELEGRAM_LIMIT:
            found.append(f"{path}: {len(text)} characters, over {TELEGRAM_LIMIT}")
        stray = _MARKUP.sub("", text)
        if "<" in stray or "&" in stray:
            found.append(f"{path}: only <b>, <i> and &lt; &gt; &amp; may appear")
    sources = [*(ROOT / "handlers").glob("*.py"), *(ROOT / "bot").rglob("*.py")]
    for source in sources:
        code = source.read_text(encoding="utf-8")
        for key in _KEY_USE.findall(code):
            found += _missing(words, key, source.name)
        for command in _NAV.findall(code):
            known = any(command[1:] in c for c in (COMMANDS, UNLISTED_COMMANDS, OFFICER_COMMANDS))
            if source.parent.name == "handlers" and not known:
                found.append(f"{source.name}: button to unknown command {command}")
    for key in DYNAMIC_KEYS:
        found += _missing(words, key, "dynamic")
    found += _data_rules(words)
    return found


def _missing(words: Content, key: str, where: str) -> list[str]:
    try:
        words.raw(key)
    except (KeyError, TypeError):
        return [f"{where}: uses missing text {key}"]
    return []


def _data_rules(words: Content) -> list[str]:
    found = []
    ids = [s["id"] for s in words.scams]
    if len(set(ids)) != len(ids):
        found.append("scams: duplicate id")
    for scam in words.scams:
        for key in ("short", "title", "starts", "signs", "do", "never"):
            if not scam.get(key):
                found.append(f"scams.{scam.get('id')}: missing {key}")
        # Buttons carry "/thudoan <id>" and Telegram caps a button's data at 64 bytes.
        if len(f"/thudoan {scam['id']}".encode()) > 64:
            found.append(f"scams.{scam['id']}: id too long for a button")
    if len(words.scams) < 14:
        found.append(f"scams: {len(words.scams)} typologies, at least 14 expected")
    if len(words.quiz) < 12:
        found.append(f"quiz: {len(words.quiz)} questions, at least 12 expected")
    for index, question in enumerate(words.quiz):
        if not 0 <= question["answer"] < len(question["options"]):
            found.append(f"quiz[{index}]: answer out of range")
    codes = [a["code"] for a in words.areas]
    if len(set(codes)) != len(codes):
        found.append("areas: duplicate code")
    if len(words.rules["khong"]) != 4 or len(words.rules["phai"]) != 2:
        found.append("rules: must hold 4 'không' and 2 'phải'")
    return found
