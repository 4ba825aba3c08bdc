"""Broadcasts in the web console, over HTTP: staff compose with a photo and a link and see
the alert as residents will, leads approve or reject with a reason and the author is told,
cancelling stops at the start of sending, and the broadcaster then sends what was approved."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlmodel import col, select

import content
from bot.broadcaster import Broadcaster
from db import broadcasts
from db.clock import VIETNAM
from db.engine import Database
from db.models import AuditEvent, Broadcast, Delivery, Officer, Outbox, Resident
from handlers import alerts
from tests.conftest import Clock
from tests.console_site import Browser, Site, serving

ALERT = "Cảnh giác cuộc gọi tự xưng công an yêu cầu chuyển tiền để xác minh tài khoản."
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(64)
LINK = "https://canhbao.khonggianmang.gov.vn/tin/123"
_people = itertools.count(80_000)


@pytest.fixture
def site(db: Database, clock: Clock) -> Iterator[Site]:
    # The broadcaster reads the real clock: the console's starts just behind it.
    clock.now = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    with serving(db, clock) as running:
        yield running


def _subscribe(db: Database, count: int, channel: str = "telegram", area: str | None = None):
    with db.transaction() as session:
        for _ in range(count):
            session.add(
                Resident(
                    channel=channel,
                    user_id=str(next(_people)),
                    subscribed=True,
                    area=area,
                    created_at=datetime.now(UTC),
                )
            )


def _person(site: Site, role: str, name: str) -> tuple[Officer, Browser]:
    """An officer signed in to the console who takes notices on their linked Zalo."""
    officer = site.officer(role, name)
    with site.db.transaction() as session:
        stored = session.get(Officer, officer.id)
        assert stored is not None
        stored.zalo_id, stored.notify_by = f"zalo-{role}-{officer.id}", ["zalo"]
    browser = site.browser()
    browser.sign_in(officer)
    return officer, browser


def _told(db: Database, officer: Officer) -> list[str]:
    with db.transaction() as session:
        rows = session.exec(
            select(Outbox).where(Outbox.recipient == f"zalo-{officer.role}-{officer.id}")
        ).all()
        return [row.payload["text"] for row in rows]


def _compose(
    browser: Browser, photo: bytes | None = None, token: str | None = None, **fields: str
) -> httpx.Response:
    """The compose form as a browser posts it (an empty file part when no photo is chosen)."""
    form = {
        "csrf": browser.csrf("/broadcasts/new") if token is None else token,
        "text": ALERT,
        "link_url": "",
        "link_label": "",
        "audience": "all",
        "when": "now",
        "day": "",
        "hour": "",
        **fields,
    }
    chosen = ("canh-bao.png", photo, "image/png") if photo is not None else ("", b"")
    return browser.http.post("/broadcasts", data=form, files={"photo": chosen})


def _drafted(browser: Browser, **fields: str) -> int:
    answer = _compose(browser, **fields)  # type: ignore[arg-type]
    assert answer.status_code == 303, answer.text
    return int(answer.headers["location"].rsplit("/", 1)[1])


def _submitted(browser: Browser, **fields: str) -> int:
    number = _drafted(browser, **fields)
    assert browser.post(f"/broadcasts/{number}/submit", {}).status_code == 303
    return number


def _get(db: Database, number: int) -> Broadcast:
    with db.transaction() as session:
        found = session.get(Broadcast, number)
        assert found is not None
        return found


def _count(db: Database) -> int:
    with db.transaction() as session:
        return len(session.exec(select(Broadcast.id)).all())


def _audited(db: Database, action: str) -> list[str]:
    with db.transaction() as session:
        rows = session.exec(select(AuditEvent).where(AuditEvent.action == action)).all()
        return [row.detail or "" for row in rows]


def _said(browser: Browser, answer: httpx.Response) -> str:
    assert answer.status_code == 303, answer.text
    return browser.get(answer.headers["location"]).text


async def _deliver(db: Database, number: int) -> list[tuple[str, Broadcast]]:
    """The broadcaster at work until the broadcast is done, sending to a recorder."""
    received: list[tuple[str, Broadcast]] = []

    async def send(delivery: Delivery, broadcast: Broadcast) -> None:
        received.append((delivery.recipient, broadcast))

    worker = Broadcaster(
        db, {"telegram": send}, rate=1000, batch=10, idle_seconds=0.05, content=content.load()
    )
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop))
    try:
        for _ in range(300):
            if _get(db, number).status == broadcasts.DONE:
                return received
            await asyncio.sleep(0.05)
        raise AssertionError("the broadcast did not finish")
    finally:
        stop.set()
        await task


def test_staff_compose_with_a_photo_and_link_a_lead_approves_and_it_goes_out(
    site: Site, db: Database
) -> None:
    _subscribe(db, 3)
    _subscribe(db, 1, area="bac-gia-nghia")
    with db.transaction() as session:
        session.add(Resident(channel="telegram", user_id="gone", subscribed=False))
    staff, writer = _person(site, "staff", "Cán bộ Tuyên truyền Mai")
    lead, approver = _person(site, "lead", "Lãnh đạo Phường Hùng")

    # The form, with the audience's size shown without script, and live for it.
    form = writer.get("/broadcasts/new")
    assert form.status_code == 200 and "Hiện có 4 người nhận" in form.text
    for field in ("text", "photo", "link_url", "link_label", "audience", "day", "hour"):
        assert f'<label for="{field}"' in form.text
    assert writer.get("/broadcasts/reach?audience=area:bac-gia-nghia").json()["reach"] == 1
    assert writer.get("/broadcasts/reach?audience=nowhere").status_code == 400

    answer = _compose(writer, PNG, link_url=LINK, link_label="Xem chi tiết")
    assert answer.status_code == 303
    number = int(answer.headers["location"].rsplit("/", 1)[1])
    # The preview: exactly what residents get (alerts.render), with the audience's size.
    preview = writer.get(f"/broadcasts/{number}").text
    assert "Xem trước" in preview and "<b>Cảnh báo từ Công an phường</b>" in preview
    assert ALERT in preview and f'src="/broadcasts/{number}/photo"' in preview
    assert f'href="{LINK}"' in preview and "Xem chi tiết" in preview
    assert "Hủy đăng ký" in preview and "hiện có <b>4</b> người" in preview
    photo = writer.get(f"/broadcasts/{number}/photo")
    assert photo.content == PNG and photo.headers["content-type"] == "image/png"
    # A draft is its writer's alone, and nobody is asked about it yet.
    assert approver.get(f"/broadcasts/{number}").status_code == 404
    assert not _told(db, lead)

    submitted = writer.post(f"/broadcasts/{number}/submit", {})
    assert "Đã gửi lãnh đạo duyệt" in _said(writer, submitted)
    assert _get(db, number).status == broadcasts.PENDING_APPROVAL
    asked = _told(db, lead)
    assert any("chờ duyệt" in t and "hiện có 4 người" in t for t in asked)
    assert any(ALERT in t for t in asked)  # the preview itself
    assert _audited(db, "broadcast_submit") == [f"#{number}"]

    # Staff write, leads decide.
    assert writer.post(f"/broadcasts/{number}/approve", {}).status_code == 403
    assert _get(db, number).status == broadcasts.PENDING_APPROVAL
    page = approver.get(f"/broadcasts/{number}").text
    assert "Duyệt" in page and "Lý do từ chối" in page
    approved = approver.post(f"/broadcasts/{number}/approve", {})
    assert "Đã duyệt bản tin" in _said(approver, approved)
    assert _get(db, number).status == broadcasts.APPROVED
    assert any("đã được duyệt" in t for t in _told(db, staff))
    assert _audited(db, "broadcast_approve") == [f"#{number}"]
    again = approver.post(f"/broadcasts/{number}/approve", {})
    assert "đã ở trạng thái" in _said(approver, again)

    # The broadcaster sends it, photo and link, to subscribers only.
    received = asyncio.run(_deliver(db, number))
    assert len(received) == 4 and "gone" not in {r for r, _ in received}
    sent = received[0][1]
    assert sent.photo == PNG and sent.link_url == LINK
    assert ALERT in alerts.render(content.load(), sent).text
    progress = writer.get(f"/broadcasts/{number}/progress").json()
    assert progress["status"] == broadcasts.DONE and progress["sent"] == 4
    assert progress["remaining"] == 0 and not progress["live"]
    assert "Đã gửi xong" in writer.get(f"/broadcasts/{number}").text
    # Too late to cancel now.
    late = approver.post(f"/broadcasts/{number}/cancel", {})
    assert "không hủy được nữa" in _said(approver, late)
    assert _get(db, number).status == broadcasts.DONE


def test_a_rejection_needs_a_reason_and_the_author_is_told_it(site: Site, db: Database) -> None:
    staff, writer = _person(site, "staff", "Cán bộ Lan")
    _, approver = _person(site, "lead", "Lãnh đạo Minh")
    number = _submitted(writer)
    empty = approver.post(f"/broadcasts/{number}/reject", {"reason": " ?! "})
    assert empty.status_code == 400 and "Lý do quá ngắn" in empty.text
    assert _get(db, number).status == broadcasts.PENDING_APPROVAL
    reason = "Cần ghi rõ số điện thoại đối tượng"
    rejected = approver.post(f"/broadcasts/{number}/reject", {"reason": reason})
    assert "Đã từ chối" in _said(approver, rejected)
    found = _get(db, number)
    assert found.status == broadcasts.REJECTED and found.reason == reason
    assert any(reason in t and "không được duyệt" in t for t in _told(db, staff))
    assert reason in writer.get(f"/broadcasts/{number}").text
    assert _audited(db, "broadcast_reject") == [f"#{number}: {reason}"]


def test_cancelling_is_for_the_author_or_a_lead_until_sending_starts(
    site: Site, db: Database
) -> None:
    _subscribe(db, 2)
    _, writer = _person(site, "staff", "Cán bộ Hòa")
    _, other = _person(site, "staff", "Cán bộ Khác")
    _, approver = _person(site, "lead", "Lãnh đạo Sơn")
    first = _submitted(writer)
    refused = other.post(f"/broadcasts/{first}/cancel", {})
    assert "Chỉ người viết hoặc lãnh đạo" in _said(other, refused)
    assert _get(db, first).status == broadcasts.PENDING_APPROVAL
    assert "Đã hủy bản tin" in _said(writer, writer.post(f"/broadcasts/{first}/cancel", {}))
    assert _get(db, first).status == broadcasts.CANCELLED
    assert _audited(db, "broadcast_cancel") == [f"#{first}"]
    # Approved for later: a lead may still cancel it.
    later = (site.clock() + timedelta(days=2)).astimezone(VIETNAM)
    second = _submitted(writer, when="later", day=later.date().isoformat(), hour="08:00")
    approver.post(f"/broadcasts/{second}/approve", {})
    assert "Đã hủy" in _said(approver, approver.post(f"/broadcasts/{second}/cancel", {}))
    assert _get(db, second).status == broadcasts.CANCELLED
    # Once sending has started, nobody can.
    third = _submitted(writer)
    approver.post(f"/broadcasts/{third}/approve", {})
    with db.transaction() as session:
        assert broadcasts.start_due(session, site.clock()) == [third]
    late = writer.post(f"/broadcasts/{third}/cancel", {})
    assert "không hủy được nữa" in _said(writer, late)
    assert _get(db, third).status == broadcasts.SENDING
    # A draft is simply dropped by its writer.
    draft = _drafted(writer)
    dropped = writer.post(f"/broadcasts/{draft}/cancel", {})
    assert dropped.headers["location"].startswith("/broadcasts?")
    with db.transaction() as session:
        assert session.get(Broadcast, draft) is None


def test_officers_cannot_compose_and_staff_cannot_decide_or_see_reports(
    site: Site, db: Database
) -> None:
    officer = site.signed_in("officer")
    assert officer.get("/broadcasts").status_code == 403
    assert officer.get("/broadcasts/new").status_code == 403
    assert _compose(officer, token=officer.csrf()).status_code == 403
    assert _count(db) == 0
    _, writer = _person(site, "staff", "Cán bộ Thu")
    number = _submitted(writer)
    assert officer.get(f"/broadcasts/{number}").status_code == 403
    assert officer.post(f"/broadcasts/{number}/approve", {}).status_code == 403
    assert writer.post(f"/broadcasts/{number}/approve", {}).status_code == 403
    assert (
        writer.post(f"/broadcasts/{number}/reject", {"reason": "Không ổn chút nào"}).status_code
        == 403
    )
    assert _get(db, number).status == broadcasts.PENDING_APPROVAL
    assert writer.get("/reports").status_code == 403
    assert writer.get("/").headers["location"] == "/broadcasts"


def test_a_form_without_its_token_is_refused(site: Site, db: Database) -> None:
    _, writer = _person(site, "staff", "Cán bộ Nga")
    _, approver = _person(site, "lead", "Lãnh đạo Tâm")
    assert _compose(writer, token="").status_code == 403
    assert _compose(writer, token="x" * 43).status_code == 403
    assert _count(db) == 0
    number = _submitted(writer)
    assert approver.post(f"/broadcasts/{number}/approve", {}, token="").status_code == 403
    assert writer.post(f"/broadcasts/{number}/cancel", {}, token="").status_code == 403
    assert _get(db, number).status == broadcasts.PENDING_APPROVAL


def _yesterday(site: Site) -> str:
    return (site.clock() - timedelta(days=1)).astimezone(VIETNAM).date().isoformat()


@pytest.mark.parametrize(
    ("case", "complaint"),
    [
        ("empty text", "Nội dung quá ngắn"),
        ("text too long", "Nội dung dài quá 3500 ký tự"),
        ("a time in the past", "Thời điểm phải ở tương lai"),
        ("too far ahead", "trong vòng 60 ngày"),
        ("no time at all", "Mời nhập ngày và giờ gửi"),
        ("not an image", "Ảnh phải là tệp JPEG hoặc PNG"),
        ("photo too big", "Ảnh quá lớn"),
        ("not a link", "Đường link cần bắt đầu bằng https://"),
        ("a label alone", "Tên nút cần đi kèm đường link"),
        ("no such audience", "Mời chọn nhóm người nhận"),
    ],
)
def test_bad_input_is_answered_in_vietnamese_keeping_what_was_typed(
    site: Site, db: Database, case: str, complaint: str
) -> None:
    _, writer = _person(site, "staff", "Cán bộ Vân")
    far = (site.clock() + timedelta(days=61)).astimezone(VIETNAM).date().isoformat()
    photo: bytes | None = None
    fields: dict[str, str] = {}
    if case == "empty text":
        fields = {"text": "  \r\n ", "link_url": LINK}
    elif case == "text too long":
        fields = {"text": "Cảnh báo " * 400}
    elif case == "a time in the past":
        fields = {"when": "later", "day": _yesterday(site), "hour": "09:00"}
    elif case == "too far ahead":
        fields = {"when": "later", "day": far, "hour": "09:00"}
    elif case == "no time at all":
        fields = {"when": "later", "day": "", "hour": ""}
    elif case == "not an image":
        photo = b"GIF89a" + bytes(100)
    elif case == "photo too big":
        photo = PNG + bytes(1000 * 1024)
    elif case == "not a link":
        fields = {"link_url": "javascript:alert(1)"}
    elif case == "a label alone":
        fields = {"link_label": "Xem thêm"}
    elif case == "no such audience":
        fields = {"audience": "area:hanoi"}
    answer = _compose(writer, photo, **fields)
    assert answer.status_code == 400 and complaint in answer.text
    kept = LINK if case == "empty text" else fields.get("text", ALERT).strip()
    assert kept in answer.text  # what was typed is given back
    assert _count(db) == 0


def test_a_body_over_the_limit_is_refused_in_vietnamese(site: Site, db: Database) -> None:
    _, writer = _person(site, "staff", "Cán bộ Hạnh")
    answer = _compose(writer, PNG + bytes(2 * 1024 * 1024))
    assert answer.status_code == 413 and "quá lớn" in answer.text
    assert _count(db) == 0


def test_a_draft_is_edited_and_keeps_its_photo(site: Site, db: Database) -> None:
    _, writer = _person(site, "staff", "Cán bộ Yến")
    answer = _compose(writer, PNG)
    number = int(answer.headers["location"].rsplit("/", 1)[1])
    form = writer.get(f"/broadcasts/new?draft={number}").text
    assert ALERT in form and f'name="draft" value="{number}"' in form
    changed = _compose(writer, draft=str(number), text=ALERT + " Gọi 113 khi nghi ngờ.")
    assert changed.headers["location"] == f"/broadcasts/{number}"
    found = _get(db, number)
    assert found.text.endswith("Gọi 113 khi nghi ngờ.") and found.photo == PNG
    assert found.status == broadcasts.DRAFT and _count(db) == 1
    _compose(writer, draft=str(number), drop_photo="1")
    assert _get(db, number).photo is None
    # Someone else's draft is not theirs to see or change.
    _, other = _person(site, "staff", "Cán bộ Khác")
    assert other.get(f"/broadcasts/new?draft={number}").status_code == 404
    assert _compose(other, draft=str(number)).status_code == 404


def test_leads_see_what_awaits_them_first(site: Site, db: Database) -> None:
    _, writer = _person(site, "staff", "Cán bộ Phương")
    _, approver = _person(site, "lead", "Lãnh đạo Quang")
    waiting = _submitted(writer)
    newer = _submitted(writer)
    approver.post(f"/broadcasts/{newer}/approve", {})
    listed = approver.get("/broadcasts").text
    assert listed.index(f'href="/broadcasts/{waiting}"') < listed.index(
        f'href="/broadcasts/{newer}"'
    )
    assert "Chờ duyệt" in listed and "Cán bộ Phương" in listed
    mine = writer.get("/broadcasts").text  # staff: newest first
    assert mine.index(f'href="/broadcasts/{newer}"') < mine.index(f'href="/broadcasts/{waiting}"')
    with db.transaction() as session:
        assert session.exec(select(Broadcast).where(col(Broadcast.id) == waiting)).one()
