"""The terminal channel: talk to the bot as a resident, one line per message."""

from __future__ import annotations

import sys
import threading
import uuid
from typing import TextIO

from bot.channels.render import numbered
from db import outbox
from db.clock import utcnow
from db.engine import Database, is_outage
from handlers.dispatcher import Dispatcher
from handlers.types import Incoming

CHANNEL = "terminal"


def chat(
    dispatcher: Dispatcher,
    db: Database,
    user_id: str,
    stdin: TextIO = sys.stdin,
    stdout: TextIO = sys.stdout,
    lock: threading.Lock | None = None,
) -> None:
    """Read messages until end of input; buttons are shown as numbered options. `lock`: held
    while writing, shared with whatever else writes to this screen (police notices)."""
    interactive = stdin.isatty()
    lock = lock or threading.Lock()
    if interactive:
        with lock:
            _turn(dispatcher, db, user_id, "/start", stdout)
    while True:
        if interactive:
            with lock:
                stdout.write("> ")
                stdout.flush()
        line = stdin.readline()
        if not line:
            break
        with lock:
            _turn(dispatcher, db, user_id, line.rstrip("\n"), stdout)


def _turn(dispatcher: Dispatcher, db: Database, user_id: str, text: str, stdout: TextIO) -> None:
    incoming = Incoming(
        channel=CHANNEL,
        user_id=user_id,
        update_id=uuid.uuid4().hex,
        text=text,
        numbered_choices=True,
    )
    try:
        handled = dispatcher.handle(incoming)
    except Exception as error:
        if not is_outage(error):
            raise
        stdout.write(dispatcher.content.text("common.error") + "\n\n")  # type it again later
        stdout.flush()
        return
    for block in numbered(handled.replies):
        stdout.write(block + "\n\n")
    stdout.flush()
    with db.transaction() as session:  # shown on screen: delivered
        outbox.mark_sent(session, handled.outbox_ids, utcnow())
