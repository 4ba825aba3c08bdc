"""Zalo Bot (the Telegram-like Bot API of Zalo's bot platform): text and photos in, text out.
It has no buttons, so options are numbered and answered by number or label. Its free plan
serves about 50 users per bot: the choice for a pilot, the Official Account for a ward."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import replace
from functools import partial
from typing import Any

import aiohttp

from bot.channels import delivery
from bot.channels.intake import Intake
from bot.channels.keyed_lock import KeyedLock
from bot.channels.polling import unless_stopped
from bot.channels.render import Abilities, Piece, fit
from bot.liveness import Liveness, keep_running
from bot.outbox_sender import Blocked, RetryLater
from content import Content
from db.engine import Database
from db.models import Broadcast, Delivery, Outbox
from handlers import alerts
from handlers.dispatcher import Dispatcher
from handlers.types import Attachment, Incoming, Reply

log = logging.getLogger(__name__)
CHANNEL = "zalo_bot"
ABILITIES = Abilities(buttons=0, max_text=2000, html=False)
POLL_TIMEOUT = 25


class ZaloBotChannel:
    def __init__(
        self,
        *,
        token: str,
        api_url: str,
        db: Database,
        dispatcher: Dispatcher,
        content: Content,
        evidence_max_bytes: int,
    ) -> None:
        self.base = f"{api_url}/bot{token}"
        self.db, self.dispatcher, self.content = db, dispatcher, content
        self.evidence_max_bytes = evidence_max_bytes
        self._session: aiohttp.ClientSession | None = None
        self._locks = KeyedLock()
        self.polled = Intake(db, CHANNEL, self._handle_update, outage_patience=None)
        self.webhook = Intake(db, CHANNEL, self._handle_update, outage_patience=10.0)
        self.up = False

    async def start(self) -> None:
        self._session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=POLL_TIMEOUT + 15)
        )
        await self._call("getMe", {})
        self.up = True

    async def stop(self) -> None:
        self.up = False
        if self._session is not None:
            await self._session.close()

    async def set_webhook(self, url: str, secret: str) -> None:
        await self._call("setWebhook", {"url": url, "secret_token": secret})

    async def poll(self, stop: asyncio.Event, liveness: Liveness) -> None:
        """getUpdates in a loop. Zalo hands each update out once (there is no offset to
        confirm), so a crash between receiving and committing loses that one message; the
        webhook mode, which answers only after commit, does not have that window. A database
        outage is waited out with the update in hand."""
        with contextlib.suppress(RetryLater):
            await self._call("deleteWebhook", {})

        async def one_round() -> bool:
            answer = await unless_stopped(
                self._call("getUpdates", {"timeout": POLL_TIMEOUT}, raw=True), stop
            )
            if answer is None:
                return False
            result = answer.get("result") if answer.get("ok") else None
            for update in result if isinstance(result, list) else [result] if result else []:
                if isinstance(update, dict):
                    await self.polled.take(_update_id(update), update)
            return True

        await keep_running(CHANNEL, one_round, stop, liveness, 0.0, POLL_TIMEOUT * 4)

    # --- updates in ------------------------------------------------------------------------

    async def handle(self, body: dict[str, Any]) -> None:
        """A webhook's update: handled, or set aside if it keeps failing; raises only while
        the database is unreachable."""
        update = body.get("result") if "result" in body else body
        if isinstance(update, dict):
            await self.webhook.take(_update_id(update), update)

    async def _handle_update(self, update: dict[str, Any]) -> None:
        """One update ({event_name, message})."""
        message = update.get("message") or {}
        chat = str(
            (message.get("chat") or {}).get("id") or (message.get("from") or {}).get("id") or ""
        )
        if not chat:
            return
        event = str(update.get("event_name", ""))
        base = Incoming(
            channel=CHANNEL,
            user_id=chat,
            update_id=str(message.get("message_id", "")),
            numbered_choices=True,
            carries_photos=True,
        )
        if event == "message.text.received":
            incoming = replace(base, text=str(message.get("text", "")))
        elif event == "message.image.received":
            assert self._session is not None
            url = str(message.get("photo_url") or message.get("photo") or "")
            photo = await delivery.fetch_photo(self._session, url, self.evidence_max_bytes)
            incoming = replace(base, text=str(message.get("caption") or ""), attachments=(photo,))
        elif event.startswith("message."):
            incoming = replace(base, attachments=(Attachment(event.split(".")[1]),))
        else:
            return
        async with self._locks.hold(chat):
            handled = await asyncio.to_thread(self.dispatcher.handle, incoming)
            await delivery.send_turn(self.db, handled, ABILITIES, partial(self._say, chat))

    # --- messages out ------------------------------------------------------------------------

    async def send_outbox(self, row: Outbox) -> None:
        if row.kind != "reply":
            log.warning("no way to send outbox kind %s on Zalo Bot; skipped", row.kind)
            return
        for piece in fit([Reply.from_dict(row.payload)], ABILITIES, commands=True)[0]:
            await self._say(row.recipient, piece)

    async def send_broadcast(self, target: Delivery, broadcast: Broadcast) -> None:
        for piece in fit([alerts.render(self.content, broadcast)], ABILITIES, commands=True)[0]:
            await self._say(target.recipient, piece)

    async def _say(self, chat: str, piece: Piece) -> None:
        await self._call("sendMessage", {"chat_id": chat, "text": piece.text})

    async def _call(self, method: str, params: dict[str, Any], raw: bool = False) -> dict[str, Any]:
        assert self._session is not None
        try:
            async with self._session.post(f"{self.base}/{method}", json=params) as response:
                answer = await response.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as error:
            raise RetryLater(None, f"Zalo Bot unreachable: {error!r}") from error
        if raw or answer.get("ok"):
            return dict(answer)
        code, description = answer.get("error_code"), str(answer.get("description", ""))
        if code == 403:
            raise Blocked(description)
        if code == 429:
            raise RetryLater(
                float((answer.get("parameters") or {}).get("retry_after", 1)), description
            )
        raise RetryLater(None, f"Zalo Bot {code}: {description}")


def _update_id(update: dict[str, Any]) -> str:
    message = update.get("message")
    return str(message.get("message_id", "")) if isinstance(message, dict) else ""
