"""Each unit's own Telegram police group (issue 15): a report's tip card goes to its unit's
group, or to POLICE_CHAT_ID's for a unit without one; a transfer moves the card (the old one
says where it went, with no buttons left); a press in a unit's group is an officer's press;
an urgent report is told in the province's group too; the morning digest is per group."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator
from datetime import time

import pytest
from sqlmodel import select

from bot import cli
from bot.settings import Settings
from content import Content
from db import officers, outbox, units
from db.clock import utcnow
from db.engine import Database
from db.models import Outbox, Report
from handlers import deadlines, triage
from handlers.dispatcher import Dispatcher
from tests.conftest import Clock, running_bot
from tests.fakes.telegram_server import FakeTelegram, Sent, callback_update
from tests.telegram_user import TelegramUser
from tests.test_units import BAC, NAM
from tests.test_units import _report as _file_by_chat
from tests.test_units import _resident as _by_chat
from tests.test_units import province as province  # the fixture, by its name
from tests.walker import Story

DEPLOYMENT_GROUP = -1001000000001  # POLICE_CHAT_ID: the units without a group of their own
NAM_GROUP = -1001000000002
PROVINCE_GROUP = -1001000000003
NAM_OFFICER, BAC_OFFICER = 61001, 61002


@pytest.fixture(autouse=True)
def admin_cli(database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """`canhgiac unit …` on the test's database."""
    monkeypatch.setenv("DATABASE_URL", database_url)


@pytest.fixture
async def groups_running(
    bot_settings: Settings, db: Database, province: dict[str, int]
) -> AsyncIterator[dict[str, int]]:
    """The example province, Nam Gia Nghĩa's unit and the province's with groups of their
    own (set by the command an admin uses), Bắc Gia Nghĩa's sharing the deployment's."""
    assert cli.main(["unit", "set", str(province[NAM]), "--telegram-chat", str(NAM_GROUP)]) == 0
    assert cli.main(["unit", "set", "1", "--telegram-chat", str(PROVINCE_GROUP)]) == 0
    with db.transaction() as session:
        for telegram_id, unit in ((NAM_OFFICER, NAM), (BAC_OFFICER, BAC)):
            officer = officers.add(session, f"Cán bộ {telegram_id}", "officer", telegram_id)
            officer.unit_id = province[unit]
    settings = dataclasses.replace(bot_settings, police_chat_id=str(DEPLOYMENT_GROUP))
    async for _ in running_bot(settings):
        yield province


def _cards(fake: FakeTelegram, chat: int) -> list[Sent]:
    return [
        s
        for s in fake.sent
        if s.chat_id == chat and s.method == "sendMessage" and "Tố giác" in s.text and s.buttons
    ]


async def _resident_of(fake: FakeTelegram, user_id: int, area: str) -> TelegramUser:
    resident = TelegramUser(fake, user_id)
    await resident.say("/dangky")
    said = await resident.say(area)
    assert "đăng ký" in said.lower(), said
    return resident


async def _file(resident: TelegramUser, **story: str) -> str:
    await resident.say("/totgiac")
    code = await resident.walk_report(Story(**story))  # type: ignore[arg-type]
    assert code
    return code


def _report(db: Database, code: str) -> Report:
    with db.transaction() as session:
        return session.exec(select(Report).where(Report.receipt_code == code)).one()


async def test_cards_go_to_their_units_group_and_move_with_a_transfer(
    fake: FakeTelegram, groups_running: dict[str, int], db: Database, words: Content
) -> None:
    nam = await _file(await _resident_of(fake, 7101, "nam gia nghia"))
    bac = await _file(await _resident_of(fake, 7102, "bac gia nghia"))
    # Posted, and recorded where (the record follows the post).
    await fake.until(lambda _: _report(db, nam).card_chat_id == NAM_GROUP, timeout=20)
    await fake.until(lambda _: _report(db, bac).card_chat_id == DEPLOYMENT_GROUP, timeout=20)
    assert [nam] == [c for c in (nam, bac) if any(c in s.text for s in _cards(fake, NAM_GROUP))]
    assert all(nam not in s.text for s in _cards(fake, DEPLOYMENT_GROUP))
    assert any(bac in s.text for s in _cards(fake, DEPLOYMENT_GROUP))
    assert not _cards(fake, PROVINCE_GROUP)  # not urgent: the province is not told
    assert _report(db, nam).card_chat_id == NAM_GROUP
    assert _report(db, bac).card_chat_id == DEPLOYMENT_GROUP

    # A press in the unit's own group is an officer's press (not a resident's turn).
    card = next(s for s in _cards(fake, NAM_GROUP) if nam in s.text)
    data = dict((label, value) for label, value in card.buttons)["✋ Nhận xử lý"]
    fake.push(callback_update(NAM_OFFICER, data, chat_id=NAM_GROUP, message_id=card.message_id))
    await fake.until(lambda _: _report(db, nam).status != "moi")

    # Moved to Bắc Gia Nghĩa, whose unit has no group: the card follows to the deployment's.
    # The new group fails a moment (a 500), and the reporter adds a detail meanwhile: it
    # must wait for the card's move, never go to the old unit's group.
    fake.fail_next("sendMessage", status=500, chat_id=DEPLOYMENT_GROUP)
    with db.transaction() as session:
        report = session.exec(select(Report).where(Report.receipt_code == nam)).one()
        officer = officers.by_telegram(session, NAM_OFFICER)
        moved = triage.transfer(
            session, words, officer, report, groups_running[BAC], "Sống ở Bắc", utcnow()
        )
        assert not moved.refused, moved.answer
        added = triage.add_info(session, words, report, "Chi tiết MỚI-BỔ-SUNG", utcnow())
        for effect in [*(moved.effects or []), *added]:
            outbox.enqueue(session, effect, utcnow())
    await fake.until(lambda _: _report(db, nam).card_chat_id == DEPLOYMENT_GROUP, timeout=20)
    new_card = next(s for s in _cards(fake, DEPLOYMENT_GROUP) if nam in s.text)
    after = _report(db, nam)
    assert after.card_message_id == new_card.message_id != card.message_id

    def detail() -> list[Sent]:  # the reporter's words in a note (the card's history has them too)
        return [s for s in fake.sent if "MỚI-BỔ-SUNG" in s.text and s.text.startswith("📨")]

    await fake.until(lambda _: bool(detail()), timeout=20)
    assert len(detail()) == 1
    assert detail()[0].chat_id == DEPLOYMENT_GROUP  # not Nam's group, which holds it no more
    replied = detail()[0].params.get("reply_parameters") or {}
    if isinstance(replied, str):
        replied = json.loads(replied)
    assert int(replied.get("message_id", 0)) == new_card.message_id
    old = _latest(fake, NAM_GROUP, card.message_id)
    assert "nay ở nhóm Telegram của" in old.text and BAC in old.text and not old.buttons

    # The old card's buttons are gone; were an old press to come, it is not this unit's now.
    answer = await _press_answer(fake, NAM_OFFICER, data, NAM_GROUP, card.message_id)
    assert answer.get("show_alert")


def _latest(fake: FakeTelegram, chat: int, message_id: int) -> Sent:
    """A message as it shows now: the last edit of it, or itself."""
    return [
        s
        for s in fake.sent
        if s.chat_id == chat and message_id in (s.message_id, int(s.params.get("message_id") or 0))
    ][-1]


async def _press_answer(
    fake: FakeTelegram, officer: int, data: str, chat: int, message_id: int
) -> dict[str, object]:
    update = callback_update(officer, data, chat_id=chat, message_id=message_id)
    fake.push(update)
    wanted = update["callback_query"]["id"]

    def answered() -> dict[str, object] | None:
        for method, params in list(fake.calls):
            if method == "answerCallbackQuery" and str(params["callback_query_id"]) == wanted:
                return dict(params)
        return None

    await fake.until(lambda _: answered() is not None)
    found = answered()
    assert found is not None
    return found


async def test_an_urgent_report_is_told_in_the_province_group_too(
    fake: FakeTelegram, groups_running: dict[str, int], db: Database
) -> None:
    resident = await _resident_of(fake, 7201, "nam gia nghia")
    code = await _file(
        resident, type="Mua bán người", victim="Không rõ", account="Em tôi bị giữ ở Bavet"
    )
    await fake.until(lambda _: bool(_cards(fake, NAM_GROUP)))

    def told() -> list[Sent]:
        return [s for s in fake.sent if s.chat_id == PROVINCE_GROUP and code in s.text]

    await fake.until(lambda _: bool(told()))
    assert "KHẨN" in told()[0].text and NAM in told()[0].text
    assert not _cards(fake, PROVINCE_GROUP)  # one card, in the unit's group; here a notice
    assert all(code not in s.text for s in fake.sent if s.chat_id == DEPLOYMENT_GROUP)


async def test_without_a_group_cards_wait_and_go_once_one_is_set(
    fake: FakeTelegram, bot_settings: Settings, db: Database, province: dict[str, int]
) -> None:
    """No POLICE_CHAT_ID, one unit with a group: another unit's cards wait (not failed), and
    go when that unit is given a group, as do the cards a group change moves."""
    assert cli.main(["unit", "set", str(province[NAM]), "--telegram-chat", str(NAM_GROUP)]) == 0
    async for _ in running_bot(bot_settings):
        await _cards_wait_for_a_group(fake, db, province)


async def _cards_wait_for_a_group(
    fake: FakeTelegram, db: Database, province: dict[str, int]
) -> None:
    bac_group, moved_to = -1001000000004, -1001000000005
    code = await _file(await _resident_of(fake, 7301, "bac gia nghia"))

    def card_row() -> Outbox | None:
        with db.transaction() as session:
            report = session.exec(select(Report).where(Report.receipt_code == code)).one()
            return session.exec(
                select(Outbox).where(Outbox.report_id == report.id, Outbox.kind == "report_card")
            ).first()

    await fake.until(lambda _: (card_row() or Outbox()).status == "waiting", timeout=20)
    assert not any(code in s.text for s in fake.sent if s.chat_id < 0)
    assert cli.main(["unit", "set", str(province[BAC]), "--telegram-chat", str(bac_group)]) == 0
    await fake.until(lambda _: any(code in s.text for s in _cards(fake, bac_group)), timeout=20)
    await fake.until(lambda _: _report(db, code).card_chat_id == bac_group)  # and recorded

    # The unit moves to another group: its open card follows, the old one points on.
    old = next(s for s in _cards(fake, bac_group) if code in s.text)
    assert cli.main(["unit", "set", str(province[BAC]), "--telegram-chat", str(moved_to)]) == 0
    await fake.until(lambda _: any(code in s.text for s in _cards(fake, moved_to)), timeout=20)
    await fake.until(lambda _: not _latest(fake, bac_group, old.message_id).buttons)


def test_the_morning_digest_is_one_per_group_with_its_units_reports(
    dispatcher: Dispatcher, db: Database, words: Content, clock: Clock, province: dict[str, int]
) -> None:
    assert cli.main(["unit", "set", str(province[NAM]), "--telegram-chat", str(NAM_GROUP)]) == 0
    nam = [_file_by_chat(_by_chat(dispatcher, f"r-nam-{n}", "nam gia nghia")) for n in (1, 2)]
    bac = _file_by_chat(_by_chat(dispatcher, "r-bac", "bac gia nghia"))
    clock.advance(hours=1)
    with db.transaction() as session:
        made = deadlines.due(session, words, clock(), time(0, 0))
    notes = {m.payload.get("unit_id"): m.payload["text"] for m in made if "Tổng hợp" in str(m)}
    assert set(notes) == {province[NAM], None}  # the unit's group, and the deployment's
    nam_digest, rest = notes[province[NAM]], notes[None]
    assert all(code in nam_digest for code in nam) and bac not in nam_digest
    assert NAM in nam_digest and "Mới trong 24 giờ qua: 2" in nam_digest
    # The deployment's group serves the province's unit, which sees every unit's reports.
    assert all(code in rest for code in (*nam, bac)) and "Mới trong 24 giờ qua: 3" in rest


def test_the_unit_command_takes_a_group_id_and_refuses_a_bad_one(
    db: Database, province: dict[str, int], capsys: pytest.CaptureFixture[str]
) -> None:
    unit = str(province[NAM])
    assert cli.main(["unit", "set", unit, "--telegram-chat", "12345"]) == 2  # a person's id
    assert cli.main(["unit", "set", unit, "--telegram-chat", "abc"]) == 2
    assert "số âm" in capsys.readouterr().err
    assert cli.main(["unit", "set", unit, "--telegram-chat", str(NAM_GROUP)]) == 0
    assert cli.main(["unit", "list"]) == 0
    assert f"telegram group {NAM_GROUP}" in capsys.readouterr().out
    assert cli.main(["unit", "set", unit, "--telegram-chat", "none"]) == 0
    with db.transaction() as session:
        assert units.group_of(session, province[NAM]) is None
