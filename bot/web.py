"""The one ASGI app: the webhooks, /healthz, and the web console."""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse

from bot.console import Console, mount
from bot.liveness import Liveness
from db.engine import Database

if TYPE_CHECKING:
    from bot.channels.registry import Webhook

log = logging.getLogger(__name__)
MAX_BODY_BYTES = 1024 * 1024  # Settings.http_max_body_bytes unless told otherwise


def create_app(
    db: Database,
    routes: Sequence[Webhook] = (),
    max_body_bytes: int = MAX_BODY_BYTES,
    liveness: Liveness | None = None,
    channels: Mapping[str, Any] | None = None,
    console: Console | None = None,
    public_url: str = "",
) -> FastAPI:
    """`channels`: every messenger this process runs (by name, each with `.up`), for
    /healthz; `routes`: the webhooks of those that take updates here; `console`: the
    console, in processes that serve it."""
    app = FastAPI(title="Cảnh giác", docs_url=None, redoc_url=None, openapi_url=None)

    @app.get("/healthz")
    def healthz() -> JSONResponse:
        checks: dict[str, Any] = {"database": _database_ok(db)}
        for name, channel in (channels or {}).items():
            checks[name] = "up" if channel.up else "down"
        # Each long-running loop: "ok", "stuck" (no round finished in time) or "dead".
        loops = liveness.report() if liveness else {}
        healthy = all(value in ("ok", "up") for value in [*checks.values(), *loops.values()])
        return JSONResponse({**checks, "loops": loops}, status_code=200 if healthy else 503)

    # Each channel's webhook checks its own signature or secret (bot/channels/registry.py).
    for webhook in routes:
        app.add_route(webhook.path, webhook.handle, methods=["POST"])

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


def same_secret(given: str, secret: str) -> bool:
    """Compared as bytes: compare_digest refuses str with non-ASCII characters."""
    return hmac.compare_digest(given.encode("utf-8", "surrogatepass"), secret.encode())


def _database_ok(db: Database) -> str:
    try:
        db.ping()
        return "ok"
    except Exception:
        log.exception("health check: database unreachable")
        return "unreachable"
