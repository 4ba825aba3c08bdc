"""`canhgiac run --role`: a web process takes updates and serves the console, a worker sends
and schedules, `all` does both; every role answers /healthz."""

from __future__ import annotations

import asyncio
import dataclasses

import aiohttp

from bot.runner import serve
from bot.settings import Settings


async def _serving(settings: Settings, role: str) -> tuple[set[str], int]:
    """The loops a process of this role runs, and what it answers for a console page."""
    stop, ready = asyncio.Event(), asyncio.Event()
    task = asyncio.create_task(serve(settings, stop, ready, role=role))
    waiting = asyncio.create_task(ready.wait())
    await asyncio.wait({task, waiting}, timeout=30, return_when=asyncio.FIRST_COMPLETED)
    waiting.cancel()
    try:
        assert ready.is_set(), task.exception() if task.done() else "not ready in 30 s"
        root = f"http://127.0.0.1:{settings.http_port}"
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{root}/healthz") as answer:
                loops = set((await answer.json())["loops"])
            async with http.get(f"{root}/sw.js") as answer:
                console = answer.status
    finally:
        stop.set()
        await asyncio.wait_for(task, 20)
    return loops, console


async def test_each_role_runs_its_share(bot_settings: Settings) -> None:
    settings = dataclasses.replace(bot_settings, police_chat_id="-100123")
    web, web_console = await _serving(settings, "web")
    assert "telegram" in web and web_console == 200  # takes updates, serves the console
    assert not web & {
        "outbox",
        "police",
        "webpush",
        "broadcasts",
        "maintenance",
        "replays",
        "scheduler",
    }

    worker, worker_console = await _serving(settings, "worker")
    assert {
        "outbox",
        "police",
        "webpush",
        "broadcasts",
        "maintenance",
        "replays",
        "scheduler",
    } <= worker
    assert "telegram" not in worker and worker_console == 404

    both, both_console = await _serving(settings, "all")
    assert web | worker <= both and both_console == 200
