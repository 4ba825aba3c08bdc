"""Police units and their areas: where a report goes, and which reports an officer sees.

A single-ward deployment has one unit (made by the migration) and takes its areas from
content/areas.yaml; a province loads its communes and wards from a CSV (`canhgiac unit
import`) and adds a province-level unit, which receives reports with no known area and sees
every unit's."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, col, select

from content import fold
from db.models import Area, Officer, Report, Unit

DEFAULT = 1  # the unit the migration made
WARD, PROVINCE = "ward", "province"
KINDS = (WARD, PROVINCE)
AREA_CODE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")


class UnitError(ValueError):
    """A unit or area file that cannot be taken as it is; the message says why, in Vietnamese."""


@dataclass(frozen=True)
class Place:
    """An area as a resident picks it."""

    code: str
    name: str
    unit_id: int


@dataclass(frozen=True)
class Scope:
    """The units whose reports an officer sees: one, or all (`units` None)."""

    units: frozenset[int] | None

    def sees(self, unit_id: int | None) -> bool:
        return self.units is None or (unit_id or DEFAULT) in self.units


EVERYWHERE = Scope(None)


def get(session: Session, unit_id: int) -> Unit | None:
    return session.get(Unit, unit_id)


def all_units(session: Session) -> list[Unit]:
    return list(session.exec(select(Unit).order_by(col(Unit.id))).all())


def province(session: Session) -> Unit | None:
    return session.exec(select(Unit).where(Unit.kind == PROVINCE).order_by(col(Unit.id))).first()


def loaded_areas(session: Session) -> bool:
    return session.exec(select(func.count()).select_from(Area)).one() > 0


def places(session: Session, fallback: list[dict[str, str]]) -> list[Place]:
    """Every area a resident can pick: the loaded ones, else the content file's (the one
    unit's)."""
    rows = session.exec(select(Area).order_by(col(Area.name))).all()
    if rows:
        return [Place(a.code, a.name, a.unit_id) for a in rows]
    return [Place(a["code"], a["name"], DEFAULT) for a in fallback]


def place(session: Session, code: str, fallback: list[dict[str, str]]) -> Place | None:
    area = session.get(Area, code)
    if area is not None:
        return Place(area.code, area.name, area.unit_id)
    if loaded_areas(session):
        return None
    found = next((a for a in fallback if a["code"] == code), None)
    return Place(found["code"], found["name"], DEFAULT) if found else None


def matching(session: Session, typed: str, fallback: list[dict[str, str]]) -> list[Place]:
    """Areas whose name holds what a resident typed, accents and case ignored ("nam gia
    nghia", "Phường Nam Gia Nghĩa"); an exact name first."""
    wanted = fold(typed)
    for prefix in ("phuong ", "xa ", "thi tran ", "dac khu "):
        wanted = wanted.removeprefix(prefix)
    if len(wanted) < 2:
        return []
    found = [p for p in places(session, fallback) if wanted in fold(p.name)]
    return sorted(found, key=lambda p: (not fold(p.name).endswith(wanted), len(p.name)))


def route(session: Session, area: str | None) -> int | None:
    """The unit a report from this area goes to: the area's unit; without a known area, the
    province's (to triage and pass on); with no province unit, the first unit (None if a
    database has no unit at all: read as the default everywhere)."""
    if area:
        found = session.get(Area, area)
        if found is not None:
            return found.unit_id
    top = province(session)
    if top is not None and top.id is not None:
        return top.id
    first = session.exec(select(Unit.id).order_by(col(Unit.id))).first()
    return int(first) if first is not None else None


def scope(session: Session, officer: Officer) -> Scope:
    """The officer's scope, worked out once per transaction (a console page asks several
    times: the queue, its counts, each assignee's name)."""
    key = ("units.scope", officer.id, officer.unit_id)
    found = session.info.get(key)
    if not isinstance(found, Scope):
        found = session.info[key] = _scope(session, officer)
    return found


def _scope(session: Session, officer: Officer) -> Scope:
    own = session.get(Unit, officer.unit_id or DEFAULT)
    if own is None:  # a unit that is gone: nothing, unless the deployment has no units at all
        anyone = session.exec(select(Unit.id)).first()
        return EVERYWHERE if anyone is None else Scope(frozenset({officer.unit_id or DEFAULT}))
    if own.kind == PROVINCE:
        return EVERYWHERE
    if session.exec(select(func.count()).select_from(Unit)).one() <= 1:
        return EVERYWHERE
    return Scope(frozenset({own.id or DEFAULT}))


def concerned(session: Session, officer: Officer, report: Report) -> bool:
    """Whether news of this report is for this officer: their unit's report, or, for a
    province officer, one routed to the province or urgent (trafficking reaches the province
    at once)."""
    own = session.get(Unit, officer.unit_id or DEFAULT)
    if own is None:
        return session.exec(select(Unit.id)).first() is None
    if (report.unit_id or DEFAULT) == own.id:
        return True
    return own.kind == PROVINCE and report.urgent


# --- Telegram police groups: a unit's own, or the deployment's (POLICE_CHAT_ID) -----------


def group_of(session: Session, unit_id: int | None) -> int | None:
    """The unit's own Telegram group; None: the deployment's group serves it."""
    unit = session.get(Unit, unit_id or DEFAULT)
    return unit.telegram_chat_id if unit else None


def is_police_group(session: Session, chat_id: int) -> bool:
    found = select(Unit.id).where(col(Unit.telegram_chat_id) == chat_id)
    return session.exec(found).first() is not None


@dataclass(frozen=True)
class Group:
    """One Telegram police group and the reports it hears about: its units', or, with the
    province's unit among them, all. `unit_id` names one of its units (None: the
    deployment's group, POLICE_CHAT_ID)."""

    unit_id: int | None
    scope: Scope
    names: tuple[str, ...]


def groups(session: Session) -> list[Group]:
    """Every police group in use, each once: the units sharing a chat id are one group, and
    the units with none share the deployment's."""
    by_chat: dict[int | None, list[Unit]] = {}
    for unit in all_units(session):
        by_chat.setdefault(unit.telegram_chat_id, []).append(unit)
    found = []
    for chat, members in by_chat.items():
        ids = frozenset(u.id or DEFAULT for u in members)
        everything = any(u.kind == PROVINCE for u in members) or len(by_chat) == 1
        found.append(
            Group(
                None if chat is None else members[0].id,
                EVERYWHERE if everything else Scope(ids),
                tuple(u.name for u in members),
            )
        )
    return found or [Group(None, EVERYWHERE, ())]


def name_of(session: Session, unit_id: int | None) -> str:
    unit = session.get(Unit, unit_id or DEFAULT)
    return unit.name if unit else ""


# --- administration ------------------------------------------------------------------------


def add(session: Session, name: str, kind: str, now: datetime) -> Unit:
    name = " ".join(name.split())
    if not 1 <= len(name) <= 128:
        raise UnitError("Tên đơn vị phải có từ 1 đến 128 ký tự.")
    if kind not in KINDS:
        raise UnitError(f"Loại đơn vị phải là {WARD} hoặc {PROVINCE}.")
    if kind == PROVINCE and province(session) is not None:
        raise UnitError("Đã có một đơn vị cấp tỉnh.")
    unit = Unit(name=name, kind=kind, created_at=now)
    session.add(unit)
    session.flush()
    return unit


def update(session: Session, unit: Unit, **changes: object) -> Unit:
    for key, value in changes.items():
        if value is None:
            continue
        if key == "name":
            value = " ".join(str(value).split())
            if not 1 <= len(str(value)) <= 128:
                raise UnitError("Tên đơn vị phải có từ 1 đến 128 ký tự.")
        if key == "kind" and value not in KINDS:
            raise UnitError(f"Loại đơn vị phải là {WARD} hoặc {PROVINCE}.")
        if key == "kind" and value == PROVINCE:
            other = province(session)
            if other is not None and other.id != unit.id:
                raise UnitError("Đã có một đơn vị cấp tỉnh.")
        setattr(unit, key, value)
    session.add(unit)
    return unit


def set_group(session: Session, unit: Unit, chat_id: int | None) -> Unit:
    """Give the unit its own Telegram police group (a group's id is negative), or None to
    share the deployment's again."""
    if chat_id is not None and chat_id >= 0:
        raise UnitError("Mã nhóm Telegram phải là số âm, ví dụ -1001234567890.")
    unit.telegram_chat_id = chat_id
    session.add(unit)
    return unit


def import_areas(session: Session, text: str, now: datetime) -> tuple[int, int]:
    """Load a CSV of areas (columns: code, name, unit — the unit's name; a unit not yet known
    is created). The whole file or nothing: any bad line is refused with its number. Returns
    (areas loaded, units created)."""
    rows = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
    if not rows:
        raise UnitError("Tệp không có dòng nào (cần các cột code, name, unit).")
    missing = {"code", "name", "unit"} - set(rows[0])
    if missing:
        raise UnitError("Thiếu cột: " + ", ".join(sorted(missing)) + ".")
    by_name = {fold(u.name): u for u in all_units(session)}
    created, seen = 0, set()
    for number, row in enumerate(rows, start=2):  # line 1 is the header
        code = (row["code"] or "").strip().lower()
        name = " ".join((row["name"] or "").split())
        unit_name = " ".join((row["unit"] or "").split())
        if not AREA_CODE.match(code):
            raise UnitError(f"Dòng {number}: mã khu vực «{code}» không hợp lệ (a-z, 0-9, - _).")
        if code in seen:
            raise UnitError(f"Dòng {number}: mã khu vực «{code}» lặp lại.")
        if not 1 <= len(name) <= 128 or not 1 <= len(unit_name) <= 128:
            raise UnitError(f"Dòng {number}: thiếu tên khu vực hoặc tên đơn vị.")
        seen.add(code)
        unit = by_name.get(fold(unit_name))
        if unit is None:
            unit = add(session, unit_name, WARD, now)
            by_name[fold(unit_name)] = unit
            created += 1
        assert unit.id is not None
        area = session.get(Area, code) or Area(code=code, name=name, folded="", unit_id=unit.id)
        area.name, area.folded, area.unit_id = name, fold(name)[:128], unit.id
        session.add(area)
    return len(seen), created


def transfer(session: Session, report: Report, unit_id: int) -> Unit:
    unit = session.get(Unit, unit_id)
    if unit is None:
        raise UnitError("Không có đơn vị này.")
    if (report.unit_id or DEFAULT) == unit_id:
        raise UnitError("Tố giác đã thuộc đơn vị này.")
    report.unit_id = unit_id
    report.claimed_by = None  # the other unit's officers take it up
    session.add(report)
    return unit
