"""`canhgiac content check`: the words are complete, well-formed, short enough and NFC, and a
production deployment tells residents how to reach its ward's police."""

from __future__ import annotations

import dataclasses
import re
import tempfile
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import content
from content import Content, fold
from db.clock import utcnow
from db.identifiers import BANK, PHONE, SOCIAL, URL
from db.reports import TRANSITIONS
from handlers import report, triage
from handlers.draft import ReportDraft
from handlers.router import COMMANDS, OFFICER_COMMANDS, UNLISTED_COMMANDS
from handlers.types import Context, Limits, State

TELEGRAM_LIMIT = 4096
# A scam's "short" is a button label; longer ones are cut or wrap on phones.
BUTTON_LABEL_LIMIT = 32
# What hotlines.yaml must say before residents may be told to call or visit the ward.
WARD_CONTACT_FIELDS = {
    "ward_duty_phone": "the ward's duty phone",
    "ward_address": "the ward police's address",
}
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


def run(environment: str, words: Content | None = None) -> int:
    """Print problems and warnings; the exit code is 1 when there is any problem."""
    production = environment.strip().lower() == "production"
    found = problems(words, production=production)
    for problem in found:
        print(problem)
    for warning in warnings(words, production=production):
        print(f"warning: {warning}")
    print("content: OK" if not found else f"content: {len(found)} problem(s)")
    return 1 if found else 0


def warnings(words: Content | None = None, *, production: bool = False) -> list[str]:
    """What the ward should fill in or check before going live (its contact is a problem in
    production, so it is not repeated here)."""
    words = words or content.load()
    unverified = [bank["code"] for bank in words.banks if not bank.get("hotline_verified")]
    found = [] if production else _ward_contact(words)
    if unverified:
        found.append(f"banks: hotlines not yet verified by the ward: {', '.join(unverified)}")
    return found


def _ward_contact(words: Content) -> list[str]:
    return [
        f"hotlines.{field}: {what} is empty; residents are told to go to the ward or call 113"
        for field, what in WARD_CONTACT_FIELDS.items()
        if not str(words.hotlines.get(field) or "").strip()
    ]


def problems(words: Content | None = None, *, production: bool = False) -> list[str]:
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
        "signals": words.signals,
        "periodic": words.periodic,
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
    found += periodic_words(words)
    found += unshown_buttons(words)
    if production:
        found += _ward_contact(words)
    return found


# Drafts the report flow's prompts are drawn with: none of anything yet, and some of each.
_SAMPLE_DRAFTS = (
    ReportDraft(owner="check:1", channel="check", photos=True),
    ReportDraft(
        owner="check:1",
        channel="check",
        photos=True,
        type="other",
        identifiers=[{"kind": "phone", "value": "+84912345678", "display": "0912 345 678"}],
        pending=["0123456789"],
        evidence=1,
        amount_guess=2_000_000,
        when_guess="2026-11-03",
        report_id=1,
        receipt_code="ABCD-2345",
    ),
)
_QUOTED = re.compile(r"«([^»]+)»")


def unshown_buttons(words: Content) -> list[str]:
    """Every button a report prompt tells the resident to press («…») is one it shows:
    otherwise they press what is not there and the step refuses them, turn after turn."""
    found = []
    ctx = Context(session=None, content=words, now=utcnow(), limits=Limits())  # type: ignore[arg-type]
    for name, step in report.FLOW.steps.items():
        for draft in _SAMPLE_DRAFTS:
            state = State(flow="report", step=name, seq=1, draft=dataclasses.replace(draft))
            for reply in step.prompt(ctx, state):
                labels = [fold(b.label) for row in reply.buttons for b in row]
                for quoted in _QUOTED.findall(reply.text):
                    if not any(fold(quoted) in label for label in labels):
                        found.append(f"report step {name}: says «{quoted}», shows {labels}")
    return sorted(set(found))


# Excel refuses these in a sheet's name, and names over 31 characters.
_SHEET_FORBIDDEN = re.compile(r"[:\\/?*\[\]]")


def periodic_words(words: Content) -> list[str]:
    """The periodic report can be drawn from content/periodic.yaml: the DOCX and the XLSX
    are written over an empty period (every fixed word is used, every {field} filled), each
    status has a label, and the sheets have names Excel takes."""
    from bot.periodic import docx, xlsx
    from bot.periodic.tables import Labels
    from db import statistics

    found = []
    labels = Labels(words)
    period = statistics.parse_period("2026-11")
    try:
        with tempfile.TemporaryDirectory() as folder:
            empty = statistics.nothing(period)
            docx.write(empty, labels, "CÔNG AN PHƯỜNG", period.last, Path(folder) / "a.docx")
            xlsx.write(empty, labels, [], "CÔNG AN PHƯỜNG", Path(folder) / "a.xlsx")
    except (KeyError, IndexError, ValueError, AssertionError, TypeError) as error:
        found.append(f"periodic: the report cannot be drawn: {type(error).__name__} {error}")
    statuses = words.periodic.get("status") or {}
    found += [
        f"periodic.status: no label for {code}" for code in TRANSITIONS if code not in statuses
    ]
    for key, name in (words.periodic.get("sheets") or {}).items():
        if len(str(name)) > 31 or _SHEET_FORBIDDEN.search(str(name)):
            found.append(
                f"periodic.sheets.{key}: Excel takes at most 31 characters, no : \\ / ? * [ ]"
            )
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
    groups = words.messages.get("scams", {}).get("groups", {})
    for scam in words.scams:
        if len(scam.get("short", "")) >= BUTTON_LABEL_LIMIT:
            found.append(f"scams.{scam['id']}: short over {BUTTON_LABEL_LIMIT - 1} characters")
        if scam.get("group") not in groups:
            found.append(f"scams.{scam['id']}: group {scam.get('group')!r} not in scams.groups")
        if "plan" not in scam:
            found.append(f'scams.{scam["id"]}: missing plan (the plan section, or "")')
    for code in groups:
        if code in ids:
            found.append(f"scams.groups.{code}: the same as a scam's id")
        if not any(scam.get("group") == code for scam in words.scams):
            found.append(f"scams.groups.{code}: no scam in this group")
    if len(words.scams) < 14:
        found.append(f"scams: {len(words.scams)} typologies, at least 14 expected")
    if len(words.quiz) < 12:
        found.append(f"quiz: {len(words.quiz)} questions, at least 12 expected")
    for index, question in enumerate(words.quiz):
        if not 0 <= question["answer"] < len(question["options"]):
            found.append(f"quiz[{index}]: answer out of range")
        elif fold(question["options"][question["answer"]]) in fold(question["why"]):
            # A wrong answer is told "Đáp án: <answer>. <why>": the why must add a reason.
            found.append(f"quiz[{index}]: why repeats the answer")
        if len(set(question["options"])) != len(question["options"]):
            found.append(f"quiz[{index}]: the same option twice")
    for index, line in enumerate(words.hotlines["lines"]):
        for key in ("name", "number", "icon"):
            if not line.get(key):
                found.append(f"hotlines.lines[{index}]: missing {key}")
    codes = [a["code"] for a in words.areas]
    if len(set(codes)) != len(codes):
        found.append("areas: duplicate code")
    if len(words.rules["khong"]) != 4 or len(words.rules["phai"]) != 2:
        found.append("rules: must hold 4 'không' and 2 'phải'")
    return found
