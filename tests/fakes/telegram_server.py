"""A stand-in Telegram Bot API server on 127.0.0.1, written from the Bot API reference.

It speaks the real protocol (`/bot<token>/<method>` with JSON, form or multipart bodies,
`/file/bot<token>/<path>` downloads, long-polling getUpdates with offsets, webhook delivery
with the secret header) and records what the bot sent. It runs in its own thread with its own
event loop, so a bot under test can live in the test's loop or in another process.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import itertools
import json
import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

import aiohttp
from aiohttp import web

BOT_ID = 7000000001
BOT_USERNAME = "canhgiac_test_bot"
ALLOWED_TAGS = {
    "b",
    "strong",
    "i",
    "em",
    "u",
    "ins",
    "s",
    "strike",
    "del",
    "a",
    "code",
    "pre",
    "tg-spoiler",
    "span",
    "blockquote",
}


class _EntityCheck(HTMLParser):
    """Telegram's HTML parse mode: only known tags, properly nested; '<' and '&' escaped."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.stack: list[str] = []
        self.error = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in ALLOWED_TAGS:
            self.error = f'unsupported start tag "{tag}"'
        self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack.pop() != tag:
            self.error = f'unmatched end tag "{tag}"'

    def handle_entityref(self, name: str) -> None:
        if name not in ("lt", "gt", "amp", "quot"):
            self.error = f'unsupported entity "&{name};"'


# Linux: ask the kernel to stamp each received packet (struct timespec, CLOCK_REALTIME).
SO_TIMESTAMPNS = SCM_TIMESTAMPNS = 35
_TIMESPEC = struct.Struct("qq")


class _ArrivalSocket(socket.socket):
    """A server socket whose connections remember when a request had reached the machine,
    as the kernel stamped its packets, not when this thread got round to reading them. The
    stand-in shares a GIL and two cores with the tests and the bots: a stall of its thread
    would read a second's requests at once and see them bunched. A platform times arrival
    at its ingress; so does this (a sender's own bunching still shows in full)."""

    arrived: float | None = None  # the newest bytes read since the stand-in took the time

    def accept(self) -> tuple[socket.socket, Any]:
        fd, address = self._accept()  # type: ignore[attr-defined]
        connection = _ArrivalSocket(self.family, self.type, self.proto, fileno=fd)
        connection.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        if socket.getdefaulttimeout() is None and self.gettimeout():
            connection.setblocking(True)
        return connection, address

    def recv(self, bufsize: int, flags: int = 0, /) -> bytes:
        data, ancillary, _, _ = self.recvmsg(bufsize, socket.CMSG_SPACE(_TIMESPEC.size), flags)
        if data:
            self.arrived = time.time()  # when the kernel gave no stamp
            for level, kind, stamp in ancillary:
                if level == socket.SOL_SOCKET and kind == SCM_TIMESTAMPNS:
                    seconds, nanoseconds = _TIMESPEC.unpack(stamp[: _TIMESPEC.size])
                    self.arrived = seconds + nanoseconds / 1e9
        return data

    def recv_into(self, buffer: Any, nbytes: int = 0, flags: int = 0, /) -> int:
        data = self.recv(nbytes or len(buffer), flags)
        buffer[: len(data)] = data
        return len(data)

    def take_arrival(self) -> float:
        """When the request just read in full had all arrived; the next one starts afresh."""
        arrived, self.arrived = self.arrived, None
        return arrived if arrived is not None else time.time()


def html_error(text: str) -> str:
    checker = _EntityCheck()
    checker.feed(text)
    checker.close()
    if not checker.error and checker.stack:
        checker.error = f'unclosed tag "{checker.stack[-1]}"'
    return checker.error


@dataclass
class Sent:
    """One call the bot made that sends something to a chat."""

    method: str
    params: dict[str, Any]
    at: float  # time.perf_counter() when the stand-in handled it
    message_id: int = 0
    arrived: float = 0.0  # time.time() when its request had reached the machine (kernel)

    @property
    def chat_id(self) -> int:
        return int(self.params.get("chat_id", 0))

    @property
    def text(self) -> str:
        return str(self.params.get("text") or self.params.get("caption") or "")

    @property
    def buttons(self) -> list[tuple[str, str]]:
        markup = self.params.get("reply_markup") or {}
        if isinstance(markup, str):
            markup = json.loads(markup)
        return [
            (b["text"], b.get("callback_data") or b.get("url", ""))
            for row in markup.get("inline_keyboard", [])
            for b in row
        ]


@dataclass
class Failure:
    status: int
    description: str
    retry_after: int | None = None
    chat_id: int | None = None  # only calls to this chat fail (None: any call)
    containing: str | None = None  # only messages whose text holds this fail


@dataclass
class FakeTelegram:
    token: str = "123456:TEST-token"
    # Messages per second the server accepts before answering 429 (None: unlimited): in any
    # sliding second of arrival, as a platform counts at its ingress.
    rate_limit: float | None = None
    sent: list[Sent] = field(default_factory=list)
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    blocked: set[int] = field(default_factory=set)
    files: dict[str, bytes] = field(default_factory=dict)
    webhook: dict[str, Any] | None = None
    commands: list[dict[str, Any]] = field(default_factory=list)
    offered_at: dict[int, float] = field(default_factory=dict)
    too_many: int = 0
    # Called (in the server's thread) with each message the bot sends: lets a benchmark wait
    # for replies without polling.
    on_sent: Callable[[Sent], None] | None = None

    def __post_init__(self) -> None:
        self._updates: list[dict[str, Any]] = []
        self._history: list[dict[str, Any]] = []
        # Unique per server, like Telegram's large ids: a database reused across runs must
        # not see a new run's updates as redeliveries of old ones.
        self._update_ids = itertools.count(time.time_ns() // 1000 % 10**12)
        self._message_ids = itertools.count(1)
        self._failures: dict[str, list[Failure]] = {}
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._changed: asyncio.Condition | None = None
        self._window: list[float] = []  # arrival times of messages taken, in order
        self._arrived = 0.0  # the request being handled: when it reached the machine
        self._thread = threading.Thread(target=self._run, daemon=True, name="fake-telegram")
        self._ready = threading.Event()
        self._stopping: asyncio.Event | None = None
        self._closing = False
        self.port = 0

    # --- lifecycle ---------------------------------------------------------------------------

    @property
    def root(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FakeTelegram:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("stand-in Telegram server did not start")
        return self

    def stop(self) -> None:
        if self._stopping is not None:
            self._loop.call_soon_threadsafe(self._stopping.set)
        self._thread.join(5)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._serve())

    async def _serve(self) -> None:
        self._changed = asyncio.Condition()
        self._stopping = asyncio.Event()
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._api)
        app.router.add_get("/file/bot{token}/{path:.*}", self._file)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        listener = _ArrivalSocket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        site = web.SockSite(runner, listener)
        await site.start()
        self.port = listener.getsockname()[1]
        self._session = aiohttp.ClientSession()
        delivery = asyncio.create_task(self._deliver_webhooks())
        self._ready.set()
        await self._stopping.wait()
        self._closing = True
        await self._notify()  # pending long polls return now
        delivery.cancel()
        await self._session.close()
        await runner.cleanup()

    # --- what tests do -----------------------------------------------------------------------

    def push(self, update: dict[str, Any]) -> int:
        """Offer an update to the bot (by getUpdates or webhook); returns its update_id."""
        with self._lock:
            update = {"update_id": next(self._update_ids), **update}
            self._updates.append(update)
            self._history.append(update)
            self.offered_at[update["update_id"]] = time.perf_counter()
        self._loop.call_soon_threadsafe(lambda: self._loop.create_task(self._notify()))
        return int(update["update_id"])

    def repush(self, update_id: int) -> None:
        """Offer the same update again (a duplicate delivery)."""
        with self._lock:
            original = next(u for u in self._history if u["update_id"] == update_id)
            self._updates.append(dict(original))
        self._loop.call_soon_threadsafe(lambda: self._loop.create_task(self._notify()))

    def fail_next(
        self,
        method: str,
        status: int = 429,
        times: int = 1,
        retry_after: int | None = 1,
        description: str = "",
        chat_id: int | None = None,
        containing: str | None = None,
    ) -> None:
        text = description or (
            f"Too Many Requests: retry after {retry_after}"
            if status == 429
            else "Internal Server Error"
        )
        with self._lock:
            self._failures.setdefault(method, []).extend(
                [Failure(status, text, retry_after if status == 429 else None, chat_id, containing)]
                * times
            )

    def pending_ids(self) -> list[int]:
        """Updates offered and not yet confirmed by a later getUpdates offset."""
        with self._lock:
            return [int(u["update_id"]) for u in self._updates]

    def clear_failures(self) -> None:
        with self._lock:
            self._failures.clear()

    def add_file(self, data: bytes) -> str:
        file_id = f"file-{len(self.files) + 1}"
        self.files[file_id] = data
        return file_id

    def messages_to(self, chat_id: int) -> list[Sent]:
        with self._lock:
            return [s for s in self.sent if s.chat_id == chat_id]

    async def until(self, predicate: Callable[[list[Sent]], bool], timeout: float = 10) -> None:
        """Wait until what the bot sent satisfies predicate, without blocking the caller's
        event loop (where the bot may run)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                snapshot = list(self.sent)
            if predicate(snapshot):
                return
            await asyncio.sleep(0.01)
        raise AssertionError(f"timed out; sent so far: {[s.text[:60] for s in self.sent]}")

    # --- the protocol ---------------------------------------------------------------------------

    async def _notify(self) -> None:
        assert self._changed is not None
        async with self._changed:
            self._changed.notify_all()

    async def _params(self, request: web.Request) -> dict[str, Any]:
        params: dict[str, Any] = dict(request.query)
        if request.content_type == "application/json":
            params.update(await request.json())
        elif request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            form = await request.post()
            for key, value in form.items():
                if isinstance(value, web.FileField):
                    params[key] = value.file.read()
                else:
                    params[key] = value
        for key in ("reply_markup", "media", "commands", "allowed_updates", "entities"):
            if isinstance(params.get(key), str):
                with contextlib.suppress(json.JSONDecodeError):
                    params[key] = json.loads(params[key])
        return params

    @staticmethod
    def _ok(result: Any) -> web.Response:
        return web.json_response({"ok": True, "result": result})

    @staticmethod
    def _error(status: int, description: str, retry_after: int | None = None) -> web.Response:
        body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
        if retry_after is not None:
            body["parameters"] = {"retry_after": retry_after}
        return web.json_response(body, status=status)

    async def _api(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return self._error(401, "Unauthorized")
        method = request.match_info["method"]
        params = await self._params(request)  # read in full: when it had arrived is known
        connection = request.transport.get_extra_info("socket") if request.transport else None
        raw = getattr(connection, "_sock", connection)  # asyncio wraps the socket it serves
        # Read by the synchronous handler below, before anything else can run on this loop.
        self._arrived = raw.take_arrival() if isinstance(raw, _ArrivalSocket) else time.time()
        with self._lock:
            self.calls.append((method, params))
            queued = self._failures.get(method) or self._failures.get("*") or []
            chat = str(params.get("chat_id", ""))
            words = str(params.get("text", ""))
            failure = next(
                (
                    f
                    for f in queued
                    if (f.chat_id is None or str(f.chat_id) == chat)
                    and (f.containing is None or f.containing in words)
                ),
                None,
            )
            if failure is not None:
                queued.remove(failure)
        if failure:
            if failure.status == 429:
                self.too_many += 1
            return self._error(failure.status, failure.description, failure.retry_after)
        handler = getattr(self, f"_m_{method}", None)
        if handler is None:
            return self._error(404, "Not Found: method not found")
        result = handler(params) if method != "getUpdates" else await handler(params)
        return result if isinstance(result, web.Response) else self._ok(result)

    async def _file(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return self._error(401, "Unauthorized")
        file_id = request.match_info["path"].rsplit("/", 1)[-1]
        if file_id not in self.files:
            return self._error(404, "Not Found")
        return web.Response(body=self.files[file_id], content_type="image/jpeg")

    def _me(self) -> dict[str, Any]:
        return {
            "id": BOT_ID,
            "is_bot": True,
            "first_name": "Cảnh giác",
            "username": BOT_USERNAME,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    def _m_getMe(self, params: dict[str, Any]) -> Any:
        return self._me()

    def _m_logOut(self, params: dict[str, Any]) -> Any:
        return True

    def _m_close(self, params: dict[str, Any]) -> Any:
        return True

    async def _m_getUpdates(self, params: dict[str, Any]) -> Any:
        if self.webhook:
            return self._error(
                409,
                "Conflict: can't use getUpdates method while webhook is "
                "active; use deleteWebhook to delete the webhook first",
            )
        offset = int(params.get("offset") or 0)
        limit = min(int(params.get("limit") or 100), 100)
        timeout = float(params.get("timeout") or 0)
        deadline = time.monotonic() + timeout
        assert self._changed is not None
        while True:
            with self._lock:
                if offset:  # updates below the offset are confirmed: forget them
                    self._updates = [u for u in self._updates if u["update_id"] >= offset]
                ready = self._updates[:limit]
            if ready or self._closing or time.monotonic() >= deadline:
                return ready
            async with self._changed:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(
                        self._changed.wait(), max(0.0, deadline - time.monotonic())
                    )

    def _m_setWebhook(self, params: dict[str, Any]) -> Any:
        url = params.get("url") or ""
        self.webhook = {"url": url, "secret": params.get("secret_token")} if url else None
        if params.get("drop_pending_updates") in (True, "true", "True"):
            with self._lock:
                self._updates.clear()
        return True

    def _m_deleteWebhook(self, params: dict[str, Any]) -> Any:
        self.webhook = None
        return True

    def _m_getWebhookInfo(self, params: dict[str, Any]) -> Any:
        return {
            "url": (self.webhook or {}).get("url", ""),
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }

    def _m_setMyCommands(self, params: dict[str, Any]) -> Any:
        self.commands = list(params.get("commands") or [])
        return True

    def _m_deleteMyCommands(self, params: dict[str, Any]) -> Any:
        return True

    def _m_answerCallbackQuery(self, params: dict[str, Any]) -> Any:
        return True

    def _check_send(self, params: dict[str, Any], text_key: str, limit: int) -> web.Response | None:
        chat_id = int(params.get("chat_id", 0))
        if chat_id in self.blocked:
            return self._error(403, "Forbidden: bot was blocked by the user")
        if self.rate_limit:
            with self._lock:
                if self._over_rate(self._arrived):
                    self.too_many += 1
                    return self._error(429, "Too Many Requests: retry after 1", 1)
        text = str(params.get(text_key) or "")
        if text_key == "text" and not text.strip():
            return self._error(400, "Bad Request: message text is empty")
        if len(text) > limit:
            return self._error(400, "Bad Request: message is too long")
        if params.get("parse_mode") == "HTML" and (error := html_error(text)):
            return self._error(400, f"Bad Request: can't parse entities: {error}")
        markup = params.get("reply_markup") or {}
        for row in markup.get("inline_keyboard", []) if isinstance(markup, dict) else []:
            for button in row:
                data = button.get("callback_data")
                if data is not None and not 1 <= len(data.encode()) <= 64:
                    return self._error(400, "Bad Request: BUTTON_DATA_INVALID")
        return None

    def _over_rate(self, arrived: float) -> bool:
        """Whether some sliding second (a span shorter than one second) around a message
        arriving then already holds rate_limit messages; if not, it is counted. Requests are
        read in about the order they arrived: only one read late is checked both ways."""
        assert self.rate_limit
        window = self._window
        del window[: bisect.bisect_left(window, max(window[-1:] or [arrived]) - 10.0)]
        first = bisect.bisect_right(window, arrived - 1.0)  # the first within the second
        if not window or arrived >= window[-1]:
            over = len(window) - first >= self.rate_limit
        else:  # each second that starts at or before it and ends after it
            starts = [arrived, *window[first : bisect.bisect_right(window, arrived)]]
            over = any(
                bisect.bisect_left(window, start + 1.0) - bisect.bisect_left(window, start)
                >= self.rate_limit
                for start in starts
            )
        if not over:
            bisect.insort(window, arrived)
        return over

    def _message(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        message_id = next(self._message_ids)
        sent = Sent(method, params, time.perf_counter(), message_id, self._arrived)
        with self._lock:
            self.sent.append(sent)
        if self.on_sent is not None:
            self.on_sent(sent)
        chat_id = int(params.get("chat_id", 0))
        result: dict[str, Any] = {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "supergroup"},
            "from": {
                "id": BOT_ID,
                "is_bot": True,
                "first_name": "Cảnh giác",
                "username": BOT_USERNAME,
            },
        }
        if "text" in params:
            result["text"] = params["text"]
        if params.get("reply_markup"):
            result["reply_markup"] = params["reply_markup"]
        return result

    def _m_sendMessage(self, params: dict[str, Any]) -> Any:
        return self._check_send(params, "text", 4096) or self._message("sendMessage", params)

    def _m_sendPhoto(self, params: dict[str, Any]) -> Any:
        return self._check_send(params, "caption", 1024) or self._message("sendPhoto", params)

    def _m_sendMediaGroup(self, params: dict[str, Any]) -> Any:
        if not 2 <= len(params.get("media") or []) <= 10:  # as the Bot API requires
            return self._error(400, "Bad Request: media group must have 2-10 items")
        refusal = self._check_send(params, "caption", 1024)
        if refusal:
            return refusal
        return [
            self._message("sendMediaGroup", {**params, "media": [item]})
            for item in params.get("media", [])
        ]

    def _m_editMessageText(self, params: dict[str, Any]) -> Any:
        return self._check_send(params, "text", 4096) or self._message("editMessageText", params)

    def _m_editMessageReplyMarkup(self, params: dict[str, Any]) -> Any:
        return self._message("editMessageReplyMarkup", params)

    def _m_getFile(self, params: dict[str, Any]) -> Any:
        file_id = str(params.get("file_id"))
        if file_id not in self.files:
            return self._error(400, "Bad Request: invalid file_id")
        return {
            "file_id": file_id,
            "file_unique_id": f"u-{file_id}",
            "file_size": len(self.files[file_id]),
            "file_path": f"photos/{file_id}",
        }

    # --- webhook delivery ---------------------------------------------------------------------

    async def _deliver_webhooks(self) -> None:
        """Like Telegram: POST each update, one at a time; retry until answered 2xx."""
        while True:
            hook = self.webhook
            with self._lock:
                update = self._updates[0] if hook and self._updates else None
            if update is None or hook is None:
                await asyncio.sleep(0.01)
                continue
            headers = {"X-Telegram-Bot-Api-Secret-Token": hook["secret"]} if hook["secret"] else {}
            try:
                async with self._session.post(
                    hook["url"],
                    json=update,
                    headers=headers,
                    timeout=aiohttp.ClientTimeout(total=30),
                ) as answer:
                    delivered = 200 <= answer.status < 300
            except (aiohttp.ClientError, TimeoutError):
                delivered = False
            if delivered:
                with self._lock:
                    if self._updates and self._updates[0] is update:
                        self._updates.pop(0)
            else:
                await asyncio.sleep(0.2)


# --- update builders (like python-telegram-bot's tests/auxil/build_messages.py) ---------------


def _user(user_id: int) -> dict[str, Any]:
    return {"id": user_id, "is_bot": False, "first_name": "Người dân", "language_code": "vi"}


_ids = itertools.count(10_000)


def text_update(
    user_id: int, text: str, chat_id: int | None = None, chat_type: str = "private", **extra: Any
) -> dict[str, Any]:
    chat = {"id": chat_id or user_id, "type": chat_type}
    message: dict[str, Any] = {
        "message_id": next(_ids),
        "date": int(time.time()),
        "chat": chat,
        "from": _user(user_id),
        "text": text,
        **extra,
    }
    if text.startswith("/"):
        length = len(text.split()[0])
        message["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
    return {"message": message}


def photo_update(user_id: int, file_id: str, size: int, caption: str = "") -> dict[str, Any]:
    sizes = [
        {
            "file_id": file_id,
            "file_unique_id": f"u-{file_id}",
            "width": 1280,
            "height": 720,
            "file_size": size,
        }
    ]
    message: dict[str, Any] = {
        "message_id": next(_ids),
        "date": int(time.time()),
        "chat": {"id": user_id, "type": "private"},
        "from": _user(user_id),
        "photo": sizes,
    }
    if caption:
        message["caption"] = caption
    return {"message": message}


def callback_update(
    user_id: int, data: str, chat_id: int | None = None, message_id: int = 1
) -> dict[str, Any]:
    chat = {"id": chat_id or user_id, "type": "private" if not chat_id else "supergroup"}
    return {
        "callback_query": {
            "id": str(next(_ids)),
            "from": _user(user_id),
            "chat_instance": "ci",
            "data": data,
            "message": {
                "message_id": message_id,
                "date": int(time.time()),
                "chat": chat,
                "from": {"id": BOT_ID, "is_bot": True, "first_name": "Cảnh giác"},
                "text": "menu",
            },
        }
    }


def forwarded_update(user_id: int, text: str) -> dict[str, Any]:
    return text_update(
        user_id,
        text,
        forward_origin={
            "type": "hidden_user",
            "date": int(time.time()),
            "sender_user_name": "Người lạ",
        },
    )
