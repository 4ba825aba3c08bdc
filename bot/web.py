"""The one ASGI app: the webhooks, /healthz, and the web console."""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, HTTPException, Request, Response
from fastapi.responses import JSONResponse

from bot.channels.telegram import TelegramChannel
from bot.channels.zalo_bot import ZaloBotChannel
from bot.channels.zalo_oa import ZaloOAChannel
from bot.console import Console, mount
from bot.liveness import Liveness
from db.engine import Database

log = logging.getLogger(__name__)
MAX_BODY_BYTES = 1024 * 1024  # Settings.http_max_body_bytes unless told otherwise


@dataclass
class Routes:
    """The webhooks to serve: each channel that is configured for one, with its secret."""

    telegram: TelegramChannel | None = None
    telegram_path: str = ""
    telegram_secret: str = ""
    zalo_oa: ZaloOAChannel | None = None
    zalo_bot: ZaloBotChannel | None = None
    zalo_bot_secret: str = ""


def create_app(
    db: Database,
    routes: Routes | None = None,
    max_body_bytes: int = MAX_BODY_BYTES,
    liveness: Liveness | None = None,
    channels: Mapping[str, Any] | None = None,
    console: Console | None = None,
    public_url: str = "",
) -> FastAPI:
    """`channels`: every messenger this process runs (by name, each with `.up`), for
    /healthz; `routes`: those of them that take webhooks here."""
    routes = routes or Routes()
    app = FastAPI(title="Cảnh giác", docs_url=None, redoc_url=None, openapi_url=None)
    telegram, telegram_path, telegram_secret = (
        routes.telegram,
        routes.telegram_path,
        routes.telegram_secret,
    )

    @app.get("/healthz")
    def healthz() -> JSONResponse:
        checks: dict[str, Any] = {"database": _database_ok(db)}
        for name, channel in (channels or {}).items():
            checks[name] = "up" if channel.up else "down"
        # Each long-running loop: "ok", "stuck" (no round finished in time) or "dead".
        loops = liveness.report() if liveness else {}
        healthy = all(value in ("ok", "up") for value in [*checks.values(), *loops.values()])
        return JSONResponse({**checks, "loops": loops}, status_code=200 if healthy else 503)

    zalo_oa, zalo_bot = routes.zalo_oa, routes.zalo_bot
    if zalo_oa is not None:

        @app.post("/zalo/oa")
        async def zalo_oa_webhook(request: Request) -> Response:
            # The MAC covers the raw body and a timestamp inside it: read (capped), then check.
            raw, body = await webhook_body(request, max_body_bytes)
            event = zalo_oa.verify(raw, request.headers.get("X-ZEvent-Signature", ""), body)
            if event is None:
                return Response(status_code=403)  # forged, altered or replayed: nothing done
            await zalo_oa.handle_event(event)
            return Response(status_code=200)

    if zalo_bot is not None:

        @app.post("/zalo/bot")
        async def zalo_bot_webhook(request: Request) -> Response:
            given = request.headers.get("X-Bot-Api-Secret-Token", "")
            if not _same_secret(given, routes.zalo_bot_secret):
                return Response(status_code=403)
            _, body = await webhook_body(request, max_body_bytes)
            await zalo_bot.handle(body)
            return Response(status_code=200)

    if telegram is not None and telegram_path:

        @app.post(telegram_path)
        async def telegram_webhook(request: Request) -> Response:
            given = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "")
            if not _same_secret(given, telegram_secret):
                return Response(status_code=403)
            _, body = await webhook_body(request, max_body_bytes)
            # Answer only once the turn is committed or, for an update that keeps failing
            # (one PTB cannot even read), once it is set aside: a 4xx or 5xx would make
            # Telegram deliver it again and again, and hold back the updates behind it.
            await telegram.handle_json(body)
            return Response(status_code=200)

    if console is not None:
        mount(app, console, public_url)
    return app


async def webhook_body(request: Request, cap: int) -> tuple[bytes, dict[str, Any]]:
    """A webhook's body, raw and as a JSON object. Over `cap` bytes it is refused (413)
    unread when announced so, else as soon as the stream passes the cap; a body that is
    not a JSON object is refused (400)."""
    announced = request.headers.get("Content-Length", "")
    # Digits only: the HTTP server has refused a malformed length; 19 digits is beyond any cap.
    if (
        announced.isascii()
        and announced.isdigit()
        and (len(announced) > 18 or int(announced) > cap)
    ):
        raise _too_large()
    raw = bytearray()
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > cap:
            raise _too_large()
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError) as error:  # not JSON, not UTF-8, or nested too deep
        raise HTTPException(status_code=400) from error
    if not isinstance(body, dict):
        raise HTTPException(status_code=400)
    return bytes(raw), body


def _too_large() -> HTTPException:
    # Closing the connection spares reading (and discarding) the rest of the sender's body.
    return HTTPException(status_code=413, headers={"Connection": "close"})


def _same_secret(given: str, secret: str) -> bool:
    """Compared as bytes: compare_digest refuses str with non-ASCII characters."""
    return hmac.compare_digest(given.encode("utf-8", "surrogatepass"), secret.encode())


def _database_ok(db: Database) -> str:
    try:
        db.ping()
        return "ok"
    except Exception:
        log.exception("health check: database unreachable")
        return "unreachable"
