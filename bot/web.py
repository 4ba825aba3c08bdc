"""The one ASGI app: Telegram's webhook, /healthz, and later the web console."""

from __future__ import annotations

import hmac
import logging
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy import text

from bot.channels.telegram import TelegramChannel
from db.engine import Database

log = logging.getLogger(__name__)


def create_app(
    db: Database,
    telegram: TelegramChannel | None = None,
    telegram_path: str = "",
    telegram_secret: str = "",
) -> FastAPI:
    app = FastAPI(title="Cảnh giác", docs_url=None, redoc_url=None, openapi_url=None)

    @app.get("/healthz")
    def healthz() -> JSONResponse:
        checks: dict[str, Any] = {"database": _database_ok(db)}
        if telegram is not None:
            checks["telegram"] = "up" if telegram.up else "down"
        healthy = all(value in ("ok", "up") for value in checks.values())
        return JSONResponse(checks, status_code=200 if healthy else 503)

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
