"""What the webhooks do with hostile or broken input: bodies over the cap refused before they
fill memory, malformed bodies answered 400, bad credentials 403, never a 500. The real bot
(`serve`) with all three webhooks, over real HTTP on 127.0.0.1."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.settings import Settings
from tests.conftest import running_bot
from tests.fakes.telegram_server import FakeTelegram, text_update
from tests.fakes.zalo_servers import ZaloBot, ZaloOA
from tests.test_zalo import _oa_settings, _zalo_bot_settings

TELEGRAM_SECRET = "telegram-webhook-secret-for-tests"
ZALO_BOT_SECRET = "zalo-bot-webhook-secret-for-tests"
CAP = 1024 * 1024  # the default HTTP_MAX_BODY_KB
HUGE = 50 * 1024 * 1024
PIECE = b"x" * 64 * 1024

# The Zalo stand-ins, as test_zalo has them.


@dataclass
class Hooks:
    """The running bot's webhooks: where each is and the header that authenticates it."""

    root: str
    fake: FakeTelegram
    oa: ZaloOA
    zbot: ZaloBot

    @property
    def secrets(self) -> dict[str, tuple[str, str]]:
        """path -> (header, a value it accepts); the OA's is a MAC of each body."""
        return {
            "/tg/hook": ("X-Telegram-Bot-Api-Secret-Token", TELEGRAM_SECRET),
            "/zalo/bot": ("X-Bot-Api-Secret-Token", ZALO_BOT_SECRET),
            "/zalo/oa": ("X-ZEvent-Signature", "mac=" + "0" * 64),
        }


@pytest.fixture
async def hooks(
    bot_settings: Settings, fake: FakeTelegram, oa: ZaloOA, zbot: ZaloBot
) -> AsyncIterator[Hooks]:
    base = _oa_settings(bot_settings, oa, telegram=True)
    root = f"http://127.0.0.1:{base.http_port}"
    with_bot = _zalo_bot_settings(base, zbot)
    all_three = dataclasses.replace(
        with_bot,
        telegram_bot_token=base.telegram_bot_token,
        telegram_webhook_url=f"{root}/tg/hook",
        telegram_webhook_secret=TELEGRAM_SECRET,
        zalo_bot_webhook_url=f"{root}/zalo/bot",
        zalo_bot_webhook_secret=ZALO_BOT_SECRET,
    )
    async for _ in running_bot(all_three):
        yield Hooks(root, fake, oa, zbot)


async def _raw_post(root: str, path: str, head: dict[str, str], body_size: int) -> int:
    """POST `body_size` bytes, 64 KB at a time, reading the answer as it comes: a server
    may answer (and hang up) before the body is sent. With no Content-Length in `head`,
    the body goes chunked."""
    host, port = root.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    chunked = "Content-Length" not in head
    lines = [f"POST {path} HTTP/1.1", f"Host: {host}", "Content-Type: application/json"]
    lines += [f"{name}: {value}" for name, value in head.items()]
    lines += ["Transfer-Encoding: chunked"] if chunked else []
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())

    async def send() -> None:
        sent = 0
        try:
            while sent < body_size:
                piece = PIECE[: body_size - sent]
                writer.write(b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece)
                await writer.drain()
                sent += len(piece)
            writer.write(b"0\r\n\r\n" if chunked else b"")
            await writer.drain()
        except ConnectionError:
            pass  # the server answered and closed: the rest was not wanted

    sending = asyncio.create_task(send())
    try:
        status_line = await asyncio.wait_for(reader.readline(), 60)  # a guard, not a timing
    finally:
        sending.cancel()
        writer.close()
    match = re.match(rb"HTTP/1\.1 (\d{3})", status_line)
    assert match, status_line
    return int(match.group(1))


def _peak_memory_reset() -> None:
    # "5" resets the process's peak resident size (VmHWM) to its current size.
    Path("/proc/self/clear_refs").write_text("5")


def _peak_memory() -> int:
    status = Path("/proc/self/status").read_text()
    return int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1)) * 1024  # type: ignore[union-attr]


async def test_an_announced_oversized_body_is_refused_unread(hooks: Hooks) -> None:
    """50 MB, unsigned, to each webhook (the Telegram and Zalo Bot ones with their secret,
    so the body is what is judged): 413, and the bot's memory hardly moves."""
    _peak_memory_reset()
    before = _peak_memory()
    for path, (header, value) in hooks.secrets.items():
        head = {header: value, "Content-Length": str(HUGE)}
        assert await _raw_post(hooks.root, path, head, HUGE) == 413, path
    assert _peak_memory() - before < 20 * 1024 * 1024  # not one 50 MB body was held


async def test_an_oversized_chunked_body_is_refused_once_past_the_cap(hooks: Hooks) -> None:
    for path, (header, value) in hooks.secrets.items():
        # The server answers and hangs up mid-body; the reset can beat the answer to the
        # client, so a connection whose answer was lost is tried again.
        for _ in range(5):
            try:
                status = await _raw_post(hooks.root, path, {header: value}, 4 * CAP)
            except (ConnectionError, AssertionError):
                continue
            break
        assert status == 413, path


async def test_malformed_bodies_are_400_not_500(hooks: Hooks) -> None:
    nested = b"[" * 100_000 + b"]" * 100_000
    bodies = [nested, b"[1, 2]", b"42", b'"text"', b"null", b"{not json", b"\xff\xfe\x00"]
    async with httpx.AsyncClient(base_url=hooks.root) as client:
        for path, (header, value) in hooks.secrets.items():
            for body in bodies:
                answer = await client.post(path, content=body, headers={header: value})
                assert answer.status_code == 400, (path, body[:20])
        # Objects python-telegram-bot cannot read as an update: a 4xx would have Telegram
        # send them again for ever, so they are set aside (failed_update) and answered 200.
        for update in ({}, {"update_id": 7, "message": "hello"}, {"update_id": 8, "message": {}}):
            answer = await client.post(
                "/tg/hook",
                json=update,
                headers={"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET},
            )
            assert answer.status_code == 200, update


async def test_a_non_ascii_signature_or_secret_is_403_not_500(hooks: Hooks) -> None:
    event = hooks.oa.text("4101", "/start")
    raw = json.dumps(event).encode()
    odd = ("mac=é" + "0" * 60).encode()  # as UTF-8 bytes; the server reads them as Latin-1
    async with httpx.AsyncClient(base_url=hooks.root) as client:
        answer = await client.post("/zalo/oa", content=raw, headers={"X-ZEvent-Signature": odd})
        assert answer.status_code == 403
        for path, (header, _) in hooks.secrets.items():
            answer = await client.post(path, content=raw, headers={header: "sécret-ả".encode()})
            assert answer.status_code == 403, path
    assert not hooks.oa.messages_to("4101")


async def test_correct_updates_are_still_answered(hooks: Hooks) -> None:
    async with httpx.AsyncClient(base_url=hooks.root) as client:
        answer = await client.post(
            "/tg/hook",
            json={"update_id": 9001, **text_update(5101, "/start")},
            headers={"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET},
        )
        assert answer.status_code == 200
        answer = await client.post(
            "/zalo/bot",
            json=hooks.zbot.text("5102", "/start"),
            headers={"X-Bot-Api-Secret-Token": ZALO_BOT_SECRET},
        )
        assert answer.status_code == 200
    await hooks.fake.until(lambda _: bool(hooks.fake.messages_to(5101)))
    assert hooks.zbot.messages_to("5102")  # Zalo Bot's turn is sent before the 200
    assert await asyncio.to_thread(hooks.oa.post, hooks.oa.text("5103", "/start")) == 200
    assert hooks.oa.messages_to("5103")


# A header value HTTP can carry: visible ASCII and any byte above 0x7f, no edge spaces.
header_values = st.binary(min_size=1, max_size=80).map(
    lambda value: bytes(b if 0x21 <= b != 0x7F else 0x41 + b % 26 for b in value)
)


async def test_arbitrary_bodies_and_headers_never_get_a_500(hooks: Hooks) -> None:
    def throw(path: str, header: str, accepted: str) -> None:
        @settings(max_examples=50, deadline=None, database=None)
        @given(
            body=st.binary(max_size=2000) | st.sampled_from([b"[]", b"{}", b"0", b'{"a":[]}']),
            value=st.just(accepted.encode()) | header_values,
        )
        def post(body: bytes, value: bytes) -> None:
            answer = client.post(path, content=body, headers={header: value})
            assert answer.status_code in {200, 400, 403, 413}, answer.status_code

        with httpx.Client(base_url=hooks.root) as client:
            post()

    for path, (header, value) in hooks.secrets.items():
        # The bot answers on this loop: the blocking client runs on a thread.
        await asyncio.to_thread(throw, path, header, value)
