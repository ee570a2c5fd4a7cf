"""Several workers on one database (`connector.store.leases`): outbox rows are claimed with
`FOR UPDATE SKIP LOCKED`, a ticket's actions together, and a dead worker's claims expire; pull
leadership is one advisory lock per connection, released with its session; SQLite takes one
worker."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from connector.errors import InvalidInput
from connector.ports import ActionResult, Outcome
from connector.store.leases import PgLeadership, SqliteWorkerLock, lock_key
from connector.store.repository import Store
from tests.store.test_store_contract import CONN, T0, evaluation, note, record, ticket

TICKETS = [f"t{n}" for n in range(6)]


def _queue(store: Store) -> None:
    """Two queued notes on each of six tickets."""
    store.save_pull_page(CONN, [record(ticket(t)) for t in TICKETS], None, now=T0)
    for t in TICKETS:
        store.record_evaluation(evaluation(t), [note(f"{t}-a", t), note(f"{t}-b", t)])


@pytest.mark.parametrize("backend", [pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_two_sessions_claiming_at_once_get_disjoint_rows_and_whole_tickets(store: Store) -> None:
    _queue(store)
    a_locked, b_done = threading.Event(), threading.Event()
    claimed: dict[str, list[str]] = {}

    def worker_a() -> None:
        with store.transaction():  # holds its row locks until B has claimed
            claimed["a"] = [i.action.key for i in store.claim_actions(CONN, "a", limit=5, ttl=60)]
            a_locked.set()
            b_done.wait(10)

    thread = threading.Thread(target=worker_a)
    thread.start()
    assert a_locked.wait(10)
    claimed["b"] = [i.action.key for i in store.claim_actions(CONN, "b", limit=20, ttl=60)]
    b_done.set()
    thread.join()

    # A locked t0..t2 (5 rows) and kept only whole tickets; B skipped every row A had locked
    assert claimed["a"] == ["t0-a", "t0-b", "t1-a", "t1-b"]
    assert set(claimed["b"]) == {f"{t}-{s}" for t in TICKETS[3:] for s in "ab"}
    assert not set(claimed["a"]) & set(claimed["b"])
    # t2's first row was locked by A when B looked: B leaves the whole ticket to a later claim
    assert [i.action.key for i in store.claim_actions(CONN, "c", limit=20, ttl=60)] == ["t2-a", "t2-b"]


def test_a_claim_keeps_rows_from_other_workers_until_answered_or_released(store: Store) -> None:
    _queue(store)
    mine = store.claim_actions(CONN, "a", limit=4, ttl=60)
    keys = [i.action.key for i in mine]
    assert keys == ["t0-a", "t0-b", "t1-a", "t1-b"]
    assert [i.action.key for i in store.claim_actions(CONN, "b", limit=4, ttl=60)] == [
        "t2-a",
        "t2-b",
        "t3-a",
        "t3-b",
    ]
    assert store.mark_claimed_sending(keys[:2], "b", ttl=60, now=T0) == set()  # not b's to send
    assert store.mark_claimed_sending(keys[:2], "a", ttl=60, now=T0) == {"t0-a", "t0-b"}
    store.record_results([ActionResult(key, Outcome.RETRY) for key in keys[:2]], now=T0)
    assert store.release_claims("a") == 2  # t1's rows; t0's claim ended with the answer
    assert [i.action.key for i in store.claim_actions(CONN, "c", limit=4, ttl=60)] == [
        "t0-a",
        "t0-b",
        "t1-a",
        "t1-b",
    ]


def test_rows_of_a_dead_workers_claim_return_after_it_expires_flagged_uncertain(store: Store) -> None:
    _queue(store)
    dead = store.claim_actions(CONN, "dead", limit=2, ttl=0.3)
    assert store.mark_claimed_sending([i.action.key for i in dead], "dead", ttl=0.3, now=T0)
    assert [i.action.key for i in store.claim_actions(CONN, "live", limit=2, ttl=60)] == ["t1-a", "t1-b"]
    time.sleep(0.4)  # the claim's expiry passes (no timing is asserted)
    taken = store.claim_actions(CONN, "live2", limit=2, ttl=60)
    assert [(i.action.key, i.uncertain) for i in taken] == [("t0-a", True), ("t0-b", True)]


@pytest.mark.parametrize("backend", [pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_pull_leadership_is_held_by_one_worker_and_taken_over_when_its_session_dies(store: Store) -> None:
    first, second = PgLeadership(store.url, "first"), PgLeadership(store.url, "second")
    try:
        assert first.acquire(CONN) and first.holds(CONN)
        assert not second.acquire(CONN) and not second.holds(CONN)
        assert second.acquire("other-connection")  # leadership is per connection
        assert first.acquire(CONN)  # the holder asking again keeps it

        with store.engine.connect() as admin:  # the first worker's database session dies
            admin.execute(
                sa.text(
                    "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' "
                    "AND objid = :key AND pid <> pg_backend_pid()"
                ),
                {"key": lock_key(_schema(store), CONN)},
            )
        assert not first.holds(CONN)  # it notices before storing another page
        assert second.acquire(CONN) and second.holds(CONN)
        assert not first.acquire(CONN)
    finally:
        first.close()
        second.close()
    assert [(c, owner) for c, owner, _ in store.leader_log(CONN)] == [(CONN, "first"), (CONN, "second")]


def _schema(store: Store) -> str:
    with store.engine.connect() as db:
        return str(db.execute(sa.text("SELECT current_schema()")).scalar_one())


def test_a_second_worker_on_a_sqlite_file_is_refused_with_the_holders_pid(tmp_path: Path) -> None:
    database = tmp_path / "tierdesk.db"
    held = SqliteWorkerLock(database)
    try:
        with pytest.raises(InvalidInput) as refused:
            SqliteWorkerLock(database)
        assert str(refused.value) == (
            f"error: another tierdesk worker holds tierdesk.db (pid {os.getpid()}); run one worker per "
            "SQLite database or use PostgreSQL (TIERDESK_DB=postgresql://...)"
        )
    finally:
        held.close()
    SqliteWorkerLock(database).close()  # once the first one ended, a worker may start


def test_a_renewed_claim_outlives_its_first_expiry(store: Store) -> None:
    _queue(store)
    held = store.claim_actions(CONN, "slow", limit=2, ttl=0.3)
    store.mark_claimed_sending([i.action.key for i in held], "slow", ttl=0.3, now=T0)
    assert store.renew_claims("slow", ttl=60) == 2  # the worker's heartbeat, while it still sends
    time.sleep(0.4)
    assert [i.action.key for i in store.claim_actions(CONN, "other", limit=2, ttl=60)] == ["t1-a", "t1-b"]
