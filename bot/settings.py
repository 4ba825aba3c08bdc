"""Settings from the environment and .env, checked once at start-up."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from dotenv import load_dotenv

from handlers.types import Limits

DEFAULT_DATABASE_URL = "sqlite:///data/canhgiac.db"


class SettingsError(ValueError):
    """A setting is missing, malformed or unsafe; the message says which and why."""


def _int(name: str, default: int, minimum: int = 0) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError as error:
        raise SettingsError(f"{name} must be a whole number, got {raw!r}") from error
    if value < minimum:
        raise SettingsError(f"{name} must be at least {minimum}, got {value}")
    return value


def _float(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    try:
        return float(raw) if raw else default
    except ValueError as error:
        raise SettingsError(f"{name} must be a number, got {raw!r}") from error


@dataclass(frozen=True)
class Settings:
    environment: str
    database_url: str
    telegram_bot_token: str
    telegram_api_url: str
    telegram_webhook_url: str
    telegram_webhook_secret: str
    http_host: str
    http_port: int
    police_chat_id: str
    terminal_user: str
    log_level: str
    limits: Limits

    @property
    def is_production(self) -> bool:
        return self.environment == "production"


def load(env_file: str | Path | None = ".env") -> Settings:
    """Read settings; .env fills in only what the environment does not already say."""
    if env_file and Path(env_file).exists():
        load_dotenv(env_file, override=False)
    get = os.environ.get
    settings = Settings(
        environment=get("ENVIRONMENT", "local").strip().lower(),
        database_url=get("DATABASE_URL", "").strip() or DEFAULT_DATABASE_URL,
        telegram_bot_token=get("TELEGRAM_BOT_TOKEN", "").strip(),
        telegram_api_url=(get("TELEGRAM_API_URL", "").strip() or "https://api.telegram.org").rstrip(
            "/"
        ),
        telegram_webhook_url=get("TELEGRAM_WEBHOOK_URL", "").strip(),
        telegram_webhook_secret=get("TELEGRAM_WEBHOOK_SECRET", "").strip(),
        http_host=get("HTTP_HOST", "127.0.0.1").strip(),
        http_port=_int("HTTP_PORT", 8080, 1),
        police_chat_id=get("POLICE_CHAT_ID", "").strip(),
        terminal_user=get("TERMINAL_USER", "").strip() or "local",
        log_level=get("LOG_LEVEL", "INFO").strip().upper(),
        limits=Limits(
            reports_per_day=_int("REPORTS_PER_DAY", 10, 1),
            code_lookups_per_hour=_int("CODE_LOOKUPS_PER_HOUR", 10, 1),
            evidence_max_bytes=_int("EVIDENCE_MAX_MB", 10, 1) * 1024 * 1024,
            ack_hours=_float("ACK_HOURS", 24),
            urgent_ack_minutes=_float("URGENT_ACK_MINUTES", 15),
            resolve_days=_int("RESOLVE_DAYS", 20, 1),
        ),
    )
    _check(settings)
    return settings


def _check(settings: Settings) -> None:
    """Fail fast on what would be unsafe in a real deployment."""
    secret = settings.telegram_webhook_secret
    if secret and (len(secret) < 16 or not all(c.isalnum() or c in "_-" for c in secret)):
        raise SettingsError(
            "TELEGRAM_WEBHOOK_SECRET must be 16–256 characters of A-Z, a-z, 0-9, _ and -"
        )
    if settings.police_chat_id and not settings.police_chat_id.lstrip("-").isdigit():
        raise SettingsError("POLICE_CHAT_ID must be a Telegram chat id, e.g. -1001234567890")
    if (
        settings.is_production
        and settings.database_url.startswith("sqlite")
        and ":memory:" in settings.database_url
    ):
        raise SettingsError("an in-memory database loses every report on restart")
