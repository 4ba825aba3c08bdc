"""Reading a resident's own words for what help to offer first: someone held abroad, money
just lost, a scam talked about, a greeting. The phrase lists are content (signals.yaml);
nothing is decided on words alone, they only choose the first answer."""

from __future__ import annotations

import enum
import re
from functools import cache

from content import Content, fold


class Signal(enum.Enum):
    HELD = "held"  # someone held, trafficked or unreachable abroad
    MONEY_LOST = "money_lost"
    HELP = "help"  # asking for help without saying what
    REPORT = "report"  # wanting to report
    SCAM = "scam"
    GREETING = "greeting"
    THANKS = "thanks"
    NONE = "none"


def read(content: Content, text: str) -> Signal:
    """The most pressing thing the words may mean (a person in danger before money)."""
    words = _words(text)
    if mentions_held(content, text):
        return Signal.HELD
    for signal in (Signal.MONEY_LOST, Signal.SCAM, Signal.HELP, Signal.REPORT):
        if _any(content, signal.value, words):
            return signal
    for signal, kind in ((Signal.GREETING, "greeting"), (Signal.THANKS, "thanks")):
        if _any(content, kind, words) and len(words.split()) <= 4:
            return signal
    return Signal.NONE


def mentions_held(content: Content, text: str) -> bool:
    """Words that may mean a person is held or trafficked: a strong phrase, or a place where
    people are held together with trouble ("con tôi bên Campuchia, giúp tôi"); a relative
    abroad alone ("con tôi sang Campuchia làm việc") is not a cry for help."""
    words = _words(text)
    if _any(content, "held", words):
        return True
    return _any(content, "abroad", words) and _any(content, "trouble", words)


def guess_type(content: Content, text: str) -> str | None:
    """The library's trick whose words (scams.yaml) a story uses most, the first listed on a
    tie; None when no trick's words appear. A guess to offer, never a decision."""
    words = _words(text)
    best, most = None, 0
    for scam in content.scams:
        phrases, patterns = _compiled(tuple(scam.get("words", ())))
        hits = sum(f" {p} " in words for p in phrases) + sum(
            bool(p.search(words)) for p in patterns
        )
        if hits > most:
            best, most = str(scam["id"]), hits
    return best


def _words(text: str) -> str:
    return f" {' '.join(re.sub(r'[^a-z0-9]+', ' ', fold(text)).split())} "


def _any(content: Content, kind: str, words: str) -> bool:
    phrases, patterns = _compiled(tuple(content.signals.get(kind, ())))
    return any(f" {p} " in words for p in phrases) or any(p.search(words) for p in patterns)


@cache
def _compiled(entries: tuple[str, ...]) -> tuple[tuple[str, ...], tuple[re.Pattern[str], ...]]:
    phrases = tuple(e for e in entries if not e.startswith("re:"))
    patterns = tuple(re.compile(e[3:]) for e in entries if e.startswith("re:"))
    return phrases, patterns
