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
        if photo.data is None or len(photo.data) > limits.evidence_max_bytes:
            # The channel does not download what is over the cap: data None, size known.
            limit_mb = limits.evidence_max_bytes // (1024 * 1024)
            notes.append(ctx.content.text("report.evidence_too_big", limit_mb=limit_mb))
            continue
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


def count(session: Session, report_id: int) -> int:
    query = select(func.count()).select_from(Evidence).where(Evidence.report_id == report_id)
    return int(session.exec(query).one())
