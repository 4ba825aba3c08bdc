"""What channels share around a turn: sending its replies as fitted pieces and recording each
outcome (sent, refused for good, waiting, or handed to the outbox sender to retry, in order),
and fetching a resident's photo within the size cap."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

import aiohttp

from bot.channels.render import Abilities, Piece, fit
from bot.outbox_sender import Blocked, NotNow, Rejected, RetryLater
from db import leases, outbox
from db.clock import utcnow
from db.engine import Database
from handlers.dispatcher import Handled
from handlers.types import Attachment

log = logging.getLogger(__name__)
# Seconds a turn's replies wait for an earlier turn's, sent by another worker, before they
# are handed to the outbox sender (well within the replies' own lease, REPLY_LEASE).
ORDER_PATIENCE = 10.0


def settle(db: Database, outbox_id: int, blocked: str | None = None) -> None:
    """Sent (one Core UPDATE: measured the cheapest way), or refused for good."""
    if blocked is None:
        with db.connection() as conn:
            outbox.mark_sent(conn, [outbox_id], utcnow())
        return
    with db.transaction() as session:
        outbox.mark_blocked(session, outbox_id, blocked)


def release(db: Database, outbox_ids: list[int], error: RetryLater) -> None:
    retry_at = utcnow() + error.delay(0)
    with db.transaction() as session:
        for outbox_id in outbox_ids:
            outbox.mark_retry(session, outbox_id, error.reason, retry_at)


def wait(db: Database, outbox_id: int) -> None:
    """The channel may not send it now: it waits for the resident's next message."""
    with db.transaction() as session:
        outbox.mark_waiting(session, outbox_id)


def fail(db: Database, outbox_id: int, reason: str) -> None:
    """The platform will never take it as it is: recorded, not retried."""
    with db.transaction() as session:
        outbox.mark_failed(session, outbox_id, reason)


async def handed_over(db: Database, outbox_ids: list[int]) -> bool:
    """Across processes, a resident's replies keep their turns' order: a turn's replies wait
    while an earlier reply to the same resident is being sent by another worker. Within one
    process the channel's per-chat lock already orders them.
    After ORDER_PATIENCE (a dead worker's lease runs out slower) they go to the outbox
    sender, which keeps the same order; True then."""
    if not db.shared or not outbox_ids:
        return False
    waited, pause = 0.0, 0.01
    while await _behind(db, outbox_ids):
        if waited >= ORDER_PATIENCE:
            later = RetryLater(None, "an earlier reply is still on its way", slow_down=False)
            await asyncio.to_thread(release, db, outbox_ids, later)
            return True
        await asyncio.sleep(pause)
        waited += pause
        pause = min(0.5, pause * 2)
    return False


async def _behind(db: Database, outbox_ids: list[int]) -> bool:
    """Whether an earlier reply to the same resident is in another worker's hands. Only a
    courtesy to order: when the database cannot say (an outage), the replies go as they
    would in one process rather than fail."""
    try:
        return await db.run(_held_back, db, outbox_ids)
    except Exception:
        log.warning("could not check the order of a turn's replies; sending them", exc_info=True)
        return False


def _held_back(db: Database, outbox_ids: list[int]) -> bool:
    with db.connection() as conn:
        return bool(leases.behind(conn, outbox_ids, utcnow(), due_too=False))


async def send_turn(
    db: Database,
    handled: Handled,
    abilities: Abilities,
    send: Callable[[Piece], Awaitable[None]],
) -> None:
    """A turn's replies, fitted together (option numbers run across the turn), each reply's
    outbox row marked as it goes; on a passing failure the rest go to the outbox sender."""
    if await handed_over(db, handled.outbox_ids):
        return
    groups = fit(handled.replies, abilities)
    for index, (group, outbox_id) in enumerate(zip(groups, handled.outbox_ids, strict=True)):
        try:
            for piece in group:
                await send(piece)
        except Blocked as error:
            await asyncio.to_thread(settle, db, outbox_id, str(error))
        except NotNow:
            await asyncio.to_thread(wait, db, outbox_id)
        except Rejected as error:  # this reply never goes as it is; the turn's others still do
            await asyncio.to_thread(fail, db, outbox_id, str(error))
        except RetryLater as error:
            await asyncio.to_thread(release, db, handled.outbox_ids[index:], error)
            return
        else:
            await db.record(settle, db, outbox_id)


# A photo's own bounds, whatever the channel's session allows its API calls.
PHOTO_TIMEOUT = aiohttp.ClientTimeout(total=60, sock_connect=10, sock_read=20)
PHOTO_CHUNK = 64 * 1024


async def fetch_photo(
    session: aiohttp.ClientSession,
    url: str,
    cap: int,
    timeout: aiohttp.ClientTimeout = PHOTO_TIMEOUT,
) -> Attachment:
    """A photo a resident sent, by its address, read whole. Over `cap` bytes it is not kept
    (data None, a size over the cap); not received (an error status, a timeout, a broken
    connection, an empty body) it is data None with size 0, so the core can say which."""
    body = bytearray()
    try:
        async with session.get(url, timeout=timeout) as response:
            if not 200 <= response.status < 300:
                return Attachment("photo", data=None)
            announced = response.content_length
            if announced is not None and announced > cap:
                return Attachment("photo", data=None, size=announced)
            async for chunk in response.content.iter_chunked(PHOTO_CHUNK):
                body += chunk
                if len(body) > cap:  # stop here: a huge or endless body never fills memory
                    return Attachment("photo", data=None, size=len(body))
    except (aiohttp.ClientError, TimeoutError, ValueError):
        return Attachment("photo", data=None)
    if not body:
        return Attachment("photo", data=None)
    return Attachment("photo", data=bytes(body), size=len(body))
