"""The periodic report's figures as a workbook: one named sheet per section, real Excel
charts (by month, by type), and the period's reports without anything personal.

Written in openpyxl's write-only mode, row after row: a year of a busy province lists
hundreds of thousands of reports, which as cell objects would take gigabytes."""

from __future__ import annotations

import os
import re
import zipfile
from collections.abc import Iterable, Iterator
from functools import cache
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.chart import BarChart, Reference
from openpyxl.styles import Font

from bot.periodic.tables import CHARTS, Labels, Table, sections
from db.clock import to_vietnam
from db.statistics import ReportRow, Statistics

BOLD = Font(name="Times New Roman", bold=True)
# Excel's last row: a longer list of reports is cut there.
EXCEL_ROWS = 1_048_576


def _bold(sheet: Any, values: Iterable[Any]) -> list[WriteOnlyCell]:
    cells = []
    for value in values:
        cell = WriteOnlyCell(sheet, value)
        cell.font = BOLD
        cells.append(cell)
    return cells


def _put(sheet: Any, row: int, table: Table) -> tuple[int, int]:
    """Append a table whose caption goes on ``row``; its first data row and the row after."""
    sheet.append(_bold(sheet, [table.caption]))
    sheet.append(_bold(sheet, table.header))
    for values in table.rows:
        sheet.append(list(values))
    return row + 2, row + 2 + len(table.rows)


def write(
    stats: Statistics, labels: Labels, reports: list[ReportRow], unit: str, out: Path
) -> Path:
    words = labels.words
    book = Workbook(write_only=True)
    placed: dict[str, tuple[Any, int, int]] = {}
    for part in sections(stats, labels):
        sheet = book.create_sheet(words(f"sheets.{part.key}"))
        sheet.column_dimensions["A"].width = 48
        for letter in "BCDE":
            sheet.column_dimensions[letter].width = 20
        sheet.append(_bold(sheet, [unit.upper()]))
        sheet.append(_bold(sheet, [part.title]))
        sheet.append([])
        row = 4
        for table in part.tables:
            start, after = _put(sheet, row, table)
            placed[table.key] = (sheet, start, after)
            sheet.append([])
            row = after + 1

    charts = book.create_sheet(words("sheets.charts"))
    for anchor, (chart_key, key) in zip(("A1", "A20"), CHARTS, strict=True):
        sheet, start, after = placed[key]
        chart = BarChart()
        chart.title, chart.y_axis.title = words(f"charts.{chart_key}"), words("charts.axis")
        chart.legend = None
        last = max(after - 1, start)
        chart.add_data(
            Reference(sheet, min_col=2, min_row=start - 1, max_row=last), titles_from_data=True
        )
        chart.set_categories(Reference(sheet, min_col=1, min_row=start, max_row=last))
        chart.width, chart.height = 24, 9
        charts.add_chart(chart, anchor)

    listing = book.create_sheet(words("sheets.reports"))
    listing.freeze_panes = "A2"
    listing.append(_bold(listing, words.lines("report_columns")))
    book.save(str(out))
    _list_reports(out, words("sheets.reports"), _rows(labels, reports[: EXCEL_ROWS - 1]))
    return out


def _text(value: str) -> str:
    return f'<c t="inlineStr"><is><t>{escape(value)}</t></is></c>'


def _rows(labels: Labels, reports: list[ReportRow]) -> Iterator[str]:
    """The list's rows as the sheet's XML (inline strings, as openpyxl writes them), from
    row 2: openpyxl's cell by cell writing took a minute for half a million reports."""
    words = labels.words
    yes, no = _text(words("yes")), _text(words("no"))
    # Each label looked up and escaped once, not once a row.
    scam, area = cache(lambda c: _text(labels.scam(c))), cache(lambda c: _text(labels.area(c)))
    channel = cache(lambda c: _text(labels.channel(c)))
    status = cache(lambda c: _text(labels.status(c)))
    for number, report in enumerate(reports, 2):
        created = to_vietnam(report.created_at)
        occurred = report.occurred_on
        yield (
            f'<row r="{number}">{_text(report.receipt_code)}'
            f'<c t="inlineStr"><is><t>{created.day:02d}/{created.month:02d}/{created.year} '
            f"{created.hour:02d}:{created.minute:02d}</t></is></c>"
            + (
                f'<c t="inlineStr"><is><t>{occurred.day:02d}/{occurred.month:02d}/'
                f"{occurred.year}</t></is></c>"
                if occurred
                else "<c/>"
            )
            + scam(report.scam_type)
            + (yes if report.urgent else no)
            + area(report.area)
            + channel(report.channel)
            + status(report.status)
            + (
                f'<c t="n"><v>{report.amount_vnd}</v></c>'
                if report.amount_vnd is not None
                else "<c/>"
            )
            + "</row>"
        )


def _list_reports(book: Path, sheet: str, rows: Iterable[str]) -> None:
    """Stream ``rows`` into the sheet named ``sheet`` of the saved workbook, after its
    header row: the file is copied part by part, that sheet's rows written as they come."""
    with zipfile.ZipFile(book) as source:
        workbook = source.read("xl/workbook.xml").decode()
        relations = source.read("xl/_rels/workbook.xml.rels").decode()
        found = re.search(
            rf'<sheet [^>]*name="{re.escape(escape(sheet))}"[^>]*r:id="(\w+)"', workbook
        )
        assert found, sheet
        target = re.search(rf'Target="/?([^"]+)" Id="{found[1]}"', relations)
        assert target, found[1]
        part = target[1]
        partial = book.with_suffix(".partial")
        with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as copy:
            for item in source.infolist():
                data = source.read(item.filename)
                if item.filename != part:
                    copy.writestr(item, data)
                    continue
                head, tail = data.decode().split("</sheetData>", 1)
                info = zipfile.ZipInfo(part, item.date_time)
                info.compress_type = zipfile.ZIP_DEFLATED
                with copy.open(info, "w", force_zip64=True) as out:
                    out.write(head.encode())
                    batch: list[str] = []
                    for row in rows:
                        batch.append(row)
                        if len(batch) == 10_000:
                            out.write("".join(batch).encode())
                            batch.clear()
                    out.write("".join(batch).encode())
                    out.write(f"</sheetData>{tail}".encode())
    os.replace(partial, book)
