"""The periodic report's figures as labelled tables, rendered alike into DOCX, XLSX and the
console's page. Every word comes from content/ (content/periodic.yaml, the codes' labels)."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import content
from bot.periodic.words import Words
from content.codes import CHANNELS, KINDS
from db.statistics import Statistics
from handlers.kinds import type_label

Cell = str | int | float | None
# The two charts (page, DOCX, XLSX): each chart's name in content/periodic.yaml (charts.*)
# and the key of the table it draws.
CHARTS = (("month", "by_month"), ("type", "by_type"))


@dataclass(frozen=True)
class Table:
    key: str  # the table's name in content/periodic.yaml (charts find theirs by it)
    caption: str
    header: tuple[str, ...]
    rows: Sequence[tuple[Cell, ...]]


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    tables: list[Table]


@dataclass(frozen=True)
class Labels:
    """The Vietnamese words for the codes the records keep, and the report's own words."""

    library: content.Content

    @property
    def words(self) -> Words:
        return Words(self.library.periodic)

    def scam(self, code: str) -> str:
        return type_label(self.library, code)

    def trick(self, code: str) -> str:
        """A trick of the library by its short name (its id if it has left the library)."""
        found = self.library.scam(code)
        return str(found["short"]) if found else code

    def area(self, code: str | None) -> str:
        found = self.library.area(code) if code else None
        return found["name"] if found else (code or self.words("unknown_area"))

    def channel(self, code: str) -> str:
        return CHANNELS.get(code, code)

    def kind(self, code: str) -> str:
        return KINDS.get(code, code)

    def status(self, code: str) -> str:
        return self.words.status(code)


def hours(span: timedelta | None) -> float | None:
    """A duration in hours, to one decimal (a table reads hours better than seconds)."""
    return None if span is None else round(span.total_seconds() / 3600, 1)


def share(part: float | None) -> float | None:
    return None if part is None else round(100 * part, 1)


class _Tables:
    """Builds the tables in order, numbering their captions as they come."""

    def __init__(self, words: Words) -> None:
        self.words = words
        self.numbers: Iterator[int] = itertools.count(1)

    def table(self, key: str, header: tuple[str, ...], rows: Sequence[tuple[Cell, ...]]) -> Table:
        return Table(key, self.words.caption(key, next(self.numbers)), header, rows)

    def figures(self, key: str, values: Sequence[tuple[str, Cell]]) -> Table:
        """A two-column table of named figures, each row's words from the table's rows."""
        w = self.words
        return self.table(
            key, (w("figure"), w("value")), [(w.row(key, name), v) for name, v in values]
        )

    def counts(self, key: str, counts: Mapping[Any, int], label: Callable[[Any], str]) -> Table:
        w = self.words
        return self.table(
            key,
            (w(f"tables.{key}.what"), w("count")),
            [(label(k), v) for k, v in counts.items()],
        )


def sections(stats: Statistics, labels: Labels) -> list[Section]:
    tips, handling, propaganda, found = (
        stats.tips,
        stats.handling,
        stats.propaganda,
        stats.identifiers,
    )
    quiz = propaganda.quiz
    w = labels.words
    make = _Tables(w)
    parts = [
        Section(
            "propaganda",
            w("sections.propaganda"),
            [
                make.figures(
                    "alerts",
                    [
                        ("alerts", propaganda.alerts),
                        ("reached", propaganda.reached),
                        ("tips_sent", propaganda.tips_sent),
                        ("subscribers_at_start", propaganda.subscribers_at_start),
                        ("subscribers_at_end", propaganda.subscribers_at_end),
                    ],
                ),
                make.counts("reached_by_channel", propaganda.reached_by_channel, labels.channel),
                make.counts("reached_by_area", propaganda.reached_by_area, labels.area),
                make.figures(
                    "quiz",
                    [
                        ("rounds", quiz.rounds),
                        ("questions", quiz.questions),
                        ("average", quiz.average),
                        ("right_share", share(quiz.right_share)),
                    ],
                ),
                make.table(
                    "quiz_by_channel",
                    (
                        w("tables.quiz_by_channel.what"),
                        w("count"),
                        w("tables.quiz_by_channel.average"),
                    ),
                    [(labels.channel(c), n, avg) for c, (n, avg) in quiz.by_channel.items()],
                ),
                make.table(
                    "scam_views",
                    (w("tables.scam_views.what"), w("tables.scam_views.views")),
                    [(labels.trick(k), n) for k, n in propaganda.scam_views.items()],
                ),
            ],
        ),
        Section(
            "tips",
            w("sections.tips"),
            [
                make.figures(
                    "summary",
                    [
                        ("received", tips.received),
                        ("urgent", tips.urgent),
                        ("reports_with_loss", tips.reports_with_loss),
                        ("lost_vnd", tips.lost_vnd),
                    ],
                ),
                make.table(
                    "by_type",
                    (w("tables.by_type.what"), w("count"), w("lost")),
                    [
                        (labels.scam(k), n, tips.lost_by_type.get(k, 0))
                        for k, n in tips.by_type.items()
                    ],
                ),
                make.counts("by_channel", tips.by_channel, labels.channel),
                make.counts("by_area", tips.by_area, labels.area),
                make.table(
                    "by_month",
                    (w("tables.by_month.what"), w("count"), w("lost")),
                    [
                        (f"{m.month[5:]}/{m.month[:4]}", m.received, m.lost_vnd)
                        for m in tips.by_month
                    ],
                ),
            ],
        ),
        Section(
            "handling",
            w("sections.handling"),
            [
                make.figures(
                    "handling",
                    [
                        ("received", handling.received),
                        ("acknowledged", handling.acknowledged),
                        ("acknowledged_in_time", handling.acknowledged_in_time),
                        (
                            "acknowledged_in_time_share",
                            share(handling.acknowledged_in_time_share),
                        ),
                        ("decided", handling.decided),
                        ("decided_in_time", handling.decided_in_time),
                        ("decided_in_time_share", share(handling.decided_in_time_share)),
                        ("referred", handling.referred),
                        ("resolved", handling.resolved),
                        ("no_crime", handling.no_crime),
                        ("duplicates", handling.duplicates),
                        ("rubbish", handling.rubbish),
                        ("open_of_period", handling.open_of_period),
                        ("open_at_end", handling.open_at_end),
                        ("overdue_at_end", handling.overdue_at_end),
                        ("median_ack", hours(handling.median_ack)),
                        ("median_decision", hours(handling.median_decision)),
                    ],
                )
            ],
        ),
        Section(
            "identifiers",
            w("sections.identifiers"),
            [
                make.table(
                    "confirmed",
                    (w("tables.confirmed.what"), w("count")),
                    [(labels.kind(k), n) for k, n in found.confirmed_by_kind.items()]
                    + [(w("tables.confirmed.total"), found.confirmed)],
                ),
                make.table(
                    "top",
                    tuple(w.lines("tables.top.header")),
                    [
                        (
                            labels.kind(t.kind),
                            t.display,
                            t.reporters,
                            t.reports,
                            w("yes") if t.confirmed else w("no"),
                        )
                        for listed in found.top.values()
                        for t in listed
                    ],
                ),
            ],
        ),
    ]
    return parts


def by_key(parts: list[Section]) -> dict[str, Table]:
    """Every table of the report by its key."""
    return {table.key: table for part in parts for table in part.tables}
