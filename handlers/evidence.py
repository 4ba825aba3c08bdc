"""Evidence photos a resident sends, with a report or later: kept within the per-report count
and the size cap, each with its SHA-256."""

from __future__ import annotations

import hashlib

from sqlmodel import Session, func, select

from db.models import Evidence
from handlers.types import Attachment, Context


def keep(
    ctx: Context,
    photos: list[Attachment],
    held: int,
    *,
    draft_owner: str | None = None,
    report_id: int | None = None,
) -> tuple[list[Evidence], list[str]]:
    """The photos added (after the `held` ones already there), and what to tell the resident
    about any left out."""
    limits = ctx.limits
    kept: list[Evidence] = []
    notes: list[str] = []
    for photo in photos:
        if held + len(kept) >= limits.evidence_per_report:
            notes.append(ctx.content.text("report.evidence_full", limit=limits.evidence_per_report))
            break
        why_not = unusable(ctx, photo)
        if why_not is not None:
            notes.append(why_not)
            continue
        assert photo.data is not None  # what unusable() lets through has its bytes
        evidence = Evidence(
            draft_owner=draft_owner,
            report_id=report_id,
            size=len(photo.data),
            sha256=hashlib.sha256(photo.data).hexdigest(),
            mime=photo.mime,
            data=photo.data,
            created_at=ctx.now,
        )
        ctx.session.add(evidence)
        kept.append(evidence)
    return kept, notes


def unusable(ctx: Context, photo: Attachment) -> str | None:
    """Why a photo cannot be kept, in words for the resident; None when it can. The channel
    does not download what is over the cap (data None, size known), and a photo it could not
    fetch at all arrives as data None with no size."""
    cap = ctx.limits.evidence_max_bytes
    if photo.data is not None and len(photo.data) <= cap:
        return None
    if photo.data is None and not photo.size:
        return ctx.content.text("report.evidence_not_received")
    return ctx.content.text("report.evidence_too_big", limit_mb=cap // (1024 * 1024))


def count(session: Session, report_id: int) -> int:
    query = select(func.count()).select_from(Evidence).where(Evidence.report_id == report_id)
    return int(session.exec(query).one())
