"""Alerts to many Telegram chats: the same message body for everyone but the chat id, so it
is serialised once per broadcast and posted straight to the Bot API's sendMessage.

python-telegram-bot builds request and answer objects for every call; at 1 000 messages a
second on two cores that was a third of the bot's CPU (bench/README.md). Replies, cards and
everything interactive still go through python-telegram-bot."""

from __future__ import annotations

import json
from typing import Any

import aiohttp

from bot.outbox_sender import Blocked, Rejected, RetryLater

TIMEOUT = aiohttp.ClientTimeout(total=15, sock_connect=5)


class BulkSender:
    def __init__(self, token: str, api_root: str, connections: int = 32) -> None:
        self.url = f"{api_root}/bot{token}/sendMessage"
        self.connections = connections
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        connector = aiohttp.TCPConnector(limit=self.connections)
        self._session = aiohttp.ClientSession(connector=connector, timeout=TIMEOUT)

    async def stop(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def send(self, chat_id: int, body: dict[str, Any]) -> None:
        """Post one message; failures in the outbox's terms (Blocked, RetryLater)."""
        assert self._session is not None, "BulkSender.start() first"
        data = json.dumps({"chat_id": chat_id, **body}, ensure_ascii=False).encode()
        try:
            async with self._session.post(
                self.url, data=data, headers={"Content-Type": "application/json"}
            ) as response:
                answer = await response.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as error:
            raise RetryLater(None, f"network: {error!r}") from error
        raise_for_answer(answer)


def raise_for_answer(answer: dict[str, Any]) -> None:
    """The Bot API's answer: ok, or why not (429 with retry_after; 403 and 400 for good)."""
    if answer.get("ok"):
        return
    code = answer.get("error_code")
    description = str(answer.get("description", "error"))
    if code == 429:
        after = (answer.get("parameters") or {}).get("retry_after", 1)
        raise RetryLater(float(after), description)
    if code == 403:
        raise Blocked(description)
    if code == 400:
        raise Rejected(description)
    raise RetryLater(None, description)
