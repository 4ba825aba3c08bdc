"""The one ASGI app: Telegram's webhook, /healthz, and later the web console."""

from __future__ import annotations

import hmac
import logging
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy import text

from bot.channels.telegram import TelegramChannel
from bot.channels.zalo_bot import ZaloBotChannel
from bot.channels.zalo_oa import ZaloOAChannel
from db.engine import Database

log = logging.getLogger(__name__)


@dataclass
class Routes:
    """The webhooks to serve: each channel that is configured for one, with its secret."""

    telegram: TelegramChannel | None = None
    telegram_path: str = ""
    telegram_secret: str = ""
    zalo_oa: ZaloOAChannel | None = None
    zalo_bot: ZaloBotChannel | None = None
    zalo_bot_secret: str = ""

    @property
    def any(self) -> bool:
        return bool((self.telegram and self.telegram_path) or self.zalo_oa or self.zalo_bot)


def create_app(db: Database, routes: Routes | None = None) -> FastAPI:
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
        for name, channel in (
            ("telegram", routes.telegram),
            ("zalo_oa", routes.zalo_oa),
            ("zalo_bot", routes.zalo_bot),
        ):
            if channel is not None:
                checks[name] = "up" if channel.up else "down"
        healthy = all(value in ("ok", "up") for value in checks.values())
        return JSONResponse(checks, status_code=200 if healthy else 503)

    zalo_oa, zalo_bot = routes.zalo_oa, routes.zalo_bot
    if zalo_oa is not None:

        @app.post("/zalo/oa")
        async def zalo_oa_webhook(request: Request) -> Response:
            raw = await request.body()
            event = zalo_oa.verify(raw, request.headers.get("X-ZEvent-Signature", ""))
            if event is None:
                return Response(status_code=403)  # forged, altered or replayed: nothing done
            await zalo_oa.handle_event(event)
            return Response(status_code=200)

    if zalo_bot is not None:

        @app.post("/zalo/bot")
        async def zalo_bot_webhook(request: Request) -> Response:
            given = request.headers.get("X-Bot-Api-Secret-Token", "")
            if not hmac.compare_digest(given.encode(), routes.zalo_bot_secret.encode()):
                return Response(status_code=403)
            try:
                body = await request.json()
            except ValueError:
                return Response(status_code=400)
            await zalo_bot.handle(body if isinstance(body, dict) else {})
            return Response(status_code=200)

    if telegram is not None and telegram_path:

        @app.post(telegram_path)
        async def telegram_webhook(request: Request) -> Response:
            given = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "")
            if not hmac.compare_digest(given.encode(), telegram_secret.encode()):
                return Response(status_code=403)
            try:
                body = await request.json()
            except ValueError:
                return Response(status_code=400)
            # Answer only once the turn is committed: a failure makes Telegram deliver again.
            await telegram.handle_json(body)
            return Response(status_code=200)

    return app


def _database_ok(db: Database) -> str:
    try:
        with db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return "ok"
    except Exception:
        log.exception("health check: database unreachable")
        return "unreachable"
