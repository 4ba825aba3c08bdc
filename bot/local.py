"""`make run` on one machine: the terminal chat in front, the console served beside it, and a
local admin with a one-time sign-in link, so a newcomer sees both sides in a minute."""

from __future__ import annotations

import asyncio
import sys
import threading
from typing import TextIO

from sqlmodel import Session, col, select

from bot.channels.render import numbered
from bot.outbox_sender import Transport
from bot.settings import Settings
from db import accounts, officers
from db.clock import utcnow
from db.engine import Database
from db.models import Officer, Outbox
from handlers.types import Reply

LOCAL_ADMIN = "Quản trị (máy này)"


def sign_in_link(db: Database, public_url: str) -> str:
    """The local admin (made on first run) and a fresh one-time link that signs them in."""
    now = utcnow()
    with db.transaction() as session:
        admin = _local_admin(session)
        token = accounts.issue_link(session, admin, now, purpose=accounts.SIGN_IN)
    return f"{public_url}/link/{token}"


def _local_admin(session: Session) -> Officer:
    found = session.exec(
        select(Officer).where(Officer.name == LOCAL_ADMIN, col(Officer.active).is_(True))
    ).first()
    return found or officers.add(session, LOCAL_ADMIN, officers.ADMIN, None)


def printer(stdout: TextIO, lock: threading.Lock) -> Transport:
    """The terminal as a transport: what police send the local resident appears on screen."""

    async def show(row: Outbox) -> None:
        text = "\n\n".join(numbered([Reply.from_dict(row.payload)], commands=True))
        with lock:
            stdout.write(f"\n{text}\n\n> ")
            stdout.flush()

    return show


class Beside:
    """The web app and its senders on a thread of their own, while the terminal chat runs."""

    def __init__(self, settings: Settings, db: Database, stdout: TextIO = sys.stdout) -> None:
        self.settings, self.db, self.stdout = settings, db, stdout
        self.lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="console", daemon=True)

    def start(self, timeout: float = 30.0) -> bool:
        self._thread.start()
        return self._ready.wait(timeout)

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout=20)

    def _run(self) -> None:
        from bot.runner import serve

        async def main() -> None:
            self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
            ready = asyncio.Event()
            local = {"terminal": printer(self.stdout, self.lock)}
            waiter = asyncio.create_task(ready.wait())
            server = asyncio.create_task(serve(self.settings, self._stop, ready, self.db, local))
            await asyncio.wait({waiter, server}, return_when=asyncio.FIRST_COMPLETED)
            self._ready.set()
            await server

        try:
            asyncio.run(main())
        finally:
            self._ready.set()
