"""INSERT … ON CONFLICT DO NOTHING for both backends: a race loses quietly, never aborts."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, SQLModel


def insert_ignore(session: Session, model: type[SQLModel], **values: Any) -> bool:
    """Insert a row unless its key exists; True when this call inserted it."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    table = model.__table__  # type: ignore[attr-defined]
    key = next(iter(table.primary_key.columns))
    # RETURNING, not rowcount: psycopg reports -1 for a skipped ON CONFLICT insert.
    statement = dialect.insert(table).values(**values).on_conflict_do_nothing().returning(key)
    return session.connection().execute(statement).first() is not None
