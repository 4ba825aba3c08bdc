"""`canhgiac report periodic`: the period's report as a Word or Excel file, from the
figures db/statistics.py counts (the same the console shows)."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from datetime import date
from pathlib import Path

import content
from bot.periodic import docx, xlsx
from bot.periodic.tables import Labels
from db import statistics, units
from db.clock import to_vietnam, utcnow
from db.engine import Database


def add_arguments(commands: argparse._SubParsersAction) -> None:
    report = commands.add_parser("report", help="periodic reports upward (DOCX, XLSX)")
    actions = report.add_subparsers(dest="action", required=True)
    periodic = actions.add_parser("periodic", help="the report of a period, as a file")
    periodic.add_argument("--period", help="2026, 2026-H1, 2026-Q3 or 2026-11")
    periodic.add_argument("--from", dest="first", help="first day, YYYY-MM-DD (with --to)")
    periodic.add_argument("--to", dest="last", help="last day, YYYY-MM-DD (included)")
    periodic.add_argument("--format", choices=("docx", "xlsx"), default=None)
    periodic.add_argument("--out", type=Path, required=True, help="the file to write")
    periodic.add_argument(
        "--unit", type=int, default=None, help="one unit's reports (default: every unit, summed)"
    )


def period_of(args: argparse.Namespace) -> statistics.Period:
    if args.period and (args.first or args.last):
        raise statistics.PeriodError("give --period, or --from and --to, not both")
    if args.period:
        return statistics.parse_period(args.period)
    if not (args.first and args.last):
        raise statistics.PeriodError("give --period, or both --from and --to")
    return statistics.between(args.first, args.last)


def produce(
    db: Database, period: statistics.Period, kind: str, out: Path, unit: str, made_on: date
) -> Path:
    """Count, then write: one read-only pass over the database."""
    labels = Labels(content.load())
    with db.transaction() as session:
        stats = statistics.compute(session, period)
        rows = statistics.reports_of(session, period) if kind == "xlsx" else []
    if kind == "docx":
        return docx.write(stats, labels, unit, made_on, out)
    return xlsx.write(stats, labels, rows, unit, out)


def run(args: argparse.Namespace, db: Database, unit: str) -> int:
    try:
        period = period_of(args)
    except statistics.PeriodError as error:
        print(f"canhgiac: {error}", file=sys.stderr)
        return 2
    kind = args.format or args.out.suffix.lstrip(".").lower()
    if kind not in ("docx", "xlsx"):
        print("canhgiac: --format docx or xlsx (or an --out ending so)", file=sys.stderr)
        return 2
    if args.unit is not None:  # one unit's report, issued in its name
        with db.transaction() as session:
            counted = units.get(session, args.unit)
        if counted is None:
            print(f"canhgiac: no unit #{args.unit} (see canhgiac unit list)", file=sys.stderr)
            return 2
        period = dataclasses.replace(period, units=frozenset({args.unit}))
        unit = counted.name.upper()
    made = produce(db, period, kind, args.out, unit, to_vietnam(utcnow()).date())
    print(f"{made}: {period.first:%d/%m/%Y}–{period.last:%d/%m/%Y}")
    return 0
