"""`canhgiac run` with a messenger: the channels, the outbox sender and the web app, together
in one event loop, until a signal stops them."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Iterator
from urllib.parse import urlsplit

import uvicorn

import content
from bot import maintenance
from bot.channels.telegram import TelegramChannel
from bot.outbox_sender import OutboxSender, Transport
from bot.settings import Settings
from bot.web import create_app
from bot.wiring import build_dispatcher, open_database
from db import secrets
from db.clock import utcnow
from db.engine import Database
from handlers import triage

log = logging.getLogger(__name__)


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield  # SIGINT/SIGTERM belong to serve(), which stops everything in order


def run(settings: Settings) -> None:
    asyncio.run(serve(settings))


def webhook_secret(settings: Settings, db: Database) -> str:
    """The configured secret, or one generated once and kept in the database."""
    if settings.telegram_webhook_secret:
        return settings.telegram_webhook_secret
    with db.transaction() as session:
        return secrets.get_or_create(session, "telegram_webhook_secret", utcnow())


async def serve(settings: Settings, stop: asyncio.Event | None = None) -> None:
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, stop.set)
    db = await asyncio.to_thread(open_database, settings)
    dispatcher = build_dispatcher(settings, db)
    telegram = TelegramChannel(
        token=settings.telegram_bot_token,
        api_root=settings.telegram_api_url,
        db=db,
        dispatcher=dispatcher,
        content=content.load(),
        evidence_max_bytes=settings.limits.evidence_max_bytes,
        police_chat_id=int(settings.police_chat_id) if settings.police_chat_id else None,
    )
    await telegram.start()
    transports: dict[str, Transport] = {"telegram": telegram.send_outbox}
    if settings.police_chat_id:  # without a police chat, tip cards wait in the outbox
        transports[triage.POLICE] = telegram.send_outbox
    sender = OutboxSender(db, transports)
    tasks = [
        asyncio.create_task(sender.run(stop), name="outbox"),
        asyncio.create_task(maintenance.run(db, stop), name="maintenance"),
    ]
    server: uvicorn.Server | None = None
    if settings.telegram_webhook_url:
        secret = await asyncio.to_thread(webhook_secret, settings, db)
        path = urlsplit(settings.telegram_webhook_url).path or "/telegram"
        app = create_app(db, telegram, telegram_path=path, telegram_secret=secret)
        config = uvicorn.Config(
            app,
            host=settings.http_host,
            port=settings.http_port,
            log_level="warning",
            lifespan="off",
        )
        server = _Server(config)
        tasks.append(asyncio.create_task(server.serve(), name="web"))
        await telegram.set_webhook(settings.telegram_webhook_url, secret)
        log.info("Telegram webhook at %s", settings.telegram_webhook_url)
    else:
        tasks.append(asyncio.create_task(telegram.poll(stop), name="polling"))
        log.info("Telegram polling started as @%s", telegram.username)
    print(f"canhgiac: running as @{telegram.username}", flush=True)
    await stop.wait()
    if server is not None:
        server.should_exit = True
    await asyncio.gather(*tasks, return_exceptions=True)
    await telegram.stop()
    db.dispose()
