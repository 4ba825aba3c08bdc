"""A report's kind in words: one place for every page, card, notice and file that shows it,
so none of them needs the report flow (which imports much of the core) to say it."""

from __future__ import annotations

from content import Content

TRAFFICKING, OTHER = "trafficking", "other"  # the two kinds that are not scam tricks


def type_label(content: Content, scam_type: str) -> str:
    if scam_type == TRAFFICKING:
        return str(content.raw("buttons.trafficking"))
    scam = content.scam(scam_type)
    return str(scam["short"]) if scam else str(content.raw("buttons.other_type"))
