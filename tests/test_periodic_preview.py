"""The periodic report as a person will see it: the DOCX converted to PDF by LibreOffice
(`soffice --headless`), its first page turned into a PNG by pdftoppm and kept in
tests/output/ (ignored by git) for someone to look at. `make test` installs LibreOffice
Writer and poppler-utils when they are missing and it may (root with apt-get); otherwise this
test is skipped and the run says so loudly."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import warnings
from datetime import date
from pathlib import Path

import pytest
from PIL import Image

import content
from bot.periodic import docx
from bot.periodic.tables import Labels
from db import statistics
from db.engine import Database
from tests.test_statistics import NOVEMBER, build

OUTPUT = Path(__file__).resolve().parent / "output"
SOFFICE = os.environ.get("SOFFICE") or shutil.which("soffice") or "/usr/bin/soffice"
PDFTOPPM = shutil.which("pdftoppm") or "/usr/bin/pdftoppm"
PDFTOTEXT = shutil.which("pdftotext") or "/usr/bin/pdftotext"
UNIT = "CÔNG AN PHƯỜNG NAM GIA NGHĨA"


def why_no_office() -> str | None:
    """Why the preview cannot be made here, or None when it can."""
    missing = [p for p in (SOFFICE, PDFTOPPM, PDFTOTEXT) if not os.access(p, os.X_OK)]
    if missing:
        return (
            f"{', '.join(missing)} missing; run `make test` as root (it installs "
            "libreoffice-writer-nogui and poppler-utils), or apt-get install them"
        )
    return None


def _skip_loudly(request: pytest.FixtureRequest, reason: str) -> None:
    notice = f"LIBREOFFICE PREVIEW SKIPPED: {reason}"
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line("")
        reporter.write_line(f"!!! {notice} !!!", red=True, bold=True)
    warnings.warn(pytest.PytestWarning(notice), stacklevel=1)
    pytest.skip(notice)


def test_the_docx_opens_in_libreoffice_and_its_first_page_is_kept_as_a_png(
    request: pytest.FixtureRequest, sqlite_template: Path, tmp_path: Path
) -> None:
    reason = why_no_office()
    if reason:
        _skip_loudly(request, reason)
    copy = tmp_path / "canhgiac.db"
    shutil.copy(sqlite_template, copy)
    db = Database(f"sqlite:///{copy}")
    try:
        with db.transaction() as session:
            build(session)
        with db.transaction() as session:
            stats = statistics.compute(session, NOVEMBER)
    finally:
        db.dispose()
    OUTPUT.mkdir(exist_ok=True)
    word = docx.write(
        stats, Labels(content.load()), UNIT, date(2026, 12, 3), OUTPUT / "bao-cao-2026-11.docx"
    )
    profile = tmp_path / "libreoffice-profile"  # its own, so a running LibreOffice is no bother
    subprocess.run(
        [SOFFICE, f"-env:UserInstallation={profile.as_uri()}", "--headless",
         "--convert-to", "pdf", "--outdir", str(OUTPUT), str(word)],
        check=True, capture_output=True, timeout=180,
    )  # fmt: skip
    pdf = OUTPUT / "bao-cao-2026-11.pdf"
    assert pdf.stat().st_size > 10_000
    first = subprocess.run(
        [PDFTOTEXT, "-f", "1", "-l", "1", "-layout", str(pdf), "-"],
        check=True, capture_output=True, text=True, timeout=60,
    ).stdout  # fmt: skip
    # The Vietnamese letters came through as letters, not boxes or question marks.
    for words in ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA", "Độc lập - Tự do - Hạnh phúc", "BÁO CÁO",
                  "Bảng 1. Cảnh báo và người nhận"):  # fmt: skip
        assert words in " ".join(first.split()), words
    subprocess.run(
        [PDFTOPPM, "-png", "-r", "80", "-f", "1", "-l", "1", "-singlefile", str(pdf),
         str(OUTPUT / "bao-cao-2026-11-trang-1")],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    png = OUTPUT / "bao-cao-2026-11-trang-1.png"
    picture = Image.open(io.BytesIO(png.read_bytes())).convert("L")
    width, height = picture.size
    assert width > 500 and height > 700  # an A4 page at 80 dots per inch is 661 × 935
    ink = sum(picture.histogram()[:128])  # dark pixels
    assert 0.005 < ink / (width * height) < 0.5  # printed on, not blank, not black
