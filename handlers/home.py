"""After a report that came to the province unit because the resident has no area: where they
live, so that this report and the next go straight to their commune's or ward's police."""

from __future__ import annotations

from db import reports, residents, units
from db.models import Report
from handlers import areas, triage
from handlers.flow import Answer, Flow, enter, finish
from handlers.menu import menu_reply
from handlers.types import Context, Outcome, Reply, State

FLOW = Flow("home")
SKIP = "skip"


def wanted(ctx: Context, area: str | None) -> bool:
    """Asked only where areas decide the unit (a province) and the resident has none."""
    return area is None and units.loaded_areas(ctx.session)


def start(ctx: Context, state: State, report: Report, owner: str, said: str) -> list[Reply]:
    """Enter the question right after the receipt `said`, which it follows."""
    state, asked = enter(ctx, state, FLOW, "area", {"report_id": report.id, "user": owner})
    return [Reply(said), *asked]


def prompt_area(ctx: Context, state: State) -> list[Reply]:
    return areas.ask(ctx, state, "home", _skip(ctx))


def _skip(ctx: Context) -> tuple[str, str]:
    return SKIP, ctx.content.raw("buttons.skip")


@FLOW.step("area", can_go_back=False)
def area(ctx: Context, state: State, answer: Answer) -> Outcome:
    picked = areas.read(ctx, state, answer, _skip(ctx))
    if (said := areas.unanswered(state, picked)) is not None:
        return said
    report_id, owner = state.data.get("report_id"), str(state.data.get("user", ""))
    finish(state)
    if picked.place is None:
        return state, [menu_reply(ctx.content, ctx.content.text("home.skipped"), full=True)]
    channel, user_id = owner.split(":", 1)
    resident = residents.get_or_create(ctx.session, channel, user_id, ctx.now)
    resident.area = picked.place.code
    report = ctx.session.get(Report, report_id) if isinstance(report_id, int) else None
    moved = _route(ctx, report, picked.place) if report is not None else None
    key = "home.moved" if moved else "home.kept"
    told = ctx.content.text(
        key, area=picked.place.name, unit=moved or "", code=report.receipt_code if report else ""
    )
    return state, [menu_reply(ctx.content, told, full=True)]


def _route(ctx: Context, report: Report, place: units.Place) -> str | None:
    """A report still waiting untouched in the province's queue goes to the area's unit; one
    an officer already took stays where it is (they pass it on themselves)."""
    report.area = report.area or place.code
    if report.status != reports.NEW or report.claimed_by is not None:
        return None
    if reports.was_transferred(ctx.session, report):  # an officer already chose its unit
        return None
    if (report.unit_id or units.DEFAULT) == place.unit_id:
        return None
    actor = reports.Actor(ctx.content.text("home.actor"))
    reason = ctx.content.text("home.reason")
    target, effects = triage.move(
        ctx.session, ctx.content, report, place.unit_id, actor, reason, ctx.now
    )
    ctx.effects.extend(effects)
    return target.name
