"""The periodic report as DOCX and XLSX, read back: the administrative layout, every figure
equal to db/statistics.py's, and nothing personal anywhere in either file."""

from __future__ import annotations

import io
import zipfile
from datetime import date
from pathlib import Path

import pytest
from docx import Document
from openpyxl import load_workbook

import content
from bot.periodic import docx, xlsx
from bot.periodic.tables import Labels, sections
from db import statistics
from db.engine import Database
from tests.test_statistics import NOVEMBER, PERSONAL, build

WORDS = Labels(content.load()).words
SECTIONS, SHEETS = WORDS.mapping("sections"), WORDS.mapping("sheets")
UNIT = "CÔNG AN PHƯỜNG NAM GIA NGHĨA"


@pytest.fixture
def made(db: Database, tmp_path: Path) -> tuple[statistics.Statistics, Path, Path]:
    with db.transaction() as session:
        build(session)
    with db.transaction() as session:
        stats = statistics.compute(session, NOVEMBER)
        rows = statistics.reports_of(session, NOVEMBER)
    labels = Labels(content.load())
    word = docx.write(stats, labels, UNIT, date(2026, 12, 3), tmp_path / "bao-cao.docx")
    book = xlsx.write(stats, labels, rows, UNIT, tmp_path / "bao-cao.xlsx")
    return stats, word, book


def test_the_docx_is_an_administrative_report(
    made: tuple[statistics.Statistics, Path, Path],
) -> None:
    stats, path, _ = made
    document = Document(str(path))
    head = [p.text for cell in document.tables[0].rows[0].cells for p in cell.paragraphs]
    assert head == [
        UNIT, "Số: …/BC-…", "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc",
        "Nam Gia Nghĩa, ngày 03 tháng 12 năm 2026",
    ]  # fmt: skip
    text = [p.text for p in document.paragraphs]
    assert "BÁO CÁO" in text
    assert any(
        "từ ngày 01/11/2026 đến ngày 30/11/2026" in t and t.startswith("Kết quả") for t in text
    )
    for title in [*SECTIONS.values(), WORDS("assessment"), WORDS("proposals")]:
        assert title in text
    assert sum("[Phần để lãnh đạo đơn vị viết" in t for t in text) == 2
    foot = [p.text for cell in document.tables[-1].rows[0].cells for p in cell.paragraphs]
    assert foot[0] == "Nơi nhận:" and "TRƯỞNG CÔNG AN" in foot
    fonts = {r.font.name for p in document.paragraphs for r in p.runs if r.text}  # not pictures
    assert fonts == {"Times New Roman"}
    sizes = {r.font.size.pt for p in document.paragraphs for r in p.runs if r.font.size}
    assert sizes <= {13.0, 14.0}

    # Every table's figures, in order, as db/statistics.py counted them.
    expected = [t for s in sections(stats, Labels(content.load())) for t in s.tables]
    grids = document.tables[1:-1]
    assert len(grids) == len(expected)
    for grid, table in zip(grids, expected, strict=True):
        cells = [[c.text for c in row.cells] for row in grid.rows[1:]]
        width = len(table.header)
        shown = [[docx.amount(v) for v in row] for row in table.rows]
        assert cells == (shown or [[WORDS("none_yet")] + [""] * (width - 1)])
    figures = {row.cells[0].text: row.cells[1].text for g in grids for row in g.rows}
    assert figures["Tổng số tin báo, tố giác tiếp nhận"] == "6"
    assert figures["Tổng số tiền bị chiếm đoạt (đồng)"] == "9.000.000"
    assert figures["Nhận xử lý đúng hạn"] == "4"
    assert figures["Tỷ lệ nhận xử lý đúng hạn (%)"] == "66,7"
    assert figures["Thời gian kết luận, trung vị (giờ)"] == "37,0"
    assert figures["Tồn cuối kỳ (kể cả kỳ trước)"] == "3"
    assert figures["Người đăng ký nhận cảnh báo cuối kỳ"] == "2"


def test_the_xlsx_has_its_sheets_charts_and_figures(
    made: tuple[statistics.Statistics, Path, Path],
) -> None:
    stats, _, path = made
    book = load_workbook(str(path))
    assert book.sheetnames == list(SHEETS.values())
    assert len(book[SHEETS["charts"]]._charts) == 2
    values = {
        sheet.cell(r, 1).value: sheet.cell(r, 2).value
        for sheet in book.worksheets[:4]
        for r in range(1, sheet.max_row + 1)
    }
    tips, handling, propaganda = stats.tips, stats.handling, stats.propaganda
    assert values["Tổng số tin báo, tố giác tiếp nhận"] == tips.received == 6
    assert values["Tổng số tiền bị chiếm đoạt (đồng)"] == tips.lost_vnd == 9_000_000
    assert values["Trong đó: khẩn cấp (người bị giữ, mua bán người)"] == tips.urgent
    assert values["Nhận xử lý đúng hạn"] == handling.acknowledged_in_time == 4
    assert values["Tồn cuối kỳ (kể cả kỳ trước)"] == handling.open_at_end == 3
    assert values["Trong đó: quá hạn"] == handling.overdue_at_end == 2
    assert values["Thời gian nhận xử lý, trung vị (giờ)"] == 2.0
    assert values["Số lượt người dân nhận cảnh báo"] == propaganda.reached == 4
    assert values["11/2026"] == 6
    assert values["Telegram"] in (3, 2)  # tips by channel (3) or alerts by channel (2)
    assert values["Tổng cộng"] == stats.identifiers.confirmed == 2

    listing = book[SHEETS["reports"]]
    rows = list(listing.iter_rows(values_only=True))
    assert rows[0] == tuple(WORDS.lines("report_columns"))
    assert [r[0] for r in rows[1:]] == [
        "EEEE-EEEE", "AAAA-AAAA", "BBBB-BBBB", "CCCC-CCCC", "IIII-IIII", "DDDD-DDDD",
    ]  # fmt: skip
    assert rows[1][1] == "01/11/2026 00:30" and rows[-1][5] == "Không rõ"
    assert sum(r[8] or 0 for r in rows[1:]) == 20_000_000  # every amount, as reported


def test_nothing_personal_in_either_file(made: tuple[statistics.Statistics, Path, Path]) -> None:
    _, word, book = made
    for path in (word, book):
        with zipfile.ZipFile(path) as archive:
            for name in archive.namelist():
                xml = archive.read(name).decode("utf-8", "replace")
                for secret in PERSONAL:
                    assert secret not in xml, (path.suffix, name, secret)


def test_the_command_line_writes_either_file(
    db: Database,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from bot import cli, report_cli

    with db.transaction() as session:
        build(session)
    monkeypatch.setenv("DATABASE_URL", db.url)
    monkeypatch.setenv("UNIT_NAME", "CÔNG AN XÃ THỬ NGHIỆM")
    out = tmp_path / "nam.docx"
    assert cli.main(["report", "periodic", "--period", "2026-11", "--out", str(out)]) == 0
    head = [p.text for c in Document(str(out)).tables[0].rows[0].cells for p in c.paragraphs]
    assert head[0] == "CÔNG AN XÃ THỬ NGHIỆM" and head[-1].startswith("Thử Nghiệm, ngày")
    sheet = tmp_path / "quy.xlsx"
    argv = ["report", "periodic", "--from", "2026-11-01", "--to", "2026-11-30"]
    assert cli.main([*argv, "--format", "xlsx", "--out", str(sheet)]) == 0
    listing = load_workbook(str(sheet))[SHEETS["reports"]]
    assert listing.max_row == 7  # the header and November's six reports
    assert cli.main(["report", "periodic", "--period", "2026-Q5", "--out", str(out)]) == 2
    assert cli.main([*argv[:2], "--period", "2026", "--to", "2026-12-01", "--out", "x.docx"]) == 2
    assert cli.main([*argv, "--out", str(tmp_path / "x.pdf")]) == 2
    assert "Q5" in capsys.readouterr().err
    assert report_cli.period_of(cli_args("--period", "2026-H2")) == statistics.parse_period(
        "2026-H2"
    )


def cli_args(*argv: str) -> object:
    import argparse

    from bot import report_cli

    parser = argparse.ArgumentParser()
    report_cli.add_arguments(parser.add_subparsers(dest="command"))
    return parser.parse_args(["report", "periodic", *argv, "--out", "x"])


def test_the_fixed_words_live_in_content_and_are_checked() -> None:
    import dataclasses

    from bot.content_check import problems

    library = content.load()
    assert WORDS("motto") == "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
    broken = {**library.periodic, "subject": "Kết quả từ ngày {frist}", "yes": "Co\u0301"}
    del broken["signer"]
    broken["sheets"] = {**broken["sheets"], "charts": "Biểu/đồ"}
    found = "\n".join(problems(dataclasses.replace(library, periodic=broken)))
    assert "periodic: the report cannot be drawn" in found
    assert "periodic.yes: not NFC" in found
    assert "periodic.sheets.charts" in found


def _bars(png: bytes) -> list[int]:
    """The length of each bar in a chart picture, top to bottom (runs of the bar colour)."""
    from PIL import Image

    from bot.periodic.charts import COLOUR

    picture = Image.open(io.BytesIO(png)).convert("RGB")
    width, height = picture.size
    pixels = picture.load()
    assert pixels is not None
    lengths, inside = [], False
    for y in range(height):
        length = sum(1 for x in range(width) if pixels[x, y] == COLOUR)
        if length and not inside:
            lengths.append(length)
        inside = bool(length)
    return lengths


def test_the_docx_charts_are_pictures_of_the_tables(
    made: tuple[statistics.Statistics, Path, Path],
) -> None:
    stats, path, _ = made
    document = Document(str(path))
    pictures = [shape._inline.graphic.graphicData.pic for shape in document.inline_shapes]
    assert len(pictures) == 2
    blobs = [document.part.related_parts[p.blipFill.blip.embed].blob for p in pictures]
    assert all(blob.startswith(b"\x89PNG") for blob in blobs)
    text = [p.text for p in document.paragraphs]
    assert "Biểu đồ 1. Tố giác theo tháng (số liệu tại Bảng 11)" in text
    assert "Biểu đồ 2. Tố giác theo loại thủ đoạn (số liệu tại Bảng 8)" in text
    # One bar a month with reports (November), one a type, as long as its count says.
    assert len(_bars(blobs[0])) == 1
    by_type = list(stats.tips.by_type.values())  # 4 and 2
    lengths = _bars(blobs[1])
    assert len(lengths) == len(by_type) == 2
    assert lengths[0] / lengths[1] == pytest.approx(by_type[0] / by_type[1], rel=0.01)
