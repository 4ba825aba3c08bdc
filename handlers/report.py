"""Reporting a scam: a guided, resumable flow from consent to a receipt code.

The questions are asked in the order of ORDER: after each answer the flow goes to the first
question still needed (NEEDED says when each is). An urgent report (someone held or
trafficked) is saved and the police paged as soon as the victim's whereabouts are known; the
first thing asked after that is a phone to call back, and the rest adds to the saved report.
Someone who may be in distress is asked the urgent question before anything else, and the
data notice they agree to is one line (the whole notice one tap away)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from content import CONSENT_VERSION, Content, Markup
from db import reports, residents, units
from db.clock import to_vietnam
from db.identifiers import ParsedIdentifier, bank_account, phone
from db.models import Report, Unit
from db.outbox import Message
from handlers import home, money, notify, police
from handlers.distress import TOLD
from handlers.draft import ReportDraft
from handlers.evidence import keep as keep_evidence
from handlers.extract import extract, find_bank
from handlers.flow import Answer, Flow, choice, choice_key, enter, finish, goto, rows, stay
from handlers.kinds import OTHER, TRAFFICKING, type_label
from handlers.menu import hotline_lines, menu_reply
from handlers.parse import (
    AmountError,
    DateError,
    amount_in,
    format_amount,
    parse_amount,
    parse_day,
    substance,
    vague_time,
)
from handlers.signals import guess_type, mentions_held
from handlers.types import Button, Context, Incoming, Outcome, Reply, State

PURPOSE = "report"
# State.data keys: the bare number typed at the money or date question, and what the same
# number meant on that screen's numbered options (offered at the same place on the check).
TYPED, ALTERNATIVE = "typed", "alternative"
FORWARDED = "fwd"  # deep-link argument and memory key for a forwarded scam message
URGENT_START = "khan"  # deep-link argument: a report that is urgent from the start
TOLD_START = "ke"  # deep-link argument: a report whose story is what they wrote at the menu
MIN_ACCOUNT, MIN_VICTIM = 15, 5
# A story typed at the type step, shorter than MIN_ACCOUNT, is kept when it says something
# the flow can use (a trick's words, someone held, a number or link, a sum) and has this much.
MIN_STORY = 4
# A bare number at the money question: below this it is taken as millions (2 → 2 triệu),
# below BARE_THOUSANDS as thousands (500 → 500 nghìn), and the resident is asked to confirm.
BARE_MILLIONS, BARE_THOUSANDS = 100, 1000
DONE_WORDS = {"xong", "khong co", "ko co", "k co", "het", "khong", "ko", "khong biet"}
# Yes and no as people type them, at a yes/no question.
YES_WORDS = {"co", "co a", "u", "uh", "vang", "da", "dung", "dung roi", "ok", "yes", "phai"}
NO_WORDS = {"khong", "ko", "k", "khong phai", "khong co", "no", "sai"}


def _yes_or_no(answer: Answer) -> str | None:
    """'yes'/'no' from a typed answer (its first words), else None."""
    words = choice_key(answer.text).split()
    for length in (2, 1):
        head = " ".join(words[:length])
        if head in YES_WORDS:
            return "yes"
        if head in NO_WORDS:
            return "no"
    return None


# The questions, in the order a resident meets them.
ORDER = (
    "urgent_check",  # words in their story may mean someone is held: asked before all else
    "consent",  # one line when someone may be in danger, the whole notice otherwise
    "type_guess",  # "your story sounds like: …, right?"
    "type",
    "victim",  # urgent: where the victim is; with that answer the report is saved
    "callback",  # urgent and saved: a phone for the police to call back, at once
    "phone",
    "account",
    "bank",
    "identifiers",
    "amount",
    "when",
    "evidence",
    "contact",
    "confirm",
)
# When each question is still needed, from what the draft holds.
NEEDED: dict[str, Callable[[ReportDraft], bool]] = {
    "urgent_check": lambda d: d.held_words and not d.urgent and not d.urgent_asked,
    "consent": lambda d: not d.consented,
    "type_guess": lambda d: d.type is None and bool(d.type_guess),
    "type": lambda d: d.type is None,
    "victim": lambda d: d.urgent and d.victim is None,
    "callback": lambda d: d.report_id is not None and d.anonymous is None,
    "phone": lambda d: d.anonymous is False and d.phone is None,
    "account": lambda d: d.account is None,
    "bank": lambda d: bool(d.pending),
    "identifiers": lambda d: not d.identifiers_done,
    "amount": lambda d: not d.amount_answered,
    "when": lambda d: not d.when_answered,
    "evidence": lambda d: d.photos and not d.evidence_done,
    "contact": lambda d: d.anonymous is None,
    "confirm": lambda d: True,
}


def _on_cancel(ctx: Context, state: State) -> str | None:
    """Drop the draft and its unsent photos; an urgent report already with the police stays,
    and the resident is told so rather than that everything was dropped."""
    draft = state.draft
    state.draft = None
    if draft is None:
        return None
    if draft.report_id is None:
        reports.discard_draft_evidence(ctx.session, draft.owner)
        return None
    return ctx.content.text("report.cancel_after_saved", code=draft.receipt_code)


def ask_before_discarding(ctx: Context, state: State) -> Outcome | None:
    """/huy over a story already told: ask first (a long account lost to one word is a
    resident who does not come back); None when there is nothing worth asking about."""
    draft = state.draft
    if draft is None or draft.report_id is not None or not draft.account or state.step == "discard":
        return None
    if state.flow != FLOW.name:  # after a detour: the draft waits outside the flow
        state.flow, state.trail = FLOW.name, list(draft.trail)
        state.seq += 1
    return goto(ctx, state, FLOW, "discard", remember=False)


def _remember_place(state: State) -> None:
    """Note the step and trail in the draft, so /totgiac can resume there after a detour."""
    if state.draft is not None and state.step not in (None, "resume", "discard"):
        state.draft.step, state.draft.trail = state.step, list(state.trail)


FLOW = Flow("report", on_cancel=_on_cancel, after_turn=_remember_place)


def start(ctx: Context, state: State, msg: Incoming, arg: str) -> Outcome:
    if state.draft and (state.draft.type or state.draft.account):
        return enter(ctx, state, FLOW, "resume")
    state.draft = draft = ReportDraft(
        owner=f"{msg.channel}:{msg.user_id}", channel=msg.channel, photos=msg.carries_photos
    )
    told = state.memory.pop(TOLD, None) if arg in (URGENT_START, TOLD_START) else None
    told = told or (state.memory.pop(FORWARDED, None) if arg == FORWARDED else None)
    if told:
        draft.account = told
        _collect(ctx, draft, told)
    if arg == URGENT_START:
        draft.type, draft.urgent = TRAFFICKING, True
    resident = residents.find(ctx.session, msg.channel, msg.user_id)
    draft.consented = bool(
        resident and residents.has_consented(ctx.session, resident, PURPOSE, CONSENT_VERSION)
    )
    state.flow, state.step, state.trail, state.data = FLOW.name, None, [], {}
    state.seq += 1
    return _advance(ctx, state)


def _draft(state: State) -> ReportDraft:
    assert state.draft is not None
    return state.draft


def _advance(ctx: Context, state: State, before: list[Reply] | None = None) -> Outcome:
    """Go to the first question still needed; first, an urgent report whose victim's
    whereabouts are known is saved and the police paged, and a saved report takes in what
    the last answer added."""
    draft = _draft(state)
    replies = list(before or [])
    if draft.report_id is not None:
        _amend(ctx, draft)
    elif draft.urgent and draft.victim is not None and draft.consented:
        replies += _save(ctx, state)  # urgent reports are always saved: no limit applies
    step = next(name for name in ORDER if NEEDED[name](draft))
    if step == "amount" and draft.amount_guess is not None:
        step = "amount_check"  # the story named a sum: "5.000.000 đ, đúng không?"
        for key in (TYPED, ALTERNATIVE):  # not a number they typed: no other reading
            state.data.pop(key, None)
    # The bank question is a detour of the identifiers step: "back" never lands on it.
    remember = "bank" not in (step, state.step)
    return goto(ctx, state, FLOW, step, before=replies, remember=remember)


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


def _in_distress(draft: ReportDraft) -> bool:
    """Someone may be in danger: the report is urgent, or their words may mean it."""
    return draft.urgent or draft.held_words


def prompt_consent(ctx: Context, state: State) -> list[Reply]:
    """The data notice: in distress one line, with the whole notice one tap away."""
    label = ctx.content.raw
    short = _in_distress(_draft(state)) and not state.data.get("consent_full")
    options = [choice(state, "agree", label("buttons.agree"))]
    if short:
        options.append(choice(state, "full", label("buttons.consent_full")))
    options.append(choice(state, "disagree", label("buttons.disagree")))
    key = "report.consent_short" if short else "report.consent"
    return [Reply(ctx.content.text(key), rows(*options))]


@FLOW.step("consent", can_go_back=False)
def consent(ctx: Context, state: State, answer: Answer) -> Outcome:
    draft = _draft(state)
    if answer.value == "full":
        state.data["consent_full"] = True
        return state, prompt_consent(ctx, state)
    if answer.value == "disagree":
        state.draft = None
        finish(state)
        declined = ctx.content.text("report.consent_declined")
        if _in_distress(draft):  # nothing is kept: the hotlines are what is left to give
            declined += "\n" + hotline_lines(ctx.content, urgent_only=True).markup
        return state, [menu_reply(ctx.content, declined, full=True)]
    if answer.value != "agree":
        return stay(ctx, state, FLOW, ctx.content.text("common.pick_button"))
    channel, user_id = draft.owner.split(":", 1)
    resident = residents.get_or_create(ctx.session, channel, user_id, ctx.now)
    residents.record_consent(ctx.session, resident, PURPOSE, CONSENT_VERSION, ctx.now)
    draft.consented = True
    state.data.pop("consent_full", None)
    state.step = None  # consent is not a step to come back to
    return _advance(ctx, state)


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
        state.trail = list(draft.trail)
        return goto(ctx, state, FLOW, draft.step or "type", remember=False)
    if answer.value == "restart":
        if draft.report_id is None:
            reports.discard_draft_evidence(ctx.session, draft.owner)
        state.draft = None
        owner_channel, owner_user = draft.owner.split(":", 1)
        message = Incoming(owner_channel, owner_user, "", carries_photos=draft.photos)
        return start(ctx, state, message, "")
    return stay(ctx, state, FLOW, ctx.content.text("common.pick_button"))


def prompt_discard(ctx: Context, state: State) -> list[Reply]:
    label = ctx.content.raw
    options = rows(
        choice(state, "discard", label("buttons.discard_draft")),
        choice(state, "keep", label("buttons.keep_writing")),
    )
    return [Reply(ctx.content.text("report.ask_discard"), options)]


@FLOW.step("discard", can_go_back=False)
def discard(ctx: Context, state: State, answer: Answer) -> Outcome:
    if answer.value == "discard":
        _on_cancel(ctx, state)
        finish(state)
        return state, [menu_reply(ctx.content, ctx.content.text("common.cancelled"), full=True)]
    if answer.value == "keep":
        draft = _draft(state)
        state.trail = list(draft.trail)
        return goto(ctx, state, FLOW, draft.step or "type", remember=False)
    return stay(ctx, state, FLOW, ctx.content.text("common.pick_button"))


# --- what happened ----------------------------------------------------------------------


def prompt_type(ctx: Context, state: State) -> list[Reply]:
    """The kinds of scam in two short screens: the library's groups, then a group's tricks
    (a phone shows a few buttons; 25 at once would be a wall)."""
    content = ctx.content
    group = state.data.get("type_group")
    groups: dict[str, str] = content.raw("scams.groups")
    if group in groups:
        options = [choice(state, s["id"], s["short"]) for s in content.scams if s["group"] == group]
        options.append(choice(state, "groups", content.raw("buttons.other_groups")))
        return _ask(
            ctx, state, "report.ask_type_in_group", options, back=False, group=groups[group]
        )
    options = [choice(state, TRAFFICKING, content.raw("buttons.trafficking"))]
    options += [choice(state, f"group:{code}", label) for code, label in groups.items()]
    options.append(choice(state, OTHER, content.raw("buttons.other_type")))
    return _ask(ctx, state, "report.ask_type", options, back=False)


def _urgent_alert(ctx: Context) -> Reply:
    """Said the moment a report turns urgent: what to do now. It promises nothing about the
    police: they are told only once the report is saved."""
    hotlines = hotline_lines(ctx.content, urgent_only=True)
    return Reply(ctx.content.text("report.urgent_alert", hotlines=hotlines))


@FLOW.step("type")
def pick_type(ctx: Context, state: State, answer: Answer) -> Outcome:
    draft = _draft(state)
    known = {TRAFFICKING, OTHER, *(s["id"] for s in ctx.content.scams)}
    if answer.value and answer.value.startswith("group:"):
        state.data["type_group"] = answer.value.removeprefix("group:")
        return state, prompt_type(ctx, state)
    if answer.value == "groups":
        state.data.pop("type_group", None)
        return state, prompt_type(ctx, state)
    if answer.value in known:
        draft.type = answer.value
        state.data.pop("type_group", None)
    elif _tells_something(ctx, answer.text):
        # They told what happened instead of choosing: it is the story (not asked again),
        # and what it sounds like is offered (someone held: the urgent question first).
        draft.account = f"{draft.account}\n{answer.text}" if draft.account else answer.text
        _collect(ctx, draft, answer.text)
        state.data.pop("type_group", None)
        if not draft.held_words and not draft.type_guess:
            kept = ctx.content.text("report.story_kept")
            return state, [Reply(kept), *prompt_type(ctx, state)]
    else:
        return stay(ctx, state, FLOW, ctx.content.text("report.type_or_story"))
    if draft.type == TRAFFICKING and not draft.urgent:
        draft.urgent = True
        return _advance(ctx, state, before=[_urgent_alert(ctx)])
    return _advance(ctx, state)


def _tells_something(ctx: Context, text: str) -> bool:
    """A typed answer at the type step is a story when it is long enough to be one, or
    short but names what the flow can use: a trick's words, someone held, a number, a sum."""
    if substance(text) >= MIN_ACCOUNT:
        return True
    if substance(text) < MIN_STORY:
        return False
    content = ctx.content
    found = extract(content, text)
    return bool(
        guess_type(content, text)
        or mentions_held(content, text)
        or found.identifiers
        or found.accounts_without_bank
        or amount_in(text)
    )


def prompt_type_guess(ctx: Context, state: State) -> list[Reply]:
    label = ctx.content.raw
    guessed = type_label(ctx.content, _draft(state).type_guess or OTHER)
    options = [
        choice(state, "right", label("buttons.yes_right")),
        choice(state, "other", label("buttons.other_kind")),
    ]
    return _ask(ctx, state, "report.ask_type_guess", options, back=False, type=guessed)


@FLOW.step("type_guess", can_go_back=False)
def type_guess(ctx: Context, state: State, answer: Answer) -> Outcome:
    """'What you told sounds like: …, right?' Yes takes it; no shows the kinds to choose."""
    draft = _draft(state)
    said = answer.value or {"yes": "right", "no": "other"}.get(_yes_or_no(answer) or "")
    if said == "right":
        draft.type = draft.type_guess
    elif said == "other":
        draft.type_guess = ""  # not offered again
    else:
        return stay(ctx, state, FLOW, ctx.content.text("common.pick_button"))
    return _advance(ctx, state)


def prompt_urgent_check(ctx: Context, state: State) -> list[Reply]:
    label = ctx.content.raw
    options = [
        choice(state, "yes", label("buttons.urgent_yes")),
        choice(state, "no", label("buttons.urgent_no")),
    ]
    return _ask(ctx, state, "report.ask_held", options)


@FLOW.step("urgent_check")
def urgent_check(ctx: Context, state: State, answer: Answer) -> Outcome:
    draft = _draft(state)
    said = answer.value if answer.value in ("yes", "no") else _yes_or_no(answer)
    if said is None:
        return stay(ctx, state, FLOW, ctx.content.text("report.yes_or_no"))
    draft.urgent_asked = True
    if said == "no":
        return _advance(ctx, state)
    draft.urgent = True
    if draft.type in (None, OTHER):
        draft.type = TRAFFICKING  # the card says what it is, not "Khác (KHẨN)"
    return _advance(ctx, state, before=[_urgent_alert(ctx)])


def prompt_victim(ctx: Context, state: State) -> list[Reply]:
    label = ctx.content.raw
    options = [
        choice(state, "unknown", label("buttons.whereabouts_unknown")),
        choice(state, "not_urgent", label("buttons.not_urgent")),
    ]
    return _ask(ctx, state, "report.ask_victim", options)


@FLOW.step("victim")
def victim(ctx: Context, state: State, answer: Answer) -> Outcome:
    draft = _draft(state)
    if answer.value == "not_urgent":  # a step back out of the urgent path, before any save
        draft.urgent, draft.urgent_asked = False, True
        if draft.type == TRAFFICKING:
            draft.type = None
        return _advance(ctx, state, before=[Reply(ctx.content.text("report.not_urgent_now"))])
    if answer.value == "unknown":
        draft.victim = ctx.content.text("report.whereabouts_unknown")
        return _advance(ctx, state)
    if substance(answer.text) < MIN_VICTIM:
        return stay(ctx, state, FLOW, ctx.content.text("report.victim_too_short"))
    draft.victim = answer.text
    return _advance(ctx, state)


def prompt_account(ctx: Context, state: State) -> list[Reply]:
    key = "report.ask_account_after_save" if _draft(state).report_id else "report.ask_account"
    return _ask(ctx, state, key)


@FLOW.step("account")
def account(ctx: Context, state: State, answer: Answer) -> Outcome:
    if substance(answer.text) < MIN_ACCOUNT:
        return stay(ctx, state, FLOW, ctx.content.text("report.account_too_short", min=MIN_ACCOUNT))
    draft = _draft(state)
    draft.account = answer.text
    _collect(ctx, draft, answer.text)
    return _advance(ctx, state)


# --- the scammer's identifiers ------------------------------------------------------------


def _collect(ctx: Context, draft: ReportDraft, text: str) -> bool:
    """Add what the text names to the draft; False if it named nothing. Words that may mean
    someone is held make the flow ask (once) rather than decide."""
    draft.held_words = draft.held_words or mentions_held(ctx.content, text)
    if draft.type is None and draft.type_guess is None:
        draft.type_guess = guess_type(ctx.content, text)  # offered for a yes, not decided
    if not draft.amount_answered and draft.amount_guess is None:
        draft.amount_guess = amount_in(text)  # "mất 5tr" in the story: asked back later
    found = extract(ctx.content, text)
    for parsed in found.identifiers:
        item = parsed.__dict__
        if item not in draft.identifiers:
            draft.identifiers.append(dict(item))
    for digits in found.accounts_without_bank:
        if digits not in draft.pending:
            draft.pending.append(digits)
    limit = ctx.limits.identifiers_per_report
    del draft.identifiers[limit:]
    del draft.pending[max(0, limit - len(draft.identifiers)) :]
    return bool(found.identifiers or found.accounts_without_bank)


def _identifier_text(content: Content, item: dict[str, Any]) -> str:
    bank = content.bank(item.get("bank") or "")
    return f"{item['display']} ({bank['name']})" if bank else str(item["display"])


def prompt_identifiers(ctx: Context, state: State) -> list[Reply]:
    draft = _draft(state)
    label = ctx.content.raw
    if draft.identifiers:
        done = label("buttons.done")
        items = "\n".join(f"• {_identifier_text(ctx.content, i)}" for i in draft.identifiers)
        so_far = ctx.content.text("report.identifiers_so_far", items=items)
        ask = ctx.content.text("report.ask_identifiers_more", done=done)
        text = f"{so_far}\n\n{ask}"
    else:
        done = label("buttons.none_known")
        text = ctx.content.text("report.ask_identifiers", done=done)
    buttons = (*rows(choice(state, "done", done)), _controls(ctx, state))
    return [Reply(text, buttons)]


@FLOW.step("identifiers")
def add_identifiers(ctx: Context, state: State, answer: Answer) -> Outcome:
    draft = _draft(state)
    if answer.value == "done" or _says_done(answer.text):
        draft.identifiers_done = True
        return _advance(ctx, state)
    if len(draft.identifiers) >= ctx.limits.identifiers_per_report:
        draft.identifiers_done = True
        notice = Reply(
            ctx.content.text("report.identifiers_full", limit=ctx.limits.identifiers_per_report)
        )
        return _advance(ctx, state, before=[notice])
    if not _collect(ctx, draft, answer.text):
        return stay(ctx, state, FLOW, ctx.content.text("report.identifiers_none_found"))
    return _advance(ctx, state)


def _says_done(text: str) -> bool:
    return choice_key(text) in DONE_WORDS


def prompt_bank(ctx: Context, state: State) -> list[Reply]:
    draft = _draft(state)
    options = [choice(state, b["code"], b["name"]) for b in ctx.content.banks[:10]]
    options.append(choice(state, "none", ctx.content.raw("buttons.unknown_bank")))
    account = draft.pending[0] if draft.pending else ""
    return _ask(ctx, state, "report.ask_bank", options, back=False, account=account)


@FLOW.step("bank", can_go_back=False)
def pick_bank(ctx: Context, state: State, answer: Answer) -> Outcome:
    draft = _draft(state)
    if not draft.pending:  # nothing left to ask (an old screen): carry on
        return _advance(ctx, state)
    if answer.value == "none":
        code = ""
    elif answer.value and ctx.content.bank(answer.value):
        code = answer.value
    else:
        code = find_bank(ctx.content, answer.text)
        if not code:
            return stay(ctx, state, FLOW, ctx.content.text("common.pick_button"))
    parsed = bank_account(draft.pending.pop(0), code)
    if parsed and parsed.__dict__ not in draft.identifiers:
        draft.identifiers.append(dict(parsed.__dict__))
    return _advance(ctx, state)


# --- money and time ----------------------------------------------------------------------


def prompt_amount(ctx: Context, state: State) -> list[Reply]:
    label = ctx.content.raw
    options = [
        choice(state, "zero", label("buttons.no_loss")),
        choice(state, "skip", label("buttons.skip")),
    ]
    return _ask(ctx, state, "report.ask_amount", options)


@FLOW.step("amount", takes_numbers=True)
def amount(ctx: Context, state: State, answer: Answer) -> Outcome:
    draft = _draft(state)
    if answer.value in ("zero", "skip"):
        draft.amount = 0 if answer.value == "zero" else None
    elif (number := _bare_number(answer.text)) and number < BARE_THOUSANDS:
        # "2" means 2 triệu far more often than 2 đồng: say what we understood, and ask.
        draft.amount_guess = number * (10**6 if number < BARE_MILLIONS else 10**3)
        _note_typed(state, answer, number)
        return goto(ctx, state, FLOW, "amount_check", remember=False)
    else:
        try:
            draft.amount = parse_amount(answer.text)
        except AmountError as error:
            return stay(ctx, state, FLOW, ctx.content.text(f"report.amount_{error}"))
    draft.amount_answered, draft.amount_guess = True, None
    return _advance(ctx, state)


def prompt_amount_check(ctx: Context, state: State) -> list[Reply]:
    return _check_guess(ctx, state, "report.amount_guess", amount=_guess_amount(state))


@FLOW.step("amount_check")
def amount_check(ctx: Context, state: State, answer: Answer) -> Outcome:
    """'Bạn mất 2.000.000 đ, đúng không?': a choice, so a number here picks an option; the
    number they typed stands at the place of what it meant on the money question's screen."""
    draft = _draft(state)
    value = _check_value(state, answer)
    state.data.pop(ALTERNATIVE, None)
    if value == "again":
        draft.amount_guess = None
        return goto(ctx, state, FLOW, "amount", remember=False)
    if value in ("right", "skip"):
        draft.amount = draft.amount_guess if value == "right" else None
        draft.amount_answered, draft.amount_guess = True, None
        return _advance(ctx, state)
    if value == "zero":  # the money question's own option, read the other way
        return amount(ctx, state, Answer(answer.text, value))
    return amount(ctx, state, answer)  # they typed the amount again, with its unit


def _guess_amount(state: State) -> str:
    return format_amount(_draft(state).amount_guess or 0)


def _note_typed(state: State, answer: Answer, number: int) -> None:
    """Remember the bare number, and what it picks on the screen it was typed at (where
    options are numbered): the check offers that reading at the same number."""
    state.data[TYPED] = number
    state.data.pop(ALTERNATIVE, None)
    shown = state.choices
    if answer.message is not None and answer.message.numbered_choices and number <= len(shown):
        label, payload = shown[number - 1]
        own = f"{state.seq}:{state.step}:"  # an option of this question (not a menu link)
        if payload.startswith(own):
            state.data[ALTERNATIVE] = [number, label, payload.removeprefix(own)]


def _check_value(state: State, answer: Answer) -> str | None:
    """What an answer at a check chose: a button, a typed yes or no, or the same bare number
    typed again where the check shows no option of that number (so it cannot loop)."""
    if answer.value:
        return answer.value
    said = _yes_or_no(answer)
    if said:
        return {"yes": "right", "no": "again"}[said]
    typed = state.data.get(TYPED)
    if typed and _bare_number(answer.text) == typed:
        return "right"
    return None


def _check_guess(ctx: Context, state: State, key: str, **values: str) -> list[Reply]:
    """'…, đúng không?' with Đúng, Nhập lại, Bỏ qua, Hủy. A bare number typed on a numbered
    screen may have meant that screen's option: it is offered here at the same number, so
    typing the number again picks it instead of asking the same question again; without
    one, the check shows no more options than the question did (the same number again
    confirms)."""
    label = ctx.content.raw
    base = [
        choice(state, "right", label("buttons.yes_right")),
        choice(state, "again", label("buttons.type_again")),
        choice(state, "skip", label("buttons.skip")),
        choice(state, "cancel", label("buttons.cancel")),
    ]
    alternative = state.data.get(ALTERNATIVE)
    if alternative:
        number, alt_label, value = alternative
        spare = [b for b in base if not b.payload.endswith(f":{value}")]
        if len(spare) < number - 1:  # enough options before it: going back fills a place
            spare.insert(len(spare) - 1, choice(state, "back", label("buttons.back")))
        base = [*spare[: number - 1], choice(state, value, alt_label), *spare[number - 1 :]]
    text = ctx.content.text(key, **values)
    if alternative:
        hint = ctx.content.text("report.check_other_reading", label=alt_label, number=number)
        text += "\n" + hint
    return [Reply(text, rows(*base))]


def prompt_when(ctx: Context, state: State) -> list[Reply]:
    label = ctx.content.raw
    options = [
        choice(state, "today", label("buttons.today")),
        choice(state, "yesterday", label("buttons.yesterday")),
        choice(state, "skip", label("buttons.skip")),
    ]
    return _ask(ctx, state, "report.ask_when", options)


@FLOW.step("when", takes_numbers=True)
def when(ctx: Context, state: State, answer: Answer) -> Outcome:
    draft = _draft(state)
    today = to_vietnam(ctx.now).date()
    if answer.value == "skip":
        draft.when = None
    elif answer.value in ("today", "yesterday"):
        draft.when = (today - timedelta(days=answer.value == "yesterday")).isoformat()
        draft.when_said = None
    elif (day := _bare_number(answer.text)) and day <= 31:
        # A bare day of the month: this month's, or last month's if it has not come yet.
        draft.when_guess = _day_of_month(today, day).isoformat()
        _note_typed(state, answer, day)
        return goto(ctx, state, FLOW, "when_check", remember=False)
    elif said := vague_time(answer.text):
        draft.when, draft.when_said = None, said  # kept as said: no day is made up
    else:
        try:
            draft.when, draft.when_said = parse_day(answer.text, today).isoformat(), None
        except DateError as error:
            key = {"future": "when_future", "old": "when_too_old"}.get(str(error), "when_invalid")
            return stay(ctx, state, FLOW, ctx.content.text(f"report.{key}"))
    draft.when_answered, draft.when_guess = True, None
    return _advance(ctx, state)


def prompt_when_check(ctx: Context, state: State) -> list[Reply]:
    guess = _draft(state).when_guess
    day = date.fromisoformat(guess).strftime("%d/%m/%Y") if guess else ""
    return _check_guess(ctx, state, "report.when_guess", day=day)


@FLOW.step("when_check")
def when_check(ctx: Context, state: State, answer: Answer) -> Outcome:
    draft = _draft(state)
    value = _check_value(state, answer)
    state.data.pop(ALTERNATIVE, None)
    if value == "again":
        draft.when_guess = None
        return goto(ctx, state, FLOW, "when", remember=False)
    if value in ("right", "skip"):
        draft.when = draft.when_guess if value == "right" else None
        draft.when_said = None
        draft.when_answered, draft.when_guess = True, None
        return _advance(ctx, state)
    if value in ("today", "yesterday"):  # the date question's own options, read the other way
        return when(ctx, state, Answer(answer.text, value))
    return when(ctx, state, answer)


def _bare_number(text: str) -> int:
    """A number typed alone, without a unit (0 if the text is anything else)."""
    stripped = text.strip()
    return int(stripped) if re.fullmatch(r"[0-9]{1,4}", stripped) else 0


def _day_of_month(today: date, day: int) -> date:
    month_start = today.replace(day=1)
    candidate = month_start
    for _ in range(2):
        try:
            candidate = candidate.replace(day=day)
        except ValueError:  # the 31st of a shorter month: the month before
            candidate = (candidate - timedelta(days=1)).replace(day=1)
            continue
        if candidate <= today:
            return candidate
        candidate = (month_start - timedelta(days=1)).replace(day=1)
    return candidate


# --- evidence and contact -----------------------------------------------------------------


def prompt_evidence(ctx: Context, state: State) -> list[Reply]:
    draft = _draft(state)
    done = ctx.content.raw("buttons.done" if draft.evidence else "buttons.skip")
    return _ask(ctx, state, "report.ask_evidence", [choice(state, "done", done)], done=done)


@FLOW.step("evidence", takes_photos=True)
def evidence(ctx: Context, state: State, answer: Answer) -> Outcome:
    draft = _draft(state)
    if answer.value == "done" or _says_done(answer.text):
        draft.evidence_done = True
        return _advance(ctx, state)
    photos = [a for a in answer.attachments if a.kind == "photo"]
    if not photos:
        return stay(ctx, state, FLOW, ctx.content.text("report.evidence_not_photo"))
    if draft.report_id is not None:  # already with the police: straight under its card
        kept, notes = keep_evidence(ctx, photos, draft.evidence, report_id=draft.report_id)
        report = ctx.session.get(Report, draft.report_id)
        if kept and report is not None:
            ctx.session.flush()
            ctx.effects.append(police.album(report, [e.id for e in kept if e.id is not None]))
    else:
        kept, notes = keep_evidence(ctx, photos, draft.evidence, draft_owner=draft.owner)
    draft.evidence += len(kept)
    notes.append(ctx.content.text("report.evidence_received", count=draft.evidence))
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
    draft = _draft(state)
    if answer.value == "anonymous":
        draft.anonymous, draft.phone = True, None
        return _advance(ctx, state)
    if answer.value == "phone":
        draft.anonymous = False
        return _advance(ctx, state)
    if phone(answer.text):  # typed the number straight away
        draft.anonymous = False
        return _take_phone(ctx, state, answer)
    return stay(ctx, state, FLOW, ctx.content.text("common.pick_button"))


def prompt_callback(ctx: Context, state: State) -> list[Reply]:
    label = ctx.content.raw
    options = [
        choice(state, "phone", label("buttons.leave_phone")),
        choice(state, "anonymous", label("buttons.no_callback")),
    ]
    return _ask(ctx, state, "report.ask_callback", options, back=False)


@FLOW.step("callback", can_go_back=False)
def callback(ctx: Context, state: State, answer: Answer) -> Outcome:
    """Right after an urgent report is saved: a phone for the police to call back (the
    police may need the reporter before the rest of the story is told)."""
    return contact(ctx, state, answer)


def prompt_phone(ctx: Context, state: State) -> list[Reply]:
    return _ask(ctx, state, "report.ask_phone")


@FLOW.step("phone")
def _take_phone(ctx: Context, state: State, answer: Answer) -> Outcome:
    parsed = phone(answer.text) if 6 <= len(answer.text) <= 24 else None
    if parsed is None:
        return stay(ctx, state, FLOW, ctx.content.text("report.phone_invalid"))
    _draft(state).phone = parsed.value
    return _advance(ctx, state)


# --- confirm and save ---------------------------------------------------------------------


def prompt_confirm(ctx: Context, state: State) -> list[Reply]:
    content, draft = ctx.content, _draft(state)
    none = content.text("report.summary_none")
    not_given = content.text("report.summary_not_given")
    named = ", ".join(_identifier_text(content, i) for i in draft.identifiers) or none
    if draft.amount:
        amount = format_amount(draft.amount)
    else:
        amount = content.text(
            "report.summary_no_loss" if draft.amount == 0 else "report.summary_not_given"
        )
    evidence = ""
    if draft.photos:
        key = "report.summary_photos" if draft.evidence else "report.summary_no_photos"
        evidence = content.text(key, count=draft.evidence)
    text = content.text(
        "report.summary_saved" if draft.report_id else "report.summary",
        code=draft.receipt_code or "",
        type=type_label(content, draft.type or OTHER),
        urgent=Markup(content.text("report.summary_urgent") if draft.urgent else ""),
        account=draft.account or not_given,
        victim=Markup(
            content.text("report.summary_victim", victim=draft.victim) if draft.victim else ""
        ),
        identifiers=named,
        amount=amount,
        when=Markup(_when_text(content, draft) or not_given),
        evidence=Markup(evidence),
        contact=draft.phone or content.text("report.summary_anonymous"),
    )
    label = "buttons.finish_saved" if draft.report_id else "buttons.submit"
    submit = choice(state, "submit", content.raw(label))
    return [Reply(text, (*rows(submit), _controls(ctx, state)))]


@FLOW.step("confirm")
def confirm(ctx: Context, state: State, answer: Answer) -> Outcome:
    if answer.value != "submit":
        return stay(ctx, state, FLOW, ctx.content.text("common.pick_button"))
    draft = _draft(state)
    if draft.report_id is not None:  # urgent, saved earlier: what was added is already in
        _amend(ctx, draft)
        done = ctx.content.text("report.updated", code=draft.receipt_code)
        replies = [menu_reply(ctx.content, done + money.after_report(ctx, draft), full=True)]
        state.draft = None
        finish(state)
        return state, replies
    return state, _save(ctx, state)


def _save(ctx: Context, state: State) -> list[Reply]:
    """Save the draft as a report, tell the police in the same transaction, and say so with
    the receipt code. An urgent report stays open in the flow to take the rest; any other
    ends the flow."""
    draft = _draft(state)
    channel, user_id = draft.owner.split(":", 1)
    resident = residents.get_or_create(ctx.session, channel, user_id, ctx.now)
    recent = reports.recent_of_resident(ctx.session, draft.owner, ctx.now - timedelta(days=1))
    same = next(
        (r for r in recent if r.account == draft.account and r.scam_type == draft.type), None
    )
    if same and not draft.urgent:  # a resend of the same report: link to it, no second case
        reports.discard_draft_evidence(ctx.session, draft.owner)
        state.draft = None
        finish(state)
        linked = ctx.content.text("report.linked_duplicate", code=same.receipt_code)
        return [menu_reply(ctx.content, linked, full=True)]
    if len(recent) >= ctx.limits.reports_per_day and not draft.urgent:
        limit = ctx.limits.reports_per_day
        return stay(ctx, state, FLOW, ctx.content.text("report.limit_reached", limit=limit))[1]
    routed = units.route(ctx.session, resident.area)
    unit = ctx.session.get(Unit, routed) if routed is not None else None
    report = reports.create(
        ctx.session,
        _to_report_draft(ctx, draft),
        draft.owner,
        ctx.now,
        ack_within=_ack_within(ctx, draft.urgent, unit),
        resolve_within=timedelta(days=(unit and unit.resolve_days) or ctx.limits.resolve_days),
        area=resident.area,
        unit_id=unit.id if unit else None,
    )
    ctx.effects.extend(_announce(ctx, report))
    if draft.evidence:
        ctx.effects.append(police.album(report))
    if draft.urgent:
        draft.report_id, draft.receipt_code = report.id, report.receipt_code
        saved = ctx.content.text("report.saved_urgent", code=report.receipt_code)
        return [Reply(saved)]
    saved = ctx.content.text("report.saved", code=report.receipt_code)
    told = saved + money.after_report(ctx, draft, report.receipt_code)
    state.draft = None
    finish(state)
    if home.wanted(ctx, resident.area):  # a province: where they live decides the unit
        return home.start(ctx, state, report, draft.owner, told)
    return [menu_reply(ctx.content, told, full=True)]


def _announce(ctx: Context, report: Report) -> list[Message]:
    """A new report: its card, and a notice to every officer who works reports (on their
    phone, Zalo or Telegram, as each chose; the police chat already shows the card)."""
    key = "police.push_urgent" if report.urgent else "police.push_new"
    said = Reply(
        ctx.content.text(
            "police.new_report_notice",
            code=report.receipt_code,
            type=type_label(ctx.content, report.scam_type),
        )
    )
    title = ctx.content.text(key, code=report.receipt_code)
    heard = notify.about_report(title, report, said, in_police_chat=True)
    officers = notify.triage_officers(ctx.session, report)
    elsewhere = ctx.content.text(
        "police.urgent_elsewhere",
        code=report.receipt_code,
        type=type_label(ctx.content, report.scam_type),
        unit=units.name_of(ctx.session, report.unit_id),
    )
    return [
        police.card(report),
        *police.to_province(ctx.session, report, elsewhere),
        *notify.to_all(ctx.session, officers, heard),
    ]


def _amend(ctx: Context, draft: ReportDraft) -> None:
    """An urgent report already saved takes in what the resident added since; the card is
    refreshed (one refresh, however many answers)."""
    assert draft.report_id is not None
    report = ctx.session.get(Report, draft.report_id)
    if report is None:
        return
    added = reports.amend(ctx.session, report, _to_report_draft(ctx, draft), ctx.now)
    if added:
        ctx.effects.append(police.card(report))


def _when_text(content: Content, draft: ReportDraft) -> str:
    """The day, or the time as the resident said it ("tuần trước", marked as theirs);
    empty when not given. Markup: user words are escaped here."""
    if draft.when:
        return date.fromisoformat(draft.when).strftime("%d/%m/%Y")
    if draft.when_said:
        return content.text("report.when_as_said", said=draft.when_said)
    return ""


def _ack_within(ctx: Context, urgent: bool, unit: Unit | None = None) -> timedelta:
    """The deployment's deadlines, or the unit's own where it sets them."""
    if urgent:
        return timedelta(
            minutes=(unit and unit.urgent_ack_minutes) or ctx.limits.urgent_ack_minutes
        )
    return timedelta(hours=(unit and unit.ack_hours) or ctx.limits.ack_hours)


def _to_report_draft(ctx: Context, draft: ReportDraft) -> reports.Draft:
    account = draft.account or ctx.content.text("report.account_to_come")
    if draft.when_said:  # a report has no field for a vague time: the story carries it
        account += "\n" + ctx.content.raw("report.when_said_note").format(said=draft.when_said)
    return reports.Draft(
        channel=draft.channel,
        scam_type=draft.type or OTHER,
        account=account,
        consent_version=CONSENT_VERSION,
        urgent=draft.urgent,
        victim_info=draft.victim,
        amount_vnd=draft.amount,
        occurred_on=date.fromisoformat(draft.when) if draft.when else None,
        contact_phone=draft.phone,
        identifiers=[ParsedIdentifier(**i) for i in draft.identifiers],
        evidence_owner=draft.owner if draft.evidence and draft.report_id is None else None,
    )
