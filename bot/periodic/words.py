"""The fixed words of the periodic report (Vietnamese administrative style, Decree 30/2020)."""

from __future__ import annotations

MOTTO = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
MOTTO_2 = "Độc lập - Tự do - Hạnh phúc"
NUMBER = "Số: …/BC-…"
TITLE = "BÁO CÁO"
SUBJECT = (
    "Kết quả công tác phòng, chống lừa đảo trực tuyến và mua bán người "
    "từ ngày {first} đến ngày {last}"
)
INTRO = (
    "Thực hiện Kế hoạch phòng, chống tội phạm lừa đảo chiếm đoạt tài sản trên không gian mạng "
    "và mua bán người, {unit} báo cáo kết quả thực hiện từ ngày {first} đến ngày {last} "
    "(số liệu tổng hợp tự động từ hệ thống Cảnh giác) như sau:"
)
PLACEHOLDER = "[Phần để lãnh đạo đơn vị viết: {what}]"
ASSESSMENT = "V. ĐÁNH GIÁ CHUNG"
ASSESSMENT_WHAT = "ưu điểm, tồn tại, hạn chế và nguyên nhân"
PROPOSALS = "VI. PHƯƠNG HƯỚNG, ĐỀ XUẤT, KIẾN NGHỊ"
PROPOSALS_WHAT = "nhiệm vụ thời gian tới, đề xuất và kiến nghị với cấp trên"
RECIPIENTS = "Nơi nhận:"
RECIPIENT_LINES = (
    "- Ủy ban nhân dân phường (báo cáo);",
    "- Công an tỉnh (báo cáo);",
    "- Lưu: VT, hồ sơ.",
)
SIGNER = "TRƯỞNG CÔNG AN"
SIGN_NOTE = "(Ký, ghi rõ họ tên, đóng dấu)"
DATE_LINE = "{place}, ngày {day:02d} tháng {month:02d} năm {year}"
UNKNOWN_AREA = "Không rõ"
NONE_YET = "(không có)"
YES, NO = "Có", "Không"

SECTIONS = {
    "propaganda": "I. KẾT QUẢ CÔNG TÁC TUYÊN TRUYỀN",
    "tips": "II. TÌNH HÌNH TIẾP NHẬN TIN BÁO, TỐ GIÁC",
    "handling": "III. KẾT QUẢ TIẾP NHẬN, XỬ LÝ",
    "identifiers": "IV. ĐỐI TƯỢNG, ĐỊNH DANH LỪA ĐẢO",
}
# Sheet names (Excel: at most 31 characters, no : \ / ? * [ ]).
SHEETS = {
    "propaganda": "Tuyên truyền",
    "tips": "Tiếp nhận",
    "handling": "Xử lý",
    "identifiers": "Định danh",
    "charts": "Biểu đồ",
    "reports": "Danh sách tố giác",
}
STATUS = {
    "moi": "Mới",
    "da_tiep_nhan": "Đã tiếp nhận",
    "dang_xac_minh": "Đang xác minh",
    "chuyen_cqdt": "Chuyển Cơ quan điều tra",
    "da_giai_quyet": "Đã giải quyết",
    "khong_co_dau_hieu": "Không có dấu hiệu tội phạm",
    "trung": "Trùng",
    "rac": "Rác",
}
REPORT_COLUMNS = (
    "Mã tố giác",
    "Ngày tiếp nhận",
    "Ngày xảy ra",
    "Loại",
    "Khẩn cấp",
    "Khu vực",
    "Kênh",
    "Trạng thái cuối kỳ",
    "Số tiền (đồng)",
)
CHART_MONTH = "Tố giác theo tháng"
CHART_TYPE = "Tố giác theo loại"
