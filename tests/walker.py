"""One walker for the report flow, used by every test that files a report: it reads each
prompt as a person would and answers from a Story, so adding or moving a step changes this
file, not a dozen tests. Prompts are recognised by the words in content/, never by the
order they come in."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol

import content
from content import fold


@dataclass
class Story:
    """What the resident answers. A label is pressed (a part of it is enough); text is
    typed."""

    type: str = "Giả danh công an"
    account: str = "Người xưng công an gọi điện đòi chuyển tiền vào tài khoản tạm giữ để xác minh"
    victim: str = "Ở Bavet, Campuchia; liên lạc qua Zalo 0987 111 222"
    held: bool | None = None  # the answer to "is someone held?" (None: never expected)
    identifiers: list[str] = field(default_factory=list)  # typed at the identifiers step
    bank: str = "Không rõ ngân hàng"
    amount: str = "Bỏ qua"  # a label to press, or words to type ("5 triệu")
    when: str = "Bỏ qua"
    photos: list[bytes] = field(default_factory=list)
    phone: str | None = None  # None: anonymous
    submit: bool = True


@dataclass(frozen=True)
class Action:
    kind: str  # "press", "say", "photo"
    value: str | bytes


def _prompt(key: str, length: int = 24) -> str:
    """The start of a prompt as content says it (up to its first blank), folded: what the
    walker recognises."""
    words = str(content.load().raw(key)).split("{", 1)[0]
    return fold(re.sub(r"</?[bi]>", "", words))[:length]


class ReportWalker:
    """Decides the next answer from the prompt on screen; None when the flow has ended."""

    def __init__(self, story: Story) -> None:
        self.story = story
        self.typed = list(story.identifiers)
        self.photos = list(story.photos)
        self.code: str | None = None
        self.seen: list[str] = []  # the prompts met, by name, in order
        self.resume = False  # at "a draft is waiting": carry it on (else start again)
        _MARKERS.update(_markers())

    def step_of(self, text: str) -> str:
        return self._step(fold(re.sub(r"</?[bi]>", "", text)))

    def next(self, text: str, labels: list[str]) -> Action | None:
        step = self.step_of(text)
        if step == "unknown" and self.seen:  # a step that stayed ("Đã nhận 1 ảnh."): same
            step = self.seen[-1]
        self.seen.append(step)
        story = self.story
        if step == "done":
            return None
        if step in ("consent", "consent_short"):
            return Action("press", "Đồng ý")
        if step == "type_guess":
            shown = fold(re.sub(r"</?[bi]>", "", text))
            guessed = shown[shown.rfind(_MARKERS["type_guess"]) :]
            right = fold(story.type) in guessed
            return Action("press", "Đúng" if right else "Chọn loại khác")
        if step == "callback":
            return Action("press", "Để lại số" if story.phone else "Không để lại số")
        if step == "resume":
            return Action("press", "Tiếp tục" if self.resume else "Làm lại")
        if step == "type":
            if _shown(labels, story.type):
                return Action("press", story.type)
            return Action("press", _group_of(story.type))
        if step == "held":
            assert story.held is not None, "asked whether someone is held, unexpectedly"
            return Action("press", "Có, có người" if story.held else "Không")
        if step == "victim":
            return Action("say", story.victim)
        if step == "account":
            return Action("say", story.account)
        if step == "bank":
            return Action("press", story.bank)
        if step == "identifiers":
            if self.typed:
                return Action("say", self.typed.pop(0))
            return Action("press", "Xong" if _shown(labels, "Xong") else "Không có")
        if step in ("amount_guess", "when_guess"):
            wanted = story.amount if step == "amount_guess" else story.when
            # A label they meant to press (typed as its number, read as a number): press it.
            return Action("press", wanted if _shown(labels, wanted) else "Đúng")
        if step == "amount":
            return _press_or_say(labels, story.amount)
        if step == "when":
            return _press_or_say(labels, story.when)
        if step == "evidence":
            if self.photos:
                return Action("photo", self.photos.pop(0))
            return Action("press", "Xong" if _shown(labels, "Xong") else "Bỏ qua")
        if step == "contact":
            return Action("press", "Để lại số" if story.phone else "Ẩn danh")
        if step == "phone":
            assert story.phone is not None
            return Action("say", story.phone)
        if step == "confirm":
            if not story.submit:
                return None
            return Action("press", "Gửi tố giác")
        if step == "confirm_saved":
            return Action("press", "Xong, gửi phần bổ sung")
        raise AssertionError(f"the walker does not know this prompt: {text[:200]!r}")

    def _step(self, shown: str) -> str:
        """Which question is on screen; the last prompt in the text is the one to answer."""
        found = [
            (shown.rfind(marker), name)
            for name, marker in _MARKERS.items()
            if marker and marker in shown
        ]
        if not found:
            return "unknown"
        name = max(found)[1]
        return _ALIASES.get(name, name)


_MARKERS: dict[str, str] = {}


def _markers() -> dict[str, str]:
    return {
        "consent": _prompt("report.consent"),
        "consent_short": _prompt("report.consent_short"),
        "type_guess": _prompt("report.ask_type_guess"),
        "callback": _prompt("report.ask_callback"),
        "resume": _prompt("report.resume_draft"),
        "type": _prompt("report.ask_type"),
        "type_in_group": fold("chọn thủ đoạn gần đúng nhất"),
        "held": _prompt("report.ask_held"),
        "victim": _prompt("report.ask_victim"),
        "account": _prompt("report.ask_account"),
        "account_after": _prompt("report.ask_account_after_save"),
        "bank": fold("thuộc ngân hàng nào"),
        "identifiers": _prompt("report.ask_identifiers"),
        "identifiers_more": _prompt("report.ask_identifiers_more"),
        "amount": _prompt("report.ask_amount"),
        "amount_guess": fold("đúng không? nếu không, chọn «nhập lại» hoặc gõ số tiền"),
        "when": _prompt("report.ask_when"),
        "when_guess": fold("đúng không? nếu không, chọn «nhập lại» hoặc gõ ngày"),
        "evidence": _prompt("report.ask_evidence"),
        "contact": _prompt("report.ask_contact"),
        "phone": _prompt("report.ask_phone"),
        "confirm": fold("Kiểm tra lại tố giác"),
        "confirm_saved": fold("nội dung hiện có"),
        "done": fold("mã tiếp nhận của bạn"),
        "linked": fold("giống hệt tố giác"),
        "updated": _prompt("report.updated"),
    }


_ALIASES = {
    "linked": "done",
    "type_in_group": "type",
    "account_after": "account",
    "identifiers_more": "identifiers",
    "updated": "done",
}


def _group_of(label: str) -> str:
    """The library group whose screen holds the trick labelled `label`."""
    words = content.load()
    for scam in words.scams:
        if fold(label) in fold(scam["short"]):
            return str(words.raw("scams.groups")[scam["group"]])
    raise AssertionError(f"no scam trick is labelled {label!r}")


def _shown(labels: list[str], label: str) -> bool:
    return any(fold(label) in fold(shown) for shown in labels)


def _press_or_say(labels: list[str], answer: str) -> Action:
    return Action("press", answer) if _shown(labels, answer) else Action("say", answer)


class Person(Protocol):
    """What the walker needs of a resident in a test, on any channel (synchronous)."""

    def screen(self) -> tuple[str, list[str]]: ...
    def act(self, action: Action) -> None: ...


def walk(
    person: Person, story: Story | None = None, until: str | None = None, limit: int = 40
) -> ReportWalker:
    """Answer prompts until the flow ends, or until the prompt named `until` is on screen
    (unanswered); the walker keeps the receipt code it was given, if any."""
    walker = ReportWalker(story or Story())
    _MARKERS.update(_markers())
    for _ in range(limit):
        text, labels = person.screen()
        if until is not None and walker.step_of(text) == until:
            return walker
        action = walker.next(text, labels)
        if action is None:
            walker.code = receipt_code(text)
            assert until is None, f"the flow ended before {until!r}: {walker.seen}"
            return walker
        person.act(action)
    raise AssertionError(f"the report flow did not end in {limit} answers: {walker.seen}")


async def walk_async(
    screen: Callable[[], tuple[str, list[str]]],
    act: Callable[[Action], Awaitable[None]],
    story: Story | None = None,
    until: str | None = None,
    limit: int = 40,
) -> ReportWalker:
    """The same walk for a resident on a real channel (Telegram, Zalo) in a running bot."""
    walker = ReportWalker(story or Story())
    _MARKERS.update(_markers())
    for _ in range(limit):
        text, labels = screen()
        if until is not None and walker.step_of(text) == until:
            return walker
        action = walker.next(text, labels)
        if action is None:
            walker.code = receipt_code(text)
            return walker
        await act(action)
    raise AssertionError(f"the report flow did not end in {limit} answers: {walker.seen}")


def receipt_code(text: str) -> str | None:
    found = re.search(r"\b([2-9A-Z]{4}-[2-9A-Z]{4})\b", text)
    return found.group(1) if found else None
