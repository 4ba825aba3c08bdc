"""The periodic report as a Word document laid out per Decree 30/2020/NĐ-CP: the issuing
body and number beside the national motto, place and date, title, body with tables, the
assessment and proposals left for the lead, recipients and signature block."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path
from typing import Any

from docx import Document
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_COLOR_INDEX
from docx.oxml.ns import qn
from docx.shared import Cm, Pt
from docx.text.paragraph import Paragraph

from bot.periodic import charts
from bot.periodic.tables import CHARTS, Cell, Labels, Section, by_key, sections
from db.statistics import Statistics

FONT = "Times New Roman"
SIZE = Pt(13)


def amount(value: Cell) -> str:
    """A figure as a Vietnamese reads it: 1.000.000; 66,7."""
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.1f}".replace(",", " ").replace(".", ",").replace(" ", ".")
    if isinstance(value, int):
        return f"{value:,}".replace(",", ".")
    return value


def place_of(unit: str) -> str:
    """'CÔNG AN PHƯỜNG NAM GIA NGHĨA' → 'Nam Gia Nghĩa' (the place on the date line)."""
    words_ = unit.split()
    for lead in ("CÔNG AN", "PHƯỜNG", "XÃ", "THỊ TRẤN", "TỈNH", "THÀNH PHỐ"):
        while " ".join(words_[: len(lead.split())]).upper() == lead:
            words_ = words_[len(lead.split()) :]
    return " ".join(w.capitalize() for w in words_) or unit


def _write(
    paragraph: Paragraph, text: str, *, bold: bool = False, italic: bool = False, size: Pt = SIZE
) -> None:
    run = paragraph.add_run(text)
    run.bold, run.italic, run.font.size, run.font.name = bold, italic, size, FONT
    run._element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), FONT)


def _line(
    where: Any,
    text: str,
    *,
    bold: bool = False,
    italic: bool = False,
    center: bool = False,
    size: Pt = SIZE,
) -> Paragraph:
    paragraph: Paragraph = where.add_paragraph()
    if center:
        paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _write(paragraph, text, bold=bold, italic=italic, size=size)
    return paragraph


def _charts(document: Any, parts: list[Section], labels: Labels) -> None:
    """The tips by month and by type as pictures, each captioned with the table it draws."""
    words, tables = labels.words, by_key(parts)
    for number, (key, table_key) in enumerate(CHARTS, 1):
        table = tables[table_key]
        title = words(f"charts.{key}")
        bars = [(str(row[0]), int(row[1] or 0)) for row in table.rows]
        picture = charts.bar_chart(title, bars, amount, words("none_yet"))
        holder = document.add_paragraph()
        holder.alignment = WD_ALIGN_PARAGRAPH.CENTER
        holder.add_run().add_picture(io.BytesIO(picture), width=Cm(16))
        where = table.caption.split(".")[0]
        caption = words("charts.caption", number=number, title=title, table=where)
        _line(document, caption, italic=True, center=True)


def _widths(table: Any, *widths: Cm) -> None:
    """Fixed column widths (Word reads the cells', LibreOffice the grid's: both are set)."""
    table.autofit = False
    for column, width in zip(table.columns, widths, strict=True):
        column.width = width
        for cell in column.cells:
            cell.width = width


def write(stats: Statistics, labels: Labels, unit: str, made_on: date, out: Path) -> Path:
    words = labels.words
    document = Document()
    style = document.styles["Normal"]
    style.font.name, style.font.size = FONT, SIZE
    style.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), FONT)
    section = document.sections[0]
    section.page_height, section.page_width = Cm(29.7), Cm(21)
    section.top_margin = section.bottom_margin = Cm(2)
    section.left_margin, section.right_margin = Cm(3), Cm(1.5)

    head = document.add_table(rows=1, cols=2)
    left, right = head.rows[0].cells
    _widths(head, Cm(6.5), Cm(10))
    left.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.CENTER
    _write(left.paragraphs[0], unit.upper(), bold=True, size=Pt(12))
    _line(left, words("number"), center=True)
    right.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.CENTER
    _write(right.paragraphs[0], words("motto"), bold=True, size=Pt(12))
    _line(right, words("motto_2"), bold=True, center=True)
    _line(
        right,
        words(
            "date_line",
            place=place_of(unit),
            day=made_on.day,
            month=made_on.month,
            year=made_on.year,
        ),
        italic=True,
        center=True,
    )

    first = stats.period.first.strftime("%d/%m/%Y")
    last = stats.period.last.strftime("%d/%m/%Y")
    _line(document, words("title"), bold=True, center=True, size=Pt(14))
    _line(document, words("subject", first=first, last=last), bold=True, center=True)
    _line(document, words("intro", unit=unit, first=first, last=last))

    parts = sections(stats, labels)
    for part in parts:
        _line(document, part.title, bold=True)
        for table in part.tables:
            caption = _line(document, table.caption, italic=True)
            caption.paragraph_format.space_before = Pt(6)
            grid = document.add_table(rows=1, cols=len(table.header))
            grid.style = "Table Grid"
            grid.alignment = WD_TABLE_ALIGNMENT.CENTER
            for cell, title in zip(grid.rows[0].cells, table.header, strict=True):
                _write(cell.paragraphs[0], title, bold=True, size=Pt(12))
            if not table.rows:
                row = grid.add_row().cells
                _write(row[0].paragraphs[0], words("none_yet"), size=Pt(12))
            for values in table.rows:
                row = grid.add_row().cells
                for cell, value in zip(row, values, strict=True):
                    if not isinstance(value, str):
                        cell.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.RIGHT
                    _write(cell.paragraphs[0], amount(value), size=Pt(12))
        if part.key == "tips":
            _charts(document, parts, labels)

    for title, what in (
        (words("assessment"), words("assessment_what")),
        (words("proposals"), words("proposals_what")),
    ):
        _line(document, title, bold=True)
        placeholder = _line(document, words("placeholder", what=what), italic=True)
        for run in placeholder.runs:
            run.font.highlight_color = WD_COLOR_INDEX.YELLOW

    foot = document.add_table(rows=1, cols=2)
    left, right = foot.rows[0].cells
    _write(left.paragraphs[0], words("recipients"), bold=True, italic=True, size=Pt(12))
    for recipient in words.lines("recipient_lines"):
        _line(left, recipient, size=Pt(11))
    right.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.CENTER
    _write(right.paragraphs[0], words("signer"), bold=True, size=Pt(13))
    _line(right, words("sign_note"), italic=True, center=True)
    document.save(str(out))
    return out
