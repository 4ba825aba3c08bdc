"""Residents: who they are on a channel, their alert subscription, erasing their data."""

from __future__ import annotations

import json
import re
from datetime import datetime

from sqlalchemy import delete, update
from sqlmodel import Session, col, select

from db import broadcasts, conversations, outbox, sealing
from db.models import Consent, FailedUpdate, Report, Resident, Throttle
from db.reports import discard_draft_evidence
from db.upsert import insert_ignore


def find(session: Session, channel: str, user_id: str) -> Resident | None:
    return session.exec(
        select(Resident).where(Resident.channel == channel, Resident.user_id == user_id)
    ).first()


def get_or_create(session: Session, channel: str, user_id: str, now: datetime) -> Resident:
    insert_ignore(
        session,
        Resident,
        channel=channel,
        user_id=user_id,
        subscribed=False,
        blocked=False,
        created_at=now,
    )
    resident = find(session, channel, user_id)
    assert resident is not None
    return resident


def has_consented(session: Session, resident: Resident, purpose: str, version: str) -> bool:
    return (
        session.exec(
            select(Consent.id).where(
                Consent.resident_id == resident.id,
                Consent.purpose == purpose,
                Consent.text_version == version,
            )
        ).first()
        is not None
    )


def record_consent(
    session: Session, resident: Resident, purpose: str, version: str, now: datetime
) -> None:
    assert resident.id is not None
    session.add(
        Consent(resident_id=resident.id, purpose=purpose, text_version=version, given_at=now)
    )


def erase(session: Session, resident: Resident, draft_owner: str) -> None:
    """Remove a resident's personal data; their reports stay for police, unlinked and without
    the reporter's phone."""
    unlink_reports(session, draft_owner)
    discard_draft_evidence(session, draft_owner)
    assert resident.id is not None
    broadcasts.forget_resident(session, resident.id)
    session.execute(delete(Consent).where(col(Consent.resident_id) == resident.id))
    session.delete(resident)


def unlink_reports(session: Session, owner: str) -> None:
    """The reports stay for police, without who filed them or the reporter's phone."""
    session.execute(
        update(Report)
        .where(col(Report.reporter_tag).in_(sealing.reporter_tags(owner)))
        .values(reporter=None, reporter_tag=None, contact_phone=None)
        .execution_options(synchronize_session=False)
    )


def forget(session: Session, channel: str, user_id: str) -> None:
    """/xoadulieu: erase the resident (if there is one) and everything else that names this
    account: the conversation, the photos of a half-written report, what the outbox still
    holds for them, their rate-limit counters (keys end in ":channel:user") and updates set
    aside after failing that they sent. The reports stay for police, unlinked."""
    owner = f"{channel}:{user_id}"
    resident = find(session, channel, user_id)
    if resident is not None:
        erase(session, resident, owner)
    else:  # reports outlive the resident row (retention drops idle residents)
        unlink_reports(session, owner)
        discard_draft_evidence(session, owner)
    conversations.forget(session, channel, user_id)
    outbox.forget_recipient(session, channel, user_id)
    session.execute(
        delete(Throttle)
        .where(col(Throttle.key).endswith(f":{owner}", autoescape=True))
        .execution_options(synchronize_session=False)
    )
    # A failed update is the platform's whole message: its sender is somewhere inside.
    named = re.compile(rf"(?<![\w-]){re.escape(user_id)}(?![\w-])")
    for row in session.exec(select(FailedUpdate).where(FailedUpdate.channel == channel)):
        if named.search(json.dumps(row.body, ensure_ascii=False)):
            session.delete(row)
