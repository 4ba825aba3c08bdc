"""'4 không, 2 phải': the ward's six rules in the plan's own words, then a little advice."""

from __future__ import annotations

from handlers.flow import nav, rows
from handlers.types import Context, Incoming, Outcome, Reply, State


def show(ctx: Context, state: State, msg: Incoming, arg: str) -> Outcome:
    rules = ctx.content.rules
    lines = [f"<b>{rules['title']}</b>", rules["intro"], ""]
    lines += [f"❌ <b>{i}. {r['name']}:</b> {r['text']}" for i, r in enumerate(rules["khong"], 1)]
    lines += [f"✅ <b>{i}. {r['name']}:</b> {r['text']}" for i, r in enumerate(rules["phai"], 1)]
    lines += ["", f"💡 <b>{rules['advice_title']}</b>"]
    lines += [f"• {advice}" for advice in rules["advice"]]
    lines += ["", ctx.content.text("awareness.footer")]
    label = ctx.content.raw
    buttons = rows(
        nav(label("buttons.next_scams"), "/thudoan"),
        nav(label("buttons.quiz"), "/cauhoi"),
        nav(label("buttons.report_now"), "/totgiac"),
        nav(label("buttons.menu"), "/start"),
    )
    return state, [Reply("\n".join(lines), buttons)]
