"""A resident in a test: sends messages to the real dispatcher, presses buttons by label."""

from __future__ import annotations

import itertools
from typing import Any

from content import fold
from db import conversations
from handlers.dispatcher import Dispatcher, Handled
from handlers.types import Attachment, Button, Incoming, Reply, State
from tests.walker import Action

_update_ids = itertools.count(1)


class Chat:
    def __init__(
        self,
        dispatcher: Dispatcher,
        channel: str = "test",
        user: str = "resident-1",
        numbered: bool = False,
        photos: bool = False,
    ) -> None:
        self.dispatcher, self.channel, self.user = dispatcher, channel, user
        self.numbered, self.photos = numbered, photos
        self.replies: list[Reply] = []
        self.last: Handled = Handled()

    def send(
        self,
        text: str = "",
        *,
        payload: str | None = None,
        attachments: tuple[Attachment, ...] = (),
        update_id: str | None = None,
        **extra: Any,
    ) -> list[Reply]:
        incoming = Incoming(
            channel=self.channel,
            user_id=self.user,
            update_id=update_id or f"u{next(_update_ids)}",
            text=text,
            payload=payload,
            attachments=attachments,
            numbered_choices=self.numbered,
            carries_photos=self.photos,
            **extra,
        )
        self.last = self.dispatcher.handle(incoming)
        if not self.last.duplicate:
            self.replies = self.last.replies
        return self.last.replies

    def button(self, label: str, replies: list[Reply] | None = None) -> str:
        """The payload of the button whose label contains `label` (accents and case ignored)."""
        wanted = fold(label)
        for reply in replies or self.replies:
            for row in reply.buttons:
                for button in row:
                    if wanted in fold(button.label):
                        return button.payload
        shown = [b.label for r in (replies or self.replies) for row in r.buttons for b in row]
        raise AssertionError(f"no button {label!r} among {shown}")

    def press(self, *labels: str) -> list[Reply]:
        """Press the first of `labels` that is shown."""
        for label in labels[:-1]:
            try:
                return self.send(payload=self.button(label))
            except AssertionError:
                continue
        return self.send(payload=self.button(labels[-1]))

    def screen(self) -> tuple[str, list[str]]:
        """What the resident sees now: the last turn's words and its buttons' labels."""
        return self.text, [b.label for r in self.replies for row in r.buttons for b in row]

    def act(self, action: Action) -> None:
        """Do what the report walker decided, as this resident."""
        if action.kind == "press":
            self.press(str(action.value))
        elif action.kind == "photo":
            assert isinstance(action.value, bytes)
            photo = Attachment("photo", data=action.value, size=len(action.value))
            self.send(attachments=(photo,))
        else:
            self.send(str(action.value))

    @property
    def text(self) -> str:
        return "\n".join(r.text for r in self.replies)

    def put_state(self, state: State) -> None:
        """Stand this resident exactly where another conversation stood."""
        with self.dispatcher.db.transaction() as session:
            row = conversations.lock(session, self.channel, self.user, self.dispatcher.clock())
            conversations.save(row, state.to_json(), self.dispatcher.clock())
        self.replies = [
            Reply(
                text="",
                buttons=tuple((Button(label, payload),) for label, payload in state.choices),
            )
        ]

    def state(self) -> State:
        with self.dispatcher.db.transaction() as session:
            row = conversations.lock(session, self.channel, self.user, self.dispatcher.clock())
            return State.from_json(row.state)
