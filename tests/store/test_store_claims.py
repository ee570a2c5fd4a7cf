"""Outbox claims of several workers (`connector.store.leases.ClaimStore`): rows are claimed with
`FOR UPDATE SKIP LOCKED`, a ticket's actions together, and a dead worker's claims expire."""

from __future__ import annotations

import threading
import time

import pytest

from connector.ports import ActionResult, Outcome
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
