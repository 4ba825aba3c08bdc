"""INSERT … ON CONFLICT DO NOTHING for both backends: a race loses quietly, never aborts."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, SQLModel


def insert_ignore(session: Session, model: type[SQLModel], **values: Any) -> bool:
    """Insert a row unless its key exists; True when this call inserted it."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = dialect.insert(model).values(**values).on_conflict_do_nothing()  # type: ignore[attr-defined]
    return bool(session.execute(statement).rowcount)
