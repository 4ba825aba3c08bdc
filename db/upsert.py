"""INSERT … ON CONFLICT DO NOTHING for both backends: a race loses quietly, never aborts."""

from __future__ import annotations

from functools import cache
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, SQLModel


def insert_ignore(session: Session, model: type[SQLModel], **values: Any) -> bool:
    """Insert a row unless its key exists; True when this call inserted it."""
    statement = _statement(session.get_bind().dialect.name, model)
    # RETURNING, not rowcount: psycopg reports -1 for a skipped ON CONFLICT insert.
    return session.connection().execute(statement, values).first() is not None


@cache
def _statement(dialect_name: str, model: type[SQLModel]) -> Any:
    """Built once per table (the values go as parameters): every turn inserts twice, and
    building the statement each time cost more CPU than running it."""
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    table = model.__table__  # type: ignore[attr-defined]
    key = next(iter(table.primary_key.columns))
    return dialect.insert(table).on_conflict_do_nothing().returning(key)
