"""The `canhgiac` command line: run the bot, chat in a terminal, migrate, check content."""

from __future__ import annotations

import argparse
import sys

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
    args = parser.parse_args(argv)

    try:
        settings = settings_module.load()
    except settings_module.SettingsError as error:
        print(f"canhgiac: {error}", file=sys.stderr)
        return 2
    configure_logging(settings)
    if args.command == "content":
        return _content_check()
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

    db = open_database(settings)
    try:
        chat(build_dispatcher(settings, db), db, settings.terminal_user)
    except KeyboardInterrupt:
        pass
    finally:
        db.dispose()
    return 0


def _content_check() -> int:
    from bot.content_check import problems

    found = problems()
    for problem in found:
        print(problem)
    print("content: OK" if not found else f"content: {len(found)} problem(s)")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
