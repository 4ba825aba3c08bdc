"""The layout keeps its promises: imports point inward, content is valid, schema matches."""

from __future__ import annotations

import ast
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

import db.models  # noqa: F401
from bot.content_check import problems
from db.engine import Database

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN_IN_CORE = {
    "telegram",
    "aiogram",
    "fastapi",
    "starlette",
    "uvicorn",
    "httpx",
    "bot",
    "aiohttp",
}


def _imports(package: str) -> set[tuple[str, str]]:
    found = set()
    for path in (ROOT / package).rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                found |= {(path.name, alias.name.split(".")[0]) for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add((path.name, node.module.split(".")[0]))
    return found


def test_handlers_never_import_channel_or_web_code() -> None:
    leaks = {(f, m) for f, m in _imports("handlers") if m in FORBIDDEN_IN_CORE}
    assert not leaks


def test_db_and_content_import_nothing_outward() -> None:
    leaks = {
        (f, m)
        for f, m in _imports("db") | _imports("content")
        if m in FORBIDDEN_IN_CORE | {"handlers"}
    }
    assert not leaks


def test_content_check_passes() -> None:
    assert problems() == []


def test_content_check_catches_bad_content() -> None:
    import content

    words = content.load()
    broken = content.Content(
        **{
            **words.__dict__,
            "messages": {**words.messages, "menu": {"pick": "Cafe\u0301 <u>x</u> " + "a" * 5000}},
        }
    )
    found = "\n".join(problems(broken))
    assert "not NFC" in found and "over 4096" in found and "only <b>" in found
    assert "menu.welcome" in found  # a key the code uses went missing


def test_migrations_match_the_models(database_url: str) -> None:
    database = Database(database_url)
    with database.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    database.dispose()
    assert diff == []
