"""Start-up checks: production refuses settings that cannot work; local runs stay permissive."""

from __future__ import annotations

from datetime import time
from pathlib import Path

import pytest

from bot import settings as settings_module
from bot.settings import Settings, SettingsError

# Every variable these tests set, cleared first so the caller's environment cannot leak in.
NAMES = (
    "ENVIRONMENT",
    "DATABASE_URL",
    "TELEGRAM_BOT_TOKEN",
    "TELEGRAM_WEBHOOK_SECRET",
    "POLICE_CHAT_ID",
    "ZALO_OA_APP_ID",
    "ZALO_OA_SECRET_KEY",
    "ZALO_APP_SECRET_KEY",
    "ZALO_BOT_TOKEN",
    "ZALO_BOT_WEBHOOK_SECRET",
    "BACKUP_DIR",
    "BACKUP_AT",
    "BACKUP_KEEP",
    "PUBLIC_URL",
    "WEBPUSH_SUBJECT",
    "HTTP_HOST",
    "HTTP_PORT",
)
# A production deployment that works: Telegram, the console over https, PostgreSQL.
WORKING = {
    "ENVIRONMENT": "production",
    "DATABASE_URL": "postgresql+psycopg://canhgiac@127.0.0.1:5432/canhgiac",
    "TELEGRAM_BOT_TOKEN": "123456:ABC",
    "PUBLIC_URL": "https://canhgiac.congan-namgianghia.vn",
    "WEBPUSH_SUBJECT": "mailto:truc-ban@congan-namgianghia.vn",
}


def _load(monkeypatch: pytest.MonkeyPatch, **env: str) -> Settings:
    for name in NAMES:
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return settings_module.load(env_file=None)


def _production(monkeypatch: pytest.MonkeyPatch, **changes: str) -> Settings:
    return _load(monkeypatch, **(WORKING | changes))


def test_a_working_production_deployment_starts(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = _production(
        monkeypatch,
        TELEGRAM_WEBHOOK_SECRET="s" * 32,
        ZALO_OA_APP_ID="2826623761416750119",
        ZALO_OA_SECRET_KEY="4GWZIBC8RB7pWeRlWeIO",
        ZALO_BOT_TOKEN="bot-token",
        ZALO_BOT_WEBHOOK_SECRET="z" * 40,
    )
    assert settings.is_production and settings.zalo_oa


def test_local_runs_stay_permissive(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = _load(
        monkeypatch,
        TELEGRAM_BOT_TOKEN="123456:ABC",
        TELEGRAM_WEBHOOK_SECRET="short-but-valid-16",
        ZALO_OA_APP_ID="1",
        ZALO_OA_SECRET_KEY="key",
        ZALO_BOT_WEBHOOK_SECRET="tiny",
    )
    assert not settings.is_production and not settings.police_chat_id
    assert _load(monkeypatch).environment == "local"


def test_production_needs_a_messenger(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(SettingsError, match="needs a messenger"):
        _production(monkeypatch, TELEGRAM_BOT_TOKEN="")


def test_police_work_without_telegram_in_production(monkeypatch: pytest.MonkeyPatch) -> None:
    """Residents on Zalo, police in the console: no Telegram anywhere is a whole deployment."""
    zalo = {"ZALO_OA_APP_ID": "2826623761416750119", "ZALO_OA_SECRET_KEY": "4GWZIBC8RB7pWeRlWeIO"}
    settings = _production(monkeypatch, TELEGRAM_BOT_TOKEN="", **zalo)
    assert not settings.telegram_bot_token and not settings.police_chat_id
    assert settings.secure_cookies


@pytest.mark.parametrize(
    ("changes", "complaint"),
    [
        ({"PUBLIC_URL": ""}, "needs PUBLIC_URL"),
        ({"PUBLIC_URL": "http://canhgiac.example.vn"}, "needs PUBLIC_URL"),
        ({"WEBPUSH_SUBJECT": ""}, "needs WEBPUSH_SUBJECT"),
        ({"WEBPUSH_SUBJECT": "truc-ban@example.vn"}, "needs WEBPUSH_SUBJECT"),
    ],
)
def test_production_needs_the_console_address_and_a_push_contact(
    monkeypatch: pytest.MonkeyPatch, changes: dict[str, str], complaint: str
) -> None:
    with pytest.raises(SettingsError, match=complaint):
        _production(monkeypatch, **changes)


def test_the_console_address_defaults_to_the_local_server(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = _load(monkeypatch, HTTP_PORT="8123")
    assert settings.public_url == "http://127.0.0.1:8123" and not settings.secure_cookies


@pytest.mark.parametrize("name", ["TELEGRAM_WEBHOOK_SECRET", "ZALO_BOT_WEBHOOK_SECRET"])
def test_production_webhook_secrets_are_long(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    changes = {name: "s" * 31, "ZALO_BOT_TOKEN": "bot-token"}
    with pytest.raises(SettingsError, match=f"{name} must be at least 32 characters"):
        _production(monkeypatch, **changes)
    assert getattr(_production(monkeypatch, **changes | {name: "s" * 32}), name.lower())


@pytest.mark.parametrize("name", ["ZALO_OA_SECRET_KEY", "ZALO_APP_SECRET_KEY"])
def test_production_refuses_a_truncated_zalo_key(
    monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    zalo = {"ZALO_OA_APP_ID": "2826623761416750119", "ZALO_OA_SECRET_KEY": "4GWZIBC8RB7pWeRlWeIO"}
    with pytest.raises(SettingsError, match=f"{name} is only 8 characters"):
        _production(monkeypatch, **zalo | {name: "4GWZIBC8"})


def test_production_refuses_an_in_memory_database(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(SettingsError, match="in-memory"):
        _production(monkeypatch, DATABASE_URL="sqlite:///:memory:")


def test_backups_are_off_locally_and_on_in_production(monkeypatch: pytest.MonkeyPatch) -> None:
    local = _load(monkeypatch)
    assert local.backup_dir is None
    assert (local.backup_at, local.backup_keep) == (time(2, 0), 14)
    assert _production(monkeypatch).backup_dir == Path("data/backups")
    assert _production(monkeypatch, BACKUP_DIR="off").backup_dir is None
    chosen = _load(monkeypatch, BACKUP_DIR="/srv/backups", BACKUP_AT="03:15", BACKUP_KEEP="30")
    assert chosen.backup_dir == Path("/srv/backups")
    assert (chosen.backup_at, chosen.backup_keep) == (time(3, 15), 30)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [("BACKUP_KEEP", "0", "BACKUP_KEEP must be at least 1"), ("BACKUP_AT", "2h", "BACKUP_AT")],
)
def test_backup_settings_are_checked(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, message: str
) -> None:
    with pytest.raises(SettingsError, match=message):
        _load(monkeypatch, **{name: value})


@pytest.mark.parametrize("value", ["0", "5000"])
def test_a_police_groups_pace_is_checked(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    with pytest.raises(SettingsError, match="POLICE_GROUP_RATE must be 1 to 1200"):
        _load(monkeypatch, POLICE_GROUP_RATE=value)
