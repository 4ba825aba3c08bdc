"""Bringing ward staff in from the bot: an admin's one-time invite, the new officer's login."""

from __future__ import annotations

from datetime import timedelta

from db import accounts, officers, throttle
from db.clock import to_vietnam
from handlers.parse import parse_receipt_code
from handlers.types import Context, Incoming, Outcome, Reply, State


def invite(ctx: Context, state: State, msg: Incoming, arg: str) -> Outcome:
    """/moi <role>: an admin gets a code for a new officer, valid 24 hours, usable once."""
    admin = officers.by_sender(ctx.session, msg.channel, msg.user_id)
    if admin is None or admin.role != officers.ADMIN:
        return state, [Reply(ctx.content.text("staff.not_admin"))]
    role = arg.strip().lower()
    if role not in officers.ROLES:
        return state, [
            Reply(ctx.content.text("staff.invite_usage", roles=", ".join(officers.ROLES)))
        ]
    created = officers.create_invite(ctx.session, admin, role, ctx.now)
    expires = to_vietnam(created.expires_at).strftime("%H:%M %d/%m/%Y")
    return state, [
        Reply(
            ctx.content.text("staff.invite_created", code=created.code, role=role, expires=expires)
        )
    ]


def link(ctx: Context, state: State, msg: Incoming, arg: str) -> Outcome:
    """/lienket <code>: an officer links this Zalo account to their console account, to
    receive notices here (the code is shown on their console account page)."""
    code = parse_receipt_code(arg)
    if msg.channel != officers.ZALO_LINK or code is None:
        return state, [Reply(ctx.content.text("staff.link_usage"))]
    if not _may_try(ctx, msg, "link"):
        return state, [Reply(ctx.content.text("staff.too_many_tries"))]
    officer = accounts.link_zalo(ctx.session, code, msg.user_id, ctx.now)
    if officer is None:
        return state, [Reply(ctx.content.text("staff.link_invalid"))]
    return state, [Reply(ctx.content.text("staff.link_done", name=officer.name))]


def login(ctx: Context, state: State, msg: Incoming, arg: str) -> Outcome:
    """/dangnhap <code> <full name>: bind this Telegram account as an officer."""
    if msg.channel != officers.TELEGRAM_LINK or not msg.user_id.isdigit():
        return state, [Reply(ctx.content.text("staff.login_invalid"))]
    parts = arg.split(maxsplit=1)
    code = parse_receipt_code(parts[0]) if parts else None
    name = parts[1].strip() if len(parts) > 1 else ""
    if code is None or not name:
        return state, [Reply(ctx.content.text("staff.login_usage"))]
    if officers.by_telegram(ctx.session, int(msg.user_id)) is not None:
        return state, [Reply(ctx.content.text("staff.already_officer"))]
    if not _may_try(ctx, msg, "invite"):
        return state, [Reply(ctx.content.text("staff.too_many_tries"))]
    try:
        officer = officers.redeem(ctx.session, code, int(msg.user_id), name[:128], ctx.now)
    except officers.OfficerError:
        return state, [Reply(ctx.content.text("staff.login_invalid"))]
    return state, [
        Reply(ctx.content.text("staff.login_done", name=officer.name, role=officer.role))
    ]


CODE_TRIES = 5  # one-time codes an account may try an hour: guessing one takes ages


def _may_try(ctx: Context, msg: Incoming, what: str) -> bool:
    key = f"{what}:{msg.channel}:{msg.user_id}"
    return throttle.allow(ctx.session, key, CODE_TRIES, timedelta(hours=1), ctx.now)
