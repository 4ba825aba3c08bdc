"""A resident on the stand-in Telegram server: types, presses buttons, reads what came back."""

from __future__ import annotations

import contextlib
import re

from content import fold
from tests.fakes.telegram_server import (
    FakeTelegram,
    Sent,
    callback_update,
    photo_update,
    text_update,
)
from tests.walker import Action, ReportWalker, Story, walk_async

RECEIPT = re.compile(r"Mã tiếp nhận của bạn: <b>([A-Z0-9]{4}-[A-Z0-9]{4})</b>")
ACCOUNT = "Người xưng công an gọi cho tôi đòi chuyển tiền xác minh"


class TelegramUser:
    def __init__(self, fake: FakeTelegram, user_id: int, patience: float = 10) -> None:
        self.fake, self.user_id, self.patience = fake, user_id, patience
        self.seen = 0  # messages to this chat already read
        self._since = 0  # where the messages since the last action start

    def inbox(self) -> list[Sent]:
        return self.fake.messages_to(self.user_id)

    async def say(self, text: str, **extra: object) -> str:
        return await self._expect(lambda: self.fake.push(text_update(self.user_id, text, **extra)))

    async def press(self, label: str) -> str:
        # A turn may send its messages over several seconds (429s and retries): wait for the
        # button to arrive rather than fail on a screen still being drawn.
        with contextlib.suppress(AssertionError):  # button() below says what was there instead
            await self.fake.until(lambda _: self._find(label) is not None, timeout=self.patience)
        data = self.button(label)
        return await self._expect(lambda: self.fake.push(callback_update(self.user_id, data)))

    def _find(self, label: str) -> str | None:
        wanted = fold(label)
        for sent in reversed(self.inbox()):
            for text, data in sent.buttons:
                if wanted in fold(text):
                    return data
        return None

    def button(self, label: str) -> str:
        if (data := self._find(label)) is not None:
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

    async def file_report(
        self, account: str = ACCOUNT, stop_at: str = "", resume: bool = False, steps: int = 40
    ) -> str:
        """Report a scam as a person does, through the shared walker (tests/walker.py),
        acting on the latest prompt whatever came before it (after a fault an old message may
        arrive again, or an apology: a person starts /totgiac again, which offers to carry on).
        Returns the receipt code, or "" once a prompt containing `stop_at` is shown.
        `resume`: carry on from the latest prompt rather than start with /totgiac."""
        walker = ReportWalker(Story(account=account))
        walker.resume = True  # an interrupted draft is carried on, not started again
        mark = len(self.inbox())
        if not resume:
            await self.say("/totgiac")
        for _ in range(steps):
            # The receipt may be followed by more messages: look at all that came since the
            # last action, not only the latest.
            for sent in self.inbox()[mark:]:
                if found := RECEIPT.search(sent.text):
                    return found.group(1)
            latest = self.inbox()[-1]
            if stop_at and stop_at in latest.text:
                return ""
            mark = len(self.inbox())
            if walker.step_of(latest.text) == "unknown":
                await self.say("/totgiac")
                continue
            action = walker.next(latest.text, [label for label, _ in latest.buttons])
            if action is None:
                await self.say("/totgiac")
                continue
            await self.act(action)
        raise AssertionError(f"no receipt after {steps} steps; last: {self.inbox()[-1].text[:80]}")

    def receipts(self) -> list[str]:
        """Every receipt code this resident was sent, in order, repeats included."""
        return [found.group(1) for s in self.inbox() if (found := RECEIPT.search(s.text))]

    # --- the shared report walker (tests/walker.py), on Telegram ------------------------------

    def screen(self) -> tuple[str, list[str]]:
        """What came since this resident's last action (or the latest message), and the
        buttons on it."""
        new = self.inbox()[self._since :] or self.inbox()[-1:]
        return "\n".join(s.text for s in new), [t for s in new for t, _ in s.buttons]

    async def act(self, action: Action) -> None:
        self._since = len(self.inbox())
        if action.kind == "press":
            await self.press(str(action.value))
        elif action.kind == "photo":
            assert isinstance(action.value, bytes)
            file_id = self.fake.add_file(action.value)
            update = photo_update(self.user_id, file_id, len(action.value))
            await self._expect(lambda: self.fake.push(update))
        else:
            await self.say(str(action.value))

    async def walk_report(self, story: Story | None = None, until: str | None = None) -> str:
        """/totgiac, then answer as the walker does; the receipt code ("" when stopped at
        `until` or the flow ended without one)."""
        self._since = len(self.inbox())
        await self.say("/totgiac")
        walker = await walk_async(self.screen, self.act, story, until=until)
        return walker.code or ""
