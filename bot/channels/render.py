"""Fitting core replies to a channel: plain text where there is no HTML, numbered options,
and long text split at paragraph boundaries."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

from handlers.types import Button, Reply

_TAG = re.compile(r"</?(?:b|i)>")


def plain(text: str) -> str:
    """The reply text without markup, for channels that show text as typed."""
    return html.unescape(_TAG.sub("", text))


def numbered(replies: list[Reply], commands: bool = False) -> list[str]:
    """Each reply as text with its buttons as numbered options, numbered across the turn
    in the order the dispatcher stored them (so "2" means the same thing to both).
    `commands`: a message outside a turn (a notice, an alert), whose numbers the resident
    cannot type back, shows each option's command instead."""
    out, number = [], 0
    for reply in replies:
        lines = [plain(reply.text)]
        for row in reply.buttons:
            for button in row:
                number += 1
                lines.append(_option(number, button, commands))
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


@dataclass(frozen=True)
class Abilities:
    """What a channel can show: how many buttons on a message (0: none), the longest text,
    and whether it understands the core's small HTML subset."""

    buttons: int
    max_text: int
    html: bool


@dataclass(frozen=True)
class Piece:
    """One message to send: text, and the buttons it carries (already within the limits)."""

    text: str
    buttons: tuple[Button, ...] = ()


def _option(number: int, button: Button, commands: bool) -> str:
    if commands and button.payload.startswith("/"):
        return f"  [{number}] {button.label} — {button.payload}"
    return f"  [{number}] {button.label}"


def fit(replies: list[Reply], abilities: Abilities, commands: bool = False) -> list[list[Piece]]:
    """The core's replies as this channel's messages. Options are numbered across the turn in
    the order the dispatcher stored them, so a typed "2" means the same as the second button;
    where a message has more options than the channel shows as buttons (or it has none), the
    options become numbered lines (with `commands`, for a message outside a turn, each
    option's command, since its number cannot be typed back). One list of messages per reply
    (a long reply is split)."""
    groups: list[list[Piece]] = []
    number = 0
    for reply in replies:
        text = reply.text if abilities.html else plain(reply.text)
        options = [button for row in reply.buttons for button in row]
        as_buttons = 0 < len(options) <= abilities.buttons
        lines = []
        for button in options:
            number += 1
            if as_buttons:
                continue
            if button.is_link:
                lines.append(f"🔗 {button.label}: {button.payload}")
            else:  # in a turn the number is the way to choose: no command to puzzle over
                lines.append(_option(number, button, commands))
        if lines:
            text = text + "\n\n" + "\n".join(lines)
        parts = split(text, abilities.max_text)
        groups.append(
            [
                Piece(part, tuple(options) if as_buttons and index == len(parts) - 1 else ())
                for index, part in enumerate(parts)
            ]
        )
    return groups
