"""Officers' Web Push subscriptions (one row per browser endpoint) and the VAPID key the app
signs its pushes with."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from datetime import datetime

from sqlalchemy import delete, func, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from db.models import AppSecret, PushSubscription
from db.upsert import insert_ignore

VAPID_KEY = "vapid_private_key"


def endpoint_hash(endpoint: str) -> str:
    return hashlib.sha256(endpoint.encode("utf-8")).hexdigest()


def save(
    session: Session, officer_id: int, endpoint: str, p256dh: str, auth: str, now: datetime
) -> PushSubscription:
    """Keep a browser's subscription for an officer. The same endpoint again is the same row,
    with the keys it now gives; an endpoint another officer had becomes this officer's (the
    browser is theirs now). One statement, so two saves racing never fail."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    digest = endpoint_hash(endpoint)
    values = {"officer_id": officer_id, "endpoint": endpoint, "p256dh": p256dh, "auth": auth}
    statement = (
        dialect.insert(PushSubscription)
        .values(**values, endpoint_hash=digest, created_at=now)
        .on_conflict_do_update(index_elements=["endpoint_hash"], set_=values)
    )
    session.connection().execute(statement)
    row = session.exec(
        select(PushSubscription)
        .where(PushSubscription.endpoint_hash == digest)
        .execution_options(populate_existing=True)
    ).one()
    return row


def remove(session: Session, officer_id: int, endpoint: str) -> bool:
    """An officer's browser unsubscribed (or the officer turned notices off there)."""
    result = session.connection().execute(
        delete(PushSubscription).where(
            col(PushSubscription.endpoint_hash) == endpoint_hash(endpoint),
            col(PushSubscription.officer_id) == officer_id,
        )
    )
    return bool(result.rowcount)


def remove_gone(session: Session, subscription_ids: Iterable[int]) -> int:
    """Subscriptions the push service says no longer exist (404/410)."""
    ids = list(subscription_ids)
    if not ids:
        return 0
    result = session.connection().execute(
        delete(PushSubscription).where(col(PushSubscription.id).in_(ids))
    )
    return int(result.rowcount or 0)


def mark_ok(session: Session, subscription_ids: Iterable[int], now: datetime) -> None:
    ids = list(subscription_ids)
    if ids:
        session.connection().execute(
            update(PushSubscription).where(col(PushSubscription.id).in_(ids)).values(last_ok_at=now)
        )


def for_officer(session: Session, officer_id: int) -> list[PushSubscription]:
    return list(
        session.exec(
            select(PushSubscription)
            .where(PushSubscription.officer_id == officer_id)
            .order_by(col(PushSubscription.id))
        ).all()
    )


def count(session: Session, officer_id: int | None = None) -> int:
    """Subscriptions kept: an officer's, or everyone's."""
    query = select(func.count()).select_from(PushSubscription)
    if officer_id is not None:
        query = query.where(col(PushSubscription.officer_id) == officer_id)
    return int(session.exec(query).one())


def vapid_private_key(session: Session, new_key: Callable[[], str], now: datetime) -> str:
    """The app's VAPID private key as stored; the first caller stores `new_key()`, and callers
    racing it (other processes) wait for that insert and read the winner's key."""
    row = session.get(AppSecret, VAPID_KEY)
    if row is None:
        insert_ignore(session, AppSecret, key=VAPID_KEY, value=new_key(), updated_at=now)
        row = session.get(AppSecret, VAPID_KEY)
    assert row is not None
    return row.value
