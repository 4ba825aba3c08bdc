"""The money-recovery clock: money just sent to a scammer can sometimes be frozen if the
banks hear at once, so a resident who lost money is told how, before anything else."""

from __future__ import annotations

from datetime import date, timedelta

from content import Content
from db.clock import to_vietnam
from handlers.draft import ReportDraft
from handlers.flow import nav, rows
from handlers.parse import amount_in, format_amount
from handlers.types import Context, Reply

# Transfers older than this are rarely frozen; the advice is still given when the day is
# unknown.
RECENT = timedelta(days=7)


def after_report(ctx: Context, draft: ReportDraft, code: str | None = None) -> str:
    """Freeze advice for a report of money lost recently (or on a day not given), to follow
    the receipt in the same message; empty when there is none to give."""
    if not draft.amount:
        return ""
    today = to_vietnam(ctx.now).date()
    if draft.when and today - date.fromisoformat(draft.when) > RECENT:
        return ""
    receiving = [i for i in draft.identifiers if i.get("kind") == "bank"]
    content = ctx.content
    none = content.text("money.unknown_account")
    account = ", ".join(_account(content, i) for i in receiving) or none
    day = content.text("money.unknown_day")
    when = date.fromisoformat(draft.when).strftime("%d/%m/%Y") if draft.when else day
    if not draft.when and draft.when_said:
        when = draft.when_said  # as they said it ("tuần trước"): no day is made up
    script = content.text(
        "money.script",
        amount=format_amount(draft.amount),
        account=account,
        when=when,
        code=_code(content, code or draft.receipt_code),
    )
    banks = [content.bank(str(i.get("bank") or "")) for i in receiving]
    return "\n\n" + content.text("money.freeze", banks=_hotlines(content, banks), script=script)


def after_message(content: Content, text: str = "") -> Reply:
    """Said at once to a resident who writes that they just lost money: freeze first, then
    a one-tap report (no report exists yet, so the text claims none)."""
    buttons = rows(
        nav(content.raw("buttons.report_now"), "/totgiac ke"),
        nav(content.raw("buttons.menu"), "/start"),
    )
    lost = amount_in(text)
    script = content.text(
        "money.script",
        amount=format_amount(lost) if lost else content.text("money.unknown_amount"),
        account=content.text("money.unknown_account"),
        when=content.text("money.today"),
        code="",
    )
    return Reply(content.text("money.freeze", banks=_hotlines(content, []), script=script), buttons)


def _code(content: Content, code: str | None) -> str:
    return content.text("money.code", code=code) if code else ""


def _account(content: Content, identifier: dict[str, object]) -> str:
    bank = content.bank(str(identifier.get("bank") or ""))
    return f"{identifier['display']} ({bank['name']})" if bank else str(identifier["display"])


def _hotlines(content: Content, banks: list[dict[str, object] | None]) -> str:
    """The receiving banks' hotlines the ward has checked; otherwise where to find them."""
    known = [
        content.text("money.bank_line", bank=bank["name"], phone=bank["hotline"])
        for bank in banks
        if bank and bank.get("hotline") and bank.get("hotline_verified")
    ]
    return "\n".join([*known, content.text("money.own_bank")])
