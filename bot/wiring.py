"""Building the parts from settings: the database (migrated) and the dispatcher."""

from __future__ import annotations

import logging

import content
from bot.channels import registry
from bot.settings import Settings
from db import sealing
from db.engine import Database
from db.migrate import upgrade
from handlers.dispatcher import Dispatcher


def open_database(settings: Settings) -> Database:
    """The database, brought to the latest migration before anything uses it; the data keys
    installed first, as migrations and every read of a sealed column need them."""
    if settings.data_keys is not None:
        sealing.install(settings.data_keys)
    upgrade(settings.database_url)
    return Database(settings.database_url, settings.db_pool_size, settings.db_max_overflow)


# Channels that may message a resident only within a while of the resident's last message.
WINDOWED = registry.WINDOWED


def build_dispatcher(settings: Settings, db: Database) -> Dispatcher:
    return Dispatcher(db, content.load(), settings.limits, windowed=WINDOWED)


def configure_logging(settings: Settings) -> None:
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)
