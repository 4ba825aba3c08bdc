"""The stand-in Bot API server in front of several bot processes: each update goes by webhook
to the next process in turn, at once rather than one at a time (as a load balancer spreads
Telegram's parallel webhook connections), a POST that fails retried on the next process
until one answers 200 (as Telegram retries, and a load balancer skips a dead backend)."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from tests.fakes.telegram_server import FakeTelegram

TRIES = 40  # POSTs of one update, 0.2 s apart, before it counts as taken by no process


@dataclass
class RoundRobin(FakeTelegram):
    backends: list[str] = field(default_factory=list)  # the processes' webhook addresses
    secret: str = ""  # X-Telegram-Bot-Api-Secret-Token
    _turn: int = 0
    _posts: set[asyncio.Task[None]] = field(default_factory=set)
    _http: aiohttp.ClientSession | None = None

    def push(self, update: dict[str, Any]) -> int:
        with self._lock:
            update = {"update_id": next(self._update_ids), **update}
            self._history.append(update)
            self.offered_at[update["update_id"]] = time.perf_counter()
        self._turn += 1
        task = asyncio.get_running_loop().create_task(self._post(self._turn, update))
        self._posts.add(task)
        task.add_done_callback(self._posts.discard)
        return int(update["update_id"])

    async def _post(self, turn: int, update: dict[str, Any]) -> None:
        if self._http is None:
            self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
        headers = {"X-Telegram-Bot-Api-Secret-Token": self.secret}
        for attempt in range(TRIES):
            backend = self.backends[(turn + attempt) % len(self.backends)]
            try:
                async with self._http.post(backend, json=update, headers=headers) as answer:
                    if answer.status == 200:
                        return
            except (aiohttp.ClientError, TimeoutError):
                pass
            await asyncio.sleep(0.2)
        self.untaken(update)

    def untaken(self, update: dict[str, Any]) -> None:
        """No process took the update."""
        raise AssertionError(f"no process took update {update['update_id']}")

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()
