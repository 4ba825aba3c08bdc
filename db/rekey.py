"""Sealing every stored value with the current key: after a rotation, and for values written
before sealing existed. Works on raw column values, so it never shows or logs them."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

import db.models  # noqa: F401  (registers the tables)
from db import sealing

BATCH = 500


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


def status(conn: Connection) -> Counter[str]:
    """How many stored values each key id sealed ("" = not sealed)."""
    counts: Counter[str] = Counter()
    for place in sealed_columns():
        raw = place.raw()
        for (value,) in conn.execute(sa.select(raw.c[place.column])):
            if value is not None:
                counts[sealing.key_id_of(_stored(value, place.binary)) or ""] += 1
    return counts


def reseal(conn: Connection, places: list[SealedColumn] | None = None) -> Counter[str]:
    """Seal with the current key every value sealed with another key or not at all, and
    recompute reporters' tags; returns how many values changed, by "table.column".
    `places`: the columns as a migration knew them (default: as the models say now)."""
    current = sealing.ring().current
    changed: Counter[str] = Counter()
    for place in sealed_columns() if places is None else places:
        raw = place.raw()
        key, column = raw.c[place.key], raw.c[place.column]
        last = None
        while True:
            query = sa.select(key, column).where(column.is_not(None)).order_by(key).limit(BATCH)
            if last is not None:
                query = query.where(key > last)
            rows = conn.execute(query).all()
            if not rows:
                break
            for row_key, value in rows:
                stored = _stored(value, place.binary)
                if sealing.key_id_of(stored) == current:
                    continue
                fresh: str | bytes
                if isinstance(stored, bytes):
                    fresh = sealing.seal_bytes(sealing.open_bytes(stored, place.aad), place.aad)
                else:
                    fresh = sealing.seal_text(sealing.open_text(stored, place.aad), place.aad)
                conn.execute(sa.update(raw).where(key == row_key).values({place.column: fresh}))
                changed[f"{place.table}.{place.column}"] += 1
            last = rows[-1][0]
    changed["report.reporter_tag"] = retag(conn)
    return changed


def retag(conn: Connection) -> int:
    """Each report's reporter tag under the current key, from its sealed address."""
    report = sa.table(
        "report", sa.column("id"), sa.column("reporter", sa.Text()), sa.column("reporter_tag")
    )
    count, last = 0, 0
    while True:
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
                conn.execute(
                    sa.update(report).where(report.c.id == report_id).values(reporter_tag=fresh)
                )
                count += 1
        last = rows[-1][0]


def _stored(value: bytes | str, binary: bool) -> str | bytes:
    return bytes(value) if isinstance(value, bytes | memoryview) else str(value)
