"""Web Push to officers' browsers: the RFC 8291 encryption against the RFC's own example, and
the channel against a stand-in push service that checks VAPID and decrypts as a browser."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import text, update
from sqlmodel import col, select

from bot import webpush
from bot.outbox_sender import OutboxSender, Rejected, RetryLater
from bot.webpush import Vapid, WebPushChannel
from db import officers, push
from db.clock import utcnow
from db.engine import Database
from db.models import AppSecret, Outbox, PushSubscription
from tests.fakes.push_service import Browser, FakePushService

SUBJECT = "mailto:canhgiac@example.vn"

# RFC 8291 Appendix A (and §5), with the line breaks taken out.
RFC = {
    "plaintext": b"When I grow up, I want to be a watermelon",
    "as_private": "yfWPiYE-n46HLnH0KqZOF1fJJU3MYrct3AELtAQ-oRw",
    "as_public": (
        "BP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A8"
    ),
    "ua_private": "q1dXpw3UpT5VOmu_cf_v6ih07Aems3njxI-JWgLcM94",
    "ua_public": (
        "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4"
    ),
    "salt": "DGv6ra1nlYgDCS1FRnbzlw",
    "auth": "BTBZMqHH6r4Tts7J_aSIgg",
    "message": (
        "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocIn"
        "mYWAmS6TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPTpK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNW"
        "QexSgSxsj_Qulcy4a-fN"
    ),
}

NOTICE = {
    "title": "Tố giác mới KHẨN: lừa đảo đầu tư",
    "body": "Người dân báo bị chiếm đoạt 45.000.000 đ qua Zalo. Cần xử lý trong 24 giờ.",
    "url": "/console/reports/ABCD-1234",
    "tag": "report-ABCD-1234",
    "urgent": True,
}


# --- fixtures and helpers ---------------------------------------------------------------------


@pytest.fixture
def service() -> Iterator[FakePushService]:
    server = FakePushService().start()
    yield server
    server.stop()


@pytest.fixture
async def channel(db: Database) -> AsyncIterator[WebPushChannel]:
    sender = WebPushChannel(db=db, subject=SUBJECT, timeout=5.0)
    await sender.start()
    yield sender
    await sender.stop()


def _officer(db: Database, name: str = "Trung úy Lê Văn Minh") -> int:
    with db.transaction() as session:
        officer_id = officers.add(session, name, officers.OFFICER, None).id
    assert officer_id is not None
    return officer_id


def _subscribe(db: Database, officer_id: int, browser: Browser) -> None:
    with db.transaction() as session:
        push.save(session, officer_id, browser.endpoint, browser.p256dh, browser.auth, utcnow())


async def _browser(
    db: Database, service: FakePushService, channel: WebPushChannel, officer_id: int
) -> Browser:
    """A browser of the officer's, subscribed with the app's key as the console would."""
    browser = service.subscribe((await channel.vapid()).public_key)
    _subscribe(db, officer_id, browser)
    return browser


def _notice(db: Database, officer_id: int, payload: dict[str, Any] | None = None) -> int:
    with db.transaction() as session:
        row = Outbox(
            channel="webpush",
            recipient=str(officer_id),
            kind="notice",
            payload=payload or NOTICE,
            next_attempt_at=utcnow() - timedelta(seconds=1),
        )
        session.add(row)
        session.flush()
        assert row.id is not None
        return row.id


def _row(db: Database, row_id: int) -> Outbox:
    with db.transaction() as session:
        row = session.get(Outbox, row_id)
        assert row is not None
        return row


def _subscriptions(db: Database, officer_id: int) -> list[PushSubscription]:
    with db.transaction() as session:
        return push.for_officer(session, officer_id)


def _sender(db: Database, channel: WebPushChannel) -> OutboxSender:
    return OutboxSender(db, {"webpush": channel.send_outbox})


# --- RFC 8291 ---------------------------------------------------------------------------------


def test_encryption_reproduces_rfc_8291_appendix_a_byte_for_byte() -> None:
    sender = webpush.private_from_b64url(RFC["as_private"])
    assert webpush.b64url(webpush.public_bytes(sender)) == RFC["as_public"]
    body = webpush.encrypt(
        RFC["plaintext"],
        RFC["ua_public"],
        RFC["auth"],
        sender=sender,
        salt=webpush.unb64url(RFC["salt"]),
    )
    assert webpush.b64url(body) == RFC["message"]
    # The stand-in's browser, written apart from bot/webpush.py, reads the RFC's message.
    browser = Browser(
        id="rfc",
        endpoint="",
        private_key=webpush.private_from_b64url(RFC["ua_private"]),
        auth_secret=webpush.unb64url(RFC["auth"]),
    )
    assert browser.p256dh == RFC["ua_public"]
    assert browser.decrypt(webpush.unb64url(RFC["message"])) == RFC["plaintext"]


def test_each_push_has_its_own_key_and_salt() -> None:
    first = webpush.encrypt(b"x", RFC["ua_public"], RFC["auth"])
    second = webpush.encrypt(b"x", RFC["ua_public"], RFC["auth"])
    assert first[:16] != second[:16] and first[21:86] != second[21:86]
    assert first[16:21] == (4096).to_bytes(4, "big") + bytes([65])


def test_vapid_audience_is_the_endpoints_origin_and_the_token_lives_under_a_day() -> None:
    assert webpush.origin("https://fcm.googleapis.com/fcm/send/abc") == "https://fcm.googleapis.com"
    assert webpush.origin("https://Push.Example:443/x") == "https://push.example"
    assert webpush.origin("http://127.0.0.1:8123/push/1") == "http://127.0.0.1:8123"
    with pytest.raises(ValueError):
        Vapid(ec.generate_private_key(ec.SECP256R1())).authorization(
            "https://push.example/x", SUBJECT, time.time(), lifetime=86401
        )
    with pytest.raises(ValueError):
        WebPushChannel(db=None, subject="canhgiac@example.vn")  # type: ignore[arg-type]


# --- delivery through the stand-in ----------------------------------------------------------


async def test_a_notice_reaches_every_browser_of_the_officer_decrypted(
    db: Database, service: FakePushService, channel: WebPushChannel
) -> None:
    officer_id = _officer(db)
    phone = await _browser(db, service, channel, officer_id)
    desk = await _browser(db, service, channel, officer_id)
    other = await _browser(db, service, channel, _officer(db, "Đại úy Trần Thị Hoa"))
    row_id = _notice(db, officer_id)

    assert await _sender(db, channel).drain_once() == 1

    assert service.messages_to(phone) == [NOTICE]
    assert service.messages_to(desk) == [NOTICE]
    assert service.messages_to(other) == []
    assert {p.urgency for p in service.received} == {"high"}
    assert {p.ttl for p in service.received} == {webpush.TTL}
    assert _row(db, row_id).status == "sent"
    assert all(s.last_ok_at is not None for s in _subscriptions(db, officer_id))


async def test_a_routine_notice_is_normal_urgency(
    db: Database, service: FakePushService, channel: WebPushChannel
) -> None:
    officer_id = _officer(db)
    browser = await _browser(db, service, channel, officer_id)
    await channel.send_outbox(_row(db, _notice(db, officer_id, {**NOTICE, "urgent": False})))
    assert service.messages_to(browser) == [{**NOTICE, "urgent": False}]
    assert service.received[0].urgency == "normal"


async def test_a_notice_too_long_for_one_push_is_cut_not_lost(
    db: Database, service: FakePushService, channel: WebPushChannel
) -> None:
    officer_id = _officer(db)
    browser = await _browser(db, service, channel, officer_id)
    long_body = "Nội dung tố giác rất dài. " * 400
    await channel.send_outbox(_row(db, _notice(db, officer_id, {**NOTICE, "body": long_body})))
    [message] = service.messages_to(browser)
    assert message["body"].endswith("…") and long_body.startswith(message["body"][:-1])
    assert message["url"] == NOTICE["url"]


# --- the stand-in checks what a push service checks -------------------------------------------


async def test_the_stand_in_refuses_a_push_signed_with_another_key(
    db: Database, service: FakePushService, channel: WebPushChannel
) -> None:
    """A browser subscribed under another application server key (say, before the key was
    lost): the service refuses our pushes to it, so the notice goes nowhere."""
    officer_id = _officer(db)
    elsewhere = Vapid(ec.generate_private_key(ec.SECP256R1()))
    browser = service.subscribe(elsewhere.public_key)
    _subscribe(db, officer_id, browser)
    row_id = _notice(db, officer_id)

    await _sender(db, channel).drain_once()

    assert service.messages_to(browser) == []
    assert [r.status for r in service.refused] == [403]
    row = _row(db, row_id)
    assert row.status == "failed" and "403" in (row.last_error or "")
    assert len(_subscriptions(db, officer_id)) == 1  # refused, not gone: kept


def test_the_stand_in_checks_the_vapid_token_itself(service: FakePushService) -> None:
    """Forged, misaddressed, expired or too long-lived tokens, and a body that does not
    decrypt, are all refused; the same push done right is taken."""
    ours = Vapid(ec.generate_private_key(ec.SECP256R1()))
    thief = Vapid(ec.generate_private_key(ec.SECP256R1()))
    browser = service.subscribe()
    body = webpush.encrypt(b'{"title": "x"}', browser.p256dh, browser.auth)
    now = time.time()

    def post(authorization: str, content: bytes = body) -> int:
        headers = {"TTL": "60", "Content-Encoding": "aes128gcm", "Authorization": authorization}
        return httpx.post(browser.endpoint, content=content, headers=headers).status_code

    good = ours.authorization(browser.endpoint, SUBJECT, now)
    token = good.split("t=")[1].split(",")[0]
    forged = f"vapid t={thief.authorization(browser.endpoint, SUBJECT, now).split('t=')[1]}"
    forged = forged.split(", k=")[0] + f", k={ours.public_key}"  # thief's token, our key
    tampered = bytearray(body)
    tampered[-1] ^= 1
    assert post(forged) == 401
    assert post(f"vapid t={token}, k={thief.public_key}") == 401
    assert post(ours.authorization("https://push.example/x", SUBJECT, now)) == 401
    assert post(ours.authorization(browser.endpoint, SUBJECT, now - 7200, lifetime=3600)) == 401
    assert post(ours.authorization(browser.endpoint, SUBJECT, now + 7200, lifetime=86400)) == 401
    assert post(ours.authorization(browser.endpoint, "canhgiac@example.vn", now)) == 401
    assert post(f"WebPush {token}") == 401
    assert post(good, bytes(tampered)) == 400
    assert service.received == []
    reasons = [r.reason for r in service.refused]
    assert "signature does not verify" in reasons[0] and "aud" in reasons[2]
    assert "expired" in reasons[3] and "24 hours" in reasons[4]

    assert post(good) == 201
    assert service.messages_to(browser) == [{"title": "x"}]


# --- what the service answers -----------------------------------------------------------------


async def test_a_gone_subscription_is_forgotten_and_the_others_still_get_the_notice(
    db: Database, service: FakePushService, channel: WebPushChannel
) -> None:
    officer_id = _officer(db)
    old = await _browser(db, service, channel, officer_id)
    new = await _browser(db, service, channel, officer_id)
    service.unsubscribe(old)
    first = _notice(db, officer_id)

    await _sender(db, channel).drain_once()

    assert _row(db, first).status == "sent"
    assert service.messages_to(new) == [NOTICE]
    assert [s.endpoint for s in _subscriptions(db, officer_id)] == [new.endpoint]

    service.unsubscribe(new)
    second = _notice(db, officer_id)
    await _sender(db, channel).drain_once()
    row = _row(db, second)
    assert row.status == "failed"  # nothing left to deliver to: not retried, not blocked
    assert _subscriptions(db, officer_id) == []
    with pytest.raises(Rejected):  # and from now on there is no one to send to
        await channel.send_outbox(_row(db, _notice(db, officer_id)))


async def test_429_waits_as_long_as_the_service_asks_then_delivers(
    db: Database, service: FakePushService, channel: WebPushChannel
) -> None:
    officer_id = _officer(db)
    browser = await _browser(db, service, channel, officer_id)
    service.answer(browser, 429, retry_after="120")
    row_id = _notice(db, officer_id)
    before = utcnow()

    await _sender(db, channel).drain_once()

    row = _row(db, row_id)
    assert row.status == "pending" and row.attempts == 1 and "429" in (row.last_error or "")
    due = row.next_attempt_at.replace(tzinfo=row.next_attempt_at.tzinfo or UTC)
    assert before + timedelta(seconds=115) <= due <= utcnow() + timedelta(seconds=125)
    assert service.messages_to(browser) == []
    assert await _sender(db, channel).drain_once() == 0  # not due yet

    with db.transaction() as session:  # two minutes later
        session.execute(
            update(Outbox)
            .where(col(Outbox.id) == row_id)
            .values(next_attempt_at=utcnow() - timedelta(seconds=1))
        )
    assert await _sender(db, channel).drain_once() == 1
    assert _row(db, row_id).status == "sent"
    assert service.messages_to(browser) == [NOTICE]
    assert len(_subscriptions(db, officer_id)) == 1


async def test_a_server_error_retries_with_backoff_and_keeps_the_subscription(
    db: Database, service: FakePushService, channel: WebPushChannel
) -> None:
    officer_id = _officer(db)
    browser = await _browser(db, service, channel, officer_id)
    service.answer(browser, 500)
    service.answer(browser, 503, retry_after="Wed, 21 Oct 2065 07:28:00 GMT")
    with pytest.raises(RetryLater) as error:
        await channel.send_outbox(_row(db, _notice(db, officer_id)))
    assert error.value.after is None and "500" in error.value.reason
    with pytest.raises(RetryLater) as error:
        await channel.send_outbox(_row(db, _notice(db, officer_id)))
    assert error.value.after is not None and error.value.after > 30 * 365 * 86400
    assert len(_subscriptions(db, officer_id)) == 1


async def test_an_unreachable_push_service_is_retried(
    db: Database, channel: WebPushChannel
) -> None:
    officer_id = _officer(db)
    with db.transaction() as session:
        key = ec.generate_private_key(ec.SECP256R1())
        browser = Browser("x", "http://127.0.0.1:9/push/x", key, b"0" * 16)
        push.save(session, officer_id, browser.endpoint, browser.p256dh, browser.auth, utcnow())
    with pytest.raises(RetryLater) as error:
        await channel.send_outbox(_row(db, _notice(db, officer_id)))
    assert "unreachable" in error.value.reason


async def test_an_officer_without_a_subscription_is_rejected_never_blocked(
    db: Database, channel: WebPushChannel
) -> None:
    officer_id = _officer(db)
    row_id = _notice(db, officer_id)
    with pytest.raises(Rejected):
        await channel.send_outbox(_row(db, row_id))
    await _sender(db, channel).drain_once()
    row = _row(db, row_id)
    assert row.status == "failed" and row.attempts == 0


# --- subscriptions ----------------------------------------------------------------------------


def test_a_browser_subscribing_again_or_for_another_officer_is_one_row(db: Database) -> None:
    first, second = _officer(db), _officer(db, "Thiếu tá Phạm Quốc Bảo")
    endpoint = "https://push.example/send/abc"
    now = utcnow()
    with db.transaction() as session:
        push.save(session, first, endpoint, "key-1", "auth-1", now)
        again = push.save(session, first, endpoint, "key-2", "auth-2", now)
        assert (again.p256dh, again.auth, again.officer_id) == ("key-2", "auth-2", first)
        assert again.endpoint_hash == push.endpoint_hash(endpoint)
    with db.transaction() as session:
        taken = push.save(session, second, endpoint, "key-3", "auth-3", now)
        assert taken.officer_id == second
        assert push.count(session) == 1 and push.count(session, first) == 0
        assert not push.remove(session, first, endpoint)  # not theirs any more
        assert push.remove(session, second, endpoint)
        assert push.count(session) == 0


# --- the VAPID key --------------------------------------------------------------------------


def test_the_vapid_key_is_made_once_by_concurrent_creators(database_url: str) -> None:
    """Two processes starting together each make a key; the first stored wins and both sign
    with it. On PostgreSQL the first holds its insert open until the second is seen waiting
    on it, so they really race."""
    first_db, second_db = Database(database_url), Database(database_url)
    keys: list[str] = ["", ""]
    errors: list[BaseException] = []
    first_done = threading.Event()

    def first() -> None:
        try:
            with first_db.transaction() as session:
                keys[0] = webpush.load_vapid(session, utcnow()).public_key
                first_done.set()
                if not first_db.single_writer:
                    _until_someone_waits_for_a_lock(first_db)
        except BaseException as error:
            errors.append(error)
        finally:
            first_done.set()

    def second() -> None:
        first_done.wait(10)
        try:
            with second_db.transaction() as session:
                keys[1] = webpush.load_vapid(session, utcnow()).public_key
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert not errors, errors
        assert keys[0] == keys[1] and keys[0]
        assert webpush.application_server_key(first_db) == keys[0]
        assert len(webpush.unb64url(keys[0])) == 65 and webpush.unb64url(keys[0])[0] == 4
        with first_db.transaction() as session:
            stored = session.exec(select(AppSecret).where(AppSecret.key == push.VAPID_KEY)).all()
            assert len(stored) == 1
            key = webpush.private_from_b64url(stored[0].value)
            assert webpush.b64url(webpush.public_bytes(key)) == keys[0]
    finally:
        first_db.dispose()
        second_db.dispose()


def _until_someone_waits_for_a_lock(db: Database) -> None:
    with db.engine.connect() as conn:
        for _ in range(500):
            waiting = conn.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity"
                    " WHERE wait_event_type = 'Lock' AND datname = current_database()"
                )
            ).scalar_one()
            if waiting:
                return
            time.sleep(0.01)
    raise AssertionError("the second creator never waited for the first")


async def test_every_channel_signs_with_the_stored_key(
    db: Database, service: FakePushService
) -> None:
    """A second process's channel subscribes nobody anew: its pushes carry the same key."""
    officer_id = _officer(db)
    one = WebPushChannel(db=db, subject=SUBJECT)
    two = WebPushChannel(db=db, subject="https://canhgiac.example.vn/contact")
    try:
        browser = service.subscribe((await one.vapid()).public_key)
        _subscribe(db, officer_id, browser)
        await two.send_outbox(_row(db, _notice(db, officer_id)))
        assert service.messages_to(browser) == [NOTICE]
        assert (await two.vapid()).public_key == await db.run(webpush.application_server_key, db)
    finally:
        await one.stop()
        await two.stop()


def test_a_push_at_a_fixed_moment_carries_a_token_valid_for_at_most_a_day() -> None:
    vapid = Vapid(ec.generate_private_key(ec.SECP256R1()))
    moment = datetime(2026, 11, 22, 3, 0, tzinfo=UTC).timestamp()
    header = vapid.authorization("https://push.example/send/1", SUBJECT, moment)
    token = header.removeprefix("vapid t=").split(", k=")[0]
    claims = json.loads(webpush.unb64url(token.split(".")[1]))
    assert claims == {
        "aud": "https://push.example",
        "exp": int(moment) + webpush.JWT_LIFETIME,
        "sub": SUBJECT,
    }
    assert header.endswith(f", k={vapid.public_key}")
