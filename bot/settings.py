"""Settings from the environment and .env, checked once at start-up."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import date, time
from pathlib import Path

from dotenv import load_dotenv

from db import sealing
from db.retention import Policy as RetentionPolicy
from handlers.types import Limits

DEFAULT_DATABASE_URL = "sqlite:///data/canhgiac.db"
# Where a production deployment keeps its daily backups unless BACKUP_DIR says otherwise.
DEFAULT_PRODUCTION_BACKUP_DIR = "data/backups"
# Where a local run keeps the data key it made on first start (DATA_KEY_FILE).
DEFAULT_LOCAL_KEY_FILE = "data/keys"
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


def _due_dates(name: str, default: str) -> tuple[tuple[int, int], ...]:
    """Days of the year as DD-MM, comma-separated (29-02 is not one every year); `off`: none."""
    raw = os.environ.get(name, "").strip() or default
    if raw.lower() == "off":
        return ()
    found = set()
    for part in raw.split(","):
        try:
            day, month = (int(n) for n in part.strip().split("-"))
            date(2001, month, day)
        except ValueError as error:
            raise SettingsError(f"{name} must be dates like 05-12,15-06, got {raw!r}") from error
        found.add((day, month))
    return tuple(sorted(found, key=lambda day_month: (day_month[1], day_month[0])))


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
    # Messages a minute to one Telegram police group, shared by every process (Telegram: ~20).
    police_group_rate: float = 20.0
    # PostgreSQL connections each process keeps, and may add at a peak (db/engine.py).
    db_pool_size: int = 5
    db_max_overflow: int = 10
    tip_weekday: int = 1
    tip_at: time = time(9, 0)
    # Largest request body the web app reads; beyond it, 413 before anything is parsed.
    http_max_body_bytes: int = 1024 * 1024
    # Daily backups: the folder (None: off), the moment (Vietnam time) and how many to keep.
    backup_dir: Path | None = None
    backup_at: time = time(2, 0)
    backup_keep: int = 14
    # Where officers open the console (links in notices, set-up links); https in production.
    public_url: str = "http://127.0.0.1:8080"
    # Who runs this deployment, for push services (RFC 8292): mailto: or https:.
    webpush_subject: str = "mailto:canhgiac@localhost.localdomain"
    # The reverse proxies whose X-Forwarded-For names the client (comma-separated addresses;
    # empty: none, the connection's own address counts): sign-in limits and the audit log.
    trusted_proxies: str = "127.0.0.1"
    # The issuing body named at the head of the periodic report (Decree 30/2020).
    unit_name: str = "CÔNG AN PHƯỜNG NAM GIA NGHĨA"
    # When the periodic report is due upward, as (day, month): leads are reminded before.
    report_due_dates: tuple[tuple[int, int], ...] = ((15, 6), (5, 12), (15, 12))
    # How long personal data is kept (db/retention.py), and when the daily purge runs.
    retention: RetentionPolicy = field(default_factory=RetentionPolicy)
    purge_at: time = time(3, 0)
    # The keys that seal personal data at rest (db/sealing.py), and the file they came from
    # (None when from DATA_KEYS); `data_key_created`: this start made a new local key file.
    data_keys: sealing.KeyRing | None = None
    data_key_file: Path | None = None
    data_key_created: bool = False

    @property
    def secure_cookies(self) -> bool:
        return self.public_url.startswith("https://")

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


def _data_keys(environment: str) -> tuple[sealing.KeyRing, Path | None, bool]:
    """DATA_KEYS (`id:base64key` separated by commas, the last one current), else the key
    file DATA_KEY_FILE; a local run makes its own key file on first start, production
    refuses to start without keys (personal data would otherwise be stored in clear)."""
    raw = os.environ.get("DATA_KEYS", "").strip()
    try:
        if raw:
            return sealing.KeyRing.parse(raw), None, False
        named = os.environ.get("DATA_KEY_FILE", "").strip()
        if not named and environment == "production":
            raise SettingsError(
                "ENVIRONMENT=production needs DATA_KEYS or DATA_KEY_FILE, the keys that "
                "encrypt personal data at rest (`canhgiac key new` makes one)"
            )
        path = Path(named or DEFAULT_LOCAL_KEY_FILE)
        if path.exists():
            return sealing.load_key_file(path), path, False
        if environment == "production":
            raise SettingsError(f"DATA_KEY_FILE {path} does not exist")
        return sealing.create_key_file(path), path, True
    except sealing.NoKey as error:
        raise SettingsError(f"DATA_KEYS / DATA_KEY_FILE: {error}") from error


def load(env_file: str | Path | None = ".env") -> Settings:
    """Read settings; .env fills in only what the environment does not already say."""
    if env_file and Path(env_file).exists():
        load_dotenv(env_file, override=False)
    get = os.environ.get
    environment = get("ENVIRONMENT", "local").strip().lower()
    data_keys, data_key_file, data_key_created = _data_keys(environment)
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
        police_group_rate=_float("POLICE_GROUP_RATE", 20.0),
        db_pool_size=_int("DB_POOL_SIZE", 5, 1),
        db_max_overflow=_int("DB_MAX_OVERFLOW", 10, 0),
        tip_weekday=_int("WEEKLY_TIP_DAY", 1, 1),
        tip_at=_clock_time("WEEKLY_TIP_AT", time(9, 0)),
        http_max_body_bytes=_int("HTTP_MAX_BODY_KB", 1024, 16) * 1024,
        backup_dir=_backup_dir(environment),
        backup_at=_clock_time("BACKUP_AT", time(2, 0)),
        backup_keep=_int("BACKUP_KEEP", 14, 1),
        public_url=(
            get("PUBLIC_URL", "").strip()
            or f"http://{get('HTTP_HOST', '127.0.0.1').strip()}:{_int('HTTP_PORT', 8080, 1)}"
        ).rstrip("/"),
        trusted_proxies=get("TRUSTED_PROXIES", "127.0.0.1").strip(),
        webpush_subject=get("WEBPUSH_SUBJECT", "").strip()
        or "mailto:canhgiac@localhost.localdomain",
        unit_name=get("UNIT_NAME", "").strip() or "CÔNG AN PHƯỜNG NAM GIA NGHĨA",
        report_due_dates=_due_dates("REPORT_DUE_DATES", "05-12,15-06,15-12"),
        limits=Limits(
            reports_per_day=_int("REPORTS_PER_DAY", 10, 1),
            code_lookups_per_hour=_int("CODE_LOOKUPS_PER_HOUR", 10, 1),
            identifier_lookups_per_hour=_int("LOOKUPS_PER_HOUR", 30, 1),
            min_reporters=_int("MIN_REPORTERS", 2, 1),
            confirmation_review_days=_int("CONFIRMATION_REVIEW_DAYS", 180, 1),
            evidence_max_bytes=_int("EVIDENCE_MAX_MB", 10, 1) * 1024 * 1024,
            ack_hours=_float("ACK_HOURS", 24),
            urgent_ack_minutes=_float("URGENT_ACK_MINUTES", 15),
            resolve_days=_int("RESOLVE_DAYS", 20, 1),
        ),
        retention=RetentionPolicy(
            draft_days=_int("RETENTION_DRAFT_DAYS", 30, 1),
            closed_days=_int("RETENTION_CLOSED_DAYS", 365, 1),
            rubbish_days=_int("RETENTION_RUBBISH_DAYS", 90, 1),
            message_days=_int("RETENTION_MESSAGE_DAYS", 30, 1),
            audit_days=_int("RETENTION_AUDIT_DAYS", 730, 1),
        ),
        purge_at=_clock_time("PURGE_AT", time(3, 0)),
        data_keys=data_keys,
        data_key_file=data_key_file,
        data_key_created=data_key_created,
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
    if not 1 <= settings.police_group_rate <= 1200:
        raise SettingsError("POLICE_GROUP_RATE must be 1 to 1200 messages a minute")
    if settings.tip_weekday > 7:
        raise SettingsError("WEEKLY_TIP_DAY must be 1 (Monday) to 7 (Sunday)")
    if settings.jobs_every_seconds <= 0:
        raise SettingsError("JOBS_EVERY_SECONDS must be above 0")
    if settings.police_chat_id and not settings.police_chat_id.lstrip("-").isdigit():
        raise SettingsError("POLICE_CHAT_ID must be a Telegram chat id, e.g. -1001234567890")
    if settings.is_production:
        _check_production(settings)


def police_can_receive_tip_cards(settings: Settings) -> bool:
    """Some way for the ward police to receive tip cards: the web console always serves
    them (it runs in every mode); the Telegram police chat is an optional extra."""
    return True


def _check_production(settings: Settings) -> None:
    """What would let a ward's deployment start and then quietly fail its residents."""
    if settings.database_url.startswith("sqlite") and ":memory:" in settings.database_url:
        raise SettingsError("an in-memory database loses every report on restart")
    if not settings.messenger:
        raise SettingsError(
            "ENVIRONMENT=production needs a messenger: set TELEGRAM_BOT_TOKEN, "
            "ZALO_OA_APP_ID and ZALO_OA_SECRET_KEY, or ZALO_BOT_TOKEN"
        )
    if not settings.public_url.startswith("https://"):
        raise SettingsError(
            "ENVIRONMENT=production needs PUBLIC_URL, the console's https:// address "
            "(officers' passwords and reports must not cross the network in clear)"
        )
    if not settings.webpush_subject.startswith(("mailto:", "https://")) or (
        "localhost" in settings.webpush_subject
    ):
        raise SettingsError(
            "ENVIRONMENT=production needs WEBPUSH_SUBJECT, a contact for push services: "
            "mailto:an-address@your-unit or an https:// page"
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
