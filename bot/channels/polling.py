"""Long polls that a stop request can interrupt."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any


async def unless_stopped(call: Awaitable[Any], stop: asyncio.Event) -> Any:
    """The call's result, or None if `stop` is set first (the call is then cancelled)."""
    task = asyncio.ensure_future(call)
    stopped = asyncio.create_task(stop.wait())
    done, _ = await asyncio.wait({task, stopped}, return_when=asyncio.FIRST_COMPLETED)
    if task in done:
        stopped.cancel()
        return task.result()
    task.cancel()
    return None
