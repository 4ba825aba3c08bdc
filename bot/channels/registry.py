"""Every messenger residents reach the bot on, listed once: the name its outbox and delivery
rows carry, how it is built from settings, its webhook, whether it polls, and what it may
do. Adding a channel means its module plus one entry in KINDS; the runner, the web app, the
broadcast command and the dispatcher's wiring read this list."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from db import secrets
from db.clock import utcnow
from db.engine import Database

if TYPE_CHECKING:
    from fastapi import Request, Response

    from bot.channels.intake import Intake
    from bot.liveness import Liveness
    from bot.settings import Settings
    from content import Content
    from db.models import Broadcast, Delivery, Outbox
    from handlers.dispatcher import Dispatcher


class Channel(Protocol):
    """What the runner asks of every channel (each class also has its own ways in)."""

    up: bool

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def send_outbox(self, row: Outbox) -> None: ...

    async def send_broadcast(self, target: Delivery, broadcast: Broadcast) -> None: ...


@dataclass(frozen=True)
class Webhook:
    """A path of the web app where a platform posts its updates."""

    path: str
    handle: Callable[[Request], Awaitable[Response]]


@dataclass(frozen=True)
class Parts:
    """What building a channel may need."""

    settings: Settings
    db: Database
    dispatcher: Dispatcher
    content: Content


@dataclass(frozen=True)
class Kind:
    name: str
    # The channel as configured, or None when settings do not configure it.
    build: Callable[[Parts], Any]
    # Its webhook, registered with the platform (only in processes that take updates), or
    # None when it is not configured for one.
    webhook: Callable[[Any, Parts], Awaitable[Webhook | None]]
    # Its long poll, when it takes updates by polling instead of a webhook.
    poll: Callable[[Any, Parts, asyncio.Event, Liveness], Coroutine[Any, Any, None] | None]
    # Where updates an admin asked to replay are taken again.
    replays: Callable[[Any], Intake]
    # It may message a resident only within a while of the resident's last message.
    windowed: bool = False


def _telegram(parts: Parts) -> Any:
    from bot.channels.telegram import TelegramChannel

    settings = parts.settings
    if not settings.telegram_bot_token:
        return None
    return TelegramChannel(
        token=settings.telegram_bot_token,
        api_root=settings.telegram_api_url,
        db=parts.db,
        dispatcher=parts.dispatcher,
        content=parts.content,
        evidence_max_bytes=settings.limits.evidence_max_bytes,
        police_chat_id=int(settings.police_chat_id) if settings.police_chat_id else None,
        police_group_rate=settings.police_group_rate,
    )


async def _telegram_webhook(channel: Any, parts: Parts) -> Webhook | None:
    from urllib.parse import urlsplit

    from fastapi import Response

    from bot.web import same_secret, webhook_body

    url = parts.settings.telegram_webhook_url
    if not url:
        return None
    secret = parts.settings.telegram_webhook_secret or await asyncio.to_thread(
        _generated_secret, parts.db, "telegram_webhook_secret"
    )
    await channel.set_webhook(url, secret)
    cap = parts.settings.http_max_body_bytes

    async def handle(request: Request) -> Response:
        if not same_secret(request.headers.get("X-Telegram-Bot-Api-Secret-Token", ""), secret):
            return Response(status_code=403)
        _, body = await webhook_body(request, cap)
        # Answer only once the turn is committed or, for an update that keeps failing (one
        # PTB cannot even read), once it is set aside: a 4xx or 5xx would make Telegram
        # deliver it again and again, and hold back the updates behind it.
        await channel.handle_json(body)
        return Response(status_code=200)

    return Webhook(urlsplit(url).path or "/telegram", handle)


def _zalo_oa(parts: Parts) -> Any:
    from bot.channels.zalo_oa import ZaloOAChannel
    from bot.channels.zalo_tokens import ZaloTokens

    settings = parts.settings
    if not settings.zalo_oa:
        return None
    return ZaloOAChannel(
        db=parts.db,
        dispatcher=parts.dispatcher,
        content=parts.content,
        tokens=ZaloTokens(
            parts.db,
            app_id=settings.zalo_oa_app_id,
            secret_key=settings.zalo_app_secret_key or settings.zalo_oa_secret_key,
            oauth_url=settings.zalo_oauth_url,
            first_refresh_token=settings.zalo_oa_refresh_token,
        ),
        app_id=settings.zalo_oa_app_id,
        secret_key=settings.zalo_oa_secret_key,
        api_url=settings.zalo_api_url,
        evidence_max_bytes=settings.limits.evidence_max_bytes,
        replay_window=settings.zalo_replay_seconds,
    )


async def _zalo_oa_webhook(channel: Any, parts: Parts) -> Webhook | None:
    from fastapi import Response

    from bot.web import webhook_body

    cap = parts.settings.http_max_body_bytes

    async def handle(request: Request) -> Response:
        # The MAC covers the raw body and a timestamp inside it: read (capped), then check.
        raw, body = await webhook_body(request, cap)
        event = channel.verify(raw, request.headers.get("X-ZEvent-Signature", ""), body)
        if event is None:
            return Response(status_code=403)  # forged, altered or replayed: nothing done
        await channel.handle_event(event)
        return Response(status_code=200)

    return Webhook("/zalo/oa", handle)


def _zalo_bot(parts: Parts) -> Any:
    from bot.channels.zalo_bot import ZaloBotChannel

    settings = parts.settings
    if not settings.zalo_bot_token:
        return None
    return ZaloBotChannel(
        token=settings.zalo_bot_token,
        api_url=settings.zalo_bot_api_url,
        db=parts.db,
        dispatcher=parts.dispatcher,
        content=parts.content,
        evidence_max_bytes=settings.limits.evidence_max_bytes,
    )


async def _zalo_bot_webhook(channel: Any, parts: Parts) -> Webhook | None:
    from fastapi import Response

    from bot.web import same_secret, webhook_body

    url = parts.settings.zalo_bot_webhook_url
    if not url:
        return None
    secret = parts.settings.zalo_bot_webhook_secret or await asyncio.to_thread(
        _generated_secret, parts.db, "zalo_bot_webhook_secret"
    )
    await channel.set_webhook(url, secret)
    cap = parts.settings.http_max_body_bytes

    async def handle(request: Request) -> Response:
        if not same_secret(request.headers.get("X-Bot-Api-Secret-Token", ""), secret):
            return Response(status_code=403)
        _, body = await webhook_body(request, cap)
        await channel.handle(body)
        return Response(status_code=200)

    return Webhook("/zalo/bot", handle)


def _generated_secret(db: Database, key: str) -> str:
    """A webhook secret generated once and kept in the database (every process shares it)."""
    with db.transaction() as session:
        return secrets.get_or_create(session, key, utcnow())


def _no_poll(
    _channel: Any, _parts: Parts, _stop: asyncio.Event, _liveness: Liveness
) -> Coroutine[Any, Any, None] | None:
    return None


def _poll_without_webhook(
    url: Callable[[Settings], str],
) -> Callable[[Any, Parts, asyncio.Event, Liveness], Coroutine[Any, Any, None] | None]:
    def poll(
        channel: Any, parts: Parts, stop: asyncio.Event, liveness: Liveness
    ) -> Coroutine[Any, Any, None] | None:
        return None if url(parts.settings) else channel.poll(stop, liveness)

    return poll


KINDS: tuple[Kind, ...] = (
    Kind(
        "telegram",
        _telegram,
        _telegram_webhook,
        _poll_without_webhook(lambda s: s.telegram_webhook_url),
        lambda channel: channel.intake,
    ),
    Kind(
        "zalo_oa",
        _zalo_oa,
        _zalo_oa_webhook,
        _no_poll,
        lambda channel: channel.intake,
        windowed=True,
    ),
    Kind(
        "zalo_bot",
        _zalo_bot,
        _zalo_bot_webhook,
        _poll_without_webhook(lambda s: s.zalo_bot_webhook_url),
        lambda channel: channel.polled,
    ),
)
NAMES = frozenset(kind.name for kind in KINDS)
WINDOWED = frozenset(kind.name for kind in KINDS if kind.windowed)
