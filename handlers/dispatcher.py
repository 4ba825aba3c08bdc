"""One update in, one transaction: dedupe, step, new state, outbox — then the replies out."""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from content import Content
from db import broadcasts, conversations, outbox
from db.clock import utcnow
from db.engine import Database, is_outage
from handlers.flow import choice_key
from handlers.router import FLOWS, route
from handlers.types import Context, Incoming, Limits, Reply, State

log = logging.getLogger(__name__)
# Characters nobody sees: controls, and blank letters (Hangul fillers, braille blank) that
# pass for spaces; with every format character (category Cf: bidi overrides and isolates,
# U+061C, soft hyphens, zero-widths, tags) they are removed, so what officers read is what
# was written, and nothing can reorder or hide it.
_INVISIBLE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u115f\u1160\u3164\uffa0\u2800\u2028\u2029]")
# The adapter sends replies itself right after commit; the outbox sender only takes over
# if it has not confirmed within this time (it crashed).
REPLY_LEASE = timedelta(seconds=30)


@dataclass
class Handled:
    """What a turn produced: replies to show now, and their outbox rows to mark sent."""

    replies: list[Reply] = field(default_factory=list)
    outbox_ids: list[int] = field(default_factory=list)
    duplicate: bool = False


class Dispatcher:
    def __init__(
        self,
        db: Database,
        content: Content,
        limits: Limits,
        clock: Callable[[], datetime] = utcnow,
        windowed: frozenset[str] = frozenset(),
    ) -> None:
        self.db, self.content, self.limits, self.clock = db, content, limits, clock
        # Channels that may message a resident only soon after the resident wrote: alerts
        # that could not go out wait, and are released by the resident's next message.
        self.windowed = windowed

    def handle(self, msg: Incoming) -> Handled:
        """Run the turn; a turn that fails is rolled back and the resident told so. A database
        outage is raised instead: nothing was recorded, so the update can come again (the
        channel's intake waits it out) and be answered properly, not with an apology."""
        try:
            return self._turn(msg, failed=False)
        except Exception as error:
            if is_outage(error):
                raise
            # Who, as a pseudonym: a log must not say which account wrote to the police.
            log.exception(
                "turn failed for %s update %s", pseudonym(msg.channel, msg.user_id), msg.update_id
            )
            # The turn's changes are rolled back; the resident is told, the state is untouched.
            return self._turn(msg, failed=True)

    def _turn(self, msg: Incoming, failed: bool) -> Handled:
        now = self.clock()
        with self.db.transaction() as session:
            if not conversations.first_time(session, msg.channel, msg.update_id, now):
                return Handled(duplicate=True)
            conversation = conversations.lock(session, msg.channel, msg.user_id, now)
            if msg.channel in self.windowed:
                broadcasts.release_waiting(session, msg.channel, msg.user_id, now)
                outbox.release_waiting(session, msg.channel, msg.user_id, now)
            state = State.from_json(conversation.state)
            ctx = Context(session=session, content=self.content, now=now, limits=self.limits)
            if failed:
                replies = [Reply(self.content.text("common.error"))]
            else:
                state, replies = self._step(ctx, state, msg)
                conversations.save(conversation, state.to_json(), now)
            rows = [
                outbox.enqueue(
                    session,
                    outbox.Message(msg.channel, msg.user_id, "reply", r.to_dict()),
                    now,
                    leased_for=REPLY_LEASE,
                )
                for r in replies
            ]
            for effect in ctx.effects:
                outbox.enqueue(session, effect, now)
            session.flush()
            return Handled(replies, [row.id for row in rows if row.id is not None])

    def _step(self, ctx: Context, state: State, msg: Incoming) -> tuple[State, list[Reply]]:
        text = clean(msg.text)
        if len(text) > self.limits.max_text:
            notice = Reply(self.content.text("common.too_long", limit=self.limits.max_text))
            return state, [notice]
        payload = msg.payload or self._typed_choice(state, msg, text)
        state, replies = route(ctx, state, msg, text, payload)
        flow = FLOWS.get(state.flow or "")
        if flow is not None and flow.after_turn is not None:
            flow.after_turn(state)
        shown = [[b.label, b.payload] for r in replies for row in r.buttons for b in row]
        if shown:
            state.choices = shown
        return state, replies

    @staticmethod
    def _typed_choice(state: State, msg: Incoming, text: str) -> str | None:
        """A typed number (where options are numbered) or a button's label stands for a press."""
        if not text or not state.choices:
            return None
        flow = FLOWS.get(state.flow or "")
        step = flow.steps.get(state.step or "") if flow else None
        numbered = msg.numbered_choices and not (step and step.takes_numbers)
        if numbered and text.isdigit() and 1 <= int(text) <= len(state.choices):
            return state.choices[int(text) - 1][1]
        key = choice_key(text)
        return next(
            (payload for label, payload in state.choices if key and choice_key(label) == key), None
        )


_PSEUDONYM_KEY = secrets.token_bytes(32)  # per process: correlates one run's lines, no more


def pseudonym(channel: str, user_id: str) -> str:
    """A stand-in for an account in logs, the same for one account within one process."""
    digest = hmac.new(_PSEUDONYM_KEY, f"{channel}:{user_id}".encode(), hashlib.sha256)
    return f"{channel}:{digest.hexdigest()[:12]}"


def clean(text: str) -> str:
    """NFC, no invisible or control characters (newlines kept), trimmed."""
    visible = _INVISIBLE.sub("", unicodedata.normalize("NFC", text or ""))
    return "".join(c for c in visible if unicodedata.category(c) != "Cf").strip()
