"""Fetching a resident's photo: read whole however it trickles in, refused when too big or
not served, and never an exception out of the turn; a real aiohttp server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web
from sqlmodel import select

from bot.channels.delivery import fetch_photo
from db.engine import Database
from db.models import Evidence
from tests import test_zalo
from tests.conftest import free_port
from tests.fakes.zalo_servers import ZaloOA
from tests.test_zalo import CODE, OAResident, _report_up_to_photos

# The OA stand-in and the bot running against it, as test_zalo has them.
oa_running = test_zalo.oa_running

PHOTO = os.urandom(3 * 1024 * 1024)
CAP = 10 * 1024 * 1024
QUICK = aiohttp.ClientTimeout(total=5, sock_read=0.5)  # a test's stall need not last 20 s


class PhotoHost:
    """The places a photo can come from, good and bad."""

    def __init__(self) -> None:
        self.release = asyncio.Event()  # lets a stalled answer end when the test is done
        self.root = ""

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/trickle", self.trickle)
        app.router.add_get("/stall", self.stall)
        app.router.add_get("/endless", self.endless)
        app.router.add_get("/cut", self.cut)
        app.router.add_get("/missing", self.missing)
        return app

    async def trickle(self, request: web.Request) -> web.StreamResponse:
        """The whole photo, 16 KB at a time with small pauses, no Content-Length."""
        response = web.StreamResponse()
        response.enable_chunked_encoding()
        await response.prepare(request)
        for start in range(0, len(PHOTO), 16 * 1024):
            await response.write(PHOTO[start : start + 16 * 1024])
            await asyncio.sleep(0.001)
        await response.write_eof()
        return response

    async def stall(self, request: web.Request) -> web.StreamResponse:
        """A first piece, then nothing until long after any reader gave up."""
        response = web.StreamResponse(headers={"Content-Length": str(len(PHOTO))})
        await response.prepare(request)
        await response.write(PHOTO[:1024])
        await self.release.wait()
        return response

    async def endless(self, request: web.Request) -> web.StreamResponse:
        """A body that never ends and never says how long it is."""
        response = web.StreamResponse()
        response.enable_chunked_encoding()
        await response.prepare(request)
        while not self.release.is_set():
            await response.write(b"\xff" * 64 * 1024)
        return response

    async def cut(self, request: web.Request) -> web.StreamResponse:
        """Announces the whole photo, sends a third of it, and hangs up."""
        response = web.StreamResponse(headers={"Content-Length": str(len(PHOTO))})
        await response.prepare(request)
        await response.write(PHOTO[: len(PHOTO) // 3])
        assert request.transport is not None
        request.transport.close()
        return response

    async def missing(self, request: web.Request) -> web.Response:
        return web.Response(status=404, text="404: Not Found")


@pytest.fixture
async def host() -> AsyncIterator[PhotoHost]:
    photos = PhotoHost()
    runner = web.AppRunner(photos.app(), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    photos.root = f"http://127.0.0.1:{port}"
    yield photos
    photos.release.set()
    await runner.cleanup()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client:
        yield client


async def test_a_photo_that_trickles_in_arrives_whole(
    host: PhotoHost, session: aiohttp.ClientSession
) -> None:
    photo = await fetch_photo(session, f"{host.root}/trickle", CAP)
    assert photo.data is not None and photo.size == len(PHOTO)
    assert hashlib.sha256(photo.data).hexdigest() == hashlib.sha256(PHOTO).hexdigest()


async def test_a_stalled_photo_is_not_received_and_raises_nothing(
    host: PhotoHost, session: aiohttp.ClientSession
) -> None:
    photo = await fetch_photo(session, f"{host.root}/stall", CAP, timeout=QUICK)
    assert photo.data is None and photo.size == 0


async def test_a_body_over_the_cap_stops_being_read(
    host: PhotoHost, session: aiohttp.ClientSession
) -> None:
    cap = 1024 * 1024
    photo = await fetch_photo(session, f"{host.root}/endless", cap, timeout=QUICK)
    assert photo.data is None and photo.size > cap  # over the cap, and so said


async def test_a_broken_or_missing_photo_is_not_received(
    host: PhotoHost, session: aiohttp.ClientSession
) -> None:
    nobody = f"http://127.0.0.1:{free_port()}/photo.jpg"  # nothing listens there
    for url in (f"{host.root}/cut", f"{host.root}/missing", nobody, "not a url"):
        photo = await fetch_photo(session, url, CAP, timeout=QUICK)
        assert photo.data is None and photo.size == 0, url


async def test_a_large_photo_sent_to_the_oa_is_kept_whole(
    oa: ZaloOA, oa_running: None, db: Database
) -> None:
    oa.trickle = (32 * 1024, 0.002)
    person = OAResident(oa, "4090")
    await _report_up_to_photos(person)
    assert "Đã nhận" in await person.send(oa.image("4090", oa.add_file(PHOTO)))
    await person.press("Xong")
    await person.press("Ẩn danh")
    assert CODE.search(await person.press("Gửi tố giác"))
    with db.transaction() as session:
        evidence = session.exec(select(Evidence)).one()
        assert evidence.size == len(PHOTO) and evidence.report_id is not None
        assert evidence.sha256 == hashlib.sha256(PHOTO).hexdigest()
