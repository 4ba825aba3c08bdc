"""The small machinery every multi-step journey shares: steps, buttons, back and stay."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from content import fold
from handlers.types import Attachment, Button, Context, Incoming, Outcome, Reply, State


@dataclass(frozen=True)
class Answer:
    """What the resident gave a step: a pressed button's value, or typed text and files."""

    text: str
    value: str | None = None
    attachments: tuple[Attachment, ...] = ()
    message: Incoming | None = None


Prompt = Callable[[Context, State], list[Reply]]
Accept = Callable[[Context, State, Answer], Outcome]


@dataclass(frozen=True)
class Step:
    prompt: Prompt
    accept: Accept
    # Whether "back" may leave this step (not from a step that already saved something).
    can_go_back: bool = True
    # Whether the step wants photos (elsewhere a photo is answered "not used here").
    takes_photos: bool = False
    # Whether a bare number is a real answer here ("2" at the money question, "3" for a day):
    # then it is never taken for the number of an option on channels that number them.
    takes_numbers: bool = False


@dataclass
class Flow:
    name: str
    steps: dict[str, Step] = field(default_factory=dict)
    # Drops what the flow holds; may return what to tell the resident instead of "cancelled".
    on_cancel: Callable[[Context, State], str | None] | None = None
    # Called after every turn spent in this flow (e.g. to note where a draft stands).
    after_turn: Callable[[State], None] | None = None

    def step(
        self,
        name: str,
        *,
        can_go_back: bool = True,
        takes_photos: bool = False,
        takes_numbers: bool = False,
    ) -> Callable[[Accept], Accept]:
        """Register `accept` under name; its prompt is the function named prompt_<name>."""

        def register(accept: Accept) -> Accept:
            prompt = accept.__globals__[f"prompt_{name}"]
            self.steps[name] = Step(prompt, accept, can_go_back, takes_photos, takes_numbers)
            return accept

        return register


def choice(state: State, value: str, label: str) -> Button:
    """A button bound to the current flow run and step: pressed later, it is recognised as old."""
    return Button(label, f"{state.seq}:{state.step}:{value}")


def nav(label: str, command: str) -> Button:
    """A button that runs a command: valid whenever it is pressed."""
    return Button(label, command)


def rows(*buttons: Button, per_row: int = 1) -> tuple[tuple[Button, ...], ...]:
    return tuple(tuple(buttons[i : i + per_row]) for i in range(0, len(buttons), per_row))


def enter(ctx: Context, state: State, flow: Flow, step: str, data: dict | None = None) -> Outcome:
    state.flow, state.step, state.trail = flow.name, step, []
    state.seq += 1
    state.data = data or {}
    return state, flow.steps[step].prompt(ctx, state)


def goto(
    ctx: Context,
    state: State,
    flow: Flow,
    step: str,
    before: list[Reply] | None = None,
    remember: bool = True,
) -> Outcome:
    """Move to a step (remembered for "back" unless told not to) and ask its question."""
    if remember and state.step and state.step != step:
        state.trail.append(state.step)
    state.step = step
    return state, [*(before or []), *flow.steps[step].prompt(ctx, state)]


def back(ctx: Context, state: State, flow: Flow, no_back: str) -> Outcome:
    current = flow.steps[state.step or ""]
    if not state.trail or not current.can_go_back:
        return stay(ctx, state, flow, no_back)
    state.step = state.trail.pop()
    return state, flow.steps[state.step].prompt(ctx, state)


def stay(ctx: Context, state: State, flow: Flow, explanation: str) -> Outcome:
    """Explain what was expected and keep the step, with its buttons still at hand."""
    prompt = flow.steps[state.step or ""].prompt(ctx, state)
    buttons = prompt[-1].buttons if prompt else ()
    return state, [Reply(explanation, buttons)]


def finish(state: State) -> State:
    state.flow, state.step, state.trail, state.data = None, None, [], {}
    return state


def choice_key(label: str) -> str:
    """How a typed answer is compared with a button label: no accents, case, emoji or marks."""
    return " ".join(re.sub(r"[^a-z0-9]+", " ", fold(label)).split())
