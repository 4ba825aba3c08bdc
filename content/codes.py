"""The words behind the codes the records keep (roles, channels, identifier kinds, audit
actions), for every page and document that shows them."""

from __future__ import annotations

ROLES = {"officer": "Cán bộ", "lead": "Lãnh đạo", "staff": "Tuyên truyền", "admin": "Quản trị"}
CHANNELS = {
    "zalo_oa": "Zalo OA",
    "zalo_bot": "Zalo Bot",
    "telegram": "Telegram",
    "terminal": "máy này",
}
KINDS = {
    "phone": "Số điện thoại",
    "bank": "Tài khoản ngân hàng",
    "url": "Đường link",
    "social": "Tài khoản mạng xã hội",
}
ACTORS = {"resident": "Người báo tin"}
AUDIT = {
    "open_report": "mở tố giác",
    "open_photo": "xem ảnh",
    "sign_in": "đăng nhập",
    "sign_in_link": "đăng nhập bằng liên kết",
    "account_set_up": "thiết lập tài khoản",
    "totp_enrolled": "bật xác thực hai lớp",
    "assign": "giao việc",
    "officer_add": "thêm cán bộ",
    "officer_role": "đổi vai trò",
    "officer_deactivate": "khóa tài khoản",
    "officer_link": "cấp liên kết thiết lập",
    "officer_signout": "kết thúc phiên",
    "identifier_confirm": "xác nhận định danh",
    "identifier_withdraw": "rút xác nhận định danh",
    "sign_in_failed": "đăng nhập sai",
    "totp_failed": "mã xác thực sai",
    "search": "tra cứu",
    "open_identifier": "xem định danh",
}
