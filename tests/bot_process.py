"""The real `canhgiac run` as a child process against the stand-in Bot API server: started,
SIGKILLed, restarted and stopped by tests, its web app (/healthz, the webhook) on a free port
and its log kept in a file to read when something fails."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import aiohttp

from tests.conftest import free_port
from tests.fakes.telegram_server import FakeTelegram

START_SECONDS = 60.0  # a start waits for the database, which a test may be holding down


class BotProcess:
    def __init__(self, fake: FakeTelegram, database_url: str, cwd: Path, **settings: str) -> None:
        """`settings`: more environment for the bot (POLICE_CHAT_ID, TELEGRAM_WEBHOOK_URL…),
        over the defaults here."""
        self.http_port = free_port()
        self.env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "TELEGRAM_BOT_TOKEN": fake.token,
            "TELEGRAM_API_URL": fake.root,
            "TELEGRAM_WEBHOOK_URL": "",
            "HTTP_PORT": str(self.http_port),
            "LOG_LEVEL": "WARNING",
            # The stand-in has no group limit; Telegram's 20 a minute would make each test
            # that walks a card through many steps wait seconds per step.
            "POLICE_GROUP_RATE": "600",
            **settings,
        }
        self.cwd = cwd
        self.log_path = cwd / "bot.log"  # stderr of every run, appended
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def root(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    async def start(self) -> None:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "bot", "run"],
                env=self.env,
                cwd=self.cwd,
                stdout=subprocess.PIPE,
                stderr=log,
            )
        assert self.process.stdout is not None
        try:
            line = await asyncio.wait_for(
                asyncio.to_thread(self.process.stdout.readline), START_SECONDS
            )
        except TimeoutError:
            self.kill()
            raise AssertionError(f"the bot did not start; its log:\n{self.log_tail()}") from None
        assert b"running as" in line, f"{line!r}; its log:\n{self.log_tail()}"

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log_tail(self, lines: int = 60) -> str:
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    async def health(self, timeout: float = 5.0) -> tuple[int, dict[str, Any]]:
        """GET /healthz: its status and body; raises TimeoutError past `timeout` seconds."""
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout)) as session,
            session.get(f"{self.root}/healthz") as response,
        ):
            return response.status, await response.json()

    async def until_healthy(self, timeout: float = 90.0) -> dict[str, Any]:
        """Wait until /healthz answers 200 with every loop "ok"; returns that answer."""
        deadline = asyncio.get_running_loop().time() + timeout
        last: Any = None
        while asyncio.get_running_loop().time() < deadline:
            try:
                status, body = await self.health()
            except (aiohttp.ClientError, TimeoutError) as error:
                last = repr(error)
            else:
                last = (status, body)
                if status == 200 and set(body.get("loops", {}).values()) == {"ok"}:
                    return body
            await asyncio.sleep(0.5)
        raise AssertionError(f"/healthz not healthy in {timeout} s: {last}\n{self.log_tail()}")
