"""Picking the area a resident lives in, the same way wherever it is asked (alerts, a report
that came to the province): a few areas as buttons, a province's hundreds typed by name."""

from __future__ import annotations

import html
from dataclasses import dataclass, field

from db import units
from handlers import distress, signals
from handlers.flow import Answer, choice, finish
from handlers.signals import Signal
from handlers.types import Button, Context, Outcome, Reply, State

# Up to this many areas are offered as buttons; more are typed by name.
MAX_BUTTONS = 8


@dataclass(frozen=True)
class Picked:
    """What an answer to the area question gave: an area, the resident's choice of none
    (`skipped`), or else what to say to them (ask again, choose among several, or help for
    someone in distress, who leaves the question: `leave`)."""

    place: units.Place | None = None
    skipped: bool = False
    replies: list[Reply] = field(default_factory=list)
    leave: bool = False


def ask(ctx: Context, state: State, words: str, skip: tuple[str, str]) -> list[Reply]:
    """The question in the words under `words`: `ask_area` above a button for each area, or
    `type_area` (with an {example}) to type one."""
    places = units.places(ctx.session, ctx.content.areas)
    shown = places if len(places) <= MAX_BUTTONS else []
    example = html.escape(places[0].name if places else "")
    many = str(ctx.content.raw(f"{words}.type_area")).format(example=example)
    text = ctx.content.text(f"{words}.ask_area") if shown else many
    return [Reply(text, buttons(ctx, state, shown, skip))]


def unanswered(state: State, picked: Picked) -> Outcome | None:
    """What to say while the answer gave no area (the question stays; for someone in
    distress, it ends)."""
    if picked.leave:
        finish(state)
    return (state, picked.replies) if picked.replies else None


def buttons(
    ctx: Context, state: State, shown: list[units.Place], skip: tuple[str, str]
) -> tuple[tuple[Button, ...], ...]:
    options = [(choice(state, p.code, p.name),) for p in shown]
    options.append((choice(state, skip[0], skip[1]),))
    options.append((choice(state, "cancel", ctx.content.raw("buttons.cancel")),))
    return tuple(options)


def read(ctx: Context, state: State, answer: Answer, skip: tuple[str, str]) -> Picked:
    if answer.value == skip[0]:
        return Picked(skipped=True)
    if answer.value:
        found = units.place(ctx.session, answer.value, ctx.content.areas)
        if found is not None:
            return Picked(found)
        return Picked(
            replies=[Reply(ctx.content.text("common.pick_button"), buttons(ctx, state, [], skip))]
        )
    typed = " ".join(answer.text.split())[:60]
    matches = units.matching(ctx.session, typed, ctx.content.areas) if typed else []
    if len(matches) == 1:
        return Picked(matches[0])
    if matches:
        said = ctx.content.text("subscribe.area_choices", count=len(matches), typed=typed)
        return Picked(replies=[Reply(said, buttons(ctx, state, matches[:MAX_BUTTONS], skip))])
    # Not a place: someone in danger is answered with help, never "not found".
    signal = signals.read(ctx.content, answer.text)
    if signal in (Signal.HELD, Signal.MONEY_LOST, Signal.HELP):
        state.memory[distress.TOLD] = answer.text  # the one-tap report starts from their words
        return Picked(replies=[distress.reply(ctx.content, signal, answer.text)], leave=True)
    said = ctx.content.text("subscribe.area_not_found", typed=typed, anywhere=skip[1])
    return Picked(replies=[Reply(said, buttons(ctx, state, [], skip))])
