"""How the console shows times, sums and durations (Vietnam time, Vietnamese words)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from content.codes import ACTORS, AUDIT, CHANNELS, KINDS, ROLES
from db.clock import to_vietnam


def when(moment: datetime | None) -> str:
    return to_vietnam(moment).strftime("%H:%M %d/%m/%Y") if moment else ""


def day(moment: datetime | None) -> str:
    return to_vietnam(moment).strftime("%d/%m/%Y") if moment else ""


def money(amount: int | None) -> str:
    return f"{amount:,}".replace(",", ".") + " đ" if amount else ""


def left(delta: timedelta) -> str:
    """Time left (or overdue by), in words an officer reads at a glance."""
    late = delta.total_seconds() < 0
    minutes = int(abs(delta.total_seconds()) // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        span = f"{days} ngày {hours} giờ"
    elif hours:
        span = f"{hours} giờ {mins} phút"
    else:
        span = f"{mins} phút"
    return f"quá hạn {span}" if late else f"còn {span}"


def size(nbytes: int) -> str:
    return f"{nbytes / 1024:.0f} KB" if nbytes < 1024 * 1024 else f"{nbytes / 1048576:.1f} MB"


FILTERS = {"when": when, "day": day, "money": money, "left": left, "size": size}


def word(table: dict[str, str]) -> Callable[[str | None], str]:
    return lambda code: table.get(code or "", code or "")


FILTERS.update(
    role=word(ROLES),
    channel=word(CHANNELS),
    kind=word(KINDS),
    actor=word(ACTORS),
    audit=word(AUDIT),
)
