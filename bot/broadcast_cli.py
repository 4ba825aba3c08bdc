"""`canhgiac broadcast …`: alerts from the command line, for automation. Shell access to the
server is the operator's authority, so `approve` here stands in for a lead's approval."""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlmodel import Session

from bot.channels import registry
from content import Content
from db import broadcasts, outbox
from db.clock import utcnow
from db.engine import Database
from db.models import Broadcast
from handlers import alerts
from handlers.broadcast import MAX_TEXT, parse_when, progress_bar

CHANNELS = set(registry.NAMES)


def add_arguments(commands: argparse._SubParsersAction) -> None:
    broadcast = commands.add_parser("broadcast", help="alerts to subscribers")
    actions = broadcast.add_subparsers(dest="action", required=True)
    create = actions.add_parser("create", help="write an alert (it awaits approval)")
    create.add_argument("--text-file", required=True, type=Path)
    create.add_argument("--photo", type=Path, default=None)
    create.add_argument("--link", default=None, help="a https:// address for a button")
    create.add_argument("--link-label", default=None)
    create.add_argument("--audience", default="all", help="all | area:<code> | channel:<name>")
    create.add_argument(
        "--at", default=None, help="'25/11 08:00' Vietnam time, or ISO with zone (default: now)"
    )
    approve = actions.add_parser("approve", help="approve an alert (as a lead would)")
    approve.add_argument("id", type=int)
    actions.add_parser("list", help="recent alerts with progress")
    cancel = actions.add_parser("cancel", help="cancel an alert that has not started")
    cancel.add_argument("id", type=int)
    status = actions.add_parser("status", help="progress of one alert")
    status.add_argument("id", type=int)
    status.add_argument("--follow", action="store_true", help="redraw until it is done")


def run(args: argparse.Namespace, db: Database, content: Content) -> int:
    try:
        if args.action == "status":
            return _status(db, content, args.id, args.follow)
        with db.transaction() as session:
            now = utcnow()
            if args.action == "create":
                made = _create(session, content, args, now)
                print(made.id)  # for scripts: the new alert's number
            elif args.action == "approve":
                found = _get(session, args.id)
                broadcasts.approve(session, found, _operator(content), now)
                for effect in alerts.decided(session, content, found):
                    outbox.enqueue(session, effect, now)
                print(f"approved #{found.id}; sends at {alerts.when(found.send_at)}")
            elif args.action == "cancel":
                found = _get(session, args.id)
                broadcasts.cancel(session, found, _operator(content), now)
                print(f"cancelled #{found.id}")
            elif args.action == "list":
                for found in broadcasts.recent(session):
                    described = _plain(alerts.describe(content, session, found))
                    print(f"[{found.kind}] {found.author}: {described}")
    except (broadcasts.BroadcastError, ValueError, OSError) as error:
        print(f"canhgiac: {error}", file=sys.stderr)
        return 2
    return 0


def _moment(raw: str, now: datetime) -> datetime:
    """'25/11 08:00' (Vietnam time, as staff type it in the chat) or an ISO moment with zone."""
    typed = parse_when(raw, now)
    if typed is not None:
        return typed
    try:
        at = datetime.fromisoformat(raw)
    except ValueError as error:
        raise ValueError(
            "--at takes '25/11 08:00' (Vietnam time) or 2026-11-25T08:00+07:00"
        ) from error
    if at.tzinfo is None:
        raise ValueError("--at needs a time zone, e.g. 2026-11-25T08:00+07:00")
    return at


def _create(
    session: Session, content: Content, args: argparse.Namespace, now: datetime
) -> Broadcast:
    text = args.text_file.read_text(encoding="utf-8").strip()
    if not text or len(text) > MAX_TEXT:
        raise ValueError(f"the text must be 1–{MAX_TEXT} characters")
    at = _moment(args.at, now) if args.at else now
    areas = {a["code"] for a in content.areas}
    audience = broadcasts.parse_audience(args.audience, areas, CHANNELS)
    if args.link and not args.link.startswith(("https://", "http://")):
        raise ValueError("--link must start with https://")
    made = broadcasts.create(
        session,
        text=text,
        audience=audience,
        send_at=at.astimezone(UTC),
        author=_operator(content),
        now=now,
        photo=args.photo.read_bytes() if args.photo else None,
        link_url=args.link,
        link_label=args.link_label,
    )
    for effect in alerts.submitted(session, content, made):
        outbox.enqueue(session, effect, now)
    return made


def _operator(content: Content) -> str:
    """How a command-line author or approver appears to staff and in the record."""
    return content.text("broadcast.operator")


def _get(session: Session, broadcast_id: int) -> Broadcast:
    found = broadcasts.find(session, str(broadcast_id))
    if found is None:
        raise broadcasts.BroadcastError(f"no broadcast #{broadcast_id}")
    return found


def _status(db: Database, content: Content, broadcast_id: int, follow: bool) -> int:
    while True:
        with db.transaction() as session:
            found = _get(session, broadcast_id)
            line = _plain(alerts.describe(content, session, found))
            bar = progress_bar(broadcasts.progress(session, broadcast_id))
            settled = found.status not in (broadcasts.APPROVED, broadcasts.SENDING)
        print(f"\r{bar}  {line}", end="" if follow and not settled else "\n", flush=True)
        if not follow or settled:
            return 0
        time.sleep(1)


def _plain(text: str) -> str:
    return text.replace("<b>", "").replace("</b>", "")
