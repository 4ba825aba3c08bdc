"""`canhgiac officer …`: bootstrap and manage ward staff from the command line."""

from __future__ import annotations

import argparse

from db import officers
from db.engine import Database


def add_arguments(commands: argparse._SubParsersAction) -> None:
    officer = commands.add_parser("officer", help="manage ward police and staff")
    actions = officer.add_subparsers(dest="action", required=True)
    add = actions.add_parser("add", help="add an officer")
    add.add_argument("--name", required=True)
    add.add_argument("--role", required=True, choices=officers.ROLES)
    add.add_argument("--telegram-id", type=int, default=None)
    actions.add_parser("list", help="list officers")
    remove = actions.add_parser("remove", help="deactivate an officer (history keeps them)")
    remove.add_argument("id", type=int)
    role = actions.add_parser("set-role", help="change an officer's role")
    role.add_argument("id", type=int)
    role.add_argument("role", choices=officers.ROLES)


def run(args: argparse.Namespace, db: Database) -> int:
    try:
        with db.transaction() as session:
            if args.action == "add":
                officer = officers.add(session, args.name, args.role, args.telegram_id)
                print(f"added officer #{officer.id}: {officer.name} ({officer.role})")
            elif args.action == "list":
                for o in officers.every(session):
                    state = "active" if o.active else "removed"
                    print(f"#{o.id}\t{o.name}\t{o.role}\ttelegram:{o.telegram_id or '-'}\t{state}")
            elif args.action == "remove":
                officer = officers.deactivate(session, args.id)
                print(f"removed officer #{officer.id}: {officer.name}")
            elif args.action == "set-role":
                officer = officers.set_role(session, args.id, args.role)
                print(f"officer #{officer.id} is now {officer.role}")
    except officers.OfficerError as error:
        print(f"canhgiac: {error}")
        return 2
    return 0
