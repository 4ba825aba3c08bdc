"""A resident on the stand-in Telegram server: types, presses buttons, reads what came back."""

from __future__ import annotations

import re

from content import fold
from tests.fakes.telegram_server import FakeTelegram, Sent, callback_update, text_update

RECEIPT = re.compile(r"Mã tiếp nhận của bạn: <b>([A-Z0-9]{4}-[A-Z0-9]{4})</b>")
ACCOUNT = "Người xưng công an gọi cho tôi đòi chuyển tiền xác minh"
# What a resident does on seeing each prompt of a report: (words in the prompt, action, value).
# A prompt not listed here (an error, an old menu) is met by starting over: /totgiac offers to
# carry on with the draft.
REPORT_PROMPTS = [
    ("Trước khi tố giác", "press", "Đồng ý"),
    ("đang soạn dở", "press", "Tiếp tục"),
    ("Chuyện gì đã xảy ra", "press", "Giả danh công an"),
    ("kể lại sự việc", "say", ACCOUNT),
    ("Gửi số điện thoại", "press", "Không có"),
    ("mất bao nhiêu tiền", "press", "Bỏ qua"),
    ("khi nào", "press", "Bỏ qua"),
    ("Gửi ảnh", "press", "Bỏ qua"),
    ("ẩn danh, hay", "press", "Ẩn danh"),
    ("Kiểm tra lại tố giác", "press", "Gửi tố giác"),
]


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

    async def file_report(
        self, account: str = ACCOUNT, stop_at: str = "", resume: bool = False, steps: int = 40
    ) -> str:
        """Report a scam as a person does, acting on the latest prompt whatever came before it
        (after a fault an old message may arrive again, or an apology: a person carries on).
        Returns the receipt code, or "" once a prompt containing `stop_at` is shown.
        `resume`: carry on from the latest prompt rather than start with /totgiac."""
        prompts = [
            (w, a, account if a == "say" and v == ACCOUNT else v) for w, a, v in REPORT_PROMPTS
        ]
        mark = len(self.inbox())
        if not resume:
            await self.say("/totgiac")
        for _ in range(steps):
            # The receipt may be followed by more messages: look at all that came since the
            # last action, not only the latest.
            for sent in self.inbox()[mark:]:
                if found := RECEIPT.search(sent.text):
                    return found.group(1)
            latest = self.inbox()[-1].text
            if stop_at and stop_at in latest:
                return ""
            action, value = next(
                ((a, v) for words, a, v in prompts if words in latest), ("say", "/totgiac")
            )
            mark = len(self.inbox())
            await (self.press(value) if action == "press" else self.say(value))
        raise AssertionError(f"no receipt after {steps} steps; last: {self.inbox()[-1].text[:80]}")

    def receipts(self) -> list[str]:
        """Every receipt code this resident was sent, in order, repeats included."""
        return [found.group(1) for s in self.inbox() if (found := RECEIPT.search(s.text))]
