"""Fitting core replies to a channel: plain text where there is no HTML, numbered options,
and long text split at paragraph boundaries."""

from __future__ import annotations

import html
import re

from handlers.types import Reply

_TAG = re.compile(r"</?(?:b|i)>")


def plain(text: str) -> str:
    """The reply text without markup, for channels that show text as typed."""
    return html.unescape(_TAG.sub("", text))


def numbered(replies: list[Reply]) -> list[str]:
    """Each reply as text with its buttons as numbered options, numbered across the turn
    in the order the dispatcher stored them (so "2" means the same thing to both)."""
    out, number = [], 0
    for reply in replies:
        lines = [plain(reply.text)]
        for row in reply.buttons:
            for button in row:
                number += 1
                lines.append(f"  [{number}] {button.label}")
        out.append("\n".join(lines))
    return out


def split(text: str, limit: int) -> list[str]:
    """Pieces under `limit` characters, cut at blank lines, then lines, then hard."""
    if len(text) <= limit:
        return [text]
    pieces: list[str] = []
    current = ""
    for paragraph in re.split(r"(\n\n)", text):
        if len(current) + len(paragraph) <= limit:
            current += paragraph
            continue
        if current.strip():
            pieces.append(current.strip("\n"))
        current = paragraph if paragraph != "\n\n" else ""
        while len(current) > limit:
            cut = current.rfind("\n", 0, limit)
            cut = cut if cut > 0 else limit
            pieces.append(current[:cut])
            current = current[cut:].lstrip("\n")
    if current.strip():
        pieces.append(current.strip("\n"))
    return pieces
