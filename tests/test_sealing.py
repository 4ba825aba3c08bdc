"""Personal data sealed at rest (issue 13, item 4): a copy of the database reveals no
reporter's phone, victim's whereabouts, photo or platform token, and no link from a report to
the account that filed it; keys rotate; a value moved or changed is refused."""

from __future__ import annotations

import dataclasses
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import SQLModel, select

from bot import key_cli
from bot import settings as settings_module
from bot.settings import SettingsError
from content import load
from db import officers, outbox, rekey, sealing
from db import secrets as app_secrets
from db.engine import Database
from db.migrate import upgrade
from db.models import AppSecret, Evidence, Report, Resident
from handlers import triage
from handlers.dispatcher import Dispatcher
from tests.chat import Chat
from tests.conftest import TEST_DATA_KEYS
from tests.walker import Story, walk

USER = "7300412345"
PHONE = "0987654321"
WHEREABOUTS = "Đặc khu Bavet, tòa nhà Kim Sơn tầng 7"
PHOTO = b"\x89PNG\r\n\x1a\n" + b"anh-chup-chuyen-khoan-9F3A7C" * 8
TOKEN = "zalo-refresh-token-R7Q2XK9M4V"


@pytest.fixture(autouse=True)
def _test_ring() -> object:
    """Each test here may install its own ring; the suite's comes back after."""
    yield
    sealing.install(sealing.KeyRing.parse(TEST_DATA_KEYS))


def _file_report(dispatcher: Dispatcher) -> tuple[Chat, str]:
    chat = Chat(dispatcher, channel="telegram", user=USER, photos=True)
    chat.send("/totgiac")
    story = Story(
        type="Mua bán người",
        account="Em tôi bị dụ sang Campuchia làm việc rồi mất liên lạc, họ đòi tiền chuộc",
        victim=WHEREABOUTS,
        photos=[PHOTO],
        phone=PHONE,
    )
    code = walk(chat, story).code
    assert code, chat.text
    return chat, code


def _dump(database: Database) -> str:
    """Every row of every table as the database itself prints it (bytes as hex): what a
    copy of the database shows to whoever has it but not the keys."""
    lines = []
    with database.engine.connect() as conn:
        for table in SQLModel.metadata.sorted_tables:
            columns = [sa.column(c.name) for c in table.columns]
            for row in conn.execute(sa.select(*columns).select_from(sa.table(table.name))):
                lines.append(" ".join(v.hex() if isinstance(v, bytes) else str(v) for v in row))
    return "\n".join(lines)


def _plaintext_in(haystack: str) -> list[str]:
    needles = {
        "phone": PHONE[1:],
        "whereabouts": "Kim Sơn tầng 7",
        "photo": PHOTO[8:40].hex(),
        "token": TOKEN,
        "reporter": USER,
    }
    return [name for name, needle in needles.items() if needle in haystack]


def test_a_copy_of_the_database_reveals_no_personal_data(
    dispatcher: Dispatcher, db: Database, database_url: str, clock
) -> None:
    chat, code = _file_report(dispatcher)
    with db.transaction() as session:
        session.add(AppSecret(key="zalo_oa_refresh_token", value=TOKEN, updated_at=clock()))
        app_secrets.get_or_create(session, "telegram_webhook_secret", clock())
        report = session.exec(select(Report)).one()
        # Through the app, everything is there as it was told.
        assert PHONE[1:] in (report.contact_phone or "") and report.victim_info == WHEREABOUTS
        assert session.exec(select(Evidence.data)).one() == PHOTO
        assert session.get(AppSecret, "zalo_oa_refresh_token").value == TOKEN  # type: ignore[union-attr]
        assert session.exec(select(Resident.user_id)).one() == USER  # a resident row remains
    # The chat still lists the resident's own reports, found by the keyed tag.
    chat.send("/theodoi")
    assert code in chat.text

    dump = _dump(db)
    assert _plaintext_in(dump) == ["reporter"]  # the resident row itself, for alerts
    with db.engine.connect() as conn:
        raw = conn.execute(sa.text("SELECT reporter, reporter_tag FROM report")).one()
    assert USER not in raw[0] and USER not in raw[1]  # no link from the report to the account
    if database_url.startswith("sqlite"):
        path = Path(db.engine.url.database or "")
        files = b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))
        text = files.decode("latin-1")
        assert [n for n in _plaintext_in(text) if n != "reporter"] == []
        assert PHONE[1:].encode() not in files and PHOTO[8:40] not in files
        assert "Kim Sơn".encode() not in files


def test_without_the_key_nothing_opens_and_tags_do_not_match(
    dispatcher: Dispatcher, db: Database
) -> None:
    _file_report(dispatcher)
    sealing.install(sealing.KeyRing.parse(sealing.KeyRing.new_line("other")))
    with pytest.raises(sealing.NoKey), db.transaction() as session:
        session.exec(select(Report)).one()
    other_tag = sealing.reporter_tag(f"telegram:{USER}")
    with db.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT reporter_tag FROM report")).scalar() != other_tag


def test_a_value_moved_to_another_column_is_refused(dispatcher: Dispatcher, db: Database) -> None:
    _file_report(dispatcher)
    with db.engine.begin() as conn:
        conn.execute(sa.text("UPDATE report SET account = victim_info"))
    with pytest.raises(sealing.Tampered), db.transaction() as session:
        session.exec(select(Report)).one()


def test_a_changed_value_is_refused(dispatcher: Dispatcher, db: Database) -> None:
    _file_report(dispatcher)
    with db.engine.connect() as conn:
        sealed = conn.execute(sa.text("SELECT contact_phone FROM report")).scalar()
    kid, _, body = sealed[len(sealing.TEXT_PREFIX) :].partition(":")
    flipped = body[:20] + ("A" if body[20] != "A" else "B") + body[21:]
    with db.engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE report SET contact_phone = :v"),
            {"v": f"{sealing.TEXT_PREFIX}{kid}:{flipped}"},
        )
    with pytest.raises(sealing.Tampered), db.transaction() as session:
        session.exec(select(Report)).one()


def test_rotation_reseals_everything_and_the_old_key_can_go(
    dispatcher: Dispatcher, db: Database, tmp_path: Path
) -> None:
    key_file = tmp_path / "keys"
    key_file.write_text(TEST_DATA_KEYS + "\n")
    sealing.install(sealing.load_key_file(key_file))
    chat, code = _file_report(dispatcher)
    assert set(rekey.status(db.connection)) == {"test1"}

    key_cli.rotate(key_file)
    assert sealing.ring().current == "k1" and "test1" in key_file.read_text()
    changed = rekey.reseal(db.connection)
    assert changed["report.contact_phone"] == 1 and changed["evidence.data"] == 1
    assert changed["report.reporter_tag"] == 1
    assert set(rekey.status(db.connection)) == {"k1"}

    # The old key removed: everything still opens, and the reporter still finds their report.
    only_new = [line for line in key_file.read_text().splitlines() if line.startswith("k1:")]
    sealing.install(sealing.KeyRing.parse(only_new[0]))
    with db.transaction() as session:
        report = session.exec(select(Report)).one()
        assert report.victim_info == WHEREABOUTS
        assert session.exec(select(Evidence.data)).one() == PHOTO
    chat.send("/theodoi")
    assert code in chat.text


def test_data_written_before_sealing_is_sealed_by_the_migration(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    upgrade(url, "0012")
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO resident (channel, user_id, area, subscribed, blocked, created_at) "
                "VALUES ('zalo_bot', :user, 'nam-gia-nghia', 0, 0, '2026-01-01 00:00:00')"
            ),
            {"user": USER},
        )
        conn.execute(
            sa.text(
                "INSERT INTO report (receipt_code, channel, resident_id, scam_type, urgent, "
                "account, victim_info, anonymous, contact_phone, consent_version, status, "
                "created_at, updated_at) VALUES ('ABCD-2345', 'zalo_bot', 1, 'mua_ban_nguoi', 1, "
                "'Em tôi bị giữ', :where, 0, :phone, '1', 'moi', '2026-01-01 00:00:00', "
                "'2026-01-01 00:00:00')"
            ),
            {"where": WHEREABOUTS, "phone": PHONE},
        )
        conn.execute(
            sa.text(
                "INSERT INTO app_secret (key, value, updated_at) "
                "VALUES ('zalo_oa_refresh_token', :t, '2026-01-01 00:00:00')"
            ),
            {"t": TOKEN},
        )
    engine.dispose()

    upgrade(url)
    database = Database(url)
    try:
        assert _plaintext_in(_dump(database)) == ["reporter"]  # the resident row only
        with database.transaction() as session:
            report = session.exec(select(Report)).one()
            assert report.victim_info == WHEREABOUTS and report.contact_phone == PHONE
            assert report.area == "nam-gia-nghia"
            assert report.reporter == f"zalo_bot:{USER}"
            assert [r.receipt_code for r in _mine(session)] == ["ABCD-2345"]
    finally:
        database.dispose()


def _mine(session: object) -> list[Report]:
    from db import reports

    return reports.of_resident(session, f"zalo_bot:{USER}")  # type: ignore[arg-type]


NAMES = ("ENVIRONMENT", "DATA_KEYS", "DATA_KEY_FILE", "DATABASE_URL", "TELEGRAM_BOT_TOKEN")


def _load(monkeypatch: pytest.MonkeyPatch, **env: str) -> settings_module.Settings:
    for name in NAMES:
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return settings_module.load(env_file=None)


def test_production_refuses_to_start_without_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(SettingsError, match="DATA_KEYS"):
        _load(monkeypatch, ENVIRONMENT="production", TELEGRAM_BOT_TOKEN="1:A")
    with pytest.raises(SettingsError, match="does not exist"):
        _load(
            monkeypatch,
            ENVIRONMENT="production",
            TELEGRAM_BOT_TOKEN="1:A",
            DATA_KEY_FILE="/nonexistent/keys",
        )
    with pytest.raises(SettingsError, match="32 byte"):
        _load(monkeypatch, DATA_KEYS="k1:c2hvcnQ")


def test_a_local_run_makes_its_key_once(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    first = _load(monkeypatch)
    assert first.data_key_created and first.data_key_file == Path("data/keys")
    assert stat.S_IMODE(os.stat("data/keys").st_mode) == 0o600
    again = _load(monkeypatch)
    assert not again.data_key_created and again.data_keys == first.data_keys
    assert dataclasses.replace(again).data_keys is not None


def test_a_sqlite_database_with_history_and_photos_upgrades(tmp_path: Path) -> None:
    """Batch migrations rebuild the report table; rows pointing at it must not stop them."""
    url = f"sqlite:///{tmp_path / 'old.db'}"
    upgrade(url, "0012")
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO report (receipt_code, channel, scam_type, urgent, account, "
                "anonymous, consent_version, status, created_at, updated_at) VALUES "
                "('ABCD-2345', 'telegram', 'khac', 0, 'Chuyện của tôi', 1, '1', 'moi', "
                "'2026-01-01 00:00:00', '2026-01-01 00:00:00')"
            )
        )
        conn.execute(
            sa.text(
                "INSERT INTO report_event (report_id, at, actor, action, note) "
                "VALUES (1, '2026-01-01 00:00:00', 'x', 'info', 'thêm')"
            )
        )
        conn.execute(
            sa.text(
                "INSERT INTO evidence (report_id, sha256, size, mime, data, created_at) "
                "VALUES (1, :h, 3, 'image/png', :d, '2026-01-01 00:00:00')"
            ),
            {"h": "0" * 64, "d": b"png"},
        )
        conn.execute(sa.text("INSERT INTO report_words (report_id, words) VALUES (1, 'x')"))
    engine.dispose()
    upgrade(url)
    database = Database(url)
    try:
        with database.transaction() as session:
            assert session.exec(select(Report)).one().unit_id == 1
            assert session.exec(select(Evidence.data)).one() == b"png"
    finally:
        database.dispose()


def test_a_key_id_given_twice_is_refused() -> None:
    line = sealing.KeyRing.new_line("k1")
    with pytest.raises(sealing.NoKey, match="hai lần"):
        sealing.KeyRing.parse(f"{line}\n{sealing.KeyRing.new_line('k1')}")


def test_an_unsealed_or_damaged_value_is_refused(dispatcher: Dispatcher, db: Database) -> None:
    _file_report(dispatcher)
    with db.engine.begin() as conn:  # written around the app, by someone without the key
        conn.execute(sa.text("UPDATE report SET reporter = 'telegram:attacker'"))
    with pytest.raises(sealing.Tampered), db.transaction() as session:
        session.exec(select(Report)).one()
    with db.engine.begin() as conn:
        conn.execute(sa.text("UPDATE report SET reporter = 'enc1:test1:not*base64'"))
    with pytest.raises(sealing.Tampered), db.transaction() as session:
        session.exec(select(Report)).one()


def test_a_reseal_while_the_bot_runs_never_undoes_an_erasure(
    dispatcher: Dispatcher, db: Database
) -> None:
    _file_report(dispatcher)
    sealing.install(sealing.KeyRing.parse(f"{TEST_DATA_KEYS}\n{sealing.KeyRing.new_line('k2')}"))

    calls = 0

    @contextmanager
    def begin_after_an_erasure() -> Iterator[sa.Connection]:
        # The first transaction reads the batch; before the second writes it back,
        # /xoadulieu commits elsewhere.
        nonlocal calls
        calls += 1
        if calls == 2:
            with db.engine.begin() as other:
                other.execute(sa.text("UPDATE report SET reporter = NULL, reporter_tag = NULL"))
        with db.connection() as conn:
            yield conn

    reporter = rekey.SealedColumn("report", "id", "reporter", False, "report.reporter")
    rekey.reseal(begin_after_an_erasure, [reporter])
    assert calls >= 2
    with db.transaction() as session:
        report = session.exec(select(Report)).one()
        assert report.reporter is None and report.reporter_tag is None
    rekey.reseal(db.connection)  # and everything else, unhindered
    assert "test1" not in {k for k, n in rekey.status(db.connection).items() if n}


def test_a_delivered_message_does_not_tie_its_recipient_to_a_report(
    dispatcher: Dispatcher, db: Database, clock
) -> None:
    _file_report(dispatcher)
    with db.transaction() as session:
        officer = officers.add(session, "Cán bộ", "officer", None)
        report = session.exec(select(Report)).one()
        asked = triage.act(
            session, load(), officer, report, triage.ASK, clock(), "Số tài khoản nào?"
        )
        for message in asked.effects:
            outbox.enqueue(session, message, clock())
    with db.engine.connect() as conn:
        linked = "SELECT id FROM outbox WHERE recipient = :u AND report_id IS NOT NULL"
        waiting = [r[0] for r in conn.execute(sa.text(linked), {"u": USER})]
    assert waiting  # while it waits, the sender needs the report (deadlines, the card's warning)
    with db.transaction() as session:
        outbox.mark_sent(session, waiting, clock())
    with db.engine.connect() as conn:
        assert conn.execute(sa.text(linked), {"u": USER}).all() == []
