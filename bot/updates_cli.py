"""`canhgiac updates …`: the platform updates set aside after failing, and replaying them."""

from __future__ import annotations

import argparse

from db import failed_updates
from db.engine import Database
from db.models import FailedUpdate


def add_arguments(commands: argparse._SubParsersAction) -> None:
    updates = commands.add_parser("updates", help="updates that failed and were set aside")
    actions = updates.add_subparsers(dest="action", required=True)
    listing = actions.add_parser("list", help="list set-aside updates, newest first")
    listing.add_argument("--all", action="store_true", help="replayed ones too")
    show = actions.add_parser("show", help="one set-aside update in full")
    show.add_argument("id", type=int)
    replay = actions.add_parser(
        "replay", help="have the running bot take these updates again (ids, or --all)"
    )
    replay.add_argument("ids", type=int, nargs="*")
    replay.add_argument("--all", action="store_true", help="every update still failed")


def run(args: argparse.Namespace, db: Database) -> int:
    with db.transaction() as session:
        if args.action == "list":
            status = None if args.all else failed_updates.FAILED
            rows = failed_updates.listed(session, status)
            for row in rows:
                print(
                    f"#{row.id}\t{row.channel}\t{row.update_id}\t{row.status}\t"
                    f"{row.failed_at:%Y-%m-%d %H:%M}\t{row.attempts} tries\t{row.error[:80]}"
                )
            if not rows:
                print("no failed updates")
        elif args.action == "show":
            found = session.get(FailedUpdate, args.id)
            if found is None:
                print(f"canhgiac: no failed update #{args.id}")
                return 2
            print(f"#{found.id} {found.channel} update {found.update_id}: {found.status}")
            print(f"error: {found.error}")
            print(f"body: {found.body}")
        elif args.action == "replay":
            ids = args.ids or [
                row.id
                for row in failed_updates.listed(session, failed_updates.FAILED, limit=10_000)
                if row.id is not None and args.all
            ]
            if not ids:
                print("canhgiac: name the updates to replay, or --all")
                return 2
            marked = failed_updates.ask_replay(session, ids)
            print(f"{marked} update(s) will be taken again by the running bot")
    return 0
