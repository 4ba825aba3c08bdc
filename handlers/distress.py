"""The first answer to a resident who writes, outside any journey, that someone is held,
that they just lost money, or that something looks like a scam: help first, in one tap."""

from __future__ import annotations

from content import Content
from handlers import money
from handlers.flow import nav, rows
from handlers.menu import hotline_lines, menu_reply
from handlers.signals import Signal
from handlers.types import Reply

TOLD = "told"  # memory key: what the resident wrote (distress, money lost), for a one-tap report


def reply(content: Content, signal: Signal, text: str = "") -> Reply:
    label = content.raw
    if signal is Signal.HELD:
        text = content.text("distress.held", hotlines=hotline_lines(content, urgent_only=True))
        buttons = rows(
            nav(label("buttons.report_urgent"), "/totgiac khan"),
            nav(label("buttons.menu"), "/start"),
        )
        return Reply(text, buttons)
    if signal is Signal.MONEY_LOST:
        return money.after_message(content, text)
    if signal in (Signal.HELP, Signal.REPORT):
        buttons = rows(
            nav(label("buttons.report_urgent"), "/totgiac khan"),
            nav(label("buttons.report"), "/totgiac ke"),
            nav(label("buttons.lookup"), "/kiemtra"),
            nav(label("buttons.menu"), "/start"),
        )
        key = "distress.help" if signal is Signal.HELP else "distress.report"
        return Reply(content.text(key, hotlines=hotline_lines(content, urgent_only=True)), buttons)
    if signal is Signal.THANKS:
        return menu_reply(content, content.text("distress.thanks"))
    if signal is Signal.SCAM:
        buttons = rows(
            nav(label("buttons.lookup"), "/kiemtra"),
            nav(label("buttons.report"), "/totgiac ke"),
            nav(label("buttons.scams"), "/thudoan"),
            nav(label("buttons.menu"), "/start"),
        )
        return Reply(content.text("distress.scam"), buttons)
    welcome = content.text("menu.welcome", ward=content.hotlines["ward_name"])
    return menu_reply(content, welcome, full=True)
