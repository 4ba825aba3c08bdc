"""The quiz: a round of questions, each answered with the reason, and a score at the end."""

from __future__ import annotations

import random
from typing import Any

from db import awareness
from handlers.flow import Answer, Flow, choice, enter, finish, nav, rows, stay
from handlers.types import Context, Incoming, Outcome, Reply, State

FLOW = Flow("quiz")
ROUND = 6  # questions per round; rounds rotate through the whole bank
# Shuffles the options; not a secret, so the module's own generator (tests may seed it).
shuffler = random.Random()


def shuffled_options(questions: list[dict[str, Any]]) -> list[list[int]]:
    """For each question, the order its options are shown in (indices into "options"). The
    right answers are spread evenly over the positions within a round, so no position is the
    safe guess, and the wrong options fall in random order around them."""
    positions = [i % len(q["options"]) for i, q in enumerate(questions)]
    shuffler.shuffle(positions)
    orders = []
    for question, position in zip(questions, positions, strict=True):
        right = question["answer"]
        wrong = [i for i in range(len(question["options"])) if i != right]
        shuffler.shuffle(wrong)
        orders.append([*wrong[:position], right, *wrong[position:]])
    return orders


def start(ctx: Context, state: State, msg: Incoming, arg: str) -> Outcome:
    bank = len(ctx.content.quiz)
    offset = int(state.memory.get("quiz_offset", 0)) % bank
    order = [(offset + i) % bank for i in range(min(ROUND, bank))]
    state.memory["quiz_offset"] = (offset + len(order)) % bank
    intro = Reply(ctx.content.text("quiz.intro", count=len(order)))
    # Kept with the round, so a re-shown question and a typed "2" mean what was seen.
    shown = shuffled_options([ctx.content.quiz[n] for n in order])
    data = {"order": order, "shown": shown, "i": 0, "score": 0, "channel": msg.channel}
    state, replies = enter(ctx, state, FLOW, "q", data)
    return state, [intro, *replies]


def prompt_q(ctx: Context, state: State) -> list[Reply]:
    order, i = state.data["order"], state.data["i"]
    question = ctx.content.quiz[order[i]]
    text = ctx.content.text(
        "quiz.question", number=i + 1, count=len(order), question=question["question"]
    )
    # A button carries the option's index in the bank, whatever place it is shown in.
    shown = state.data.get("shown") or [list(range(len(question["options"])))] * len(order)
    options = [choice(state, str(n), question["options"][n]) for n in shown[i]]
    return [Reply(text, rows(*options, choice(state, "cancel", ctx.content.raw("buttons.cancel"))))]


@FLOW.step("q", can_go_back=False)
def answer_question(ctx: Context, state: State, answer: Answer) -> Outcome:
    data = state.data
    question = ctx.content.quiz[data["order"][data["i"]]]
    if (
        answer.value is None
        or not answer.value.isdigit()
        or int(answer.value) >= len(question["options"])
    ):
        return stay(ctx, state, FLOW, ctx.content.text("common.pick_button"))
    right = int(answer.value) == question["answer"]
    data["score"] += right
    feedback = (
        ctx.content.text("quiz.correct", why=question["why"])
        if right
        else ctx.content.text(
            "quiz.wrong", answer=question["options"][question["answer"]], why=question["why"]
        )
    )
    data["i"] += 1
    if data["i"] < len(data["order"]):
        state.seq += 1  # the previous question's buttons are now old
        return state, [Reply(feedback), *prompt_q(ctx, state)]
    score, count = data["score"], len(data["order"])
    # Counted for the periodic report: when, where and the score; never who.
    channel = data.get("channel") or (answer.message.channel if answer.message else "")
    awareness.quiz_finished(ctx.session, str(channel)[:16], score, count, ctx.now)
    verdict = (
        "verdict_high"
        if score * 10 >= count * 8
        else "verdict_mid"
        if score * 2 >= count
        else "verdict_low"
    )
    result = ctx.content.text(
        "quiz.result", score=score, count=count, verdict=ctx.content.text(f"quiz.{verdict}")
    )
    label = ctx.content.raw
    finish(state)
    return state, [
        Reply(feedback),
        Reply(
            result,
            rows(
                nav(label("buttons.quiz_again"), "/cauhoi"),
                nav(label("buttons.scams"), "/thudoan"),
                nav(label("buttons.menu"), "/start"),
            ),
        ),
    ]
