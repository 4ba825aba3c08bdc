"""The Telegram channel on python-telegram-bot: updates in, replies out. It translates, never
decides: every decision is the conversation core's."""

from __future__ import annotations

import asyncio
import logging
import os
import warnings
from collections.abc import Awaitable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, TypeVar

from sqlmodel import Session, col, select
from telegram import (
    BotCommand,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputMediaPhoto,
    Message,
    ReplyParameters,
    Update,
)
from telegram.constants import ChatType, MessageLimit, ParseMode
from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError
from telegram.ext import AIORateLimiter, Application, ApplicationBuilder
from telegram.warnings import PTBUserWarning

from bot.broadcaster import Pacer, pacer_for
from bot.channels import delivery
from bot.channels.aiohttp_request import AiohttpRequest
from bot.channels.intake import Intake
from bot.channels.keyed_lock import KeyedLock
from bot.channels.polling import unless_stopped
from bot.channels.render import split
from bot.channels.telegram_bulk import BulkSender
from bot.liveness import Liveness, keep_running
from bot.outbox_sender import Blocked, NotNow, Rejected, RetryLater
from content import Content
from db import leases, outbox, units
from db.clock import utcnow
from db.engine import Database
from db.models import Broadcast, Delivery, Evidence, Outbox, Report
from handlers import alerts, card, casework, police, triage
from handlers.dispatcher import Dispatcher, Handled
from handlers.router import COMMANDS
from handlers.types import Attachment, Incoming, Reply

# Opt in to PTB's future behaviour (RetryAfter.retry_after as a timedelta) now.
os.environ.setdefault("PTB_TIMEDELTA", "1")
# We call getUpdates raw on purpose (see _poll_once); PTB warns about that on every call.
warnings.filterwarnings("ignore", message=r"Please use 'Bot\.getUpdates'", category=PTBUserWarning)

log = logging.getLogger(__name__)
T = TypeVar("T")
CHANNEL = "telegram"
# Commands that show only public content, so answering them in a group leaks nothing.
PUBLIC_IN_GROUPS = {"start", "canhgiac", "thudoan", "trogiup"}
POLL_TIMEOUT = 25  # seconds a getUpdates long poll may wait
# Updates to receive; anything else (edits, reactions) is not for this bot.
ALLOWED_UPDATES = ["message", "callback_query"]
ALBUM_SIZE = 10  # photos per media group, Telegram's maximum
CARD_BUSY = 2.0  # seconds before a card another worker is sending is tried again
GROUP_BURST = 10  # messages a quiet police group takes at once (a card, its photos, notes)


@dataclass(frozen=True)
class PlacedCard:
    """A report's card as it is now, where it was posted (chat None: nowhere yet, or the
    deployment has no group), and the group it belongs in now."""

    reply: Reply
    message_id: int | None
    chat: int | None
    target: int | None
    moved: str  # what an old card says once the report has gone to another unit's group


@dataclass(frozen=True)
class BesideCard:
    """Where a police note or album goes, the card it answers there, and its photos."""

    chat: int | None
    card_id: int | None
    waiting: bool = False  # for the card, still on its way
    photos: list[bytes] = field(default_factory=list)


def retry_seconds(error: RetryAfter) -> float:
    value = error.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class TelegramChannel:
    """One bot account: the PTB application, translation both ways, and delivery."""

    def __init__(
        self,
        *,
        token: str,
        api_root: str,
        db: Database,
        dispatcher: Dispatcher,
        content: Content,
        evidence_max_bytes: int,
        police_chat_id: int | None = None,
        police_group_rate: float = 20.0,
    ) -> None:
        self.db, self.dispatcher, self.content = db, dispatcher, content
        self.police_chat_id = police_chat_id
        # One pace per police group, shared by every process (bot/broadcaster.py's pacer on a
        # row of its own): three workers must not post three times a group's limit.
        self.police_group_rate = police_group_rate
        self._group_paces: dict[int, Pacer] = {}
        self.evidence_max_bytes = evidence_max_bytes
        self.app: Application = (
            ApplicationBuilder()
            .token(token)
            .base_url(f"{api_root}/bot")
            .base_file_url(f"{api_root}/file/bot")
            # No overall cap on replies (interactive traffic); 429s are waited out and retried.
            .rate_limiter(
                AIORateLimiter(overall_max_rate=0, group_max_rate=police_group_rate, max_retries=3)
            )
            .updater(None)  # we poll ourselves: see poll()
            .request(AiohttpRequest())
            # Long polls hold their connection for up to POLL_TIMEOUT seconds.
            .get_updates_request(AiohttpRequest(connections=1, read_timeout=POLL_TIMEOUT + 10))
            .build()
        )
        self.username = ""
        self.bulk = BulkSender(token, api_root)
        self._alert_key: tuple[Any, ...] | None = None
        self._alert: dict[str, Any] = {}
        self._locks = KeyedLock()
        self._tasks: set[asyncio.Future[Any]] = set()
        # Polling hands an outage back at once (the batch comes again); a webhook request
        # waits a little for the database before Telegram is told to deliver again.
        self.intake = Intake(db, CHANNEL, self._handle_body)
        self._offset = 0
        self._webhook_deleted = False
        self.webhook_intake = Intake(db, CHANNEL, self._handle_body, outage_patience=10.0)
        self.up = False

    @property
    def bot(self) -> Any:
        return self.app.bot

    # --- lifecycle -----------------------------------------------------------------------------

    async def start(self) -> None:
        await self.app.initialize()
        await self.app.start()
        await self.bulk.start()
        self.username = self.bot.username
        commands = [BotCommand(name, self.content.raw(f"commands.{name}")) for name in COMMANDS]
        await self.bot.set_my_commands(commands)
        self.up = True

    async def stop(self) -> None:
        self.up = False
        await self.drain()
        await self.bulk.stop()
        await self.app.stop()
        await self.app.shutdown()

    async def poll(self, stop: asyncio.Event, liveness: Liveness) -> None:
        """Long-poll getUpdates; the offset moves past a batch only once each of its updates
        is committed or set aside (replies are then safe in the outbox, sent in the
        background).

        PTB's own Updater confirms updates as soon as they are queued (and again at shutdown),
        so a crash mid-batch would lose them. Here a crash means Telegram resends the batch,
        and the core's update-id record turns each repeat into a no-op.
        """

        async def one_round() -> bool:
            return await self._poll_once(stop)

        await keep_running(CHANNEL, one_round, stop, liveness, 0.0, POLL_TIMEOUT * 4)

    async def _poll_once(self, stop: asyncio.Event) -> bool:
        if not self._webhook_deleted:
            await self.bot.delete_webhook()
            self._webhook_deleted = True
        try:
            # Raw JSON, parsed one update at a time: one malformed update must not make the
            # whole batch unreadable (PTB's get_updates parses them all or none).
            answer = await unless_stopped(
                self.bot.do_api_request(
                    "getUpdates",
                    api_kwargs={
                        "offset": self._offset,
                        "timeout": POLL_TIMEOUT,
                        "allowed_updates": ALLOWED_UPDATES,
                    },
                ),
                stop,
            )
        except RetryAfter as error:
            await asyncio.sleep(retry_seconds(error))
            return True
        if not isinstance(answer, list):
            return False  # stopped
        updates = [u for u in answer if isinstance(u, dict) and isinstance(u.get("update_id"), int)]
        await asyncio.gather(*(self.intake.take(str(u["update_id"]), u) for u in updates))
        if updates:
            self._offset = max(u["update_id"] for u in updates) + 1
        return True

    async def set_webhook(self, url: str, secret: str) -> None:
        await self.bot.set_webhook(url=url, secret_token=secret, allowed_updates=ALLOWED_UPDATES)

    # --- updates in ----------------------------------------------------------------------------

    async def handle_json(self, body: dict[str, Any]) -> None:
        """A webhook's update: handled, or set aside if it keeps failing; raises only while
        the database is unreachable (Telegram then delivers it again)."""
        await self.webhook_intake.take(str(body.get("update_id", "")), body)

    async def _handle_body(self, body: dict[str, Any]) -> None:
        update = Update.de_json(body, self.bot)
        if update is None:
            raise ValueError("not an update")
        await self.handle(update)

    async def handle(self, update: Update) -> None:
        """Take one update: when this returns, its turn is committed (replies safe in the
        outbox) and their delivery has started in order behind the chat's earlier replies.
        Raises only if the update must come again (the database is unreachable)."""
        query = update.callback_query
        if query is not None and await self._in_police_group(query.message):
            await self._police_press(query)
            return
        if query is not None:
            # Stop the client's spinner at once, whatever the outcome, alongside the turn.
            self._background(self._answer(query, None))
        translated = await self._translate(update)
        if translated is None:
            return
        chat_id, incoming, public_only = translated
        async with self._locks.hold(f"turn:{incoming.user_id}"):
            handled = await self.db.run(self.dispatcher.handle, incoming)
            # Queued while the turn lock is held, so a chat's replies keep their turn order.
            self._background(self._deliver_in_order(chat_id, handled, not public_only))

    async def _in_police_group(self, message: Any) -> bool:
        """A press on a message in the deployment's police group or a unit's own."""
        if message is None or message.chat.type == ChatType.PRIVATE:
            return False
        if self.police_chat_id and message.chat.id == self.police_chat_id:
            return True
        return bool(await self.db.run(self._unit_group, message.chat.id))

    def _unit_group(self, chat_id: int) -> bool:
        with self.db.transaction() as session:
            return units.is_police_group(session, chat_id)

    async def _police_press(self, query: Any) -> None:
        """A tip-card button: the triage service decides (by the presser's role, now); the
        presser gets its answer, as an alert when refused."""
        try:
            outcome = await self.db.run(self._triage_press, query.from_user.id, query.data or "")
        except Exception:
            # The officer is told at once; the press is tried again or set aside (intake).
            await self._answer(query, self.content.text("police.press_failed"), alert=True)
            raise
        await self._answer(query, outcome.answer, alert=outcome.refused)

    def _triage_press(self, telegram_id: int, payload: str) -> triage.Outcome:
        now = utcnow()
        with self.db.transaction() as session:
            outcome = casework.press(session, self.content, telegram_id, payload, now)
            for effect in outcome.effects or []:
                outbox.enqueue(session, effect, now)
            return outcome

    async def _send_card(self, row: Outbox) -> None:
        """Post the report's tip card to the police chat, or edit the one already there. One
        worker at a time per report, across processes: posting and recording the card's id
        happen together, or two workers would each find no card and post one."""
        assert row.report_id is not None
        async with leases.exclusive(self.db, leases.CARD, row.report_id) as mine:
            if not mine:
                raise RetryLater(CARD_BUSY, "another worker is sending this card", False)
            await self._post_or_edit_card(row.report_id)

    async def _post_or_edit_card(self, report_id: int) -> None:
        """Edit the card where it is; post it where its unit's group is when it has none yet,
        or when the report has moved to a unit with another group (the old card then says
        where it went, and loses its buttons)."""
        placed = await self.db.run(self._card, report_id)
        if placed.target is None:  # until a group is set (canhgiac unit set --telegram-chat)
            raise NotNow(f"no Telegram police group for report {report_id}'s unit")
        markup = _keyboard(placed.reply)
        if placed.message_id and placed.chat == placed.target:
            if await self._edit_card(placed.target, placed.message_id, placed.reply.text, markup):
                return
        elif placed.message_id and placed.chat is not None:
            # The card stays in the old group as a pointer, without the buttons of a report
            # that group's unit no longer holds; a group that refuses (gone, bot removed)
            # must not keep the card from its new one.
            try:
                await self._edit_card(placed.chat, placed.message_id, placed.moved, None)
            except (Rejected, Blocked) as error:
                log.warning("could not mark report %s's old card as moved: %s", report_id, error)
        await self._paced(placed.target)
        posted = await self._call(
            self.bot.send_message(
                placed.target, placed.reply.text, parse_mode=ParseMode.HTML, reply_markup=markup
            )
        )
        await self.db.record(self._remember_card, report_id, placed.target, posted.message_id)

    async def _paced(self, chat: int) -> None:
        """Until this police group may take one more message (POLICE_GROUP_RATE a minute)."""
        pace = self._group_paces.get(chat)
        if pace is None:
            rate = self.police_group_rate / 60
            burst = GROUP_BURST / rate  # seconds of pace a quiet group may spend at once
            key = f"pace:police:{chat}"
            pace = pacer_for(self.db, rate, key=key, floor=rate / 4, catch_up=burst)
            self._group_paces[chat] = pace
        await pace.wait()

    async def _edit_card(
        self, chat: int, message_id: int, text: str, markup: InlineKeyboardMarkup | None
    ) -> bool:
        """Whether the card is there (edited, or already showing this); False when someone
        deleted it in the group."""
        await self._paced(chat)
        try:
            await self._call(
                self.bot.edit_message_text(
                    text,
                    chat_id=chat,
                    message_id=message_id,
                    parse_mode=ParseMode.HTML,
                    reply_markup=markup,
                )
            )
        except Rejected as error:
            if "not modified" in str(error):
                return True
            # Someone deleted the card in the group: post it afresh rather than retry forever.
            if "not found" not in str(error).lower():
                raise
            return False
        return True

    async def _send_beside_card(self, row: Outbox) -> None:
        """A note or the evidence album, as replies to the report's card once it is posted;
        a note for another unit's group (an urgent report, for the province) goes there."""
        near = await self.db.run(self._card_and_photos, row)
        if near.waiting:
            raise RetryLater(5, "waiting for the tip card to be posted or moved first")
        if near.chat is None:  # until a group is set (canhgiac unit set --telegram-chat)
            raise NotNow(f"no Telegram police group for outbox row {row.id}")
        beside = (
            ReplyParameters(near.card_id, allow_sending_without_reply=True)
            if near.card_id
            else None
        )
        if row.kind == police.NOTE:
            reply = Reply(str(row.payload.get("text", "")))
            await self._paced(near.chat)
            await self.send_reply(near.chat, reply, reply_to=beside)
            return
        for start in range(0, len(near.photos), ALBUM_SIZE):
            chunk = near.photos[start : start + ALBUM_SIZE]
            await self._paced(near.chat)
            if len(chunk) == 1:  # an album needs two to ten photos: one goes on its own
                await self._call(self.bot.send_photo(near.chat, chunk[0], reply_parameters=beside))
                continue
            media = [InputMediaPhoto(data) for data in chunk]
            await self._call(self.bot.send_media_group(near.chat, media, reply_parameters=beside))

    def _group(self, session: Session, unit_id: int | None) -> int | None:
        """A unit's Telegram police group: its own, else the deployment's (POLICE_CHAT_ID)."""
        return units.group_of(session, unit_id) or self.police_chat_id

    def _card_and_photos(self, row: Outbox) -> BesideCard:
        """Where the message goes and the card it answers; whether a card is still on its way
        (then this waits for it; a card that failed for good does not hold its notes back);
        and the photos. A report's news goes to the group of the unit that holds it now: a
        card still in another unit's group (transferred, or the unit's group changed) is
        waited for while its move is queued, and never answered there."""
        with self.db.transaction() as session:
            report = session.get(Report, row.report_id) if row.report_id else None
            if "unit_id" in row.payload:  # meant for that unit's group, not the card's
                chat = self._group(session, int(row.payload["unit_id"]))
                here = report is not None and self._card_chat(report) == chat
                return BesideCard(chat, report.card_message_id if report and here else None)
            if report is None:
                return BesideCard(self.police_chat_id, None)
            chat = self._group(session, report.unit_id)
            card_id = report.card_message_id if self._card_chat(report) == chat else None
            if card_id is None and outbox.pending(
                session, police.POLICE, police.CARD, report.id or 0
            ):
                return BesideCard(None, None, waiting=True)
            if row.kind != police.ALBUM:
                return BesideCard(chat, card_id)
            query = select(Evidence.data).where(Evidence.report_id == report.id)
            if "evidence_ids" in row.payload:  # photos the reporter added later
                query = query.where(col(Evidence.id).in_(row.payload["evidence_ids"]))
            found = session.exec(query.order_by(col(Evidence.id))).all()
            return BesideCard(chat, card_id, photos=list(found))

    def _card_chat(self, report: Report) -> int | None:
        """The group the report's card is in (a card from before migration 0016: in
        POLICE_CHAT_ID's)."""
        if report.card_message_id is None:
            return None
        return report.card_chat_id or self.police_chat_id

    def _card(self, report_id: int) -> PlacedCard:
        with self.db.transaction() as session:
            report = session.get(Report, report_id)
            assert report is not None
            moved = self.content.text(
                "police.card_moved",
                code=report.receipt_code,
                unit=units.name_of(session, report.unit_id),
            )
            return PlacedCard(
                card.card(session, self.content, report),
                report.card_message_id,
                self._card_chat(report),
                self._group(session, report.unit_id),
                moved,
            )

    def _remember_card(self, report_id: int, chat: int, message_id: int) -> None:
        with self.db.transaction() as session:
            report = session.get(Report, report_id)
            if report is not None:
                report.card_chat_id, report.card_message_id = chat, message_id

    async def _deliver_in_order(self, chat_id: int, handled: Handled, buttons: bool) -> None:
        async with self._locks.hold(f"send:{chat_id}"):
            await self.deliver(chat_id, handled, buttons=buttons)

    async def _answer(self, query: Any, text: str | None, alert: bool = False) -> None:
        try:
            await query.answer(text, show_alert=alert)
        except TelegramError:
            log.warning("could not answer callback query %s", query.id)

    def _background(self, work: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)  # held until done: the loop keeps only weak references
        task.add_done_callback(self._tasks.discard)

    def replying(self) -> bool:
        """Replies or presses are being delivered now: bulk sending gives way."""
        return bool(self._tasks)

    async def drain(self) -> None:
        """Wait for every reply already taken to be sent (or handed to the outbox)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def _translate(self, update: Update) -> tuple[int, Incoming, bool] | None:
        query = update.callback_query
        if query is not None:
            message = query.message
            if message is None or message.chat.type != ChatType.PRIVATE or query.from_user is None:
                return None  # presses in groups belong to the police workflow, not residents
            incoming = Incoming(
                channel=CHANNEL,
                user_id=str(query.from_user.id),
                update_id=str(update.update_id),
                payload=query.data or "",
                carries_photos=True,
            )
            return message.chat.id, incoming, False
        message = update.message
        if message is None or message.from_user is None:
            return None
        if message.chat.type != ChatType.PRIVATE:
            return await self._translate_group(update, message)
        return (
            message.chat.id,
            Incoming(
                channel=CHANNEL,
                user_id=str(message.from_user.id),
                update_id=str(update.update_id),
                text=message.text or message.caption or "",
                attachments=await self._attachments(message),
                carries_photos=True,
                forwarded=message.forward_origin is not None,
            ),
            False,
        )

    async def _translate_group(
        self, update: Update, message: Message
    ) -> tuple[int, Incoming, bool] | None:
        """In groups: only commands addressed to this bot, and only public ones answered."""
        text = message.text or ""
        first = text.split(maxsplit=1)[0] if text.startswith("/") else ""
        name, _, addressee = first[1:].partition("@")
        if not addressee or addressee.lower() != self.username.lower():
            return None
        if name.lower() not in PUBLIC_IN_GROUPS:
            await self._private_only(message.chat.id, name.lower())
            return None
        incoming = Incoming(
            channel=CHANNEL,
            # The group's own conversation: nothing of any member's private chat is touched.
            user_id=f"group{message.chat.id}",
            update_id=str(update.update_id),
            text=f"/{name}",
        )
        return message.chat.id, incoming, True

    async def _private_only(self, chat_id: int, command: str) -> None:
        start = command if command in COMMANDS else "start"
        link = f"https://t.me/{self.username}?start={start}"
        markup = InlineKeyboardMarkup(
            [[InlineKeyboardButton(self.content.raw("common.open_private"), url=link)]]
        )
        try:
            await self.bot.send_message(
                chat_id, self.content.text("common.group_private_only"), reply_markup=markup
            )
        except TelegramError as error:  # e.g. a group where the bot may not write
            log.warning("could not point group %s to a private chat: %s", chat_id, error)

    async def _attachments(self, message: Message) -> tuple[Attachment, ...]:
        if not message.photo:
            return ()
        largest = message.photo[-1]
        if largest.file_size and largest.file_size > self.evidence_max_bytes:
            return (Attachment("photo", data=None, size=largest.file_size),)
        try:
            telegram_file = await largest.get_file()
            data = bytes(await telegram_file.download_as_bytearray())
        except TelegramError as error:  # the core tells the resident it did not arrive
            log.warning("could not download a photo: %s", error)
            return (Attachment("photo", data=None),)
        return (Attachment("photo", data=data, size=len(data), mime="image/jpeg"),)

    # --- replies out ---------------------------------------------------------------------------

    async def deliver(self, chat_id: int, handled: Handled, buttons: bool = True) -> None:
        """Send a turn's replies in order; each outbox row is marked as it goes. On a failure
        the rest are left to the outbox sender, which retries them in the same order."""
        if await delivery.handed_over(self.db, handled.outbox_ids):
            return
        pairs = list(zip(handled.replies, handled.outbox_ids, strict=True))
        for index, (reply, outbox_id) in enumerate(pairs):
            try:
                await self.send_reply(chat_id, reply if buttons else Reply(reply.text))
            except Blocked as error:
                await asyncio.to_thread(delivery.settle, self.db, outbox_id, str(error))
                return
            except Rejected as error:
                log.error("Telegram refused a reply for good: %s", error)
                await asyncio.to_thread(delivery.fail, self.db, outbox_id, str(error))
                continue
            except RetryLater as error:
                rest = [later for _, later in pairs[index:]]
                await asyncio.to_thread(delivery.release, self.db, rest, error)
                return
            await self.db.record(delivery.settle, self.db, outbox_id)

    async def send_reply(
        self, chat_id: int, reply: Reply, reply_to: ReplyParameters | None = None
    ) -> None:
        """One core reply as one or more messages (split under 4096), buttons on the last;
        with its picture first when it has one (the text as caption when it fits)."""
        markup = _keyboard(reply)
        if reply.image:
            photo = await self.db.run(self._image, reply.image)
            fits = len(reply.text) <= MessageLimit.CAPTION_LENGTH
            if photo is not None:
                await self._call(
                    self.bot.send_photo(
                        chat_id,
                        photo,
                        caption=reply.text if fits else None,
                        parse_mode=ParseMode.HTML,
                        reply_markup=markup if fits else None,
                        reply_parameters=reply_to,
                    )
                )
                if fits:
                    return
        pieces = split(reply.text, MessageLimit.MAX_TEXT_LENGTH)
        for number, piece in enumerate(pieces, 1):
            await self._call(
                self.bot.send_message(
                    chat_id,
                    piece,
                    parse_mode=ParseMode.HTML,
                    reply_markup=markup if number == len(pieces) else None,
                    reply_parameters=reply_to if number == 1 else None,
                )
            )

    def _image(self, ref: str) -> bytes | None:
        """A stored picture by reference (today: a broadcast's photo)."""
        kind, _, raw_id = ref.partition(":")
        if kind != "broadcast" or not raw_id.isdigit():
            return None
        with self.db.transaction() as session:
            found = session.get(Broadcast, int(raw_id))
            return found.photo if found else None

    async def send_broadcast(self, target: Delivery, broadcast: Broadcast) -> None:
        """One alert to one resident, exactly as the core renders it (and as the preview
        showed): picture, words, link button, one-tap unsubscribe."""
        reply = alerts.render(self.content, broadcast)
        if broadcast.photo and len(reply.text) <= MessageLimit.CAPTION_LENGTH:
            # The photo is at hand: no database trip per recipient.
            await self._call(
                self.bot.send_photo(
                    int(target.recipient),
                    broadcast.photo,
                    caption=reply.text,
                    parse_mode=ParseMode.HTML,
                    reply_markup=_keyboard(reply),
                )
            )
            return
        if broadcast.photo or len(reply.text) > MessageLimit.MAX_TEXT_LENGTH:
            await self.send_reply(int(target.recipient), reply)
            return
        # The common case, one text message: the body is built once per alert.
        await self.bulk.send(int(target.recipient), self._alert_body(broadcast, reply))

    def _alert_body(self, broadcast: Broadcast, reply: Reply) -> dict[str, Any]:
        key = (broadcast.id, broadcast.text, broadcast.link_url, broadcast.link_label)
        if self._alert_key != key:
            markup = _keyboard(reply)
            self._alert_key = key
            self._alert = {
                "text": reply.text,
                "parse_mode": ParseMode.HTML,
                "reply_markup": markup.to_dict() if markup else None,
            }
        return self._alert

    async def send_outbox(self, row: Outbox) -> None:
        """The outbox sender's way out for this channel (and for the police chat)."""
        if row.channel == police.POLICE:
            try:
                if row.kind == police.CARD:
                    await self._send_card(row)
                else:
                    await self._send_beside_card(row)
            except Rejected as error:
                if not _about_the_chat(str(error)):
                    raise  # this message is malformed: it fails, the ones behind it go on
                raise RetryLater(None, str(error)) from error
            except (TelegramError, Blocked) as error:
                # The police chat is never given up on (bot removed, chat migrated, outage):
                # cards wait in the outbox, backing off, until it takes them again.
                raise RetryLater(None, str(error)) from error
            return
        if row.kind == "reply":
            await self.send_reply(int(row.recipient), Reply.from_dict(row.payload))
            return
        log.warning("no way to send outbox kind %s on telegram; skipped", row.kind)

    @staticmethod
    async def _call(send: Awaitable[T]) -> T:
        """Await one Bot API call, turning its failures into the outbox's terms."""
        try:
            return await send
        except Forbidden as error:
            raise Blocked(str(error)) from error
        except BadRequest as error:  # the same request would fail the same way: no retry
            raise Rejected(str(error)) from error
        except RetryAfter as error:
            raise RetryLater(retry_seconds(error), str(error)) from error
        except TelegramError as error:
            raise RetryLater(None, str(error)) from error


def _about_the_chat(error: str) -> bool:
    """A refusal that is about the police chat (wrong id, bot removed, rights taken away,
    group upgraded): fixable by an admin, so the message waits; anything else is about the
    message itself."""
    lowered = error.lower()
    return any(
        words in lowered
        for words in ("chat not found", "not enough rights", "kicked", "upgraded", "not a member")
    )


def _keyboard(reply: Reply) -> InlineKeyboardMarkup | None:
    if not reply.buttons:
        return None
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(button.label, url=button.payload)
                if button.is_link
                else InlineKeyboardButton(button.label, callback_data=button.payload)
                for button in row
            ]
            for row in reply.buttons
        ]
    )
