"""How the console shows times, sums and durations (Vietnam time, Vietnamese words)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from content import Content
from content.codes import ACTORS, AUDIT, CHANNELS, KINDS, ROLES
from db.clock import to_vietnam


def when(moment: datetime | None) -> str:
    return to_vietnam(moment).strftime("%H:%M %d/%m/%Y") if moment else ""


def day(moment: datetime | None) -> str:
    return to_vietnam(moment).strftime("%d/%m/%Y") if moment else ""


def money(words: Content, amount: int | None) -> str:
    figure = f"{amount:,}".replace(",", ".")
    return words.text("console.format.money", amount=figure) if amount else ""


def left(words: Content, delta: timedelta) -> str:
    """Time left (or overdue by), in words an officer reads at a glance."""
    late = delta.total_seconds() < 0
    minutes = int(abs(delta.total_seconds()) // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        span = words.text("console.format.days", days=days, hours=hours)
    elif hours:
        span = words.text("console.format.hours", hours=hours, minutes=mins)
    else:
        span = words.text("console.format.minutes", minutes=mins)
    return (
        words.text("console.format.late", span=span)
        if late
        else words.text("console.format.left", span=span)
    )


def size(nbytes: int) -> str:
    return f"{nbytes / 1024:.0f} KB" if nbytes < 1024 * 1024 else f"{nbytes / 1048576:.1f} MB"


def word(table: dict[str, str]) -> Callable[[str | None], str]:
    return lambda code: table.get(code or "", code or "")


def filters(words: Content) -> dict[str, Callable[..., Any]]:
    """The templates' filters, in the words of `words` (numbers only are filled in, so
    Content.text's escaping changes nothing and the templates escape the result once)."""
    return {
        "when": when,
        "day": day,
        "money": partial(money, words),
        "left": partial(left, words),
        "size": size,
        "role": word(ROLES),
        "channel": word(CHANNELS),
        "kind": word(KINDS),
        "actor": word(ACTORS),
        "audit": word(AUDIT),
    }
