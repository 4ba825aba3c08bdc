"""Two transactions inserting the same new key at the same moment (PostgreSQL, where they
really run side by side): the second waits for the first, then meets its row, never fails."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlmodel import Session, select

from db import identifiers, throttle
from db.clock import utcnow
from db.engine import Database
from db.models import Identifier, Throttle


def _first_holds_while_second_waits(db: Database, work: Callable[[Session], Any]) -> list[Any]:
    """Run `work` in two transactions: the first does it and keeps its transaction open
    until the second is seen blocked on it in pg_stat_activity, then commits."""
    if db.single_writer:
        pytest.skip("SQLite has one writer: no two inserts ever race")
    done_first = threading.Event()
    results: list[Any] = [None, None]
    errors: list[BaseException] = []

    def first() -> None:
        try:
            with db.transaction() as session:
                results[0] = work(session)
                done_first.set()
                _until_someone_waits_for_a_lock(db)
        except BaseException as error:
            errors.append(error)
            done_first.set()

    def second() -> None:
        done_first.wait(10)
        try:
            with db.transaction() as session:
                results[1] = work(session)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors, errors
    return results


def _until_someone_waits_for_a_lock(db: Database) -> None:
    with db.engine.connect() as conn:
        for _ in range(500):
            waiting = conn.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity"
                    " WHERE wait_event_type = 'Lock' AND datname = current_database()"
                )
            ).scalar_one()
            if waiting:
                return
            time.sleep(0.01)
    raise AssertionError("the second transaction never waited for the first")


def test_two_reports_naming_one_new_number_at_once_share_its_row(db: Database) -> None:
    parsed = identifiers.phone("0912345678")
    assert parsed is not None
    now = utcnow()
    ids = _first_holds_while_second_waits(
        db, lambda session: identifiers.get_or_create(session, parsed, now).id
    )
    assert ids[0] == ids[1]
    with db.transaction() as session:
        assert len(session.exec(select(Identifier)).all()) == 1


def test_two_first_attempts_under_one_throttle_key_both_count(db: Database) -> None:
    now = utcnow()
    allowed = _first_holds_while_second_waits(
        db, lambda session: throttle.allow(session, "lookup:1", 5, timedelta(hours=1), now)
    )
    assert allowed == [True, True]
    with db.transaction() as session:
        row = session.get(Throttle, "lookup:1")
        assert row is not None and row.count == 2
