"""Reporting a scam: a guided, resumable flow from consent to a receipt code."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from content import CONSENT_VERSION, Content, Markup
from db import reports, residents
from db.clock import to_vietnam
from db.identifiers import ParsedIdentifier, bank_account, phone
from handlers import police
from handlers.evidence import keep as keep_evidence
from handlers.extract import extract, find_bank, mentions_urgency
from handlers.flow import Answer, Flow, choice, enter, finish, goto, rows, stay
from handlers.menu import hotline_lines, menu_reply
from handlers.parse import AmountError, DateError, format_amount, parse_amount, parse_day, substance
from handlers.types import Button, Context, Incoming, Outcome, Reply, State

PURPOSE = "report"
FORWARDED = "fwd"  # deep-link argument and memory key for a forwarded scam message
TRAFFICKING, OTHER = "trafficking", "other"
MIN_ACCOUNT, MIN_VICTIM = 15, 5


def _discard_evidence(ctx: Context, state: State) -> None:
    owner = (state.draft or {}).get("owner")
    if owner:
        reports.discard_draft_evidence(ctx.session, owner)
    state.draft = None


def _remember_place(state: State) -> None:
    """Note the step and trail in the draft, so /totgiac can resume there after a detour."""
    if state.draft is not None and state.step not in (None, "resume"):
        state.draft["step"], state.draft["trail"] = state.step, list(state.trail)


FLOW = Flow("report", on_cancel=_discard_evidence, after_turn=_remember_place)


def start(ctx: Context, state: State, msg: Incoming, arg: str) -> Outcome:
    if state.draft and state.draft.get("type"):
        return enter(ctx, state, FLOW, "resume")
    state.draft = {
        "owner": f"{msg.channel}:{msg.user_id}",
        "channel": msg.channel,
        "photos": msg.carries_photos,
        "identifiers": [],
        "pending": [],
        "evidence": 0,
    }
    forwarded = state.memory.pop(FORWARDED, None) if arg == FORWARDED else None
    if forwarded:
        state.draft["account"] = forwarded
        _collect(ctx, state.draft, forwarded)
    resident = residents.find(ctx.session, msg.channel, msg.user_id)
    if resident and residents.has_consented(ctx.session, resident, PURPOSE, CONSENT_VERSION):
        return enter(ctx, state, FLOW, "type")
    return enter(ctx, state, FLOW, "consent")


def _draft(state: State) -> dict[str, Any]:
    assert state.draft is not None
    return state.draft


def _controls(ctx: Context, state: State, back: bool = True) -> tuple[Button, ...]:
    label = ctx.content.raw
    cancel = choice(state, "cancel", label("buttons.cancel"))
    return (choice(state, "back", label("buttons.back")), cancel) if back else (cancel,)


def _ask(
    ctx: Context,
    state: State,
    key: str,
    options: list[Button] | None = None,
    back: bool = True,
    **values: Any,
) -> list[Reply]:
    buttons = (*rows(*(options or [])), _controls(ctx, state, back))
    return [Reply(ctx.content.text(key, **values), buttons)]


# --- consent and resume ---------------------------------------------------------------


def prompt_consent(ctx: Context, state: State) -> list[Reply]:
    label = ctx.content.raw
    return [
        Reply(
            ctx.content.text("report.consent"),
            rows(
                choice(state, "agree", label("buttons.agree")),
                choice(state, "disagree", label("buttons.disagree")),
                per_row=2,
            ),
        )
    ]


@FLOW.step("consent")
def consent(ctx: Context, state: State, answer: Answer) -> Outcome:
    if answer.value == "disagree":
        state.draft = None
        finish(state)
        return state, [menu_reply(ctx.content, ctx.content.text("report.consent_declined"))]
    if answer.value != "agree":
        return stay(ctx, state, FLOW, ctx.content.text("common.pick_button"))
    draft = _draft(state)
    channel, user_id = draft["owner"].split(":", 1)
    resident = residents.get_or_create(ctx.session, channel, user_id, ctx.now)
    residents.record_consent(ctx.session, resident, PURPOSE, CONSENT_VERSION, ctx.now)
    return goto(ctx, state, FLOW, "type", remember=False)


def prompt_resume(ctx: Context, state: State) -> list[Reply]:
    label = ctx.content.raw
    return [
        Reply(
            ctx.content.text("report.resume_draft"),
            rows(
                choice(state, "resume", label("buttons.resume")),
                choice(state, "restart", label("buttons.restart")),
                choice(state, "cancel", label("buttons.cancel")),
            ),
        )
    ]


@FLOW.step("resume", can_go_back=False)
def resume(ctx: Context, state: State, answer: Answer) -> Outcome:
    draft = _draft(state)
    if answer.value == "resume":
        state.trail = list(draft.get("trail", []))
        return goto(ctx, state, FLOW, draft.get("step") or "type", remember=False)
    if answer.value == "restart":
        _discard_evidence(ctx, state)
        owner_channel, owner_user = draft["owner"].split(":", 1)
        message = Incoming(owner_channel, owner_user, "", carries_photos=draft["photos"])
        return start(ctx, state, message, "")
    return stay(ctx, state, FLOW, ctx.content.text("common.pick_button"))


# --- what happened ----------------------------------------------------------------------


def type_label(content: Content, scam_type: str) -> str:
    if scam_type == TRAFFICKING:
        return str(content.raw("buttons.trafficking"))
    scam = content.scam(scam_type)
    return str(scam["short"]) if scam else str(content.raw("buttons.other_type"))


def prompt_type(ctx: Context, state: State) -> list[Reply]:
    content = ctx.content
    options = [choice(state, TRAFFICKING, content.raw("buttons.trafficking"))]
    options += [choice(state, s["id"], s["short"]) for s in content.scams]
    options.append(choice(state, OTHER, content.raw("buttons.other_type")))
    return _ask(ctx, state, "report.ask_type", options, back=False)


def _turn_urgent(ctx: Context, state: State) -> Reply:
    _draft(state)["urgent"] = True
    return Reply(ctx.content.text("report.urgent_alert", hotlines=hotline_lines(ctx.content)))


@FLOW.step("type")
def pick_type(ctx: Context, state: State, answer: Answer) -> Outcome:
    draft = _draft(state)
    known = {TRAFFICKING, OTHER, *(s["id"] for s in ctx.content.scams)}
    if answer.value in known:
        draft["type"] = answer.value
    elif mentions_urgency(ctx.content, answer.text):
        draft["type"] = TRAFFICKING
    else:
        return stay(ctx, state, FLOW, ctx.content.text("common.pick_button"))
    if draft["type"] == TRAFFICKING or mentions_urgency(ctx.content, draft.get("account", "")):
        return goto(ctx, state, FLOW, "victim", before=[_turn_urgent(ctx, state)])
    # A report begun from a forwarded message already has its account.
    return goto(ctx, state, FLOW, "identifiers" if draft.get("account") else "account")


def prompt_victim(ctx: Context, state: State) -> list[Reply]:
    return _ask(ctx, state, "report.ask_victim")


@FLOW.step("victim")
def victim(ctx: Context, state: State, answer: Answer) -> Outcome:
    if substance(answer.text) < MIN_VICTIM:
        return stay(ctx, state, FLOW, ctx.content.text("report.victim_too_short"))
    draft = _draft(state)
    draft["victim"] = answer.text
    return goto(ctx, state, FLOW, "identifiers" if draft.get("account") else "account")


def prompt_account(ctx: Context, state: State) -> list[Reply]:
    return _ask(ctx, state, "report.ask_account")


@FLOW.step("account")
def account(ctx: Context, state: State, answer: Answer) -> Outcome:
    if substance(answer.text) < MIN_ACCOUNT:
        return stay(ctx, state, FLOW, ctx.content.text("report.account_too_short", min=MIN_ACCOUNT))
    draft = _draft(state)
    draft["account"] = answer.text
    _collect(ctx, draft, answer.text)
    if not draft.get("urgent") and mentions_urgency(ctx.content, answer.text):
        alert = _turn_urgent(ctx, state)
        if not draft.get("victim"):
            return goto(ctx, state, FLOW, "victim", before=[alert])
        return goto(ctx, state, FLOW, "identifiers", before=[alert])
    return goto(ctx, state, FLOW, "identifiers")


# --- the scammer's identifiers ------------------------------------------------------------


def _collect(ctx: Context, draft: dict[str, Any], text: str) -> bool:
    """Add what the text names to the draft; False if it named nothing."""
    found = extract(ctx.content, text)
    for parsed in found.identifiers:
        item = parsed.__dict__
        if item not in draft["identifiers"]:
            draft["identifiers"].append(dict(item))
    for digits in found.accounts_without_bank:
        if digits not in draft["pending"]:
            draft["pending"].append(digits)
    limit = ctx.limits.identifiers_per_report
    del draft["identifiers"][limit:]
    del draft["pending"][max(0, limit - len(draft["identifiers"])) :]
    return bool(found.identifiers or found.accounts_without_bank)


def _identifier_text(content: Content, item: dict[str, Any]) -> str:
    bank = content.bank(item.get("bank") or "")
    return f"{item['display']} ({bank['name']})" if bank else str(item["display"])


def prompt_identifiers(ctx: Context, state: State) -> list[Reply]:
    draft = _draft(state)
    label = ctx.content.raw
    done_label = label("buttons.done") if draft["identifiers"] else label("buttons.none_known")
    replies = _ask(ctx, state, "report.ask_identifiers", [choice(state, "done", done_label)])
    if draft["identifiers"]:
        items = "\n".join(f"• {_identifier_text(ctx.content, i)}" for i in draft["identifiers"])
        so_far = ctx.content.text("report.identifiers_so_far", items=items)
        replies[0] = Reply(f"{so_far}\n\n{replies[0].text}", replies[0].buttons)
    return replies


@FLOW.step("identifiers")
def add_identifiers(ctx: Context, state: State, answer: Answer) -> Outcome:
    draft = _draft(state)
    if answer.value == "done":
        if draft["pending"]:
            return goto(ctx, state, FLOW, "bank", remember=False)
        return goto(ctx, state, FLOW, "amount")
    if len(draft["identifiers"]) >= ctx.limits.identifiers_per_report:
        notice = Reply(
            ctx.content.text("report.identifiers_full", limit=ctx.limits.identifiers_per_report)
        )
        return goto(ctx, state, FLOW, "amount", before=[notice])
    if not _collect(ctx, draft, answer.text):
        return stay(ctx, state, FLOW, ctx.content.text("report.identifiers_none_found"))
    if draft["pending"]:
        return goto(ctx, state, FLOW, "bank", remember=False)
    return state, prompt_identifiers(ctx, state)


def prompt_bank(ctx: Context, state: State) -> list[Reply]:
    draft = _draft(state)
    options = [choice(state, b["code"], b["name"]) for b in ctx.content.banks[:10]]
    options.append(choice(state, "none", ctx.content.raw("buttons.unknown_bank")))
    return _ask(ctx, state, "report.ask_bank", options, back=False, account=draft["pending"][0])


@FLOW.step("bank", can_go_back=False)
def pick_bank(ctx: Context, state: State, answer: Answer) -> Outcome:
    draft = _draft(state)
    if not draft["pending"]:  # nothing left to ask (an old screen): carry on
        return goto(ctx, state, FLOW, "identifiers", remember=False)
    if answer.value == "none":
        code = ""
    elif answer.value and ctx.content.bank(answer.value):
        code = answer.value
    else:
        code = find_bank(ctx.content, answer.text)
        if not code:
            return stay(ctx, state, FLOW, ctx.content.text("common.pick_button"))
    parsed = bank_account(draft["pending"].pop(0), code)
    if parsed and parsed.__dict__ not in draft["identifiers"]:
        draft["identifiers"].append(dict(parsed.__dict__))
    if draft["pending"]:
        return state, prompt_bank(ctx, state)
    return goto(ctx, state, FLOW, "identifiers", remember=False)


# --- money and time ----------------------------------------------------------------------


def prompt_amount(ctx: Context, state: State) -> list[Reply]:
    label = ctx.content.raw
    return _ask(
        ctx,
        state,
        "report.ask_amount",
        [
            choice(state, "zero", label("buttons.no_loss")),
            choice(state, "skip", label("buttons.skip")),
        ],
    )


@FLOW.step("amount")
def amount(ctx: Context, state: State, answer: Answer) -> Outcome:
    draft = _draft(state)
    if answer.value in ("zero", "skip"):
        draft["amount"] = 0 if answer.value == "zero" else None
    else:
        try:
            draft["amount"] = parse_amount(answer.text)
        except AmountError as error:
            return stay(ctx, state, FLOW, ctx.content.text(f"report.amount_{error}"))
    return goto(ctx, state, FLOW, "when")


def prompt_when(ctx: Context, state: State) -> list[Reply]:
    label = ctx.content.raw
    options = [
        choice(state, "today", label("buttons.today")),
        choice(state, "yesterday", label("buttons.yesterday")),
        choice(state, "skip", label("buttons.skip")),
    ]
    return _ask(ctx, state, "report.ask_when", options)


@FLOW.step("when")
def when(ctx: Context, state: State, answer: Answer) -> Outcome:
    draft = _draft(state)
    today = to_vietnam(ctx.now).date()
    if answer.value == "skip":
        draft["when"] = None
    elif answer.value in ("today", "yesterday"):
        draft["when"] = (today - timedelta(days=answer.value == "yesterday")).isoformat()
    else:
        try:
            draft["when"] = parse_day(answer.text, today).isoformat()
        except DateError as error:
            key = {"future": "when_future", "old": "when_too_old"}.get(str(error), "when_invalid")
            return stay(ctx, state, FLOW, ctx.content.text(f"report.{key}"))
    return goto(ctx, state, FLOW, "evidence" if draft["photos"] else "contact")


# --- evidence and contact -----------------------------------------------------------------


def prompt_evidence(ctx: Context, state: State) -> list[Reply]:
    draft = _draft(state)
    label = ctx.content.raw("buttons.done" if draft["evidence"] else "buttons.skip")
    return _ask(ctx, state, "report.ask_evidence", [choice(state, "done", label)])


@FLOW.step("evidence", takes_photos=True)
def evidence(ctx: Context, state: State, answer: Answer) -> Outcome:
    draft = _draft(state)
    if answer.value == "done":
        return goto(ctx, state, FLOW, "contact")
    photos = [a for a in answer.attachments if a.kind == "photo"]
    if not photos:
        return stay(ctx, state, FLOW, ctx.content.text("report.evidence_not_photo"))
    kept, notes = keep_evidence(ctx, photos, draft["evidence"], draft_owner=draft["owner"])
    draft["evidence"] += len(kept)
    notes.append(ctx.content.text("report.evidence_received", count=draft["evidence"]))
    return stay(ctx, state, FLOW, "\n".join(notes))


def prompt_contact(ctx: Context, state: State) -> list[Reply]:
    label = ctx.content.raw
    return _ask(
        ctx,
        state,
        "report.ask_contact",
        [
            choice(state, "anonymous", label("buttons.anonymous")),
            choice(state, "phone", label("buttons.leave_phone")),
        ],
    )


@FLOW.step("contact")
def contact(ctx: Context, state: State, answer: Answer) -> Outcome:
    if answer.value == "anonymous":
        _draft(state)["phone"] = None
        return goto(ctx, state, FLOW, "confirm")
    if answer.value == "phone":
        return goto(ctx, state, FLOW, "phone")
    if phone(answer.text):  # typed the number straight away
        return _take_phone(ctx, state, answer)
    return stay(ctx, state, FLOW, ctx.content.text("common.pick_button"))


def prompt_phone(ctx: Context, state: State) -> list[Reply]:
    return _ask(ctx, state, "report.ask_phone")


@FLOW.step("phone")
def _take_phone(ctx: Context, state: State, answer: Answer) -> Outcome:
    parsed = phone(answer.text) if 6 <= len(answer.text) <= 24 else None
    if parsed is None:
        return stay(ctx, state, FLOW, ctx.content.text("report.phone_invalid"))
    _draft(state)["phone"] = parsed.value
    return goto(ctx, state, FLOW, "confirm")


# --- confirm and save ---------------------------------------------------------------------


def prompt_confirm(ctx: Context, state: State) -> list[Reply]:
    content, draft = ctx.content, _draft(state)
    none = content.text("report.summary_none")
    identifiers = ", ".join(_identifier_text(content, i) for i in draft["identifiers"]) or none
    amount = draft.get("amount")
    when = draft.get("when")
    text = content.text(
        "report.summary",
        type=type_label(content, draft["type"]),
        urgent=Markup(content.text("report.summary_urgent") if draft.get("urgent") else ""),
        account=draft["account"],
        victim=Markup(
            content.text("report.summary_victim", victim=draft["victim"])
            if draft.get("victim")
            else ""
        ),
        identifiers=identifiers,
        amount=format_amount(amount) if amount is not None else none,
        when=date.fromisoformat(when).strftime("%d/%m/%Y") if when else none,
        evidence=str(draft["evidence"]) if draft["photos"] else none,
        contact=draft.get("phone") or content.text("report.summary_anonymous"),
    )
    submit = choice(state, "submit", content.raw("buttons.submit"))
    return [Reply(text, (*rows(submit), _controls(ctx, state)))]


@FLOW.step("confirm")
def confirm(ctx: Context, state: State, answer: Answer) -> Outcome:
    if answer.value != "submit":
        return stay(ctx, state, FLOW, ctx.content.text("common.pick_button"))
    draft = _draft(state)
    channel, user_id = draft["owner"].split(":", 1)
    resident = residents.get_or_create(ctx.session, channel, user_id, ctx.now)
    assert resident.id is not None
    recent = reports.recent_of_resident(ctx.session, resident.id, ctx.now - timedelta(days=1))
    same = next(
        (r for r in recent if r.account == draft["account"] and r.scam_type == draft["type"]), None
    )
    if same:  # a resend of the same report: link to it rather than open a second case
        _discard_evidence(ctx, state)
        finish(state)
        return state, [
            menu_reply(
                ctx.content, ctx.content.text("report.linked_duplicate", code=same.receipt_code)
            )
        ]
    if len(recent) >= ctx.limits.reports_per_day:
        return stay(
            ctx,
            state,
            FLOW,
            ctx.content.text("report.limit_reached", limit=ctx.limits.reports_per_day),
        )
    report = reports.create(
        ctx.session,
        _to_report_draft(draft),
        resident.id,
        ctx.now,
        ack_within=_ack_within(ctx, bool(draft.get("urgent"))),
        resolve_within=timedelta(days=ctx.limits.resolve_days),
    )
    ctx.effects.append(police.card(report))
    if draft["evidence"]:
        ctx.effects.append(police.album(report))
    state.draft = None
    finish(state)
    saved = ctx.content.text("report.saved", code=report.receipt_code)
    if report.urgent:
        saved += "\n" + ctx.content.text("report.saved_urgent")
    return state, [menu_reply(ctx.content, saved)]


def _ack_within(ctx: Context, urgent: bool) -> timedelta:
    if urgent:
        return timedelta(minutes=ctx.limits.urgent_ack_minutes)
    return timedelta(hours=ctx.limits.ack_hours)


def _to_report_draft(draft: dict[str, Any]) -> reports.Draft:
    return reports.Draft(
        channel=draft["channel"],
        scam_type=draft["type"],
        account=draft["account"],
        consent_version=CONSENT_VERSION,
        urgent=bool(draft.get("urgent")),
        victim_info=draft.get("victim"),
        amount_vnd=draft.get("amount"),
        occurred_on=date.fromisoformat(draft["when"]) if draft.get("when") else None,
        contact_phone=draft.get("phone"),
        identifiers=[ParsedIdentifier(**i) for i in draft["identifiers"]],
        evidence_owner=draft["owner"] if draft["evidence"] else None,
    )
