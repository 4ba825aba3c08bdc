"""Sealing every stored value with the current key: after a rotation, and for values written
before sealing existed. Works on raw column values, so it never shows or logs them."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

import db.models  # noqa: F401  (registers the tables)
from db import sealing

BATCH = 500
# Photos are up to EVIDENCE_MAX_MB each: a batch of them is held in memory, so a small one.
BINARY_BATCH = 10
# Opens one transaction: Database.connection, or a migration's connection as it is.
Begin = Callable[[], AbstractContextManager[Connection]]


@dataclass(frozen=True)
class SealedColumn:
    table: str
    key: str  # the table's one-column primary key
    column: str
    binary: bool
    aad: str

    def raw(self) -> sa.TableClause:
        """The table with plain types: what is stored, not what it means."""
        kind = sa.LargeBinary() if self.binary else sa.Text()
        return sa.table(self.table, sa.column(self.key), sa.column(self.column, kind))


def sealed_columns() -> list[SealedColumn]:
    found = []
    for table in SQLModel.metadata.sorted_tables:
        for column in table.columns:
            if isinstance(column.type, sealing.SealedText | sealing.SealedJSON):
                binary = False
            elif isinstance(column.type, sealing.SealedBytes):
                binary = True
            else:
                continue
            (key,) = table.primary_key.columns
            found.append(SealedColumn(table.name, key.name, column.name, binary, column.type.aad))
    return found


def status(begin: Begin) -> Counter[str]:
    """How many stored values each key id sealed ("" = not sealed), read in batches."""
    counts: Counter[str] = Counter()
    for place in sealed_columns():
        for rows in _batches(begin, place):
            for _, value in rows:
                counts[sealing.key_id_of(_stored(value, place.binary)) or ""] += 1
    return counts


def reseal(
    begin: Begin, places: list[SealedColumn] | None = None, assume_plain: bool = False
) -> Counter[str]:
    """Seal with the current key every value sealed with another key or not at all, and
    recompute reporters' tags; returns how many values changed, by "table.column".
    Each batch is its own transaction, and a value is replaced only if it is still the one
    read (the bot may run meanwhile: an erasure or an edit is never undone).
    `places`: the columns as a migration knew them (default: as the models say now);
    `assume_plain`: every value predates sealing (migration 0013), even one that looks sealed."""
    current = sealing.ring().current
    changed: Counter[str] = Counter()
    for place in sealed_columns() if places is None else places:
        raw = place.raw()
        key, column = raw.c[place.key], raw.c[place.column]
        for rows in _batches(begin, place):
            with begin() as conn:
                for row_key, value in rows:
                    stored = _stored(value, place.binary)
                    if not assume_plain and sealing.key_id_of(stored) == current:
                        continue
                    fresh: str | bytes
                    if isinstance(stored, bytes):
                        plain = (
                            stored
                            if assume_plain
                            else sealing.open_bytes(stored, place.aad, legacy=True)
                        )
                        fresh = sealing.seal_bytes(plain, place.aad)
                    else:
                        text = (
                            stored
                            if assume_plain
                            else sealing.open_text(stored, place.aad, legacy=True)
                        )
                        fresh = sealing.seal_text(text, place.aad)
                    done = conn.execute(
                        sa.update(raw)
                        .where(key == row_key, column == value)
                        .values({place.column: fresh})
                    )
                    changed[f"{place.table}.{place.column}"] += done.rowcount or 0
    changed["report.reporter_tag"] = retag(begin)
    return changed


def retag(begin: Begin) -> int:
    """Each report's reporter tag under the current key, from its sealed address; a row
    changed meanwhile (an erasure) is left as it now is."""
    report = sa.table(
        "report", sa.column("id"), sa.column("reporter", sa.Text()), sa.column("reporter_tag")
    )
    count, last = 0, 0
    while True:
        with begin() as conn:
            rows = conn.execute(
                sa.select(report.c.id, report.c.reporter, report.c.reporter_tag)
                .where(report.c.reporter.is_not(None), report.c.id > last)
                .order_by(report.c.id)
                .limit(BATCH)
            ).all()
            if not rows:
                return count
            for report_id, sealed, tag in rows:
                fresh = sealing.reporter_tag(sealing.open_text(sealed, "report.reporter"))
                if fresh != tag:
                    done = conn.execute(
                        sa.update(report)
                        .where(report.c.id == report_id, report.c.reporter == sealed)
                        .values(reporter_tag=fresh)
                    )
                    count += done.rowcount or 0
        last = rows[-1][0]


def _batches(begin: Begin, place: SealedColumn) -> Iterator[list[tuple[object, object]]]:
    raw = place.raw()
    key, column = raw.c[place.key], raw.c[place.column]
    last = None
    while True:
        size = BINARY_BATCH if place.binary else BATCH
        query = sa.select(key, column).where(column.is_not(None)).order_by(key).limit(size)
        if last is not None:
            query = query.where(key > last)
        with begin() as conn:
            rows = [(k, v) for k, v in conn.execute(query).all()]
        if not rows:
            return
        yield rows
        last = rows[-1][0]


def one_connection(conn: Connection) -> Begin:
    """A migration's one connection, as the batches' transactions (the migration's own)."""
    return lambda: nullcontext(conn)


def _stored(value: object, binary: bool) -> str | bytes:
    return bytes(value) if isinstance(value, bytes | memoryview) else str(value)
