"""The ward's Zalo Official Account (Open API v3): signed webhook events in, customer-service
messages out. It translates, never decides: every decision is the conversation core's."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import re
import time
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from typing import Any

import aiohttp

from bot.channels import delivery
from bot.channels.intake import Intake
from bot.channels.keyed_lock import KeyedLock
from bot.channels.render import Abilities, Piece, fit
from bot.channels.zalo_tokens import ZaloTokens
from bot.outbox_sender import Blocked, NotNow, Rejected, RetryLater
from content import Content
from db import residents
from db.engine import Database
from db.models import Broadcast, Delivery, Outbox
from handlers import alerts
from handlers.dispatcher import Dispatcher
from handlers.types import Attachment, Button, Incoming, Reply

log = logging.getLogger(__name__)
CHANNEL = "zalo_oa"
# Zalo shows few buttons on a message; titles up to 100 characters, payloads up to 1000.
ABILITIES = Abilities(buttons=5, max_text=2000, html=False)
# Zalo's error codes by what they mean for a message (the OA API's error table):
TOKEN_ERRORS = {-216, -220}  # access token invalid or expired: refresh once, send again
# Not following, no interaction in 7 days, the per-user allowance spent: the message waits
# for the resident's next message, which opens the window again.
WAIT_FOR_RESIDENT = {-213, -218, -230, -232}
GONE = {-227, -244}  # account banned or idle 45 days; the resident refused this kind of message
RATE_LIMITED, OUT_OF_QUOTA = -32, -211  # the app's per-minute limit; the OA's own quota
REFUSED = {-201, -210, -233, -240, -248}  # this message as written will never be taken
ATTACHMENT_EXPIRED = -100  # an uploaded image's id is no longer valid: upload it again
# A photo message (media template) carries no buttons: its options are typed instead.
PHOTO_CAPTION = Abilities(buttons=0, max_text=2000, html=False)
_FLOW_PAYLOAD = re.compile(r"^\d+:\w+:.+$", re.DOTALL)
TIMEOUT = aiohttp.ClientTimeout(total=20, sock_connect=5)
TOKEN_RECHECK = 300.0  # seconds between looks at the stored token


class ZaloOAChannel:
    def __init__(
        self,
        *,
        db: Database,
        dispatcher: Dispatcher,
        content: Content,
        tokens: ZaloTokens,
        app_id: str,
        secret_key: str,
        api_url: str,
        evidence_max_bytes: int,
        replay_window: float = 300.0,
    ) -> None:
        self.db, self.dispatcher, self.content, self.tokens = db, dispatcher, content, tokens
        self.app_id, self.secret_key, self.api_url = app_id, secret_key, api_url
        self.evidence_max_bytes, self.replay_window = evidence_max_bytes, replay_window
        self._session: aiohttp.ClientSession | None = None
        self._token: str | None = None
        self._token_read = 0.0
        self._locks = KeyedLock()
        self.intake = Intake(db, CHANNEL, self._handle_event, outage_patience=10.0)
        self._images: dict[int, str | None] = {}  # broadcast id -> Zalo attachment id
        self.up = False

    async def start(self) -> None:
        self._session = aiohttp.ClientSession(timeout=TIMEOUT)
        self.up = True

    async def stop(self) -> None:
        self.up = False
        if self._session is not None:
            await self._session.close()

    # --- events in -------------------------------------------------------------------------

    def verify(self, raw: bytes, header: str, event: Any = None) -> dict[str, Any] | None:
        """The event if its signature is Zalo's and it is recent; None otherwise (refused
        before anything is processed). mac = sha256(app_id + raw body + timestamp + secret).
        `event` is the body already parsed, when the caller has it; never raises."""
        if event is None:
            try:
                event = json.loads(raw)
            except (ValueError, RecursionError):  # not JSON, not UTF-8, or nested too deep
                return None
        if not isinstance(event, dict):
            return None
        stamp = event.get("timestamp")
        timestamp = str(stamp) if isinstance(stamp, str | int) else ""
        if not (timestamp.isascii() and timestamp.isdigit()) or len(timestamp) > 20:
            return None  # milliseconds since 1970: ASCII digits, a few of them
        given = header.strip()
        given = given[4:] if given.lower().startswith("mac=") else given
        expected = hashlib.sha256(
            self.app_id.encode() + raw + timestamp.encode() + self.secret_key.encode()
        ).hexdigest()
        # Compared as bytes: compare_digest refuses str with non-ASCII characters.
        if not hmac.compare_digest(
            given.lower().encode("utf-8", "surrogatepass"), expected.encode()
        ):
            return None
        if abs(time.time() - int(timestamp) / 1000) > self.replay_window:
            return None  # a replayed (or badly delayed) event
        return event

    async def handle_event(self, event: dict[str, Any]) -> None:
        """Take one verified event: when this returns its turn is committed and its replies
        are on their way (or safe in the outbox), or, failing again and again, it is set
        aside for an admin; raises only while the database is unreachable."""
        message = event.get("message") or {}
        fallback = f"{event.get('event_name')}:{event.get('timestamp')}"
        await self.intake.take(str(message.get("msg_id") or fallback), event)

    async def _handle_event(self, event: dict[str, Any]) -> None:
        name = str(event.get("event_name", ""))
        user = str((event.get("sender") or event.get("follower") or {}).get("id", ""))
        if not user or user == str((event.get("recipient") or {}).get("id", "")):
            return  # the OA's own messages echo back as events
        if name == "unfollow":
            await asyncio.to_thread(self._unfollowed, user)
            return
        incoming = await self._translate(name, user, event)
        if incoming is None:
            return
        async with self._locks.hold(user):
            handled = await asyncio.to_thread(self.dispatcher.handle, incoming)
            await delivery.send_turn(self.db, handled, ABILITIES, partial(self._send, user))

    async def _translate(self, name: str, user: str, event: dict[str, Any]) -> Incoming | None:
        message = event.get("message") or {}
        update_id = str(message.get("msg_id") or f"{name}:{user}:{event.get('timestamp')}")
        base = Incoming(
            channel=CHANNEL,
            user_id=user,
            update_id=update_id,
            numbered_choices=True,
            carries_photos=True,
        )
        if name == "follow":
            return replace(base, text="/start")
        if name == "user_send_text":
            text = str(message.get("text", ""))
            # A button's payload comes back as the user's own message.
            payload = text if _FLOW_PAYLOAD.match(text) else None
            return replace(base, text="" if payload else text, payload=payload)
        if name == "user_send_link":
            links = [a.get("payload", {}).get("url", "") for a in message.get("attachments", [])]
            return replace(base, text=" ".join([message.get("text", ""), *links]).strip())
        if name == "user_send_image":
            assert self._session is not None
            urls = [
                str((a.get("payload") or {}).get("url", "")) for a in message.get("attachments", [])
            ]
            cap = self.evidence_max_bytes
            # An album's photos side by side: the turn waits for the slowest, not the sum.
            attachments = await asyncio.gather(
                *(delivery.fetch_photo(self._session, url, cap) for url in urls)
            )
            return replace(base, text=str(message.get("text", "")), attachments=tuple(attachments))
        if name in ("user_send_sticker", "user_send_file", "user_send_gif", "user_send_audio"):
            return replace(base, attachments=(Attachment(name.removeprefix("user_send_")),))
        return None  # other events (seen, reactions) are not for the bot

    def _unfollowed(self, user: str) -> None:
        """Unfollowing the OA is the platform's unsubscribe: no more alerts."""
        with self.db.transaction() as session:
            resident = residents.find(session, CHANNEL, user)
            if resident is not None:
                resident.blocked = True

    # --- messages out ------------------------------------------------------------------------

    async def send_outbox(self, row: Outbox) -> None:
        """The outbox sender's way out (a notice about a report, a lead's preview...)."""
        if row.kind != "reply":
            log.warning("no way to send outbox kind %s on Zalo OA; skipped", row.kind)
            return
        # Outside Zalo's window this raises NotNow: the notice waits for the next message.
        for piece in fit([Reply.from_dict(row.payload)], ABILITIES, commands=True)[0]:
            await self._send(row.recipient, piece)

    async def send_broadcast(self, target: Delivery, broadcast: Broadcast) -> None:
        """An alert to one resident; outside Zalo's window it waits (NotNow) for their next
        message. A photo is uploaded once per broadcast and carries the words; its options
        are typed ("/huydangky"), as a photo message has no buttons."""
        reply = alerts.render(self.content, broadcast)
        for again in (False, True):
            image = await self._uploaded(broadcast) if broadcast.photo else None
            if image is None:  # no photo, or Zalo would not take it: the words still go
                for piece in fit([reply], ABILITIES, commands=True)[0]:
                    await self._send(target.recipient, piece)
                return
            first, *rest = fit([reply], PHOTO_CAPTION, commands=True)[0]
            try:
                await self._send(target.recipient, first, image)
            except _AttachmentExpired:
                if again:
                    raise
                self._images.pop(broadcast.id or 0, None)  # upload it anew, then resend
                continue
            for piece in rest:
                await self._send(target.recipient, piece)
            return

    async def _uploaded(self, broadcast: Broadcast) -> str | None:
        """The broadcast photo's attachment id, uploaded on first need (once, however many
        sends wait for it); None if Zalo refuses the image (too large, not jpg or png)."""
        key = broadcast.id or 0
        async with self._locks.hold(f"image:{key}"):
            if key not in self._images:
                self._images[key] = await self._upload(broadcast.photo or b"")
            return self._images[key]

    async def _upload(self, data: bytes) -> str | None:
        kind = "png" if data.startswith(b"\x89PNG") else "jpeg"

        def form() -> dict[str, Any]:  # a form is spent once sent: one per attempt
            made = aiohttp.FormData()
            made.add_field("file", data, filename=f"canh-bao.{kind}", content_type=f"image/{kind}")
            return {"data": made}

        code, answer = await self._post("/v2.0/oa/upload/image", form)
        if code == 0 and (answer.get("data") or {}).get("attachment_id"):
            return str(answer["data"]["attachment_id"])
        refusal = _refusal(code, f"Zalo {code}: {answer.get('message', '')}")
        if isinstance(refusal, Rejected):
            log.warning("Zalo refused an alert photo (%s); sending the words alone", refusal)
            return None
        raise refusal

    async def _send(self, user: str, piece: Piece, image: str | None = None) -> None:
        message: dict[str, Any] = {"text": piece.text}
        if image is not None:
            message["attachment"] = {
                "type": "template",
                "payload": {
                    "template_type": "media",
                    "elements": [{"media_type": "image", "attachment_id": image}],
                },
            }
        elif piece.buttons:
            message["attachment"] = {
                "type": "template",
                "payload": {
                    "template_type": "button",
                    "buttons": [_button(b) for b in piece.buttons],
                },
            }
        body = {"recipient": {"user_id": user}, "message": message}
        code, answer = await self._post("/v3.0/oa/message/cs", lambda: {"json": body})
        if code != 0:
            raise _refusal(code, f"Zalo {code}: {answer.get('message', '')}")

    async def _post(
        self, path: str, request: Callable[[], dict[str, Any]]
    ) -> tuple[int, dict[str, Any]]:
        """One OA API call with the access token, made again once if Zalo says the token is
        invalid or expired (after refreshing it); Zalo's error code and its answer."""
        token = await self._access_token()
        answer = await self._request(path, request(), token)
        if _code(answer) in TOKEN_ERRORS:
            self._token = await asyncio.to_thread(self.tokens.refresh, token)
            answer = await self._request(path, request(), self._token)
        return _code(answer), answer

    async def _request(self, path: str, request: dict[str, Any], token: str) -> dict[str, Any]:
        assert self._session is not None
        try:
            async with self._session.post(
                f"{self.api_url}{path}", headers={"access_token": token}, **request
            ) as response:
                answer = await response.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as error:
            raise RetryLater(None, f"Zalo unreachable: {error!r}") from error
        if not isinstance(answer, dict):
            raise RetryLater(None, f"Zalo answered oddly: {str(answer)[:100]}")
        return answer

    async def _access_token(self) -> str:
        """The token in hand, looked up again every few minutes: the store says when it is
        due for refreshing (an hour before expiry), and another process may have done it."""
        if self._token is None or time.monotonic() - self._token_read > TOKEN_RECHECK:
            self._token = await asyncio.to_thread(self.tokens.current)
            if self._token is None:
                self._token = await asyncio.to_thread(self.tokens.refresh, None)
            self._token_read = time.monotonic()
        return self._token


def _code(answer: dict[str, Any]) -> int:
    return int(answer.get("error", 0) or 0)


class _AttachmentExpired(RetryLater):
    """An uploaded photo's id has expired; elsewhere simply retried later."""


def _refusal(code: int, description: str) -> Exception:
    """What the senders do about a refusal; quotas are waited out, never retried in a loop."""
    if code == ATTACHMENT_EXPIRED:
        return _AttachmentExpired(None, description)
    if code in WAIT_FOR_RESIDENT:
        return NotNow(description)
    if code in GONE:
        return Blocked(description)
    if code in REFUSED:
        return Rejected(description)
    if code == RATE_LIMITED:  # Zalo's limit alone: Telegram's pace is not slowed for it
        return RetryLater(60, description, slow_down=False)
    if code == OUT_OF_QUOTA:
        return RetryLater(3600, description, slow_down=False)
    return RetryLater(None, description)


def _button(button: Button) -> dict[str, Any]:
    title = button.label[:100]
    if button.is_link:
        return {"title": title, "type": "oa.open.url", "payload": {"url": button.payload}}
    # Hidden: the payload comes back as the resident's message without showing in their chat
    # (shown, residents saw "1:consent:agree" as if they had typed it).
    return {"title": title, "type": "oa.query.hide", "payload": button.payload[:1000]}
