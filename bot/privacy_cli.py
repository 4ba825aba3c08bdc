"""`canhgiac privacy purge [--dry-run]`: clear what is past its retention period, now."""

from __future__ import annotations

import argparse

from db import retention
from db.clock import utcnow
from db.engine import Database


def add_arguments(commands: argparse._SubParsersAction) -> None:
    privacy = commands.add_parser("privacy", help="personal data: the retention purge")
    actions = privacy.add_subparsers(dest="action", required=True)
    purge = actions.add_parser(
        "purge", help="clear what is past its retention period (the scheduler does it daily)"
    )
    purge.add_argument(
        "--dry-run", action="store_true", help="count what would be cleared; change nothing"
    )


def run(args: argparse.Namespace, db: Database, policy: retention.Policy) -> int:
    with db.transaction() as session:
        counts = retention.purge(session, policy, utcnow(), dry_run=args.dry_run)
    verb = "would clear" if args.dry_run else "cleared"
    for kind, count in counts.items():
        print(f"{kind}\t{verb} {count}")
    print(f"{sum(counts.values())} row(s) {verb} in all (recorded in purge_run)")
    return 0
