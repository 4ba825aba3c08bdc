"""The `canhgiac` command line: run the bot, chat in a terminal, migrate, check content."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from bot import officer_cli
from bot import settings as settings_module
from bot.wiring import build_dispatcher, configure_logging, open_database


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="canhgiac", description="Cảnh giác bot")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("run", help="run the bot (terminal chat when no messenger is configured)")
    commands.add_parser("chat", help="talk to the bot as a resident in this terminal")
    database = commands.add_parser("db", help="database tasks")
    database.add_subparsers(dest="action", required=True).add_parser(
        "upgrade", help="bring the database to the latest migration"
    )
    words = commands.add_parser("content", help="content tasks")
    words.add_subparsers(dest="action", required=True).add_parser(
        "check", help="validate every text, button and limit"
    )
    officer_cli.add_arguments(commands)
    bench = commands.add_parser("bench", help="benchmarks (run from a checkout)")
    intake = bench.add_subparsers(dest="action", required=True).add_parser(
        "intake", help="residents reporting through Telegram, against an echo bot"
    )
    intake.add_argument("--residents", type=int, default=32, help="residents when saturating")
    intake.add_argument("--rate", type=float, default=100, help="updates/s offered, paced")
    intake.add_argument("--seconds", type=float, default=15, help="length of each phase")
    intake.add_argument(
        "--database-url",
        default=None,
        help="default: a fresh SQLite file; a PostgreSQL URL gets bench data",
    )
    args = parser.parse_args(argv)

    try:
        settings = settings_module.load()
    except settings_module.SettingsError as error:
        print(f"canhgiac: {error}", file=sys.stderr)
        return 2
    configure_logging(settings)
    if args.command == "content":
        return _content_check()
    if args.command == "bench":
        return _bench(args)
    if args.command == "officer":
        db = open_database(settings)
        try:
            return officer_cli.run(args, db)
        finally:
            db.dispose()
    if args.command == "db":
        open_database(settings).dispose()
        print("database is at the latest migration")
        return 0
    if args.command == "run" and settings.telegram_bot_token:
        from bot.runner import run

        run(settings)
        return 0
    return _chat(settings)


def _chat(settings: settings_module.Settings) -> int:
    from bot.channels.terminal import chat

    # The terminal is the chat screen here: only warnings and errors may interrupt it.
    root = logging.getLogger()
    root.setLevel(max(root.level, logging.WARNING))

    db = open_database(settings)
    try:
        chat(build_dispatcher(settings, db), db, settings.terminal_user)
    except KeyboardInterrupt:
        pass
    finally:
        db.dispose()
    return 0


def _bench(args: argparse.Namespace) -> int:
    # The benchmarks and the stand-in servers they use live in the checkout, not the package.
    root = str(Path(__file__).resolve().parent.parent)
    if root not in sys.path:
        sys.path.insert(0, root)
    from bench.intake import run

    return run(args.database_url, args.residents, args.rate, args.seconds)


def _content_check() -> int:
    from bot.content_check import problems

    found = problems()
    for problem in found:
        print(problem)
    print("content: OK" if not found else f"content: {len(found)} problem(s)")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
