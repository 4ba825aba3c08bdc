"""The main menu, help and hotlines: where every journey starts and ends."""

from __future__ import annotations

from content import Content, Markup
from db import residents, units
from handlers.flow import nav, rows
from handlers.types import Button, Context, Incoming, Outcome, Reply, State


def menu_buttons(content: Content) -> tuple[tuple[Button, ...], ...]:
    label = content.raw
    # The check's label is said in full words (elderly residents): a row of its own.
    return (
        (nav(label("buttons.rules"), "/canhgiac"), nav(label("buttons.scams"), "/thudoan")),
        (nav(label("buttons.lookup"), "/kiemtra"),),
        (nav(label("buttons.report"), "/totgiac"), nav(label("buttons.track"), "/theodoi")),
        (nav(label("buttons.quiz"), "/cauhoi"), nav(label("buttons.subscribe"), "/dangky")),
        (nav(label("buttons.help"), "/trogiup"),),
    )


def menu_reply(content: Content, text: str | None = None, full: bool = False) -> Reply:
    """A reply that leaves the resident at the menu: the whole menu where it helps (asked
    for, or a journey just finished), else one button back to it (eight options after
    every answer are a wall on Zalo, where they become a numbered list)."""
    if full:
        return Reply(text or content.text("menu.pick"), menu_buttons(content))
    return Reply(
        text or content.text("menu.pick"), rows(nav(content.raw("buttons.menu"), "/start"))
    )


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
    return state, [menu_reply(ctx.content, welcome, full=True)]


def show_help(ctx: Context, state: State, msg: Incoming, arg: str) -> Outcome:
    hotlines = hotline_lines(ctx.content)
    own = _unit_duty(ctx, msg)
    if own:
        hotlines = Markup(f"{hotlines}\n{own}")
    text = ctx.content.text("help.text", hotlines=hotlines)
    return state, [menu_reply(ctx.content, text, full=True)]


def _unit_duty(ctx: Context, msg: Incoming) -> Markup | None:
    """The duty phone and address of the police unit of the resident's area, where the unit
    set its own (a province's communes each have theirs)."""
    resident = residents.find(ctx.session, msg.channel, msg.user_id)
    place = (
        units.place(ctx.session, resident.area, ctx.content.areas)
        if resident and resident.area
        else None
    )
    unit = units.get(ctx.session, place.unit_id) if place else None
    if unit is None or not unit.duty_phone:
        return None
    said = ctx.content.text("help.unit_duty", unit=unit.name, phone=unit.duty_phone)
    if unit.address:
        said += ctx.content.text("help.unit_address", address=unit.address)
    return Markup("☎️ " + said)
