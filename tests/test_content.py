"""The words residents read: the plan's slogan verbatim, today's hotlines, the ward's contact,
and a scam library that stays usable as it grows."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

import content
from bot import content_check
from bot.channels.render import Abilities, fit
from content import Content
from tests.chat import Chat

# The ward plan (Kế hoạch phường Nam Gia Nghĩa 2026), section III.4, as it states "4 không,
# 2 phải": each rule's name and text, word for word. Kept here so the test never passes
# silently when the plan is not at hand; checked against the plan itself when it is.
PLAN_RULES = [
    ("không sợ", "Không hoảng sợ khi nhận được cuộc gọi hay tin nhắn từ người lạ"),
    (
        "không tham",
        "Không tin vào những thông báo trúng thưởng hoặc những thông tin về khoản tiền lớn"
        " không rõ nguồn gốc",
    ),
    (
        "không kết bạn với người lạ",
        "Không kết bạn hoặc không cung cấp thông tin cá nhân cho người lạ trên mạng xã hội",
    ),
    (
        "Không làm theo yêu cầu lạ",
        "Không thực hiện những yêu cầu chuyển tiền hoặc cung cấp thông tin từ người lạ",
    ),
    (
        "Phải cảnh giác",
        "Luôn chủ động bảo mật thông tin cá nhân và không cung cấp thông tin quan trọng cho"
        " người không quen biết",
    ),
    (
        "Phải tố giác ngay với cơ quan pháp luật",
        "Khi phát hiện hành vi nghi lừa đảo, hãy báo ngay cho cơ quan chức năng để được xử lý"
        " kịp thời",
    ),
]
SEEDS = Path(__file__).resolve().parent.parent.parent / "shared" / "seeds"


def _as_shown(name: str, text: str) -> str:
    """A rule as the screen shows it: the name's first letter capitalised, a full stop."""
    return f"{name[0].upper()}{name[1:]}:</b> {text.rstrip(' .,;')}."


def _plan_rules_from_seed() -> list[tuple[str, str]]:
    plan = next((p for p in sorted(SEEDS.glob("*.txt")) if "4 không:" in p.read_text()), None)
    if plan is None:
        pytest.skip(f"the ward plan is not in {SEEDS}")
    slogan = plan.read_text(encoding="utf-8").split("**4 không:**", 1)[1].split("\n", 1)[0]
    rules = re.findall(r"\(\d\)\s*([^:(]+?):\s*(.+?)(?=[,;.]?\s*(?:\(\d\)|\*\*2 phải|$))", slogan)
    return [(name.strip(), text.strip().rstrip(".,;")) for name, text in rules]


def test_the_embedded_slogan_is_the_plans_own(words: Content) -> None:
    assert _plan_rules_from_seed() == PLAN_RULES


def test_rules_screen_shows_the_slogan_verbatim_then_the_advice(chat: Chat, words: Content) -> None:
    chat.send("/canhgiac")
    screen = chat.text
    for name, text in PLAN_RULES:
        assert _as_shown(name, text) in screen, name
    rules_end = screen.index(_as_shown(*PLAN_RULES[-1]))
    advice = screen.index(words.rules["advice_title"])
    assert advice > rules_end  # the extra advice is a separate part, after the six rules
    for tip in words.rules["advice"]:
        assert screen.index(tip) > advice
    assert "OTP" not in screen[:rules_end]  # no examples slipped into the plan's words


def test_hotlines_are_those_of_2025(chat: Chat, words: Content) -> None:
    chat.send("/trogiup")
    assert "1800 1567" not in chat.text  # folded into 111
    line_111 = next(line for line in chat.text.splitlines() if "111" in line)
    assert "mua bán người" in line_111 and "trẻ em" in line_111
    assert chat.text.count("113") == 1  # not "Cảnh sát 113 (…): 113"
    website = next(line for line in words.hotlines["lines"] if ".gov.vn" in line["number"])
    assert website["icon"] == "🌐"


def _with_ward(phone: str, address: str) -> Content:
    """The content as a ward that filled in this phone and address would have it."""
    hotlines = {**content.load().hotlines, "ward_duty_phone": phone, "ward_address": address}
    return content.build(hotlines)


def test_residents_sent_to_the_ward_get_its_phone_and_address_or_113() -> None:
    unset = _with_ward("", "")
    declined = unset.text("report.consent_declined")
    assert "113" in declined and "{" not in declined
    filled = _with_ward("0261 3 123 456", "Số 1 đường Lê Duẩn")
    declined = filled.text("report.consent_declined")
    assert "0261 3 123 456" in declined and "Số 1 đường Lê Duẩn" in declined
    impostor = filled.scam("gia_danh_co_quan")
    assert impostor is not None and any("0261 3 123 456" in line for line in impostor["do"])
    phone_only = _with_ward("0261 3 123 456", "").text("report.consent_declined")
    assert "0261 3 123 456" in phone_only and "113" not in phone_only


def test_content_check_fails_in_production_without_the_wards_contact() -> None:
    unset = _with_ward("", "")
    assert content_check.problems(unset) == []
    assert sum("hotlines.ward_" in w for w in content_check.warnings(unset)) == 2
    found = content_check.problems(unset, production=True)
    assert any("ward_duty_phone" in p for p in found)
    assert any("ward_address" in p for p in found)
    filled = _with_ward("0261 3 123 456", "Số 1 đường Lê Duẩn")
    assert content_check.problems(filled, production=True) == []
    assert not any("hotlines.ward_" in w for w in content_check.warnings(filled))


def test_content_check_exit_code_follows_the_environment(
    capsys: pytest.CaptureFixture[str],
) -> None:
    unset = _with_ward("", "")
    assert content_check.run("local", unset) == 0
    assert "warning: hotlines.ward_duty_phone" in capsys.readouterr().out
    assert content_check.run("production", unset) == 1
    assert "content: 2 problem(s)" in capsys.readouterr().out


def test_the_plans_tricks_are_in_the_library(words: Content) -> None:
    ids = {scam["id"] for scam in words.scams}
    expected = {
        "danh_bac",  # online gambling (ward plan III.4)
        "giay_to_gia",  # swapping, forging documents (provincial plan II.2)
        "doi_tien",  # exchange through intermediaries (III.3)
        "mua_ho",  # "mua hộ" services (III.3)
        "tuyen_sinh",  # school admission (II.2, II.4)
        "tin_dung_den",  # pawn, loan sharks (III.5)
        "nguoi_than_gia",
        "ung_dung_gia",
        "lay_lai_tien",
        "gia_danh_dich_vu",
    }
    assert expected <= ids
    assert all("plan" in scam for scam in words.scams)
    assert "đánh tráo hồ sơ" in words.scam("giay_to_gia")["plan"]  # type: ignore[index]


def test_every_library_screen_fits_a_zalo_message_of_buttons(chat: Chat, words: Content) -> None:
    zalo_oa = Abilities(buttons=5, max_text=2000, html=False)
    chat.send("/thudoan")
    top = chat.replies
    assert fit(top, zalo_oa)[-1][-1].buttons  # the groups are real buttons on Zalo too
    reached = set()
    for row in top[-1].buttons:
        for group in row:
            if group.payload == "/start":
                continue
            chat.send(group.payload)
            reached |= {b.payload.split()[-1] for r in chat.replies[-1].buttons for b in r}
            assert len([b for r in chat.replies[-1].buttons for b in r]) <= 10
    assert {scam["id"] for scam in words.scams} <= reached


def test_short_labels_fit_a_button(words: Content) -> None:
    for scam in words.scams:
        assert len(scam["short"]) < 32, scam["id"]
    long = dataclasses.replace(
        words, scams=[{**words.scams[0], "short": "x" * 32}, *words.scams[1:]]
    )
    assert any("short over" in p for p in content_check.problems(long))


def test_content_check_catches_a_prompt_naming_a_button_it_does_not_show() -> None:
    import copy
    import dataclasses

    from bot.content_check import unshown_buttons

    words = content.load()
    assert unshown_buttons(words) == []
    messages = copy.deepcopy(words.messages)
    # The loop residents met: the prompt said "Xong" while its button said "Không có".
    messages["report"]["ask_identifiers"] = "Gửi số điện thoại của đối tượng. Bấm «Xong» khi đủ."
    found = unshown_buttons(dataclasses.replace(words, messages=messages))
    assert any("identifiers" in problem and "Xong" in problem for problem in found), found
