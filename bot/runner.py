"""`canhgiac run`: the channels, the outbox senders, the web app with the console, together in
one event loop, until a signal stops them."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Iterator, Mapping
from urllib.parse import urlsplit

import uvicorn

import content
from bot import maintenance, webpush
from bot.broadcaster import Broadcaster, BulkSend
from bot.channels.telegram import TelegramChannel
from bot.channels.zalo_bot import ZaloBotChannel
from bot.channels.zalo_oa import ZaloOAChannel
from bot.channels.zalo_tokens import ZaloTokens
from bot.console import Console
from bot.liveness import Liveness, keep_running
from bot.outbox_sender import OutboxSender, Transport
from bot.scheduler import Scheduler, plan
from bot.settings import Settings
from bot.web import Routes, create_app
from bot.webpush import WebPushChannel
from bot.wiring import build_dispatcher, open_database
from db import secrets
from db.clock import utcnow
from db.engine import Database
from handlers import police
from handlers.dispatcher import Dispatcher

log = logging.getLogger(__name__)
SHUTDOWN_SECONDS = 15.0
# Police messages claimed at a time: the chat takes about 20 a minute, so a small batch lets
# an urgent card that arrives meanwhile go next.
POLICE_BATCH = 3
REPLAY_EVERY = 5.0  # seconds between looks for updates an admin asked to replay


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


async def serve(
    settings: Settings,
    stop: asyncio.Event | None = None,
    ready: asyncio.Event | None = None,
    db: Database | None = None,
    local: Mapping[str, Transport] | None = None,
) -> None:
    """Run every configured channel and the console until `stop`; `ready` is set once the web
    app listens. `local`: transports of this machine (the terminal chat run beside it)."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, stop.set)
    owned = db is None
    if db is None:
        db = await asyncio.to_thread(open_database, settings)
    dispatcher = build_dispatcher(settings, db)
    words = content.load()
    channels = Channels(settings, db, dispatcher, words)
    await channels.start()
    pusher = WebPushChannel(db=db, subject=settings.webpush_subject)
    await pusher.start()
    liveness = Liveness()
    transports = {**channels.transports(), **(local or {})}
    police_chat = {name: t for name, t in transports.items() if name == police.POLICE}
    residents = {name: t for name, t in transports.items() if name != police.POLICE}
    # Three lanes: the paced police chat must not hold up residents' messages, nor they it,
    # and officers' phones hear of an urgent report whatever either is doing.
    senders = [
        OutboxSender(db, residents),
        OutboxSender(db, police_chat, batch=POLICE_BATCH, never_give_up=True, name="police"),
        OutboxSender(db, {webpush.CHANNEL: pusher.send_outbox}, name="webpush"),
    ]
    scheduler = Scheduler(db, words, plan(settings), settings.jobs_every_seconds, liveness=liveness)
    scheduler.start()
    broadcaster = Broadcaster(
        db, channels.bulk(), settings.broadcast_rate, busy=channels.replying, content=words
    )
    tasks = [
        *(asyncio.create_task(s.run(stop, liveness), name=s.name) for s in senders if s.transports),
        asyncio.create_task(broadcaster.run(stop, liveness), name="broadcasts"),
        asyncio.create_task(maintenance.run(db, stop, liveness), name="maintenance"),
        asyncio.create_task(channels.replays(stop, liveness), name="replays"),
    ]
    # The web app always runs: /healthz (and the webhooks, when configured).
    routes = await channels.webhooks(settings, db)
    console = Console(
        db,
        words,
        settings.secure_cookies,
        settings.http_max_body_bytes,
        local=not settings.is_production,
    )
    app = create_app(
        db,
        routes,
        settings.http_max_body_bytes,
        liveness,
        channels.by_name(),
        console,
        settings.public_url,
    )
    config = uvicorn.Config(
        app,
        host=settings.http_host,
        port=settings.http_port,
        log_level="warning",
        lifespan="off",
        # The client's address (sign-in limits, the audit log) from trusted proxies only.
        proxy_headers=bool(settings.trusted_proxies),
        forwarded_allow_ips=settings.trusted_proxies or None,
    )
    server = _Server(config)
    web = asyncio.create_task(server.serve(), name="web")
    tasks.append(web)
    await _listening(server, web, settings.http_port)
    tasks += channels.pollers(stop, liveness)
    if channels.by_name():
        print(f"canhgiac: running as {channels.names()}", flush=True)
    print(f"canhgiac: console at {settings.public_url}", flush=True)
    if ready is not None:
        ready.set()
    await stop.wait()
    server.should_exit = True
    scheduler.stop()
    # A loop still waiting (for a database that is down) is cancelled, not waited for.
    _, stuck = await asyncio.wait(tasks, timeout=SHUTDOWN_SECONDS)
    for task in stuck:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await channels.stop()
    await pusher.stop()
    if owned:
        db.dispose()


async def _listening(server: uvicorn.Server, web: asyncio.Task[None], port: int) -> None:
    """Wait until uvicorn accepts connections, so no webhook arrives at a closed port."""
    while not server.started:
        if web.done():
            web.result()  # a bind error surfaces here rather than as a silent, deaf bot
            raise RuntimeError(f"the web server did not start on port {port}")
        await asyncio.sleep(0.01)


class Channels:
    """The messengers configured in settings, started and stopped together."""

    def __init__(
        self, settings: Settings, db: Database, dispatcher: Dispatcher, words: content.Content
    ) -> None:
        self.settings = settings
        cap = settings.limits.evidence_max_bytes
        self.telegram = (
            TelegramChannel(
                token=settings.telegram_bot_token,
                api_root=settings.telegram_api_url,
                db=db,
                dispatcher=dispatcher,
                content=words,
                evidence_max_bytes=cap,
                police_chat_id=int(settings.police_chat_id) if settings.police_chat_id else None,
            )
            if settings.telegram_bot_token
            else None
        )
        self.zalo_oa = (
            ZaloOAChannel(
                db=db,
                dispatcher=dispatcher,
                content=words,
                tokens=ZaloTokens(
                    db,
                    app_id=settings.zalo_oa_app_id,
                    secret_key=settings.zalo_app_secret_key or settings.zalo_oa_secret_key,
                    oauth_url=settings.zalo_oauth_url,
                    first_refresh_token=settings.zalo_oa_refresh_token,
                ),
                app_id=settings.zalo_oa_app_id,
                secret_key=settings.zalo_oa_secret_key,
                api_url=settings.zalo_api_url,
                evidence_max_bytes=cap,
                replay_window=settings.zalo_replay_seconds,
            )
            if settings.zalo_oa
            else None
        )
        self.zalo_bot = (
            ZaloBotChannel(
                token=settings.zalo_bot_token,
                api_url=settings.zalo_bot_api_url,
                db=db,
                dispatcher=dispatcher,
                content=words,
                evidence_max_bytes=cap,
            )
            if settings.zalo_bot_token
            else None
        )

    def by_name(self) -> dict[str, TelegramChannel | ZaloOAChannel | ZaloBotChannel]:
        """The configured channels under the names their outbox and delivery rows carry."""
        named = {"telegram": self.telegram, "zalo_oa": self.zalo_oa, "zalo_bot": self.zalo_bot}
        return {name: channel for name, channel in named.items() if channel is not None}

    async def start(self) -> None:
        for channel in self.by_name().values():
            await channel.start()

    async def stop(self) -> None:
        for channel in self.by_name().values():
            await channel.stop()

    def names(self) -> str:
        return ", ".join(
            f"@{channel.username}" if isinstance(channel, TelegramChannel) else name
            for name, channel in self.by_name().items()
        )

    def transports(self) -> dict[str, Transport]:
        found: dict[str, Transport] = {n: c.send_outbox for n, c in self.by_name().items()}
        if self.telegram and self.settings.police_chat_id:  # without one, cards wait
            found[police.POLICE] = self.telegram.send_outbox
        return found

    def bulk(self) -> dict[str, BulkSend]:
        return {name: channel.send_broadcast for name, channel in self.by_name().items()}

    def replying(self) -> bool:
        return bool(self.telegram and self.telegram.replying())

    async def webhooks(self, settings: Settings, db: Database) -> Routes:
        routes = Routes(zalo_oa=self.zalo_oa)
        if self.telegram and settings.telegram_webhook_url:
            routes.telegram = self.telegram
            routes.telegram_secret = await asyncio.to_thread(webhook_secret, settings, db)
            routes.telegram_path = urlsplit(settings.telegram_webhook_url).path or "/telegram"
            await self.telegram.set_webhook(settings.telegram_webhook_url, routes.telegram_secret)
        if self.zalo_bot and settings.zalo_bot_webhook_url:
            routes.zalo_bot = self.zalo_bot
            routes.zalo_bot_secret = await asyncio.to_thread(zalo_bot_secret, settings, db)
            await self.zalo_bot.set_webhook(settings.zalo_bot_webhook_url, routes.zalo_bot_secret)
        return routes

    def pollers(self, stop: asyncio.Event, liveness: Liveness) -> list[asyncio.Task[None]]:
        tasks = []
        if self.telegram and not self.settings.telegram_webhook_url:
            poll = self.telegram.poll(stop, liveness)
            tasks.append(asyncio.create_task(poll, name="telegram"))
        if self.zalo_bot and not self.settings.zalo_bot_webhook_url:
            tasks.append(asyncio.create_task(self.zalo_bot.poll(stop, liveness), name="zalo_bot"))
        return tasks

    async def replays(self, stop: asyncio.Event, liveness: Liveness) -> None:
        """Failed updates an admin asked to replay (`canhgiac updates replay`) are taken
        again by their channel's intake."""
        intakes = [
            intake
            for intake in (
                self.telegram and self.telegram.intake,
                self.zalo_oa and self.zalo_oa.intake,
                self.zalo_bot and self.zalo_bot.polled,
            )
            if intake
        ]

        async def one_round() -> bool:
            return sum([await intake.replay_asked() for intake in intakes]) > 0

        await keep_running("replays", one_round, stop, liveness, REPLAY_EVERY, 600.0)


def zalo_bot_secret(settings: Settings, db: Database) -> str:
    if settings.zalo_bot_webhook_secret:
        return settings.zalo_bot_webhook_secret
    with db.transaction() as session:
        return secrets.get_or_create(session, "zalo_bot_webhook_secret", utcnow())
