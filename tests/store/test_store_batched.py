"""The store's batched reads and writes, on SQLite and PostgreSQL alike: they answer as the
per-ticket calls do, across IN-lists longer than one chunk, and the running tally of unsent
outbox rows agrees with what the outbox holds."""

from __future__ import annotations

from datetime import timedelta

import pytest

from connector.domain.policy import ActionKind
from connector.domain.results import Action
from connector.ports import ActionResult, Outcome
from connector.store.repository import Store
from connector.store.unit import CHUNK
from tests.store.test_store_contract import CONN, T0, clock, evaluation, event, note, record, ticket
from tests.store.test_store_record import evaluation as record_evaluation_of_101
from tests.store.test_store_record import met_clock, outcome, step

MANY = 1_500  # three IN-list chunks
assert MANY > 2 * CHUNK

UNSENT = ("skipped", "withdrawn")


def _seed(store: Store, count: int) -> list[str]:
    ids = [f"t{n:05}" for n in range(count)]
    store.save_pull_page(
        CONN, [record(ticket(i), event(f"{i}:b", 2), event(f"{i}:a", 1)) for i in ids], None, now=T0
    )
    return ids


def test_load_tickets_answers_as_load_ticket_does_across_several_chunks(store: Store) -> None:
    ids = _seed(store, MANY)

    loaded = store.load_tickets(CONN, [*reversed(ids), "missing"])

    assert sorted(loaded) == ids
    assert all(len(item.events) == 2 for item in loaded.values())
    # each side of every chunk boundary, and a spread in between, against the per-ticket read
    edges = {n for k in range(1, MANY // CHUNK + 1) for n in (k * CHUNK - 1, k * CHUNK) if n < MANY}
    for ticket_id in [ids[n] for n in sorted(edges | set(range(0, MANY, 97)))]:
        one = store.load_ticket(CONN, ticket_id)
        assert one is not None
        assert (loaded[ticket_id].ticket, loaded[ticket_id].events) == one
        assert loaded[ticket_id].seen_at == T0
    assert [e.id for e in loaded["t01499"].events] == ["t01499:a", "t01499:b"]


def test_record_evaluations_of_many_tickets_store_what_one_by_one_would(store: Store) -> None:
    ids = _seed(store, MANY)
    one_by_one, batched = ids[:40], ids[40:]

    queued_one = sum(
        store.record_evaluation(
            evaluation(i, clocks=(clock(),), next_deadline=T0),
            [note(f"{i}:n", i), note(f"{i}:s", i, superseded=True)],
        )
        for i in one_by_one
    )
    queued_batch = store.record_evaluations(
        [
            (
                evaluation(i, clocks=(clock(),), next_deadline=T0),
                [note(f"{i}:n", i), note(f"{i}:s", i, superseded=True)],
            )
            for i in batched
        ]
    )

    assert (queued_one, queued_batch) == (len(one_by_one), len(batched))
    assert store.load_clocks(CONN, batched[-1]) == store.load_clocks(CONN, one_by_one[0]) == (clock(),)
    assert store.outbox_statuses([f"{ids[-1]}:n", f"{ids[-1]}:s"]) == {
        f"{ids[-1]}:n": "pending",
        f"{ids[-1]}:s": "skipped",
    }
    counts = store.outbox_counts()
    assert (counts["pending"], counts["skipped"]) == (MANY, MANY)
    assert len(store.tickets_due_before(T0)) == MANY
    # queued once: the same plan again queues nothing and skips nothing more
    again = store.record_evaluations([(evaluation(i), [note(f"{i}:n", i)]) for i in batched])
    assert again == 0 and store.queued_count() == MANY


def test_results_of_many_actions_are_recorded_by_outcome_and_message(store: Store) -> None:
    ids = _seed(store, 1_200)
    store.record_evaluations([(evaluation(i), [note(f"{i}:n", i)]) for i in ids])
    keys = [f"{i}:n" for i in ids]
    store.mark_sending(keys, now=T0)
    applied, failed, retried = keys[:1_000], keys[1_000:1_100], keys[1_100:]

    store.record_results(
        [ActionResult(k, Outcome.APPLIED) for k in applied]
        + [ActionResult(k, Outcome.FAILED, message=f"422 on {k}") for k in failed]
        + [ActionResult(k, Outcome.RETRY, message="503") for k in retried],
        now=T0 + timedelta(seconds=1),
    )

    statuses = store.outbox_statuses(keys)
    assert {statuses[k] for k in applied} == {"applied"}
    assert {statuses[k] for k in failed} == {"failed"}
    assert {statuses[k] for k in retried} == {"pending"}
    assert store.queued_count() == len(retried)
    assert [(status, error) for _, status, error in store.ticket_outbox(CONN, ids[1_050])] == [
        ("failed", f"422 on {keys[1_050]}")
    ]
    assert store.ticket_outbox(CONN, ids[0])[0][2] is None
    assert [item.uncertain for item in store.pending_actions(CONN, 1)] == [True]


def test_the_unsent_tally_counts_what_the_outbox_holds_as_it_is_committed(store: Store) -> None:
    _seed(store, 3)
    store.save_pull_page(CONN, [record(ticket("101"))], None, now=T0)
    # superseded on arrival, and a key queued twice counts once
    store.record_evaluation(evaluation("t00000"), [note("sup", "t00000", superseded=True)])
    store.record_evaluation(evaluation("t00000"), [note("sup", "t00000", superseded=True)])
    # replaced by a newer plan of the same ticket
    stale = Action("tags-old", CONN, "t00001", ActionKind.ADD_TAGS, values=("sla_warning",), basis=T0)
    store.record_evaluation(evaluation("t00001"), [stale])
    store.record_evaluation(evaluation("t00001", now=T0 + timedelta(minutes=1)), [])
    # withdrawn: the crossing the steps were planned for did not happen
    breach, reassign = step("breach", "first_response:0:breach"), step("re", "first_response:0:breach")
    store.record_evaluation(record_evaluation_of_101(actions=(breach, reassign)), [breach, reassign])
    store.record_evaluation(record_evaluation_of_101(clocks=(met_clock(),), now=T0 + timedelta(hours=1)), [])
    # skipped because the ticket was deleted
    store.record_evaluation(evaluation("t00002"), [note("gone", "t00002")])
    store.forget_tickets(CONN, ["t00002"])

    tally = store.unsent_tally()

    assert tally == store.outbox_reasons(UNSENT)
    assert tally == {
        ("skipped", None): 1,
        ("skipped", "replaced by a newer plan"): 1,
        ("skipped", "ticket deleted in the helpdesk"): 1,
        (
            "withdrawn",
            "withdrawn: first response was met at 2026-03-02T08:40:00Z, before it reached breach",
        ): 2,
    }


def test_a_rolled_back_unit_of_work_adds_nothing_to_the_unsent_tally(store: Store) -> None:
    _seed(store, 1)
    before = store.unsent_tally()

    with pytest.raises(RuntimeError), store.transaction():
        store.record_evaluation(evaluation("t00000"), [note("sup", "t00000", superseded=True)])
        store.forget_tickets(CONN, ["t00000"])
        raise RuntimeError("crash before commit")

    assert store.unsent_tally() == before == store.outbox_reasons(UNSENT) == {}


def test_outcomes_of_many_tickets_are_loaded_with_them(store: Store) -> None:
    _seed(store, 2)
    store.save_pull_page(CONN, [record(ticket("101"))], None, now=T0)
    store.record_evaluation(record_evaluation_of_101(decided=(outcome(),)), [])
    loaded = store.load_tickets(CONN, ["101", "t00000"])
    assert loaded["101"].settled == store.settled_outcomes(CONN, "101") != ()
    assert loaded["t00000"].settled == ()
