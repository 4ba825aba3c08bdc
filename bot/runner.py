"""`canhgiac run`: the channels, the outbox senders, the web app with the console, together in
one event loop, until a signal stops them; or a process's share of them (its role)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Iterator, Mapping

import uvicorn

import content
from bot import maintenance, webpush
from bot.broadcaster import Broadcaster, BulkSend
from bot.channels import registry
from bot.channels.telegram import TelegramChannel
from bot.console import Console
from bot.liveness import Liveness, keep_running
from bot.outbox_sender import OutboxSender, Transport
from bot.scheduler import Scheduler, plan
from bot.settings import Settings
from bot.web import create_app
from bot.webpush import WebPushChannel
from bot.wiring import build_dispatcher, open_database
from db import outbox, units
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
# What a process does (`canhgiac run --role`): take updates and serve the console, send and
# schedule, or both (one process alone).
WEB, WORKER, ALL = "web", "worker", "all"
ROLES = (ALL, WEB, WORKER)


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield  # SIGINT/SIGTERM belong to serve(), which stops everything in order


def run(settings: Settings, role: str = ALL) -> None:
    asyncio.run(serve(settings, role=role))


async def serve(
    settings: Settings,
    stop: asyncio.Event | None = None,
    ready: asyncio.Event | None = None,
    db: Database | None = None,
    local: Mapping[str, Transport] | None = None,
    role: str = ALL,
) -> None:
    """Run every configured channel and the console until `stop`; `ready` is set once the web
    app listens. `local`: transports of this machine (the terminal chat run beside it).
    `role`: WEB takes updates (webhooks, polls) and serves the console; WORKER sends the
    outbox and alerts and runs the scheduler; ALL does both. Every role serves /healthz."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    takes_updates, works = role in (WEB, ALL), role in (WORKER, ALL)
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
    # Both roles send: a web process the replies of the turns it takes, a worker the rest.
    channels = Channels(settings, db, dispatcher, words)
    await channels.start()
    liveness = Liveness()
    tasks: list[asyncio.Task[None]] = []
    pusher: WebPushChannel | None = None
    scheduler: Scheduler | None = None
    if works:
        pusher = WebPushChannel(db=db, subject=settings.webpush_subject)
        await pusher.start()
        scheduler = Scheduler(
            db, words, plan(settings), settings.jobs_every_seconds, liveness=liveness
        )
        scheduler.start()
        tasks += _work(settings, db, channels, pusher, words, local or {}, stop, liveness)
    # The web app always runs: /healthz; the webhooks and the console where updates are taken.
    routes = await channels.webhooks() if takes_updates else []
    console = (
        Console(
            db,
            words,
            settings.secure_cookies,
            settings.http_max_body_bytes,
            local=not settings.is_production,
        )
        if takes_updates
        else None
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
    if takes_updates:
        tasks += channels.pollers(stop, liveness)
    if channels.by_name():
        print(f"canhgiac: running as {channels.names()} ({role})", flush=True)
    if console is not None:
        print(f"canhgiac: console at {settings.public_url}", flush=True)
    if ready is not None:
        ready.set()
    await stop.wait()
    server.should_exit = True
    if scheduler is not None:
        scheduler.stop()
    # A loop still waiting (for a database that is down) is cancelled, not waited for.
    _, stuck = await asyncio.wait(tasks, timeout=SHUTDOWN_SECONDS)
    for task in stuck:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await channels.stop()
    if pusher is not None:
        await pusher.stop()
    if owned:
        db.dispose()


def _work(
    settings: Settings,
    db: Database,
    channels: Channels,
    pusher: WebPushChannel,
    words: content.Content,
    local: Mapping[str, Transport],
    stop: asyncio.Event,
    liveness: Liveness,
) -> list[asyncio.Task[None]]:
    """A worker's loops: the outbox lanes, the broadcaster, maintenance, replays."""
    transports = {**channels.transports(), **local}
    police_chat = {name: t for name, t in transports.items() if name == police.POLICE}
    residents = {name: t for name, t in transports.items() if name != police.POLICE}
    # Three lanes: the paced police chat must not hold up residents' messages, nor they it,
    # and officers' phones hear of an urgent report whatever either is doing.
    senders = [
        OutboxSender(db, residents),
        OutboxSender(db, police_chat, batch=POLICE_BATCH, never_give_up=True, name="police"),
        OutboxSender(db, {webpush.CHANNEL: pusher.send_outbox}, name="webpush"),
    ]
    broadcaster = Broadcaster(
        db, channels.bulk(), settings.broadcast_rate, busy=channels.replying, content=words
    )
    return [
        *(asyncio.create_task(s.run(stop, liveness), name=s.name) for s in senders if s.transports),
        asyncio.create_task(broadcaster.run(stop, liveness), name="broadcasts"),
        asyncio.create_task(maintenance.run(db, stop, liveness), name="maintenance"),
        asyncio.create_task(channels.replays(stop, liveness), name="replays"),
    ]


async def _listening(server: uvicorn.Server, web: asyncio.Task[None], port: int) -> None:
    """Wait until uvicorn accepts connections, so no webhook arrives at a closed port."""
    while not server.started:
        if web.done():
            web.result()  # a bind error surfaces here rather than as a silent, deaf bot
            raise RuntimeError(f"the web server did not start on port {port}")
        await asyncio.sleep(0.01)


class Channels:
    """The messengers configured in settings (bot/channels/registry.py), started and stopped
    together."""

    def __init__(
        self, settings: Settings, db: Database, dispatcher: Dispatcher, words: content.Content
    ) -> None:
        self.settings = settings
        self.parts = registry.Parts(settings, db, dispatcher, words)
        built = [(kind, kind.build(self.parts)) for kind in registry.KINDS]
        self.kinds = {kind.name: kind for kind, channel in built if channel is not None}
        self.running: dict[str, registry.Channel] = {
            kind.name: channel for kind, channel in built if channel is not None
        }
        found = self.running.get("telegram")
        self.telegram = found if isinstance(found, TelegramChannel) else None

    def by_name(self) -> dict[str, registry.Channel]:
        """The configured channels under the names their outbox and delivery rows carry."""
        return dict(self.running)

    async def start(self) -> None:
        for channel in self.running.values():
            await channel.start()

    async def stop(self) -> None:
        for channel in self.running.values():
            await channel.stop()

    def names(self) -> str:
        return ", ".join(
            f"@{channel.username}" if isinstance(channel, TelegramChannel) else name
            for name, channel in self.running.items()
        )

    def transports(self) -> dict[str, Transport]:
        found: dict[str, Transport] = {n: c.send_outbox for n, c in self.running.items()}
        if self.telegram and self._open_police_lane():  # no group at all: cards wait
            found[police.POLICE] = self.telegram.send_outbox
        return found

    def _open_police_lane(self) -> bool:
        """Whether tip cards have a Telegram group to go to: the deployment's, or a unit's
        own (`canhgiac unit set ID --telegram-chat`; a worker started before the first one
        was set takes it on restart). If so, what waited for a group is due again, and the
        units still without one are named in the log."""
        with self.parts.db.transaction() as session:
            every = units.all_units(session)
            without = [u.name for u in every if not u.telegram_chat_id]
            if not self.settings.police_chat_id and len(without) == len(every):
                return False
            if not self.settings.police_chat_id and without:
                log.warning(
                    "no POLICE_CHAT_ID, and these units have no Telegram group of their own: "
                    "their tip cards wait until one is set: %s",
                    ", ".join(without),
                )
            # What waited for a group (one set since, or POLICE_CHAT_ID now given) goes now.
            outbox.release_waiting(session, police.POLICE, police.POLICE, utcnow())
            return True

    def bulk(self) -> dict[str, BulkSend]:
        return {name: channel.send_broadcast for name, channel in self.running.items()}

    def replying(self) -> bool:
        return bool(self.telegram and self.telegram.replying())

    async def webhooks(self) -> list[registry.Webhook]:
        """Each channel's webhook, registered with its platform."""
        found = []
        for name, channel in self.running.items():
            webhook = await self.kinds[name].webhook(channel, self.parts)
            if webhook is not None:
                found.append(webhook)
        return found

    def pollers(self, stop: asyncio.Event, liveness: Liveness) -> list[asyncio.Task[None]]:
        tasks = []
        for name, channel in self.running.items():
            poll = self.kinds[name].poll(channel, self.parts, stop, liveness)
            if poll is not None:
                tasks.append(asyncio.create_task(poll, name=name))
        return tasks

    async def replays(self, stop: asyncio.Event, liveness: Liveness) -> None:
        """Failed updates an admin asked to replay (`canhgiac updates replay`) are taken
        again by their channel's intake."""
        intakes = [self.kinds[name].replays(channel) for name, channel in self.running.items()]

        async def one_round() -> bool:
            return sum([await intake.replay_asked() for intake in intakes]) > 0

        await keep_running("replays", one_round, stop, liveness, REPLAY_EVERY, 600.0)
