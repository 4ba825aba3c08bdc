"""The periodic report's figures as a workbook: one named sheet per section, real Excel
charts (by month, by type), and the period's reports without anything personal."""

from __future__ import annotations

from pathlib import Path

from openpyxl import Workbook
from openpyxl.chart import BarChart, Reference
from openpyxl.styles import Font
from openpyxl.worksheet.worksheet import Worksheet

from bot.periodic.tables import CHARTS, Labels, Table, sections
from db.clock import to_vietnam
from db.statistics import ReportRow, Statistics

BOLD = Font(name="Times New Roman", bold=True)


def _put(sheet: Worksheet, row: int, table: Table) -> tuple[int, int]:
    """Write a table from ``row``; return its first data row and the row after it."""
    sheet.cell(row, 1, table.caption).font = BOLD
    for column, title in enumerate(table.header, 1):
        sheet.cell(row + 1, column, title).font = BOLD
    for offset, values in enumerate(table.rows):
        for column, value in enumerate(values, 1):
            sheet.cell(row + 2 + offset, column, value)
    return row + 2, row + 2 + len(table.rows)


def write(
    stats: Statistics, labels: Labels, reports: list[ReportRow], unit: str, out: Path
) -> Path:
    words = labels.words
    book = Workbook()
    first_sheet = book.active
    assert first_sheet is not None
    book.remove(first_sheet)
    placed: dict[str, tuple[Worksheet, int, int]] = {}
    for part in sections(stats, labels):
        sheet = book.create_sheet(words(f"sheets.{part.key}"))
        sheet.cell(1, 1, unit.upper()).font = BOLD
        sheet.cell(2, 1, part.title).font = BOLD
        row = 4
        for table in part.tables:
            start, after = _put(sheet, row, table)
            placed[table.key] = (sheet, start, after)
            row = after + 1
        sheet.column_dimensions["A"].width = 48
        for letter in "BCDE":
            sheet.column_dimensions[letter].width = 20

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
    for column, title in enumerate(words.lines("report_columns"), 1):
        listing.cell(1, column, title).font = BOLD
    for row, report in enumerate(reports, 2):
        values = (
            report.receipt_code,
            to_vietnam(report.created_at).strftime("%d/%m/%Y %H:%M"),
            report.occurred_on.strftime("%d/%m/%Y") if report.occurred_on else None,
            labels.scam(report.scam_type),
            words("yes") if report.urgent else words("no"),
            labels.area(report.area),
            labels.channel(report.channel),
            labels.status(report.status),
            report.amount_vnd,
        )
        for column, value in enumerate(values, 1):
            listing.cell(row, column, value)
    listing.freeze_panes = "A2"
    book.save(str(out))
    return out
