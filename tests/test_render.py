"""Fitting replies to channels: splitting long text, plain text, numbered options."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot.channels.render import numbered, plain, split
from handlers.types import Button, Reply


def test_short_text_is_one_piece() -> None:
    assert split("Xin chào", 4096) == ["Xin chào"]


def test_long_text_splits_at_paragraphs() -> None:
    paragraphs = [f"Đoạn {n}: " + "chữ " * 300 for n in range(10)]
    pieces = split("\n\n".join(paragraphs), 4096)
    assert len(pieces) > 1 and all(len(p) <= 4096 for p in pieces)
    assert all(p.startswith("Đoạn") for p in pieces)  # every cut at a paragraph start


@given(st.text(alphabet=st.sampled_from("ab cđệ\n"), max_size=20_000), st.integers(50, 4096))
def test_split_never_exceeds_the_limit_and_loses_no_words(text: str, limit: int) -> None:
    pieces = split(text, limit)
    assert all(len(p) <= limit for p in pieces)
    assert "".join(pieces).split() == text.split()


def test_plain_removes_markup_and_unescapes() -> None:
    assert plain("<b>Mã</b> &lt;ABCD&gt; &amp; <i>xong</i>") == "Mã <ABCD> & xong"


def test_numbered_options_count_across_the_turn() -> None:
    replies = [
        Reply("Một", ((Button("A", "/a"),),)),
        Reply("Hai", ((Button("B", "/b"), Button("C", "/c")),)),
    ]
    assert numbered(replies) == ["Một\n  [1] A", "Hai\n  [2] B\n  [3] C"]


def test_a_numbered_list_shows_no_command_beside_the_number() -> None:
    """On Zalo the number is how a resident chooses: "— /thudoan" beside it only puzzled."""
    from bot.channels.render import Abilities, fit

    library = Reply("Chọn một thủ đoạn", ((Button("Thông báo trúng thưởng", "/thudoan 3"),),))
    [[piece]] = fit([library], Abilities(html=False, buttons=0, max_text=2000))
    assert "[1] Thông báo trúng thưởng" in piece.text and "— /" not in piece.text


def test_a_message_outside_a_turn_shows_how_to_type_each_option() -> None:
    """An alert or an officer's question arrives outside any turn: its numbers cannot be
    typed back, so each option shows its command."""
    from bot.channels.render import Abilities, fit

    question = Reply("Công an hỏi thêm", ((Button("Trả lời", "/bosung ABCD-2345"),),))
    [[piece]] = fit([question], Abilities(html=False, buttons=0, max_text=2000), commands=True)
    assert "[1] Trả lời — /bosung ABCD-2345" in piece.text
