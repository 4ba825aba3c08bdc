"""`canhgiac officer …`: bootstrap and manage ward staff from the command line."""

from __future__ import annotations

import argparse
from datetime import datetime

from sqlmodel import Session

from db import accounts, officers, outbox, reports
from db.clock import utcnow
from db.engine import Database
from db.models import Officer
from handlers import triage


def add_arguments(commands: argparse._SubParsersAction) -> None:
    officer = commands.add_parser("officer", help="manage ward police and staff")
    actions = officer.add_subparsers(dest="action", required=True)
    add = actions.add_parser("add", help="add an officer")
    add.add_argument("--name", required=True)
    add.add_argument("--role", required=True, choices=officers.ROLES)
    add.add_argument("--telegram-id", type=int, default=None)
    link = actions.add_parser("link", help="print a fresh one-time console set-up link")
    link.add_argument("id", type=int)
    actions.add_parser("list", help="list officers")
    remove = actions.add_parser("remove", help="deactivate an officer (history keeps them)")
    remove.add_argument("id", type=int)
    role = actions.add_parser("set-role", help="change an officer's role")
    role.add_argument("id", type=int)
    role.add_argument("role", choices=officers.ROLES)


def run(args: argparse.Namespace, db: Database, public_url: str) -> int:
    try:
        with db.transaction() as session:
            now = utcnow()
            if args.action == "add":
                officer = officers.add(session, args.name, args.role, args.telegram_id)
                print(f"added officer #{officer.id}: {officer.name} ({officer.role})")
                print(_setup_line(public_url, accounts.issue_link(session, officer, now)))
            elif args.action == "link":
                found = session.get(Officer, args.id)
                if found is None or not found.active:
                    raise officers.OfficerError(f"no active officer with id {args.id}")
                print(_setup_line(public_url, accounts.issue_link(session, found, now)))
            elif args.action == "list":
                for o in officers.every(session):
                    state = "active" if o.active else "removed"
                    print(
                        f"#{o.id}\t{o.name}\t{o.role}\tconsole:{o.username or '-'}"
                        f"\ttelegram:{o.telegram_id or '-'}\t{state}"
                    )
            elif args.action == "remove":
                officer = officers.deactivate(session, args.id)
                accounts.end_sessions(session, args.id, now)
                _release(session, officer, now)
                print(f"removed officer #{officer.id}: {officer.name}")
            elif args.action == "set-role":
                officer = officers.set_role(session, args.id, args.role)
                accounts.end_sessions(session, args.id, now)
                if not officers.may_triage(officer):
                    _release(session, officer, now)
                print(f"officer #{officer.id} is now {officer.role}")
    except officers.OfficerError as error:
        print(f"canhgiac: {error}")
        return 2
    return 0


def _setup_line(public_url: str, token: str) -> str:
    hours = int(accounts.SETUP_LIFETIME.total_seconds() // 3600)
    return f"console set-up link (one use, {hours} hours): {public_url}/setup/{token}"


def _release(session: Session, officer: Officer, now: datetime) -> None:
    """The reports they held go back to the queue (their cards redrawn)."""
    for message in triage.release(session, officer, reports.Actor("command line"), now):
        outbox.enqueue(session, message, now)
