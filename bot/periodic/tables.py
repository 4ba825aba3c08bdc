"""The periodic report's figures as labelled tables, rendered alike into DOCX and XLSX."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import content
from bot.periodic import words
from content.codes import CHANNELS, KINDS
from db.statistics import Statistics
from handlers.report import type_label

Cell = str | int | float | None


@dataclass(frozen=True)
class Table:
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
    """The Vietnamese words for the codes the records keep."""

    library: content.Content

    def scam(self, code: str) -> str:
        return type_label(self.library, code)

    def area(self, code: str | None) -> str:
        found = self.library.area(code) if code else None
        return found["name"] if found else (code or words.UNKNOWN_AREA)

    def channel(self, code: str) -> str:
        return CHANNELS.get(code, code)

    def kind(self, code: str) -> str:
        return KINDS.get(code, code)

    def status(self, code: str) -> str:
        return words.STATUS.get(code, code)


def hours(span: timedelta | None) -> float | None:
    """A duration in hours, to one decimal (a table reads hours better than seconds)."""
    return None if span is None else round(span.total_seconds() / 3600, 1)


def share(part: float | None) -> float | None:
    return None if part is None else round(100 * part, 1)


def _counts(
    caption: str, what: str, counts: Mapping[Any, int], label: Callable[[Any], str]
) -> Table:
    return Table(caption, (what, "Số lượng"), [(label(k), v) for k, v in counts.items()])


def sections(stats: Statistics, labels: Labels) -> list[Section]:
    tips, handling, propaganda, found = (
        stats.tips,
        stats.handling,
        stats.propaganda,
        stats.identifiers,
    )
    figure = ("Chỉ tiêu", "Số liệu")
    return [
        Section(
            "propaganda",
            words.SECTIONS["propaganda"],
            [
                Table(
                    "Bảng 1. Cảnh báo và người nhận",
                    figure,
                    [
                        ("Số bản tin cảnh báo đã phát", propaganda.alerts),
                        ("Số lượt người dân nhận cảnh báo", propaganda.reached),
                        ("Số lượt mẹo cảnh giác hằng tuần đã gửi", propaganda.tips_sent),
                        ("Người đăng ký nhận cảnh báo đầu kỳ", propaganda.subscribers_at_start),
                        ("Người đăng ký nhận cảnh báo cuối kỳ", propaganda.subscribers_at_end),
                    ],
                ),
                _counts(
                    "Bảng 2. Lượt nhận cảnh báo theo kênh",
                    "Kênh",
                    propaganda.reached_by_channel,
                    labels.channel,
                ),
                _counts(
                    "Bảng 3. Lượt nhận cảnh báo theo khu vực",
                    "Khu vực",
                    propaganda.reached_by_area,
                    labels.area,
                ),
            ],
        ),
        Section(
            "tips",
            words.SECTIONS["tips"],
            [
                Table(
                    "Bảng 4. Tổng hợp tin báo, tố giác",
                    figure,
                    [
                        ("Tổng số tin báo, tố giác tiếp nhận", tips.received),
                        ("Trong đó: khẩn cấp (người bị giữ, mua bán người)", tips.urgent),
                        ("Số vụ có thiệt hại về tài sản", tips.reports_with_loss),
                        ("Tổng số tiền bị chiếm đoạt (đồng)", tips.lost_vnd),
                    ],
                ),
                Table(
                    "Bảng 5. Theo loại thủ đoạn",
                    ("Loại thủ đoạn", "Số lượng", "Số tiền bị chiếm đoạt (đồng)"),
                    [
                        (labels.scam(k), n, tips.lost_by_type.get(k, 0))
                        for k, n in tips.by_type.items()
                    ],
                ),
                _counts("Bảng 6. Theo kênh tiếp nhận", "Kênh", tips.by_channel, labels.channel),
                _counts("Bảng 7. Theo khu vực", "Khu vực", tips.by_area, labels.area),
                Table(
                    "Bảng 8. Theo tháng",
                    ("Tháng", "Số lượng", "Số tiền bị chiếm đoạt (đồng)"),
                    [
                        (f"{m.month[5:]}/{m.month[:4]}", m.received, m.lost_vnd)
                        for m in tips.by_month
                    ],
                ),
            ],
        ),
        Section(
            "handling",
            words.SECTIONS["handling"],
            [
                Table(
                    "Bảng 9. Kết quả xử lý (theo trạng thái cuối kỳ)",
                    figure,
                    [
                        ("Tin báo tiếp nhận trong kỳ", handling.received),
                        ("Đã nhận xử lý", handling.acknowledged),
                        ("Nhận xử lý đúng hạn", handling.acknowledged_in_time),
                        (
                            "Tỷ lệ nhận xử lý đúng hạn (%)",
                            share(handling.acknowledged_in_time_share),
                        ),
                        ("Đã có kết luận", handling.decided),
                        ("Kết luận trong thời hạn 20 ngày", handling.decided_in_time),
                        (
                            "Tỷ lệ kết luận trong thời hạn (%)",
                            share(handling.decided_in_time_share),
                        ),
                        ("Chuyển Cơ quan điều tra", handling.referred),
                        ("Đã giải quyết", handling.resolved),
                        ("Không có dấu hiệu tội phạm", handling.no_crime),
                        ("Trùng tố giác khác", handling.duplicates),
                        ("Rác, không có nội dung", handling.rubbish),
                        ("Tin báo trong kỳ chưa xử lý xong", handling.open_of_period),
                        ("Tồn cuối kỳ (kể cả kỳ trước)", handling.open_at_end),
                        ("Trong đó: quá hạn", handling.overdue_at_end),
                        ("Thời gian nhận xử lý, trung vị (giờ)", hours(handling.median_ack)),
                        ("Thời gian kết luận, trung vị (giờ)", hours(handling.median_decision)),
                    ],
                )
            ],
        ),
        Section(
            "identifiers",
            words.SECTIONS["identifiers"],
            [
                Table(
                    "Bảng 10. Định danh được xác nhận lừa đảo trong kỳ",
                    ("Loại", "Số lượng"),
                    [(labels.kind(k), n) for k, n in found.confirmed_by_kind.items()]
                    + [("Tổng cộng", found.confirmed)],
                ),
                Table(
                    "Bảng 11. Số điện thoại, tài khoản, đường link bị tố giác nhiều nhất",
                    ("Loại", "Định danh", "Số người tố giác", "Số tố giác", "Đã xác nhận"),
                    [
                        (
                            labels.kind(t.kind),
                            t.display,
                            t.reporters,
                            t.reports,
                            words.YES if t.confirmed else words.NO,
                        )
                        for listed in found.top.values()
                        for t in listed
                    ],
                ),
            ],
        ),
    ]
