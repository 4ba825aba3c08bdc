"""The web console for police and staff, served by the same ASGI app as the webhooks."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse, Response
from fastapi.staticfiles import StaticFiles

from bot.console import account, admin, broadcasts, reports, statistics
from bot.console.app import HERE, Console

__all__ = ["Console", "mount", "routers"]


def routers(console: Console, public_url: str) -> list[APIRouter]:
    """Every page of the console (each checks its roles through the console's guard)."""
    console.public_url = public_url
    return [
        account.routes(console),
        reports.routes(console),
        broadcasts.routes(console),
        admin.routes(console),
        statistics.routes(console),
    ]


def mount(app: FastAPI, console: Console, public_url: str) -> None:
    for router in routers(console, public_url):
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    @app.get("/sw.js", include_in_schema=False)
    def service_worker() -> Response:
        # Served from the root so that it may show notices for every console page.
        return FileResponse(HERE / "static" / "sw.js", media_type="text/javascript")

    @app.get("/manifest.webmanifest", include_in_schema=False)
    def manifest() -> Response:
        return FileResponse(
            HERE / "static" / "manifest.webmanifest", media_type="application/manifest+json"
        )
