"""The `canhgiac` command line: run the bot, chat in a terminal, migrate, back up and
restore, check content."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from bot import (
    broadcast_cli,
    key_cli,
    officer_cli,
    privacy_cli,
    report_cli,
    unit_cli,
    updates_cli,
)
from bot import settings as settings_module
from bot.wiring import build_dispatcher, configure_logging, open_database
from db import sealing
from db.engine import Database


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="canhgiac", description="Cảnh giác bot")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser(
        "run", help="run the bot (terminal chat when no messenger is configured)"
    )
    serve.add_argument(
        "--role",
        choices=("all", "web", "worker"),
        default="all",
        help="web: webhooks and the console; worker: outbox, alerts, scheduler; all: both",
    )
    commands.add_parser("chat", help="talk to the bot as a resident in this terminal")
    database = commands.add_parser("db", help="database tasks")
    database.add_subparsers(dest="action", required=True).add_parser(
        "upgrade", help="bring the database to the latest migration"
    )
    save = commands.add_parser("backup", help="copy the database to a file, while the bot runs")
    save.add_argument("--out", required=True, type=Path, help="the backup file to write")
    load = commands.add_parser(
        "restore", help="put a backup into the configured database, then migrate it"
    )
    load.add_argument("file", type=Path, help="a file made by `canhgiac backup`")
    load.add_argument(
        "--force", action="store_true", help="even if the database already holds reports"
    )
    words = commands.add_parser("content", help="content tasks")
    words.add_subparsers(dest="action", required=True).add_parser(
        "check", help="validate every text, button and limit"
    )
    officer_cli.add_arguments(commands)
    broadcast_cli.add_arguments(commands)
    updates_cli.add_arguments(commands)
    privacy_cli.add_arguments(commands)
    key_cli.add_arguments(commands)
    unit_cli.add_arguments(commands)
    report_cli.add_arguments(commands)
    jobs = commands.add_parser("jobs", help="scheduled work (reminders, escalation, digest)")
    tick = jobs.add_subparsers(dest="action", required=True).add_parser(
        "tick", help="do whatever is due now, once (e.g. from cron when the bot is not running)"
    )
    tick.add_argument("--at", default=None, help="ISO moment to act as (default: now)")
    bench = commands.add_parser("bench", help="benchmarks (run from a checkout)")
    benches = bench.add_subparsers(dest="action", required=True)
    intake = benches.add_parser(
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
    intake.add_argument(
        "--workers", type=int, default=1, help="web processes by webhook (PostgreSQL only)"
    )
    pace = benches.add_parser("broadcast", help="one alert to many, at a rate, and a SIGKILL")
    pace.add_argument("--recipients", type=int, default=10_000)
    pace.add_argument("--rate", type=float, default=1000, help="the platform's limit, msg/s")
    console = benches.add_parser("console", help="the web console's pages over many reports")
    console.add_argument("--reports", type=int, default=1_000_000, help="reports to fill")
    console.add_argument("--requests", type=int, default=200, help="timed requests per page")
    console.add_argument(
        "--database-url",
        default=None,
        help="default: a SQLite file under /tmp, kept; a scratch PostgreSQL URL is filled once",
    )
    console.add_argument(
        "--refill", action="store_true", help="fill again even if the database was filled before"
    )
    periodic = benches.add_parser(
        "report", help="the yearly periodic report (DOCX, XLSX) over many reports"
    )
    periodic.add_argument("--reports", type=int, default=1_000_000, help="reports to fill")
    periodic.add_argument("--runs", type=int, default=3, help="timed runs of each file")
    periodic.add_argument(
        "--database-url",
        default=None,
        help="default: a SQLite file under /tmp, kept; a scratch PostgreSQL URL is filled once",
    )
    periodic.add_argument(
        "--refill", action="store_true", help="fill again even if the database was filled before"
    )
    args = parser.parse_args(argv)
    if args.command == "key" and args.action == "new":  # before settings: production needs one
        return key_cli.new_line(key_cli.ring_if_any())

    try:
        settings = settings_module.load()
    except settings_module.SettingsError as error:
        print(f"canhgiac: {error}", file=sys.stderr)
        return 2
    configure_logging(settings)
    if settings.data_keys is not None:
        sealing.install(settings.data_keys)
    if settings.data_key_created:
        print(
            f"canhgiac: đã tạo khoá mã hoá dữ liệu cá nhân tại {settings.data_key_file} — "
            "giữ bí mật và sao lưu riêng (không cùng cơ sở dữ liệu): mất khoá là mất dữ liệu",
            file=sys.stderr,
        )
    if args.command == "key":
        return _on_database(settings, lambda db: key_cli.run(args, db, settings.data_key_file))
    if args.command == "content":
        from bot import content_check

        return content_check.run(settings.environment)
    if args.command == "bench":
        return _bench(args)
    if args.command == "officer":
        return _on_database(settings, lambda db: officer_cli.run(args, db, settings.public_url))
    if args.command == "unit":
        return _on_database(settings, lambda db: unit_cli.run(args, db, settings.police_chat_id))
    if args.command == "updates":
        return _on_database(settings, lambda db: updates_cli.run(args, db))
    if args.command == "privacy":
        return _on_database(settings, lambda db: privacy_cli.run(args, db, settings.retention))
    if args.command == "report":
        return _on_database(settings, lambda db: report_cli.run(args, db, settings.unit_name))
    if args.command == "broadcast":
        import content

        return _on_database(settings, lambda db: broadcast_cli.run(args, db, content.load()))
    if args.command == "jobs":
        return _jobs_tick(settings, args.at)
    if args.command in ("backup", "restore"):
        return _backup_or_restore(settings, args)
    if args.command == "db":
        open_database(settings).dispose()
        print("database is at the latest migration")
        return 0
    if args.command == "run" and settings.messenger:
        from bot.runner import run

        run(settings, args.role)
        return 0
    return _chat(settings)


def _on_database(settings: settings_module.Settings, command: Callable[[Database], int]) -> int:
    """Run one command against the migrated database, then let it go."""
    db = open_database(settings)
    try:
        return command(db)
    finally:
        db.dispose()


def _chat(settings: settings_module.Settings) -> int:
    """The terminal chat as a resident, with the console served beside it for the police."""
    if settings.is_production:
        print(
            "canhgiac: the terminal chat and its local admin link are for trying it out; "
            "in production configure a messenger and run `canhgiac run`",
            file=sys.stderr,
        )
        return 2
    from bot.channels.terminal import chat
    from bot.local import Beside, sign_in_link

    # The terminal is the chat screen here: only warnings and errors may interrupt it.
    root = logging.getLogger()
    root.setLevel(max(root.level, logging.WARNING))

    db = open_database(settings)
    beside = Beside(settings, db)
    try:
        if beside.start():
            link = sign_in_link(db, settings.public_url)
            print(
                "Bàn làm việc Công an (trình duyệt), đăng nhập một lần bằng liên kết:\n"
                f"  {link}\n"
                "Dưới đây: trò chuyện với bot như một người dân. Ctrl+D để thoát.\n",
                flush=True,
            )
        chat(build_dispatcher(settings, db), db, settings.terminal_user, lock=beside.lock)
    except KeyboardInterrupt:
        pass
    finally:
        beside.stop()
        db.dispose()
    return 0


def _jobs_tick(settings: settings_module.Settings, at: str | None) -> int:
    import content
    from bot.backup import BackupError
    from bot.scheduler import backup_due, plan, run_due
    from db.clock import utcnow

    try:
        now = datetime.fromisoformat(at) if at else utcnow()
    except ValueError:
        print(f"canhgiac: --at must be an ISO moment, got {at!r}", file=sys.stderr)
        return 2
    if now.tzinfo is None:
        print("canhgiac: --at needs a time zone, e.g. 2026-11-23T07:30+07:00", file=sys.stderr)
        return 2
    db = open_database(settings)
    try:
        queued = run_due(db, content.load(), now.astimezone(UTC), plan(settings))
        print(f"queued {queued} message(s)")
        made = backup_due(db, now.astimezone(UTC), plan(settings))
    except (BackupError, OSError) as error:
        print(f"canhgiac: backup failed: {error}", file=sys.stderr)
        return 1
    finally:
        db.dispose()
    if made is not None:
        print(f"backed up to {made}")
    return 0


def _backup_or_restore(settings: settings_module.Settings, args: argparse.Namespace) -> int:
    from bot import backup

    try:
        if args.command == "backup":
            print(f"backed up to {backup.backup(settings.database_url, args.out)}")
        else:
            backup.restore(settings.database_url, args.file, force=args.force)
            print(f"restored {args.file}; the database is at the latest migration")
    except (backup.BackupError, OSError) as error:
        print(f"canhgiac: {error}", file=sys.stderr)
        return 1
    return 0


def _bench(args: argparse.Namespace) -> int:
    # The benchmarks and the stand-in servers they use live in the checkout, not the package.
    root = str(Path(__file__).resolve().parent.parent)
    if root not in sys.path:
        sys.path.insert(0, root)
    if args.action == "broadcast":
        from bench.broadcast import run as broadcast

        return broadcast(args.recipients, args.rate)
    if args.action == "console":
        from bench.console import run as console

        return console(args.database_url, args.reports, args.requests, args.refill)
    if args.action == "report":
        from bench.report import run as report

        return report(args.database_url, args.reports, args.runs, args.refill)
    from bench.intake import run

    return run(args.database_url, args.residents, args.rate, args.seconds, args.workers)


if __name__ == "__main__":
    sys.exit(main())
