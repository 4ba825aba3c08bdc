"""The whole bot (`serve`) on an asyncio loop in a thread of its own, so that a test driving
Chromium with Playwright's sync API can run beside it, and hand it coroutines (a resident
writing on a messenger stand-in) to run on that loop."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

from bot.settings import Settings
from tests.conftest import running_bot

T = TypeVar("T")


class BotThread:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.failure: BaseException | None = None
        self._stop: asyncio.Event | None = None
        self.thread = threading.Thread(target=self._run, name="bot", daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_until_complete(self._serve())
        except BaseException as failure:  # surfaced to the test by start() or stop()
            self.failure = failure
        finally:
            self.ready.set()
            self.loop.close()

    async def _serve(self) -> None:
        self._stop = asyncio.Event()
        async for _ in running_bot(self.settings):
            self.ready.set()
            await self._stop.wait()

    def start(self) -> BotThread:
        self.thread.start()
        self.ready.wait(60)
        if self.failure is not None or not self.thread.is_alive():
            raise RuntimeError("the bot did not start") from self.failure
        return self

    def run(self, work: Coroutine[Any, Any, T], timeout: float = 60) -> T:
        """Run a coroutine on the bot's loop and wait for its result here."""
        return asyncio.run_coroutine_threadsafe(work, self.loop).result(timeout)

    def stop(self) -> None:
        if self._stop is not None and not self.loop.is_closed():
            self.loop.call_soon_threadsafe(self._stop.set)
        self.thread.join(30)
        if self.failure is not None:
            raise self.failure
