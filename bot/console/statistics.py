"""The statistics page: the figures of the periodic report for any period, as the DOCX and
the XLSX give them (the same tables, bot/periodic/tables.py, over db/statistics.py), with
bar charts drawn on the server as SVG, and the two files to download. For leads and admins:
the figures summarise every report of the ward, and the report upward is theirs to sign."""

from __future__ import annotations

import dataclasses
import os
import re
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from urllib.parse import urlencode

from fastapi import APIRouter
from fastapi.responses import Response
from markupsafe import Markup, escape

from bot.console import guard
from bot.console.app import Console, Page, Route
from bot.periodic import docx, xlsx
from bot.periodic.docx import amount
from bot.periodic.tables import CHARTS, Cell, Labels, Section, by_key, sections
from bot.periodic.words import Words
from bot.settings import Settings
from content import Content
from db import statistics, units
from db.clock import to_vietnam
from db.statistics import Period, PeriodError

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FIRST_YEAR, LAST_YEAR = 2000, 2100
MAX_MONTHS = 60  # one view covers at most five years (a bar a month)
# The parts of a year a period may name (2026, 2026-H1, 2026-Q3, 2026-11).
HALVES = ("H1", "H2")
QUARTERS = ("Q1", "Q2", "Q3", "Q4")
MONTHS = tuple(f"{m:02d}" for m in range(1, 13))
PARTS = ("", *HALVES, *QUARTERS, *MONTHS)
ROMAN = {"Q1": "I", "Q2": "II", "Q3": "III", "Q4": "IV"}  # how a quarter is numbered


class Problem(ValueError):
    """A period the page cannot show; the message is for the lead."""


def routes(console: Console) -> APIRouter:
    return console.router(
        [
            Route("GET", "/statistics", guard.LEAD, _page),
            Route("GET", "/statistics/report.docx", guard.LEAD, _docx),
            Route("GET", "/statistics/report.xlsx", guard.LEAD, _xlsx),
        ]
    )


# --- the period ------------------------------------------------------------------------------


def part_labels(words: Content) -> list[tuple[str, str]]:
    """The parts of a year the form offers, each with its label (messages.yaml)."""
    return [
        ("", words.text("console.statistics.parts.year")),
        ("H1", words.text("console.statistics.parts.half_1")),
        ("H2", words.text("console.statistics.parts.half_2")),
        *((q, words.text("console.statistics.parts.quarter", number=ROMAN[q])) for q in QUARTERS),
        *((m, words.text("console.statistics.parts.month", month=int(m))) for m in MONTHS),
    ]


def name_of(period: Period) -> str:
    """The period's short name (2026, 2026-H1, 2026-Q3, 2026-11), or "" for other days."""
    year = period.first.year
    for part in PARTS:
        text = f"{year}-{part}" if part else str(year)
        if statistics.parse_period(text) == period:
            return text
    return ""


def title_of(period: Period, words: Content) -> str:
    """The period as a lead says it (messages.yaml: console.statistics.titles)."""
    name = name_of(period)
    year = period.first.year
    if not name:
        first, last = f"{period.first:%d/%m/%Y}", f"{period.last:%d/%m/%Y}"
        return words.text("console.statistics.titles.days", first=first, last=last)
    part = name[5:]
    if not part:
        return words.text("console.statistics.titles.year", year=year)
    if part == "H1":
        return words.text("console.statistics.titles.half_1", year=year)
    if part == "H2":
        return words.text("console.statistics.titles.half_2", year=year)
    if part in ROMAN:
        return words.text("console.statistics.titles.quarter", number=ROMAN[part], year=year)
    return words.text("console.statistics.titles.month", month=int(part), year=year)


def query_of(period: Period) -> str:
    name = name_of(period)
    asked = (
        {"period": name}
        if name
        else {"from": period.first.isoformat(), "to": period.last.isoformat()}
    )
    if period.units is not None and len(period.units) == 1:  # the unit it counts, kept
        asked["unit"] = str(next(iter(period.units)))
    return urlencode(asked)


def chosen(query: Mapping[str, str], today: date, words: Content) -> Period:
    """The period the page was asked for: two dates, a named period, a year and a part of
    it (the form), or else the current month. A Problem, in `words`, if it cannot be shown
    (only dates and numbers are filled in: Content.text's escaping changes nothing)."""

    def given(key: str) -> str:
        return query.get(key, "").strip()[:40]

    first, last, text = given("from"), given("to"), given("period")
    year, part = given("year"), given("part")
    if first or last:
        if not (first and last):
            raise Problem(words.text("console.statistics.both_days"))
        try:
            a, b = date.fromisoformat(first), date.fromisoformat(last)
        except ValueError as error:
            raise Problem(words.text("console.statistics.bad_day")) from error
        if b < a:
            said = words.text(
                "console.statistics.days_reversed", first=f"{a:%d/%m/%Y}", last=f"{b:%d/%m/%Y}"
            )
            raise Problem(said)
        period = Period(a, b)
    else:
        if not text and year:
            text = f"{year}-{part}" if part else year
        if not text:
            text = f"{today:%Y-%m}"
        try:
            period = statistics.parse_period(text)
        except (PeriodError, ValueError) as error:
            raise Problem(words.text("console.statistics.unknown")) from error
    if period.first.year < FIRST_YEAR or period.last.year > LAST_YEAR:
        raise Problem(words.text("console.statistics.years", first=FIRST_YEAR, last=LAST_YEAR))
    if len(period.months()) > MAX_MONTHS:
        raise Problem(words.text("console.statistics.too_long"))
    return period


# --- charts ----------------------------------------------------------------------------------

WIDTH = 360  # the viewBox: a phone's width, so the words read at their size there
ROW, BAR, TEXT = 40, 14, 14
LABEL_CHARS = 46


def _short(label: str) -> str:
    return label if len(label) <= LABEL_CHARS else label[: LABEL_CHARS - 1] + "…"


def bar_chart(
    key: str, title: str, note: str, bars: Sequence[tuple[str, int]], none: str
) -> Markup:
    """A horizontal bar chart as inline SVG: each bar's label above it and its number after
    it, a <title> for the chart and for each bar; the same numbers are in the table."""

    ident = f"chart-{key}"
    rows = max(len(bars), 1)
    height = ROW * rows + 6
    biggest = max((value for _, value in bars), default=0)
    room = WIDTH - 70  # the longest bar leaves space for its number
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" data-chart="{key}" '
        f'viewBox="0 0 {WIDTH} {height}" width="100%" role="img" '
        f'aria-labelledby="{ident}-title {ident}-desc">',
        f'<title id="{ident}-title">{escape(title)}</title>',
        f'<desc id="{ident}-desc">{escape(note)}</desc>',
    ]
    if not bars:
        parts.append(f'<text x="0" y="{TEXT + 8}" font-size="{TEXT}">{escape(none)}</text>')
    for index, (label, value) in enumerate(bars):
        top = ROW * index + 4
        length = round(room * value / biggest, 1) if biggest else 0
        if value and length < 1:
            length = 1
        shown = amount(value)
        parts += [
            "<g>",
            f"<title>{escape(label)}: {shown}</title>",
            f'<text x="0" y="{top + TEXT}" font-size="{TEXT}" class="chart-label">'
            f"{escape(_short(label))}</text>",
            f'<rect x="0" y="{top + TEXT + 5}" width="{length}" height="{BAR}" rx="2" '
            f'class="bar" fill="#7a1f1f" data-label="{escape(label)}" data-value="{value}"/>',
            f'<text x="{length + 4}" y="{top + TEXT + 5 + BAR - 2}" font-size="{TEXT}" '
            f'class="chart-value">{shown}</text>',
            "</g>",
        ]
    parts.append("</svg>")
    return Markup("".join(parts))


def charts(parts: list[Section], words: Words) -> list[tuple[str, Markup]]:
    tables = by_key(parts)
    drawn = []
    for key, table_key in CHARTS:
        table = tables[table_key]
        bars = [(str(row[0]), int(row[1] or 0)) for row in table.rows]
        note = words("charts.note", table=table.caption.split(".")[0])
        title = words(f"charts.{key}")
        drawn.append((table.caption, bar_chart(key, title, note, bars, words("none_yet"))))
    return drawn


# --- pages -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Form:
    """What the period form shows."""

    year: str
    part: str
    first: str
    last: str


def _form(query: Mapping[str, str], period: Period | None, today: date) -> Form:
    if period is None:  # as the lead wrote it, to correct
        return Form(
            query.get("year", "")[:4] or str(today.year),
            query.get("part", "")[:3],
            query.get("from", "")[:10],
            query.get("to", "")[:10],
        )
    name = name_of(period)
    return Form(str(period.first.year), name[5:], period.first.isoformat(), period.last.isoformat())


def cell(value: Cell) -> str:
    """A figure as the DOCX writes it (1.000.000; 66,7; - for none)."""

    return amount(value)


def _today(page: Page) -> date:
    return to_vietnam(page.now).date()


def _page(console: Console, page: Page) -> Response:
    today, words = _today(page), console.content
    quick = [
        (words.text("console.statistics.quick.month"), f"{today:%Y-%m}"),
        (
            words.text("console.statistics.quick.quarter"),
            f"{today.year}-Q{(today.month - 1) // 3 + 1}",
        ),
        (
            words.text("console.statistics.quick.half"),
            f"{today.year}-H{1 if today.month <= 6 else 2}",
        ),
        (words.text("console.statistics.quick.year"), str(today.year)),
    ]
    try:
        period = chosen(page.query, today, words)
    except Problem as problem:
        return console.render(
            page,
            "statistics.html",
            status=400,
            problem=str(problem),
            form=_form(page.query, None, today),
            parts=part_labels(words),
            quick=quick,
        )

    period = _scoped(page, period)
    stats = statistics.compute(page.session, period)
    labels = Labels(console.content)
    found = sections(stats, labels)
    return console.render(
        page,
        "statistics.html",
        problem="",
        period=period,
        title=title_of(period, words),
        query=query_of(period),
        form=_form(page.query, period, today),
        parts=part_labels(words),
        quick=quick,
        sections=found,
        counted_unit=_issuer(page, period) if period.units is not None else "",
        unit_choices=_unit_choices(page),
        unit_chosen=next(iter(period.units)) if period.units and len(period.units) == 1 else None,
        charts=charts(found, labels.words),
        cell=cell,
        numeric=lambda v: not isinstance(v, str),
    )


def _asked(console: Console, page: Page) -> Period:
    try:
        return _scoped(page, chosen(page.query, _today(page), console.content))
    except Problem as problem:
        raise guard.Refusal(400, message=str(problem)) from problem


def _scoped(page: Page, period: Period) -> Period:
    """A unit's leads count their unit's reports; the province's, every unit's (summed), or
    one unit's when they choose it (?unit=)."""
    scope = units.scope(page.session, page.officer)
    if scope.units is not None:
        return dataclasses.replace(period, units=scope.units)
    raw = page.query.get("unit", "")
    if raw.isdigit() and len(raw) < 9 and units.get(page.session, int(raw)) is not None:
        return dataclasses.replace(period, units=frozenset({int(raw)}))
    return period


def _unit_choices(page: Page) -> list[tuple[int, str]]:
    """The units a province officer may count one by one (none for a unit's own)."""
    if units.scope(page.session, page.officer).units is not None:
        return []
    found = [(u.id or 0, u.name) for u in units.all_units(page.session)]
    return found if len(found) > 1 else []


def _issuer(page: Page, period: Period) -> str:
    """The issuing body on the files: the one unit counted, else the deployment's."""
    if period.units is not None and len(period.units) == 1:
        return units.name_of(page.session, next(iter(period.units))).upper()
    return unit_name()


def unit_name() -> str:
    """The issuing body, as `canhgiac report periodic` names it: UNIT_NAME (settings.load
    has put .env into the environment at start-up), else the settings' default."""
    return os.environ.get("UNIT_NAME", "").strip() or Settings.unit_name


def filename(period: Period, suffix: str) -> str:
    name = name_of(period) or f"{period.first.isoformat()}_{period.last.isoformat()}"
    return f"bao-cao-{name.lower()}.{suffix}"


def _file(name: str, data: bytes, media_type: str) -> Response:
    assert re.fullmatch(r"[a-z0-9._-]+", name)  # plain ASCII: no quoting needed
    return Response(
        data,
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def _docx(console: Console, page: Page) -> Response:

    period = _asked(console, page)
    stats = statistics.compute(page.session, period)
    labels = Labels(console.content)
    name = filename(period, "docx")
    with tempfile.TemporaryDirectory() as folder:
        made = docx.write(stats, labels, _issuer(page, period), _today(page), Path(folder) / name)
        data = made.read_bytes()
    return _file(name, data, DOCX)


def _xlsx(console: Console, page: Page) -> Response:

    period = _asked(console, page)
    stats = statistics.compute(page.session, period)
    rows = statistics.reports_of(page.session, period)
    labels = Labels(console.content)
    name = filename(period, "xlsx")
    with tempfile.TemporaryDirectory() as folder:
        made = xlsx.write(stats, labels, rows, _issuer(page, period), Path(folder) / name)
        data = made.read_bytes()
    return _file(name, data, XLSX)
