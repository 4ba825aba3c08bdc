"""`canhgiac chat` as a new user runs it: a real process, piped standard input."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlmodel import select

from db.engine import Database
from db.models import Report


def _chat(lines: list[str], database_url: str | None, tmp_path: Path) -> str:
    """Run `canhgiac chat` with these lines piped in; no database_url: the default one."""
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["LOG_LEVEL"] = "WARNING"
    if database_url:
        env["DATABASE_URL"] = database_url
    result = subprocess.run(
        [sys.executable, "-m", "bot", "chat"],
        input="\n".join(lines) + "\n",
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.fixture
def url(database_url: str) -> str:
    return database_url


def test_every_journey_through_piped_input(url: str, tmp_path: Path) -> None:
    out = _chat(
        [
            "/start",
            "1",  # menu → 4 không, 2 phải
            "1",  # → scam library
            "Mua bán, quà tặng, làm quen",  # a group of tricks, then a trick, by their labels
            "Thông báo trúng thưởng",
            "/cauhoi",
            "2",  # quiz: first answer
            "/huy",
            "/kiemtra",
            "0912 345 678",
            "/totgiac",
            "1",
            "4",  # consent, then a group of tricks; a story typed instead of a choice:
            "Người xưng công an gọi từ số 0912345678, đòi chuyển 20 triệu vào tài khoản tạm giữ",
            "1",  # "Giả danh công an, tòa án", đúng
            "1",  # Xong
            "20 triệu",
            "hôm qua",
            "1",  # amount, day, anonymous
            "Gửi tố giác",
            "/theodoi",
            "/dangky",
            "1",
            "/huydangky",
            "/trogiup",
            "/xoadulieu",
            "1",
        ],
        url,
        tmp_path,
    )
    for shown in (
        "4 KHÔNG, 2 PHẢI",
        "Chọn một thủ đoạn",
        "Thông báo trúng thưởng",
        "Câu 1/6",
        "chưa có xác nhận",
        "Trước khi tố giác",
        "Kiểm tra lại tố giác",
        "20.000.000 đ",
        "Mã tiếp nhận của bạn",
        "Tố giác của bạn:",
        "Đã đăng ký",
        "Đã hủy đăng ký",
        "Đường dây nóng",
        "Đã xóa dữ liệu cá nhân",
    ):
        assert shown in out, shown
    assert "<b>" not in out  # the terminal shows plain text
    assert "  [1] " in out  # buttons as numbered choices
    db = Database(url)
    with db.transaction() as session:
        report = session.exec(select(Report)).one()
        assert report.amount_vnd == 20_000_000 and report.reporter_tag is None  # erased link
    db.dispose()


def test_a_half_written_report_survives_a_restart(url: str, tmp_path: Path) -> None:
    _chat(
        ["/totgiac", "1", "4", "Họ gọi xưng công an, đòi chuyển tiền vào tài khoản"], url, tmp_path
    )
    out = _chat(["/totgiac", "1"], url, tmp_path)
    # Back where it stood: the story kept, the kind it sounds like offered.
    assert "đang soạn dở" in out and "Giả danh công an" in out


def test_make_run_default_is_a_sqlite_file(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "LOG_LEVEL")}
    result = subprocess.run(
        [sys.executable, "-m", "bot", "run"],
        input="/start\n",
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    assert "Xin chào" in result.stdout
    assert "alembic" not in result.stderr  # no log lines on the resident's screen
    assert (tmp_path / "data" / "canhgiac.db").exists()
