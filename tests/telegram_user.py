"""A resident on the stand-in Telegram server: types, presses buttons, reads what came back."""

from __future__ import annotations

from content import fold
from tests.fakes.telegram_server import FakeTelegram, Sent, callback_update, text_update


class TelegramUser:
    def __init__(self, fake: FakeTelegram, user_id: int, patience: float = 10) -> None:
        self.fake, self.user_id, self.patience = fake, user_id, patience
        self.seen = 0  # messages to this chat already read

    def inbox(self) -> list[Sent]:
        return self.fake.messages_to(self.user_id)

    async def say(self, text: str, **extra: object) -> str:
        return await self._expect(lambda: self.fake.push(text_update(self.user_id, text, **extra)))

    async def press(self, label: str) -> str:
        data = self.button(label)
        return await self._expect(lambda: self.fake.push(callback_update(self.user_id, data)))

    def button(self, label: str) -> str:
        wanted = fold(label)
        for sent in reversed(self.inbox()):
            for text, data in sent.buttons:
                if wanted in fold(text):
                    return data
        recent = [(s.text[:50], [t for t, _ in s.buttons]) for s in self.inbox()[-3:]]
        raise AssertionError(f"no button {label!r}; last messages: {recent}")

    async def _expect(self, push: object) -> str:
        """Push, then wait for at least one new message; returns the new texts joined."""
        before = len(self.inbox())
        push()  # type: ignore[operator]
        await self.fake.until(lambda _: len(self.inbox()) > before, timeout=self.patience)
        await self.settle()
        new = self.inbox()[before:]
        self.seen = len(self.inbox())
        return "\n".join(s.text for s in new)

    async def settle(self) -> None:
        """Wait until no new message has arrived for a short while (a turn may send several)."""
        import asyncio

        count = -1
        while count != len(self.inbox()):
            count = len(self.inbox())
            await asyncio.sleep(0.05)
