"""The quiz: options shuffled per round with the right answers spread over the positions, a
press or a typed number meaning what the resident saw, and reasons that add something."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from content import Content, fold
from handlers import quiz
from handlers.dispatcher import Dispatcher
from tests.chat import Chat


def _options(chat: Chat) -> list[str]:
    """The answer options of the question on screen, in the order shown (without Hủy)."""
    buttons = [b for reply in chat.replies for row in reply.buttons for b in row]
    return [b.label for b in buttons if "Hủy" not in b.label]


def _right(words: Content, chat: Chat) -> str:
    question = next(q for q in words.quiz if q["question"] in chat.text)
    return str(question["options"][question["answer"]])


def test_right_answers_are_spread_evenly_over_the_positions(chat: Chat, words: Content) -> None:
    for _ in range(3):  # three rounds, each its own questions
        chat.send("/cauhoi")
        positions = []
        for _ in range(quiz.ROUND):
            right = _right(words, chat)
            positions.append(_options(chat).index(right))
            chat.press(right)
            assert "Đúng!" in chat.text
        assert Counter(positions) == {0: 2, 1: 2, 2: 2}, positions
        assert f"Bạn trả lời đúng {quiz.ROUND}/{quiz.ROUND} câu" in chat.text


def test_options_are_shuffled_anew_each_round(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(quiz, "shuffler", random.Random(11))
    questions = [{"options": ["a", "b", "c"], "answer": 1}] * 6
    rounds = {tuple(map(tuple, quiz.shuffled_options(questions))) for _ in range(10)}
    assert len(rounds) > 1
    for order in quiz.shuffled_options(questions):
        assert sorted(order) == [0, 1, 2]


def test_a_typed_number_means_the_option_shown_there_even_after_a_reprompt(
    dispatcher: Dispatcher, words: Content, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(quiz, "shuffler", random.Random(3))
    chat = Chat(dispatcher, numbered=True)
    chat.send("/cauhoi")
    shown = _options(chat)
    right = _right(words, chat)
    assert shown != next(q["options"] for q in words.quiz if right in q["options"])  # shuffled
    for _ in range(3):  # not an answer: the question stays, its options in the same order
        chat.send("abc xyz")
        assert "Câu 2/" not in chat.text and _options(chat) == shown
    chat.send(str(shown.index(right) + 1))
    assert "Đúng!" in chat.text and "Câu 2/" in chat.text


def test_a_round_begun_before_shuffling_still_answers_right(chat: Chat, words: Content) -> None:
    chat.send("/cauhoi")
    state = chat.state()
    del state.data["shown"]  # a round stored by the version that did not shuffle
    chat.put_state(state)
    first = words.quiz[state.data["order"][0]]
    chat.send(payload=f"{state.seq}:q:{first['answer']}")
    assert "Đúng!" in chat.text and "Câu 2/" in chat.text


def test_reasons_add_something_beyond_the_answer(words: Content) -> None:
    for question in words.quiz:
        right = question["options"][question["answer"]]
        assert fold(right) not in fold(question["why"]), question["question"]
        assert len(set(question["options"])) == len(question["options"])
