"""Settings from the environment and .env, checked once at start-up."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import time
from pathlib import Path

from dotenv import load_dotenv

from handlers.types import Limits

DEFAULT_DATABASE_URL = "sqlite:///data/canhgiac.db"
# Where a production deployment keeps its daily backups unless BACKUP_DIR says otherwise.
DEFAULT_PRODUCTION_BACKUP_DIR = "data/backups"
# A webhook secret is all that stands between the internet and a forged update.
MIN_PRODUCTION_WEBHOOK_SECRET = 32
# Zalo issues 20-character secret keys; anything much shorter was mistyped or truncated.
MIN_ZALO_SECRET_KEY = 16


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


def _url(name: str, default: str) -> str:
    return (os.environ.get(name, "").strip() or default).rstrip("/")


def _clock_time(name: str, default: time) -> time:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return time.fromisoformat(raw)
    except ValueError as error:
        raise SettingsError(f"{name} must be a time of day like 07:30, got {raw!r}") from error


def _backup_dir(environment: str) -> Path | None:
    """BACKUP_DIR; empty means off, except in production, which always keeps backups
    unless told `off` (e.g. when the database is backed up by other means)."""
    raw = os.environ.get("BACKUP_DIR", "").strip()
    if raw.lower() == "off" or (not raw and environment != "production"):
        return None
    return Path(raw or DEFAULT_PRODUCTION_BACKUP_DIR)


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
    # The police chat's morning digest, Vietnam time; and how often due work is looked for.
    digest_at: time = time(7, 30)
    jobs_every_seconds: float = 30.0
    # Broadcast pace (messages/second overall) and the weekly tip's day (1 = Monday) and hour.
    # Zalo: the ward's Official Account and/or a Zalo Bot (empty: not used).
    zalo_oa_app_id: str = ""
    zalo_oa_secret_key: str = ""
    zalo_oa_refresh_token: str = ""
    zalo_app_secret_key: str = ""  # the app's key for token refresh; else the OA's
    zalo_api_url: str = "https://openapi.zalo.me"
    zalo_oauth_url: str = "https://oauth.zaloapp.com"
    zalo_replay_seconds: float = 300.0
    zalo_bot_token: str = ""
    zalo_bot_api_url: str = "https://bot-api.zaloplatforms.com"
    zalo_bot_webhook_url: str = ""
    zalo_bot_webhook_secret: str = ""
    broadcast_rate: float = 25.0
    tip_weekday: int = 1
    tip_at: time = time(9, 0)
    # Largest request body the web app reads; beyond it, 413 before anything is parsed.
    http_max_body_bytes: int = 1024 * 1024
    # Daily backups: the folder (None: off), the moment (Vietnam time) and how many to keep.
    backup_dir: Path | None = None
    backup_at: time = time(2, 0)
    backup_keep: int = 14

    @property
    def is_production(self) -> bool:
        return self.environment == "production"

    @property
    def zalo_oa(self) -> bool:
        return bool(self.zalo_oa_app_id and self.zalo_oa_secret_key)

    @property
    def messenger(self) -> bool:
        """Some messenger is configured: `canhgiac run` serves it (else the terminal chat)."""
        return bool(self.telegram_bot_token or self.zalo_oa or self.zalo_bot_token)


def load(env_file: str | Path | None = ".env") -> Settings:
    """Read settings; .env fills in only what the environment does not already say."""
    if env_file and Path(env_file).exists():
        load_dotenv(env_file, override=False)
    get = os.environ.get
    environment = get("ENVIRONMENT", "local").strip().lower()
    settings = Settings(
        environment=environment,
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
        digest_at=_clock_time("DIGEST_AT", time(7, 30)),
        jobs_every_seconds=_float("JOBS_EVERY_SECONDS", 30.0),
        zalo_oa_app_id=get("ZALO_OA_APP_ID", "").strip(),
        zalo_oa_secret_key=get("ZALO_OA_SECRET_KEY", "").strip(),
        zalo_oa_refresh_token=get("ZALO_OA_REFRESH_TOKEN", "").strip(),
        zalo_app_secret_key=get("ZALO_APP_SECRET_KEY", "").strip(),
        zalo_api_url=_url("ZALO_API_URL", "https://openapi.zalo.me"),
        zalo_oauth_url=_url("ZALO_OAUTH_URL", "https://oauth.zaloapp.com"),
        zalo_replay_seconds=_float("ZALO_REPLAY_SECONDS", 300.0),
        zalo_bot_token=get("ZALO_BOT_TOKEN", "").strip(),
        zalo_bot_api_url=_url("ZALO_BOT_API_URL", "https://bot-api.zaloplatforms.com"),
        zalo_bot_webhook_url=get("ZALO_BOT_WEBHOOK_URL", "").strip(),
        zalo_bot_webhook_secret=get("ZALO_BOT_WEBHOOK_SECRET", "").strip(),
        broadcast_rate=_float("BROADCAST_RATE", 25.0),
        tip_weekday=_int("WEEKLY_TIP_DAY", 1, 1),
        tip_at=_clock_time("WEEKLY_TIP_AT", time(9, 0)),
        http_max_body_bytes=_int("HTTP_MAX_BODY_KB", 1024, 16) * 1024,
        backup_dir=_backup_dir(environment),
        backup_at=_clock_time("BACKUP_AT", time(2, 0)),
        backup_keep=_int("BACKUP_KEEP", 14, 1),
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
    if bool(settings.zalo_oa_app_id) != bool(settings.zalo_oa_secret_key):
        raise SettingsError("ZALO_OA_APP_ID and ZALO_OA_SECRET_KEY go together")
    if not 0 < settings.broadcast_rate <= 1000:
        raise SettingsError("BROADCAST_RATE must be above 0 and at most 1000 messages/second")
    if settings.tip_weekday > 7:
        raise SettingsError("WEEKLY_TIP_DAY must be 1 (Monday) to 7 (Sunday)")
    if settings.jobs_every_seconds <= 0:
        raise SettingsError("JOBS_EVERY_SECONDS must be above 0")
    if settings.police_chat_id and not settings.police_chat_id.lstrip("-").isdigit():
        raise SettingsError("POLICE_CHAT_ID must be a Telegram chat id, e.g. -1001234567890")
    if settings.is_production:
        _check_production(settings)


def police_can_receive_tip_cards(settings: Settings) -> bool:
    """Some way for the ward police to receive tip cards is configured (today: the Telegram
    police chat; a web console would be another)."""
    return bool(settings.telegram_bot_token and settings.police_chat_id)


def _check_production(settings: Settings) -> None:
    """What would let a ward's deployment start and then quietly fail its residents."""
    if settings.database_url.startswith("sqlite") and ":memory:" in settings.database_url:
        raise SettingsError("an in-memory database loses every report on restart")
    if not settings.messenger:
        raise SettingsError(
            "ENVIRONMENT=production needs a messenger: set TELEGRAM_BOT_TOKEN, "
            "ZALO_OA_APP_ID and ZALO_OA_SECRET_KEY, or ZALO_BOT_TOKEN"
        )
    if not police_can_receive_tip_cards(settings):
        raise SettingsError(
            "ENVIRONMENT=production has no way for police to receive tip cards: "
            "set TELEGRAM_BOT_TOKEN and POLICE_CHAT_ID"
        )
    for name, secret in (
        ("TELEGRAM_WEBHOOK_SECRET", settings.telegram_webhook_secret),
        ("ZALO_BOT_WEBHOOK_SECRET", settings.zalo_bot_webhook_secret),
    ):
        if secret and len(secret) < MIN_PRODUCTION_WEBHOOK_SECRET:
            raise SettingsError(
                f"{name} must be at least {MIN_PRODUCTION_WEBHOOK_SECRET} characters in "
                "production (or empty: one is generated and kept in the database)"
            )
    for name, key in (
        ("ZALO_OA_SECRET_KEY", settings.zalo_oa_secret_key),
        ("ZALO_APP_SECRET_KEY", settings.zalo_app_secret_key),
    ):
        if key and len(key) < MIN_ZALO_SECRET_KEY:
            raise SettingsError(
                f"{name} is only {len(key)} characters, too short for a Zalo key: "
                "copy it again from the Zalo developer console"
            )
