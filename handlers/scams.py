"""The scam-tricks library: a few groups, each a short list to pick from, and each trick's
signs and defences. Groups keep every screen within what a Zalo message shows as buttons."""

from __future__ import annotations

from content import Content
from db import awareness
from handlers.flow import nav, rows
from handlers.types import Context, Incoming, Outcome, Reply, State


def show(ctx: Context, state: State, msg: Incoming, arg: str) -> Outcome:
    content = ctx.content
    scam = content.scam(arg) if arg else None
    if scam:
        # Counted for the periodic report (most viewed tricks): the day and the trick only.
        awareness.scam_viewed(ctx.session, scam["id"], ctx.now)
        return state, [_detail(content, scam)]
    groups = content.raw("scams.groups")
    if arg in groups:
        return state, [_group(content, arg, groups[arg])]
    intro = content.text("scams.not_found") if arg else content.text("scams.intro")
    buttons = [nav(label, f"/thudoan {code}") for code, label in groups.items()]
    buttons.append(nav(content.raw("buttons.menu"), "/start"))
    return state, [Reply(intro, rows(*buttons))]


def _group(content: Content, code: str, label: str) -> Reply:
    buttons = [nav(s["short"], f"/thudoan {s['id']}") for s in content.scams if s["group"] == code]
    buttons.append(nav(content.raw("buttons.more_scams"), "/thudoan"))
    buttons.append(nav(content.raw("buttons.menu"), "/start"))
    return Reply(content.text("scams.group_intro", group=label), rows(*buttons))


def _detail(content: Content, scam: dict) -> Reply:
    def section(icon: str, key: str, items: list[str]) -> str:
        bullets = "\n".join(f"• {item}" for item in items)
        return f"{icon} <b>{content.text('scams.' + key)}</b>\n{bullets}"

    text = "\n\n".join(
        [
            f"<b>{scam['title']}</b>",
            f"📩 <b>{content.text('scams.starts')}</b>\n{scam['starts']}",
            section("⚠️", "signs", scam["signs"]),
            section("✅", "do", scam["do"]),
            section("⛔", "never", scam["never"]),
        ]
    )
    label = content.raw
    buttons = rows(
        nav(label("buttons.more_scams"), f"/thudoan {scam['group']}"),
        nav(label("buttons.report_now"), "/totgiac"),
        nav(label("buttons.menu"), "/start"),
    )
    return Reply(text, buttons)
