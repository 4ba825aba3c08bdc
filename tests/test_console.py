"""The web console over HTTP: accounts, the second factor, sessions, CSRF, the queue, a
report's page and its actions (the same rules as the Telegram card), search, identifiers."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from sqlmodel import select

from db import accounts
from db.engine import Database
from db.models import AuditEvent, Identifier, Officer, Outbox, Report
from tests.chat import Chat
from tests.conftest import Clock
from tests.console_site import PASSWORD, Site, serving
from tests.walker import Story, walk


@pytest.fixture
def site(db: Database, clock: Clock) -> Iterator[Site]:
    with serving(db, clock) as running:
        yield running


def _file(chat: Chat, **story: object) -> str:
    chat.send("/totgiac")
    chat.press("Đồng ý")
    code = walk(chat, Story(**story)).code  # type: ignore[arg-type]
    assert code
    return code


def _notices_to(db: Database, user: str) -> list[str]:
    with db.transaction() as session:
        rows = session.exec(
            select(Outbox).where(Outbox.recipient == user, Outbox.report_id.is_not(None))  # type: ignore[union-attr]
        ).all()
        return [row.payload["text"] for row in rows]


def test_a_set_up_link_leads_to_a_password_then_to_the_queue(site: Site) -> None:
    with site.db.transaction() as session:
        from db import officers

        officer = officers.add(session, "Nguyễn Văn An", "officer", None)
        token = accounts.issue_link(session, officer, site.clock())
    browser = site.browser()
    page = browser.get(f"/setup/{token}")
    assert page.status_code == 200 and "Nguyễn Văn An" in page.text
    form = browser.csrf(f"/setup/{token}")
    for password, complaint in [
        ("ngan", "ít nhất 10"),
        ("1234567890", "quá phổ biến"),
        ("an.nguyen-mat-khau", "không được chứa tên đăng nhập"),
    ]:
        answer = browser.http.post(
            f"/setup/{token}",
            data={"csrf": form, "username": "an.nguyen", "password": password, "again": password},
        )
        assert complaint in answer.text
    answer = browser.http.post(
        f"/setup/{token}",
        data={"csrf": form, "username": "an.nguyen", "password": PASSWORD, "again": PASSWORD},
    )
    assert answer.status_code == 303
    assert browser.get("/reports").status_code == 200
    # The link was for one use.
    assert site.browser().get(f"/setup/{token}").status_code == 410
    with site.db.transaction() as session:
        stored = session.get(Officer, officer.id)
        assert stored is not None and stored.password_hash.startswith("$argon2id$")  # type: ignore[union-attr]


def test_a_set_up_link_dies_after_a_day(site: Site) -> None:
    with site.db.transaction() as session:
        from db import officers

        officer = officers.add(session, "Trần Thị Bình", "officer", None)
        token = accounts.issue_link(session, officer, site.clock())
    site.clock.advance(hours=24, seconds=1)
    assert site.browser().get(f"/setup/{token}").status_code == 410


def test_a_lead_enrols_a_second_factor_before_acting(site: Site, db: Database) -> None:
    with db.transaction() as session:
        from db import officers

        lead = officers.add(session, "Lãnh đạo Phạm Cường", "lead", None)
        accounts.set_credentials(session, lead, "cuong", PASSWORD, site.clock())
    browser = site.browser()
    answer = browser.http.post(
        "/signin", data={"csrf": browser.csrf("/signin"), "username": "cuong", "password": PASSWORD}
    )
    assert answer.headers["location"] == "/account/totp"
    # Until enrolled, every page sends the lead back to enrol.
    assert browser.get("/reports").headers["location"] == "/account/totp"
    enrol = browser.get("/account/totp")
    assert "<svg" in enrol.text  # the QR code
    secret = re.search(r'id="secret">([A-Z2-7]+)<', enrol.text).group(1)  # type: ignore[union-attr]
    # Another browser with the same password is shown another secret: never the lead's.
    other = site.browser()
    other.http.post(
        "/signin", data={"csrf": other.csrf("/signin"), "username": "cuong", "password": PASSWORD}
    )
    assert secret not in other.get("/account/totp").text
    wrong = browser.http.post(
        "/account/totp", data={"csrf": browser.csrf("/account/totp"), "code": "000000"}
    )
    assert wrong.status_code == 200 and "chưa đúng" in wrong.text
    code = accounts.totp(secret, accounts.totp_step(site.clock()))  # type: ignore[arg-type]
    right = browser.http.post(
        "/account/totp", data={"csrf": browser.csrf("/account/totp"), "code": code}
    )
    assert right.status_code == 303
    assert browser.get("/reports").status_code == 200
    # Next time: password, then a code, and the same code is not taken twice.
    again = site.browser()
    again.http.post(
        "/signin", data={"csrf": again.csrf("/signin"), "username": "cuong", "password": PASSWORD}
    )
    assert again.get("/reports").headers["location"] == "/signin/totp"
    replayed = again.http.post(
        "/signin/totp", data={"csrf": again.csrf("/signin/totp"), "code": code}
    )
    assert replayed.status_code == 401
    fresh = again.totp(lead)
    assert (
        again.http.post(
            "/signin/totp", data={"csrf": again.csrf("/signin/totp"), "code": fresh}
        ).status_code
        == 303
    )
    assert again.get("/reports").status_code == 200


def test_sign_in_is_throttled_per_account(site: Site) -> None:
    officer = site.officer("officer")
    browser = site.browser()
    token = browser.csrf("/signin")
    for _ in range(10):
        wrong = browser.http.post(
            "/signin",
            data={"csrf": token, "username": officer.username, "password": "sai mật khẩu"},
        )
        assert wrong.status_code == 401
    right = browser.http.post(
        "/signin", data={"csrf": token, "username": officer.username, "password": PASSWORD}
    )
    assert right.status_code == 429
    site.clock.advance(minutes=16)
    right = browser.http.post(
        "/signin", data={"csrf": token, "username": officer.username, "password": PASSWORD}
    )
    assert right.status_code == 303


def test_a_form_without_its_token_is_refused(site: Site, dispatcher, db: Database) -> None:
    code = _file(Chat(dispatcher, user="r-csrf"))
    browser = site.signed_in("officer")
    refused = browser.post(f"/reports/{code}/act", {"action": "claim"}, token="")
    assert refused.status_code == 403
    forged = browser.post(f"/reports/{code}/act", {"action": "claim"}, token="x" * 43)
    assert forged.status_code == 403
    # The sign-in form itself needs the token its page set.
    stranger = site.browser()
    assert stranger.http.post("/signin", data={"username": "a", "password": "b"}).status_code == 403
    with db.transaction() as session:
        assert session.exec(select(Report)).one().status == "moi"


def test_a_deactivated_officer_is_signed_out_at_once(site: Site) -> None:
    admin = site.signed_in("admin")
    officer = site.officer("officer", "Đỗ Văn Dũng")
    browser = site.browser()
    browser.sign_in(officer)
    assert browser.get("/reports").status_code == 200
    assert admin.post(f"/admin/officers/{officer.id}/deactivate", {}).status_code == 303
    assert browser.get("/reports").headers["location"].startswith("/signin")
    # And cannot sign in again.
    token = browser.csrf("/signin")
    again = browser.http.post(
        "/signin", data={"csrf": token, "username": officer.username, "password": PASSWORD}
    )
    assert again.status_code == 401


def test_a_signed_out_browser_only_ever_sees_the_sign_in_page(site: Site) -> None:
    browser = site.browser()
    for path in ["/", "/reports", "/reports/ABCD-2345", "/search?q=1", "/photos/1", "/admin/audit"]:
        answer = browser.get(path)
        assert answer.status_code == 303 and answer.headers["location"].startswith("/signin")
    assert browser.get("/signin?next=//evil.example").status_code == 200
    officer = site.officer("officer")
    token = browser.csrf("/signin")
    answer = browser.http.post(
        "/signin",
        data={
            "csrf": token,
            "username": officer.username,
            "password": PASSWORD,
            "next": "//evil.example",
        },
    )
    assert answer.headers["location"] == "/"


def test_the_queue_puts_urgent_first_and_filters(site: Site, dispatcher) -> None:
    ordinary = _file(Chat(dispatcher, user="r-1"))
    urgent = _file(
        Chat(dispatcher, user="r-2"),
        type="Mua bán người",
        account="Em gái tôi bị giữ ở Campuchia, họ đòi tiền chuộc",
        held=True,
    )
    browser = site.signed_in("officer")
    page = browser.get("/reports").text
    assert page.index(urgent) < page.index(ordinary)
    assert "KHẨN" in page
    only_urgent = browser.get("/reports?urgent=1").text
    assert urgent in only_urgent and ordinary not in only_urgent
    mine = browser.get("/reports?holder=mine").text
    assert ordinary not in mine and urgent not in mine
    feed = browser.get("/reports/feed?after=0").json()
    assert feed["urgent"] and {r["code"] for r in feed["reports"]} == {ordinary, urgent}


def test_an_officer_works_a_report_and_the_reporter_hears_each_step(
    site: Site, dispatcher, db: Database
) -> None:
    resident = Chat(dispatcher, user="r-work")
    code = _file(resident)
    browser = site.signed_in("officer", "Lê Thị Hoa")
    page = browser.get(f"/reports/{code}")
    assert page.status_code == 200 and "Người xưng công an" in page.text
    assert browser.post(f"/reports/{code}/act", {"action": "claim"}).status_code == 303
    asked = browser.post(
        f"/reports/{code}/act", {"action": "ask", "note": "Bạn chuyển tiền lúc mấy giờ?"}
    )
    assert asked.status_code == 303
    told = _notices_to(db, "r-work")
    assert any("Cán bộ đã nhận xử lý" in t for t in told)
    assert any("Bạn chuyển tiền lúc mấy giờ?" in t for t in told)
    # The reporter answers on their channel; the answer shows on the page.
    resident.send(f"/bosung {code}")
    resident.send("Khoảng 9 giờ sáng hôm qua")
    assert "Khoảng 9 giờ sáng hôm qua" in browser.get(f"/reports/{code}").text
    # Words are needed to resolve; then the reporter hears the outcome.
    empty = browser.post(f"/reports/{code}/act", {"action": "resolve", "note": " "})
    assert "Mời ghi rõ" in browser.get(empty.headers["location"]).text
    browser.post(f"/reports/{code}/act", {"action": "verify"})
    browser.post(f"/reports/{code}/act", {"action": "resolve", "note": "Đã phong tỏa tài khoản"})
    assert any("Đã phong tỏa tài khoản" in t for t in _notices_to(db, "r-work"))
    with db.transaction() as session:
        report = session.exec(select(Report).where(Report.receipt_code == code)).one()
        assert report.status == "da_giai_quyet"
        opened = session.exec(
            select(AuditEvent).where(
                AuditEvent.report_id == report.id, AuditEvent.action == "open_report"
            )
        ).all()
        assert opened  # every opening of the report is in the audit log


def test_the_same_rules_as_the_card_a_closed_report_reopens_only_for_a_lead(
    site: Site, dispatcher, db: Database
) -> None:
    code = _file(Chat(dispatcher, user="r-closed"))
    officer = site.signed_in("officer")
    officer.post(f"/reports/{code}/act", {"action": "spam", "note": "Tin nhắn rác quảng cáo"})
    assert 'value="reopen"' not in officer.get(f"/reports/{code}").text
    refused = officer.post(f"/reports/{code}/act", {"action": "reopen"})
    assert "Chỉ lãnh đạo" in officer.get(refused.headers["location"]).text
    lead = site.signed_in("lead")
    assert 'value="reopen"' in lead.get(f"/reports/{code}").text
    lead.post(f"/reports/{code}/act", {"action": "reopen"})
    with db.transaction() as session:
        assert session.exec(select(Report)).one().status == "dang_xac_minh"


def test_a_redirect_cannot_be_made_to_say_anything(site: Site) -> None:
    browser = site.signed_in("officer")
    page = browser.get("/reports?said=Gọi+ngay+0909000000&sig=0000")
    assert "0909000000" not in page.text


def test_search_finds_codes_identifiers_in_any_spelling_and_words_without_accents(
    site: Site, dispatcher
) -> None:
    code = _file(
        Chat(dispatcher, user="r-search"),
        account="Kẻ lừa đảo gọi từ số 0912 345 678, nói là nhân viên ngân hàng",
        identifiers=["0912345678", "https://www.vcb-hotro.com/xac-minh"],
    )
    browser = site.signed_in("officer")
    assert browser.get(f"/search?q={code.lower()}").headers["location"] == f"/reports/{code}"
    for spelling in ["0912 345 678", "+84912345678", "84912345678", "0912.345.678"]:
        assert code in browser.get("/search", params={"q": spelling}).text, spelling
    for spelling in [
        "vcb-hotro.com/xac-minh",
        "http://vcb-hotro.com/xac-minh",
        "www.vcb-hotro.com/xac-minh",
    ]:
        assert code in browser.get("/search", params={"q": spelling}).text, spelling
    assert code in browser.get("/search", params={"q": "lua dao ngan hang"}).text
    assert code not in browser.get("/search", params={"q": "chuyen khoan bitcoin"}).text


def test_an_identifier_is_confirmed_alone_with_a_reason_and_can_be_withdrawn(
    site: Site, dispatcher, db: Database
) -> None:
    _file(Chat(dispatcher, user="r-ident"), identifiers=["0912345678", "0987654321"])
    with db.transaction() as session:
        scammer = session.exec(select(Identifier).where(Identifier.value == "+84912345678")).one()
    browser = site.signed_in("officer", "Vũ Minh")
    short = browser.post(f"/identifiers/{scammer.id}/confirm", {"reason": "?"})
    assert "Mời ghi lý do" in browser.get(short.headers["location"]).text
    browser.post(f"/identifiers/{scammer.id}/confirm", {"reason": "Đã xác minh với nhà mạng"})
    with db.transaction() as session:
        rows = {i.value: i for i in session.exec(select(Identifier)).all()}
        assert rows["+84912345678"].confirmed_scam
        assert not rows["+84987654321"].confirmed_scam  # the other one is untouched
    page = browser.get(f"/identifiers/{scammer.id}").text
    assert "Đã xác minh với nhà mạng" in page and "Vũ Minh" in page
    browser.post(f"/identifiers/{scammer.id}/withdraw", {"reason": "Số đã đổi chủ"})
    with db.transaction() as session:
        assert not session.get(Identifier, scammer.id).confirmed_scam  # type: ignore[union-attr]
    assert "Số đã đổi chủ" in browser.get(f"/identifiers/{scammer.id}").text


def test_evidence_photos_are_for_signed_in_officers_only(
    site: Site, dispatcher, db: Database
) -> None:
    chat = Chat(dispatcher, user="r-photo", photos=True)
    code = _file(chat, photos=[b"\x89PNG anh chup man hinh"])
    officer = site.signed_in("officer")
    page = officer.get(f"/reports/{code}").text
    src = page.split('src="/photos/')[1].split('"')[0]
    photo = officer.get(f"/photos/{src}")
    assert photo.status_code == 200 and photo.content == b"\x89PNG anh chup man hinh"
    assert photo.headers["cache-control"] == "no-store"
    assert site.browser().get(f"/photos/{src}").status_code == 303
    assert site.signed_in("staff").get(f"/photos/{src}").status_code == 403


def test_an_officer_links_zalo_and_hears_of_new_reports_there(
    site: Site, dispatcher, db: Database
) -> None:
    import re

    browser = site.signed_in("officer", "Ngô Thanh")
    page = browser.post("/account/zalo", {})
    code = re.search(r"/lienket ([2-9A-Z]{4}-[2-9A-Z]{4})", page.text)
    assert code, page.text
    on_telegram = Chat(dispatcher, channel="telegram", user="777")
    assert "Official Account" in on_telegram.send(f"/lienket {code.group(1)}")[0].text
    on_zalo = Chat(dispatcher, channel="zalo_oa", user="zalo-thanh")
    assert "không hợp lệ" in on_zalo.send("/lienket ABCD-2345")[0].text
    assert "Đã liên kết" in on_zalo.send(f"/lienket {code.group(1).lower()}")[0].text
    assert "không hợp lệ" in on_zalo.send(f"/lienket {code.group(1)}")[0].text  # once only
    filed = _file(Chat(dispatcher, user="r-zalo-link"))
    with db.transaction() as session:
        told = session.exec(select(Outbox).where(Outbox.recipient == "zalo-thanh")).all()
        assert [row.channel for row in told if filed in row.payload["text"]] == ["zalo_oa"]


def test_a_duplicate_names_an_existing_other_report(site: Site, dispatcher, db: Database) -> None:
    first = _file(Chat(dispatcher, user="r-dup-1"))
    second = _file(Chat(dispatcher, user="r-dup-2"))
    browser = site.signed_in("officer")
    for wrong in ("không rõ", second, "ABCD-2345"):
        answer = browser.post(f"/reports/{second}/act", {"action": "dup", "note": wrong})
        assert "mã của một tố giác khác" in browser.get(answer.headers["location"]).text
    browser.post(f"/reports/{second}/act", {"action": "dup", "note": first.lower()})
    with db.transaction() as session:
        report = session.exec(select(Report).where(Report.receipt_code == second)).one()
        assert report.status == "trung"
    assert f"trùng với {first}" in browser.get(f"/reports/{second}").text
