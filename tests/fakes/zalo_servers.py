"""Stand-ins for Zalo on 127.0.0.1, speaking the protocols as the public docs describe them:

- ZaloOA: the Official Account Open API v3 (`/v3.0/oa/message/cs` with an `access_token`
  header) and the OAuth v4 token endpoint (`/v4/oa/access_token`; each refresh token works
  once, a new one comes back). It also plays Zalo's side of the webhook: `event()` signs an
  event (`X-ZEvent-Signature: mac=sha256(app_id + body + timestamp + secret)`) and POSTs it.
- ZaloBot: the Telegram-like Bot API (`/bot{token}/{method}`): getMe, getUpdates (long poll),
  setWebhook/deleteWebhook, sendMessage (1–2000 characters), sendPhoto, sendChatAction.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import json
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp import web


@dataclass
class Sent:
    user: str
    text: str
    buttons: list[dict[str, Any]]
    image: bytes | None = None


class _Threaded:
    """An aiohttp app on its own thread and loop, so tests and the bot never block it."""

    def __init__(self) -> None:
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._stopping: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.lock = threading.Lock()

    @property
    def root(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self):  # type: ignore[no-untyped-def]
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("stand-in server did not start")
        return self

    def stop(self) -> None:
        if self._stopping is not None:
            self._loop.call_soon_threadsafe(self._stopping.set)
        self._thread.join(5)

    def call(self, coroutine: Any) -> Any:
        """Run a coroutine on the server's loop from a test (blocking until it is done)."""
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(30)

    def routes(self, app: web.Application) -> None:
        raise NotImplementedError

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._serve())

    async def _serve(self) -> None:
        self._stopping = asyncio.Event()
        self.changed = asyncio.Condition()
        app = web.Application(client_max_size=32 * 1024 * 1024)
        self.routes(app)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.session = aiohttp.ClientSession()
        self._ready.set()
        await self._stopping.wait()
        async with self.changed:
            self.changed.notify_all()
        await self.session.close()
        await runner.cleanup()


class ZaloOA(_Threaded):
    def __init__(self, app_id: str = "1234567890", secret_key: str = "oa-secret-key") -> None:
        super().__init__()
        self.app_id, self.secret_key = app_id, secret_key
        self.app_secret = secret_key  # the app's key for refreshing; a test may set its own
        self.token_error = -216  # or -220, "access_token is expired or removed"
        self.refusals: dict[str, int] = {}  # user -> the error code Zalo answers sends with
        self.oa_id = "579745863508352884"
        self.refresh_token = "first-refresh-token"
        self.access_token = ""  # none valid until the bot refreshes
        self.refreshes = 0
        self.sent: list[Sent] = []
        self.inactive: set[str] = set()  # users who have not written in 7 days (-230)
        self.files: dict[str, bytes] = {}
        self.uploads: dict[str, bytes] = {}  # attachment id -> image
        self.upload_calls = 0
        self.webhook_url = ""
        # Serve files as (bytes, pause) pieces with no Content-Length, as a slow CDN might.
        self.trickle: tuple[int, float] | None = None
        self._msg_ids = itertools.count(1)

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/v3.0/oa/message/cs", self._send)
        app.router.add_post("/v2.0/oa/upload/image", self._upload)
        app.router.add_post("/v4/oa/access_token", self._refresh)
        app.router.add_get("/files/{name}", self._file)

    # --- what tests do -------------------------------------------------------------------

    def messages_to(self, user: str) -> list[Sent]:
        with self.lock:
            return [s for s in self.sent if s.user == user]

    def expire_access_token(self) -> None:
        self.access_token = "expired-" + secrets.token_hex(4)

    def add_file(self, data: bytes) -> str:
        name = secrets.token_hex(6)
        self.files[name] = data
        return f"{self.root}/files/{name}"

    def sign(self, raw: bytes, timestamp: str, secret: str | None = None) -> str:
        mac = hashlib.sha256(
            self.app_id.encode() + raw + timestamp.encode() + (secret or self.secret_key).encode()
        ).hexdigest()
        return f"mac={mac}"

    def build(self, user: str, event_name: str, **fields: Any) -> dict[str, Any]:
        """An event as Zalo sends it; `timestamp` in milliseconds, as a string."""
        event: dict[str, Any] = {
            "app_id": self.app_id,
            "user_id_by_app": f"app-{user}",
            "event_name": event_name,
            "sender": {"id": user},
            "recipient": {"id": self.oa_id},
            "timestamp": str(int(time.time() * 1000)),
        }
        if event_name == "follow":
            event["follower"] = {"id": user}
            event.pop("sender")
        event.update(fields)
        return event

    def text(self, user: str, text: str) -> dict[str, Any]:
        return self.build(user, "user_send_text", message={"text": text, "msg_id": self._msg_id()})

    def image(self, user: str, url: str) -> dict[str, Any]:
        attachment = {"type": "image", "payload": {"url": url, "thumbnail": url}}
        return self.build(
            user,
            "user_send_image",
            message={"text": "", "msg_id": self._msg_id(), "attachments": [attachment]},
        )

    def _msg_id(self) -> str:
        return f"msg{next(self._msg_ids):08d}"

    def post(
        self,
        event: dict[str, Any],
        signature: str | None = None,
        raw: bytes | None = None,
    ) -> int:
        """Deliver an event to the bot's webhook, signed unless told otherwise; the status."""
        body = raw if raw is not None else json.dumps(event, ensure_ascii=False).encode()
        header = signature if signature is not None else self.sign(body, event["timestamp"])

        async def deliver() -> int:
            async with self.session.post(
                self.webhook_url,
                data=body,
                headers={"Content-Type": "application/json", "X-ZEvent-Signature": header},
            ) as response:
                return response.status

        return int(self.call(deliver()))

    # --- the API ----------------------------------------------------------------------------

    async def _send(self, request: web.Request) -> web.Response:
        if request.headers.get("access_token") != self.access_token or not self.access_token:
            return web.json_response({"error": self.token_error, "message": "token refused"})
        body = await request.json()
        user = str(body.get("recipient", {}).get("user_id", ""))
        if user in self.inactive:
            return web.json_response(
                {"error": -230, "message": "User has not interacted with the OA in 7 days"}
            )
        if user in self.refusals:
            return web.json_response({"error": self.refusals[user], "message": "refused"})
        message = body.get("message", {})
        text = message.get("text", "")
        buttons: list[dict[str, Any]] = []
        image: bytes | None = None
        attachment = message.get("attachment")
        if attachment:
            payload = attachment.get("payload", {})
            buttons = payload.get("buttons", [])
            if payload.get("template_type") == "media":
                element = (payload.get("elements") or [{}])[0]
                image = self.uploads.get(str(element.get("attachment_id")))
                if element.get("media_type") != "image" or image is None:
                    return web.json_response({"error": -100, "message": "attachment_id expired"})
            for button in buttons:
                if len(button.get("title", "")) > 100 or len(button.get("payload", "")) > 1000:
                    return web.json_response({"error": -201, "message": "Parameters invalid"})
        if (not text and image is None) or len(text) > 2000:
            return web.json_response({"error": -201, "message": "Text is empty or too long"})
        with self.lock:
            self.sent.append(Sent(user, text, buttons, image))
        return web.json_response(
            {
                "error": 0,
                "message": "Success",
                "data": {"message_id": self._msg_id(), "user_id": user},
            }
        )

    async def _upload(self, request: web.Request) -> web.Response:
        """POST /v2.0/oa/upload/image: multipart field `file`, jpg or png up to 1 MB."""
        if request.headers.get("access_token") != self.access_token or not self.access_token:
            return web.json_response({"error": self.token_error, "message": "token refused"})
        form = await request.post()
        upload = form.get("file")
        if not isinstance(upload, web.FileField):
            return web.json_response({"error": -201, "message": "file is missing"})
        data = upload.file.read()
        if len(data) > 1024 * 1024:
            return web.json_response({"error": -210, "message": "image is larger than 1MB"})
        attachment_id = secrets.token_hex(10)
        with self.lock:
            self.upload_calls += 1
            self.uploads[attachment_id] = data
        return web.json_response(
            {"error": 0, "message": "Success", "data": {"attachment_id": attachment_id}}
        )

    async def _refresh(self, request: web.Request) -> web.Response:
        form = await request.post()
        if (
            request.headers.get("secret_key") != self.app_secret
            or form.get("app_id") != self.app_id
        ):
            return web.json_response({"error": -14002, "error_description": "Invalid app"})
        if (
            form.get("grant_type") != "refresh_token"
            or form.get("refresh_token") != self.refresh_token
        ):
            return web.json_response(
                {"error": -14014, "error_description": "Invalid refresh token"}
            )
        await asyncio.sleep(0.2)  # a real round trip: gives a racing second refresher its chance
        with self.lock:
            self.refreshes += 1
            self.access_token = f"access-{self.refreshes}-{secrets.token_hex(4)}"
            self.refresh_token = f"refresh-{self.refreshes}-{secrets.token_hex(4)}"
        return web.json_response(
            {
                "access_token": self.access_token,
                "refresh_token": self.refresh_token,
                "expires_in": "90000",
            }
        )

    async def _file(self, request: web.Request) -> web.StreamResponse:
        data = self.files.get(request.match_info["name"])
        if not data:
            return web.Response(status=404)
        if self.trickle is None:
            return web.Response(body=data, content_type="image/jpeg")
        size, pause = self.trickle
        response = web.StreamResponse(headers={"Content-Type": "image/jpeg"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        for start in range(0, len(data), size):
            await response.write(data[start : start + size])
            await asyncio.sleep(pause)
        await response.write_eof()
        return response


class ZaloBot(_Threaded):
    def __init__(self, token: str = "3456789:zalo-bot-token") -> None:
        super().__init__()
        self.token = token
        self.sent: list[Sent] = []
        self.updates: list[dict[str, Any]] = []
        self.webhook: dict[str, str] | None = None
        self.files: dict[str, bytes] = {}
        self._ids = itertools.count(1)
        self.wrapped = False  # deliver updates as {ok, result:{…}} instead of bare

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/bot{token}/{method}", self._api)
        app.router.add_get("/files/{name}", self._file)

    def messages_to(self, chat: str) -> list[Sent]:
        with self.lock:
            return [s for s in self.sent if s.user == chat]

    def add_file(self, data: bytes) -> str:
        name = secrets.token_hex(6)
        self.files[name] = data
        return f"{self.root}/files/{name}"

    def text(self, chat: str, text: str) -> dict[str, Any]:
        return self._update(chat, "message.text.received", {"text": text})

    def photo(self, chat: str, url: str) -> dict[str, Any]:
        return self._update(chat, "message.image.received", {"photo_url": url, "caption": ""})

    def _update(self, chat: str, event: str, fields: dict[str, Any]) -> dict[str, Any]:
        message = {
            "message_id": f"zb{next(self._ids)}",
            "date": int(time.time() * 1000),
            "chat": {"id": chat, "chat_type": "PRIVATE"},
            "from": {"id": chat, "display_name": "Người dân", "is_bot": False},
            **fields,
        }
        return {"event_name": event, "message": message}

    def push(self, update: dict[str, Any]) -> None:
        """Offer an update: to the webhook if one is set, else to getUpdates."""
        if self.webhook:
            hook = self.webhook

            async def deliver() -> None:
                body = {"ok": True, "result": update} if self.wrapped else update
                await self.session.post(
                    hook["url"],
                    json=body,
                    headers={"X-Bot-Api-Secret-Token": hook.get("secret_token", "")},
                )

            self.call(deliver())
            return

        async def queue() -> None:
            self.updates.append(update)
            async with self.changed:
                self.changed.notify_all()

        self.call(queue())

    async def _api(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.json_response(
                {"ok": False, "error_code": 401, "description": "Unauthorized"}
            )
        method = request.match_info["method"]
        params = await request.json() if request.can_read_body else {}
        if method == "getMe":
            return self._ok(
                {"id": "bot1", "account_name": "bot.canhgiac", "display_name": "Cảnh giác"}
            )
        if method == "getUpdates":
            timeout = float(params.get("timeout", 0) or 0)
            deadline = time.monotonic() + timeout
            while not self.updates and time.monotonic() < deadline:
                async with self.changed:
                    try:
                        await asyncio.wait_for(self.changed.wait(), deadline - time.monotonic())
                    except TimeoutError:
                        break
            if not self.updates:
                return web.json_response({"ok": False, "error_code": 408, "description": "timeout"})
            update = self.updates.pop(0)  # one per call, as Zalo does
            return self._ok(update)
        if method == "setWebhook":
            self.webhook = {"url": params["url"], "secret_token": params.get("secret_token", "")}
            return self._ok({"url": params["url"]})
        if method == "deleteWebhook":
            self.webhook = None
            return self._ok({})
        if method == "sendChatAction":
            return self._ok({})
        if method in ("sendMessage", "sendPhoto"):
            text = str(params.get("text") or params.get("caption") or "")
            if method == "sendMessage" and not 1 <= len(text) <= 2000:
                return web.json_response(
                    {"ok": False, "error_code": 400, "description": "text must be 1-2000 chars"}
                )
            with self.lock:
                self.sent.append(Sent(str(params.get("chat_id")), text, []))
            return self._ok(
                {"message_id": f"out{next(self._ids)}", "date": int(time.time() * 1000)}
            )
        return web.json_response({"ok": False, "error_code": 404, "description": "no such method"})

    @staticmethod
    def _ok(result: Any) -> web.Response:
        return web.json_response({"ok": True, "result": result})

    async def _file(self, request: web.Request) -> web.Response:
        data = self.files.get(request.match_info["name"])
        return (
            web.Response(body=data, content_type="image/jpeg") if data else web.Response(status=404)
        )
