"""The main menu, help and hotlines: where every journey starts and ends."""

from __future__ import annotations

from content import Content, Markup
from handlers.flow import nav, rows
from handlers.types import Button, Context, Incoming, Outcome, Reply, State


def menu_buttons(content: Content) -> tuple[tuple[Button, ...], ...]:
    label = content.raw
    return rows(
        nav(label("buttons.rules"), "/canhgiac"),
        nav(label("buttons.scams"), "/thudoan"),
        nav(label("buttons.lookup"), "/kiemtra"),
        nav(label("buttons.report"), "/totgiac"),
        nav(label("buttons.track"), "/theodoi"),
        nav(label("buttons.quiz"), "/cauhoi"),
        nav(label("buttons.subscribe"), "/dangky"),
        nav(label("buttons.help"), "/trogiup"),
        per_row=2,
    )


def menu_reply(content: Content, text: str | None = None) -> Reply:
    return Reply(text or content.text("menu.pick"), menu_buttons(content))


def hotline_lines(content: Content, urgent_only: bool = False) -> Markup:
    """The hotlines, each with its own icon (a website gets no phone); `urgent_only`: the
    ones for someone in danger now (113, 111), then how to reach the ward's police."""
    lines = [
        f"{line.get('icon', '☎️')} {line['name']}: <b>{line['number']}</b>"
        for line in content.hotlines["lines"]
        if line.get("urgent") or not urgent_only
    ]
    duty = content.hotlines.get("ward_duty_phone")
    if duty:
        lines.append(
            "☎️ " + content.text("help.duty_phone", ward=content.hotlines["ward_name"], phone=duty)
        )
    return Markup("\n".join(lines))


def start(ctx: Context, state: State, msg: Incoming, arg: str) -> Outcome:
    welcome = ctx.content.text("menu.welcome", ward=ctx.content.hotlines["ward_name"])
    return state, [menu_reply(ctx.content, welcome)]


def show_help(ctx: Context, state: State, msg: Incoming, arg: str) -> Outcome:
    text = ctx.content.text("help.text", hotlines=hotline_lines(ctx.content))
    return state, [menu_reply(ctx.content, text)]
