"""What residents learned, counted without anyone's name: the quiz rounds they finished
and the scam tricks they opened (the periodic report's propaganda results)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from db.clock import to_vietnam
from db.models import QuizRound, ScamView


def quiz_finished(session: Session, channel: str, score: int, total: int, at: datetime) -> None:
    session.add(QuizRound(finished_at=at, channel=channel, score=score, total=total))


def scam_viewed(session: Session, scam: str, at: datetime) -> None:
    """One more view of a trick on the day (Vietnam time) of ``at``: an upsert, so residents
    opening the same trick at once never collide."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    table = ScamView.__table__  # type: ignore[attr-defined]
    statement = dialect.insert(table).values(day=to_vietnam(at).date(), scam=scam, count=1)
    statement = statement.on_conflict_do_update(
        index_elements=[table.c.day, table.c.scam], set_={"count": table.c.count + 1}
    )
    session.connection().execute(statement)
