"""The console's statistics page, through the real server: a lead sees the periodic report's
figures for a hand-built data set (the one of test_statistics.py, whose every figure is known),
charts whose bars carry the tables' numbers, and downloads that are the report's DOCX and
XLSX; officers and staff are refused; a period that cannot be read is answered in words."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from collections.abc import Iterator

import lxml.html
import pytest
from docx import Document
from openpyxl import load_workbook

import content
from bot.periodic import docx
from bot.periodic.tables import Labels, sections
from db import statistics
from db.engine import Database
from tests.conftest import Clock
from tests.console_site import Site, serving
from tests.test_statistics import NOVEMBER, PERSONAL, build

WORDS = Labels(content.load()).words
SECTIONS, SHEETS = WORDS.mapping("sections"), WORDS.mapping("sheets")
SVG = "{http://www.w3.org/2000/svg}"
DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
def site(db: Database, clock: Clock) -> Iterator[Site]:
    with db.transaction() as session:
        build(session)
    with serving(db, clock) as running:
        yield running


def _tables(html: str) -> dict[str, list[list[str]]]:
    """Each table of the page by its caption: its body's rows, as text."""
    tree = lxml.html.fromstring(html)
    return {
        table.findtext("caption"): [
            [c.text_content().strip() for c in row.xpath("./th|./td")]
            for row in table.xpath("./tbody/tr")
        ]
        for table in tree.xpath("//table[caption]")
    }


def _charts(html: str) -> dict[str, ET.Element]:
    """Each inline SVG chart, read as the XML it must be."""
    found = {}
    start = html.find("<svg")
    while start != -1:
        end = html.index("</svg>", start) + len("</svg>")
        svg = ET.fromstring(html[start:end])
        found[svg.attrib["data-chart"]] = svg
        start = html.find("<svg", end)
    return found


def test_a_lead_sees_the_periods_figures_and_charts(site: Site) -> None:
    lead = site.signed_in("lead")
    page = lead.get("/statistics?period=2026-11")
    assert page.status_code == 200, page.text
    assert "Thống kê: Tháng 11/2026" in page.text
    assert "Từ ngày 01/11/2026 đến ngày 30/11/2026" in page.text
    assert '<a href="/statistics" aria-current="page">Thống kê</a>' in page.text

    tables = _tables(page.text)
    # Every table the DOCX and XLSX have, with the same cells, as db/statistics.py counts.
    with site.db.transaction() as session:
        expected = sections(statistics.compute(session, NOVEMBER), Labels(content.load()))
    for table in (t for s in expected for t in s.tables):
        shown = [[docx.amount(v) for v in row] for row in table.rows] or [["(không có)"]]
        assert tables[table.caption] == shown, table.caption
    # And the figures, counted by hand in test_statistics.py.
    figures = {row[0]: row[1] for rows in tables.values() for row in rows if len(row) > 1}
    assert figures["Tổng số tin báo, tố giác tiếp nhận"] == "6"
    assert figures["Tổng số tiền bị chiếm đoạt (đồng)"] == "9.000.000"
    assert figures["Nhận xử lý đúng hạn"] == "4"
    assert figures["Tỷ lệ nhận xử lý đúng hạn (%)"] == "66,7"
    assert figures["Tồn cuối kỳ (kể cả kỳ trước)"] == "3"
    assert figures["Số lượt người dân nhận cảnh báo"] == "4"
    assert tables["Bảng 11. Theo tháng"] == [["11/2026", "6", "9.000.000"]]
    for section in SECTIONS.values():
        assert f"<h2>{section}</h2>" in page.text
    for secret in PERSONAL:  # the statistics never show what residents wrote
        assert secret not in page.text

    charts = _charts(page.text)
    assert set(charts) == {"month", "type"}
    for key, caption in (("month", "Bảng 11. Theo tháng"), ("type", "Bảng 8. Theo loại thủ đoạn")):
        svg = charts[key]
        assert svg.attrib["role"] == "img"
        assert svg.find(f"{SVG}title") is not None and svg.find(f"{SVG}title").text
        bars = [
            (rect.attrib["data-label"], rect.attrib["data-value"])
            for rect in svg.iter(f"{SVG}rect")
        ]
        assert bars == [(row[0], row[1]) for row in tables[caption]], key
        # Each bar is told in words too, and drawn longer for a larger number.
        said = [g.find(f"{SVG}title").text for g in svg.iter(f"{SVG}g")]
        assert said == [f"{row[0]}: {row[1]}" for row in tables[caption]]
    lengths = {
        r.attrib["data-label"]: float(r.attrib["width"]) for r in charts["type"].iter(f"{SVG}rect")
    }
    labels = Labels(content.load())
    assert lengths[labels.scam("dau_tu")] == pytest.approx(2 * lengths[labels.scam("viec_lam")])
    assert "<script" not in page.text.split("</head>")[1]  # drawn on the server, no script


def test_the_period_form_and_the_default(site: Site) -> None:
    lead = site.signed_in("admin")
    page = lead.get("/statistics")  # the clock says 22/11/2026: this month
    assert page.status_code == 200 and "Thống kê: Tháng 11/2026" in page.text
    assert 'href="/statistics/report.docx?period=2026-11"' in page.text

    quarter = lead.get("/statistics", params={"year": "2026", "part": "Q4"})
    assert "Thống kê: Quý IV/2026" in quarter.text
    assert 'href="/statistics/report.xlsx?period=2026-Q4"' in quarter.text
    assert '<option value="Q4" selected>' in quarter.text
    received = _tables(quarter.text)["Bảng 7. Tổng hợp tin báo, tố giác"][0][1]
    assert received == "9"  # F G in October, six in November, H in December

    half = lead.get("/statistics", params={"year": "2026", "part": "H2"})
    assert "6 tháng cuối năm 2026" in half.text
    months = _tables(half.text)["Bảng 11. Theo tháng"]
    assert [m[0] for m in months] == [f"{m:02d}/2026" for m in range(7, 13)]
    assert [m[1] for m in months] == ["0", "0", "0", "2", "6", "1"]
    bars = [r.attrib["data-value"] for r in _charts(half.text)["month"].iter(f"{SVG}rect")]
    assert bars == ["0", "0", "0", "2", "6", "1"]

    empty = lead.get("/statistics?period=2025-Q1")  # nothing then: no bar, and it says so
    assert _tables(empty.text)["Bảng 8. Theo loại thủ đoạn"] == [["(không có)"]]
    assert not list(_charts(empty.text)["type"].iter(f"{SVG}rect"))
    assert "(không có)</text>" in empty.text

    days = lead.get("/statistics", params={"from": "2026-11-01", "to": "2026-11-15"})
    assert "Từ ngày 01/11/2026 đến ngày 15/11/2026" in days.text
    assert 'report.docx?from=2026-11-01&amp;to=2026-11-15"' in days.text
    assert _tables(days.text)["Bảng 7. Tổng hợp tin báo, tố giác"][0][1] == "4"  # E A B C


def test_the_downloads_are_the_reports_files(site: Site) -> None:
    lead = site.signed_in("lead")
    word = lead.get("/statistics/report.docx?period=2026-11")
    assert word.status_code == 200
    assert word.headers["content-type"] == DOCX_TYPE
    assert word.headers["content-disposition"] == 'attachment; filename="bao-cao-2026-11.docx"'
    document = Document(io.BytesIO(word.content))
    text = [p.text for p in document.paragraphs]
    assert "BÁO CÁO" in text
    assert any("từ ngày 01/11/2026 đến ngày 30/11/2026" in t for t in text)
    head = [p.text for c in document.tables[0].rows[0].cells for p in c.paragraphs]
    assert head[0] == "CÔNG AN PHƯỜNG NAM GIA NGHĨA" and "22 tháng 11 năm 2026" in head[-1]
    cells = {r.cells[0].text: r.cells[1].text for g in document.tables[1:-1] for r in g.rows}
    assert cells["Tổng số tin báo, tố giác tiếp nhận"] == "6"
    assert cells["Tổng số tiền bị chiếm đoạt (đồng)"] == "9.000.000"

    book = lead.get("/statistics/report.xlsx", params={"period": "2026-11"})
    assert book.status_code == 200
    assert book.headers["content-type"] == XLSX_TYPE
    assert book.headers["content-disposition"] == 'attachment; filename="bao-cao-2026-11.xlsx"'
    workbook = load_workbook(io.BytesIO(book.content))
    assert workbook.sheetnames == list(SHEETS.values())
    assert len(workbook[SHEETS["charts"]]._charts) == 2
    values = {
        sheet.cell(r, 1).value: sheet.cell(r, 2).value
        for sheet in workbook.worksheets[:4]
        for r in range(1, sheet.max_row + 1)
    }
    assert values["Tổng số tin báo, tố giác tiếp nhận"] == 6
    assert values["Tổng số tiền bị chiếm đoạt (đồng)"] == 9_000_000
    listing = list(workbook[SHEETS["reports"]].iter_rows(values_only=True))
    assert len(listing) == 1 + 6

    dates = lead.get("/statistics/report.docx?from=2026-11-01&to=2026-11-15")
    assert dates.headers["content-disposition"] == (
        'attachment; filename="bao-cao-2026-11-01_2026-11-15.docx"'
    )
    assert dates.headers["cache-control"] == "no-store"


@pytest.mark.parametrize("role", ["officer", "staff"])
def test_officers_and_staff_are_refused(site: Site, role: str) -> None:
    browser = site.signed_in(role)
    for path in ("/statistics", "/statistics/report.docx", "/statistics/report.xlsx"):
        answer = browser.get(f"{path}?period=2026-11")
        assert answer.status_code == 403, path
        assert "không có quyền" in answer.text
    assert 'href="/statistics"' not in browser.get("/account").text
    nobody = site.browser().get("/statistics/report.xlsx?period=2026")
    assert nobody.status_code == 303 and nobody.headers["location"].startswith("/signin?")


@pytest.mark.parametrize(
    ("query", "said"),
    [
        ("period=2026-13", "Không hiểu kỳ báo cáo này"),
        ("period=mùa%20thu", "Không hiểu kỳ báo cáo này"),
        ("period=0000", "Không hiểu kỳ báo cáo này"),
        ("year=abc&part=Q2", "Không hiểu kỳ báo cáo này"),
        ("from=2026-11-30&to=2026-11-01", "Đến ngày (01/11/2026) trước từ ngày (30/11/2026)."),
        ("from=2026-11-01", "Mời ghi cả từ ngày và đến ngày."),
        ("from=2026-02-30&to=2026-03-01", "Ngày không hợp lệ"),
        ("from=0001-01-01&to=9999-12-31", "từ năm 2000 đến năm 2100"),
        ("period=1999", "từ năm 2000 đến năm 2100"),
        ("from=2020-01-01&to=2026-12-31", "tối đa 5 năm"),
    ],
)
def test_a_period_that_cannot_be_read_is_answered(site: Site, query: str, said: str) -> None:
    lead = site.signed_in("lead")
    page = lead.get(f"/statistics?{query}")
    assert page.status_code == 400
    assert said in page.text and 'role="alert"' in page.text
    assert 'name="year"' in page.text and 'name="from"' in page.text  # the form, to try again
    assert "<svg" not in page.text and "report.docx" not in page.text
    for kind in ("docx", "xlsx"):
        answer = lead.get(f"/statistics/report.{kind}?{query}")
        assert answer.status_code == 400 and said in answer.text
        assert answer.headers["content-type"].startswith("text/html")
