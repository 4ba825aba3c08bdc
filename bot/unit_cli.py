"""`canhgiac unit add|list|set|import|officer`: the police units of a deployment and the
areas they cover (a province loads its communes and wards from a CSV)."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from pathlib import Path

from sqlmodel import Session, col, func, select

from db import accounts, outbox, reports, units
from db.clock import utcnow
from db.engine import Database
from db.models import Area, Officer, Report, Unit
from handlers import police, triage


def add_arguments(commands: argparse._SubParsersAction) -> None:
    unit = commands.add_parser("unit", help="police units and the areas they cover")
    actions = unit.add_subparsers(dest="action", required=True)
    add = actions.add_parser("add", help="add a unit")
    add.add_argument("--name", required=True, help="e.g. 'Công an phường Nam Gia Nghĩa'")
    add.add_argument("--kind", choices=units.KINDS, default=units.WARD)
    actions.add_parser("list", help="units with their areas, officers and open reports")
    change = actions.add_parser("set", help="change a unit's name, kind, contacts or deadlines")
    change.add_argument("id", type=int)
    change.add_argument("--name")
    change.add_argument("--kind", choices=units.KINDS)
    change.add_argument("--duty-phone")
    change.add_argument("--address")
    change.add_argument("--ack-hours", type=float)
    change.add_argument("--urgent-ack-minutes", type=float)
    change.add_argument("--resolve-days", type=int)
    change.add_argument(
        "--telegram-chat",
        help="the unit's own Telegram police group id (e.g. -1001234567890); 'none' to share "
        "POLICE_CHAT_ID's group again",
    )
    load = actions.add_parser("import", help="load areas from a CSV: code,name,unit")
    load.add_argument("file", type=Path)
    member = actions.add_parser("officer", help="move an officer to a unit")
    member.add_argument("officer", type=int)
    member.add_argument("unit", type=int)


def run(args: argparse.Namespace, db: Database, police_chat_id: str = "") -> int:
    try:
        with db.transaction() as session:
            now = utcnow()
            if args.action == "add":
                made = units.add(session, args.name, args.kind, now)
                print(f"added unit #{made.id}: {made.name} ({made.kind})")
            elif args.action == "set":
                found = units.get(session, args.id)
                if found is None:
                    raise units.UnitError(f"Không có đơn vị #{args.id}.")
                units.update(
                    session,
                    found,
                    name=args.name,
                    kind=args.kind,
                    duty_phone=args.duty_phone,
                    address=args.address,
                    ack_hours=args.ack_hours,
                    urgent_ack_minutes=args.urgent_ack_minutes,
                    resolve_days=args.resolve_days,
                )
                if args.telegram_chat is not None:
                    chat = _chat_id(args.telegram_chat)
                    if chat is not None and str(chat) == police_chat_id.strip():
                        chat = None  # POLICE_CHAT_ID's group: shared, and counted as one
                    _regroup(session, found, chat, now)
                print(f"unit #{found.id}: {found.name} ({found.kind})")
            elif args.action == "import":
                try:
                    text = args.file.read_text(encoding="utf-8")
                except (OSError, UnicodeDecodeError) as error:
                    raise units.UnitError(f"Không đọc được tệp {args.file}: {error}") from error
                loaded, created = units.import_areas(session, text, now)
                print(f"loaded {loaded} area(s); {created} new unit(s)")
            elif args.action == "officer":
                officer = session.get(Officer, args.officer)
                if officer is None or units.get(session, args.unit) is None:
                    raise units.UnitError("Không có cán bộ hoặc đơn vị này.")
                officer.unit_id = args.unit
                session.add(officer)
                # As in the console: what they held goes back to the old unit's queue, and
                # their sessions end (their pages showed the old unit's reports).
                actor = reports.Actor("canhgiac unit officer")
                for message in triage.release(session, officer, actor, now):
                    outbox.enqueue(session, message, now)
                accounts.end_sessions(session, officer.id or 0, now)
                print(f"officer #{officer.id} now in unit #{args.unit}")
            else:
                _list(session)
    except units.UnitError as error:
        print(f"canhgiac: {error}", file=sys.stderr)
        return 2
    return 0


def _regroup(session: Session, unit: Unit, chat: int | None, now: datetime) -> None:
    """The unit's group set; its open reports' cards move there (each refreshed: the old
    card points on), and police messages that waited for a group go now."""
    units.set_group(session, unit, chat)
    open_reports = session.exec(
        select(Report).where(
            Report.unit_id == unit.id,
            col(Report.status).in_(reports.OPEN),
            col(Report.card_message_id).is_not(None),
        )
    ).all()
    for report in open_reports:
        outbox.enqueue(session, police.card(report), now)
    outbox.release_waiting(session, police.POLICE, police.POLICE, now)
    shown = "POLICE_CHAT_ID's group" if chat is None else f"Telegram group {chat}"
    print(f"unit #{unit.id} now posts to {shown}; {len(open_reports)} open card(s) will move")


def _chat_id(typed: str) -> int | None:
    if typed.strip().lower() in ("none", ""):
        return None
    try:
        return int(typed)
    except ValueError:
        raise units.UnitError("Mã nhóm Telegram phải là số, ví dụ -1001234567890.") from None


def _list(session: Session) -> None:
    areas = dict(session.exec(select(Area.unit_id, func.count()).group_by(col(Area.unit_id))).all())
    people = dict(
        session.exec(
            select(Officer.unit_id, func.count())
            .where(col(Officer.active).is_(True))
            .group_by(col(Officer.unit_id))
        ).all()
    )
    open_reports = dict(
        session.exec(
            select(Report.unit_id, func.count())
            .where(col(Report.status).in_(reports.OPEN))
            .group_by(col(Report.unit_id))
        ).all()
    )
    for unit in units.all_units(session):
        assert unit.id is not None
        print(
            f"#{unit.id}\t{unit.name}\t{unit.kind}\tareas {areas.get(unit.id, 0)}\t"
            f"officers {people.get(unit.id, 0)}\topen reports {open_reports.get(unit.id, 0)}"
            + (f"\ttelegram group {unit.telegram_chat_id}" if unit.telegram_chat_id else "")
        )
