"""Who an alert may go to, by who writes it: in a province, a unit's staff reach their own
unit's areas and its leads approve; the province's staff reach any unit, area or everyone.
A single ward keeps every choice (everyone, an area, a channel)."""

from __future__ import annotations

import re

from sqlmodel import Session

from content import Content
from db import broadcasts, units
from db.models import Officer

# The chat offers at most this many (a province's many areas are chosen in the console).
MAX_BUTTONS = 20
MAX_AUDIENCE = 4096  # the column's width: 'unit:' and some hundreds of unit ids
ID = re.compile(r"[0-9]{1,9}")  # a unit id as typed or ticked (ASCII digits only)


def choices(session: Session, content: Content, author: Officer | None) -> list[str]:
    """The audiences this author may choose, in the order they are offered."""
    places = units.places(session, content.areas)
    channels = [f"channel:{c}" for c in broadcasts.subscribed_channels(session)]
    scope = units.scope(session, author) if author is not None else units.EVERYWHERE
    if scope.units is None:
        every_unit = (
            [f"unit:{u.id}" for u in units.all_units(session) if u.kind == units.WARD]
            if units.loaded_areas(session)
            else []
        )
        return [broadcasts.ALL, *every_unit, *(f"area:{p.code}" for p in places), *channels]
    own = set(scope.units)
    mine = [p for p in places if p.unit_id in own]
    return [*(f"unit:{u}" for u in sorted(own)), *(f"area:{p.code}" for p in mine)]


def several_units(unit_ids: list[str]) -> str:
    """The audience of the residents of several units' areas ('unit:3,5,8')."""
    picked = sorted({int(u) for u in map(str.strip, unit_ids) if ID.fullmatch(u)})
    return f"unit:{','.join(str(u) for u in picked)}"


def parse(session: Session, content: Content, author: Officer | None, raw: str) -> str:
    """The audience typed or picked, if this author may choose it; else BroadcastError.
    Several units ('unit:3,5') may be chosen by whoever may choose each of them."""
    wanted = raw.strip().lower()
    allowed = choices(session, content, author)
    kind, _, value = wanted.partition(":")
    if kind == "unit" and "," in value and len(wanted) <= MAX_AUDIENCE:
        mine = set(allowed)
        if all(f"unit:{part}" in mine for part in value.split(",")):
            return several_units(value.split(","))
    if wanted not in allowed:
        raise broadcasts.BroadcastError(
            f"audience must be one of {', '.join(allowed[:12])}, got {wanted!r}"
        )
    return wanted
