"""The store's batched statements have one text whatever the batch size, on SQLite and
PostgreSQL (one prepared statement, not one per list length or page size):

- batched lookups bind their list of ticket ids or keys as ONE parameter
  (`connector.store.in_lists.any_of`), and find the rows an IN-list finds, duplicates and unknown
  values included;
- a pulled page's snapshots are upserted by a plain executemany, and the tickets it reports
  changed are still exactly those inserted or replaced by a newer snapshot."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from connector.domain.model import Status
from connector.store.in_lists import any_of
from connector.store.repository import Store
from connector.store.tables import tickets
from tests.store.test_store_contract import CONN, T0, record, ticket


@contextmanager
def _listening(store: Store, event: str, keep: Callable[..., Any]) -> Iterator[list[Any]]:
    """What `keep(*arguments)` makes of each `event` of the store's engine inside the block."""
    seen: list[Any] = []

    def listener(*arguments: Any) -> None:
        seen.append(keep(*arguments))

    sa.event.listen(store.engine, event, listener)
    try:
        yield seen
    finally:
        sa.event.remove(store.engine, event, listener)


def _statements(store: Store) -> AbstractContextManager[list[tuple[str, Any]]]:
    """(statement, parameters as sent to the driver) of what runs inside the block."""
    return _listening(
        store,
        "before_cursor_execute",
        lambda conn, cursor, statement, parameters, *_: (statement, parameters),
    )


def test_batched_load_sends_the_same_statements_for_any_number_of_tickets(store: Store) -> None:
    ids = [str(n) for n in range(1, 301)]
    store.save_pull_page(CONN, [record(ticket(i)) for i in ids], None)

    with _statements(store) as sent:
        few = store.load_tickets(CONN, ["7", "7", "nope", "12"])
    with _statements(store) as sent_many:
        many = store.load_tickets(CONN, [*ids, "nope"])

    assert sorted(few) == ["12", "7"]
    assert sorted(many, key=int) == ids
    few_statements = [statement for statement, _ in sent]
    assert few_statements == [statement for statement, _ in sent_many]
    assert len(few_statements) >= 3  # snapshots, events, outcomes, holds
    batched = [s for s in few_statements if "ticket_id" in s and "connection" in s]
    assert batched and all("json_each" in s or "ANY(" in s for s in batched), batched


def test_any_of_finds_what_an_in_list_finds(store: Store) -> None:
    store.save_pull_page(CONN, [record(ticket(str(n))) for n in range(1, 41)], None)
    wanted = ["3", "3", "17", "40", "41", "x"]
    with store.engine.connect() as db:

        def found(condition: sa.ColumnElement[bool]) -> list[str]:
            query = sa.select(tickets.c.ticket_id).where(tickets.c.connection == CONN, condition)
            return sorted(db.execute(query).scalars())

        assert found(any_of(tickets.c.ticket_id, wanted)) == found(tickets.c.ticket_id.in_(wanted))
        assert found(any_of(tickets.c.ticket_id, wanted)) == ["17", "3", "40"]
        assert found(any_of(tickets.c.ticket_id, [])) == []
        # a predicate of its own: combines with NOT like any other condition
        assert len(found(sa.not_(any_of(tickets.c.ticket_id, wanted)))) == 37


def test_sqlite_looks_each_value_up_in_the_index(tmp_path: Path) -> None:
    store = Store.open(f"sqlite:///{tmp_path}/plan.db")
    try:
        query = sa.select(tickets.c.data).where(
            tickets.c.connection == CONN, any_of(tickets.c.ticket_id, ["1", "2"])
        )
        with _statements(store) as sent, store.engine.connect() as db:
            db.execute(query).all()
        ((statement, parameters),) = [(s, p) for s, p in sent if s.lstrip().startswith("SELECT")]
        with store.engine.connect() as db:
            plan = db.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters).all()
        details = [row[-1] for row in plan]
        assert any(d.startswith("SEARCH ticket_snapshot USING") and "ticket_id=?" in d for d in details), (
            details
        )
        assert not any(d.startswith("SCAN ticket_snapshot") for d in details), details
    finally:
        store.close()


def test_snapshot_upsert_is_one_statement_for_any_page_size(store: Store) -> None:
    with _statements(store) as small:
        first = store.save_pull_page(CONN, [record(ticket(str(n))) for n in range(1, 4)], None)
    with _statements(store) as large:
        second = store.save_pull_page(CONN, [record(ticket(str(n))) for n in range(4, 44)], None)
    later = T0 + timedelta(minutes=5)
    page = [
        record(ticket("1", updated=later, status=Status.PENDING)),  # newer: replaces
        record(ticket("2")),  # the same snapshot again: not a change
        record(ticket("3", updated=T0 - timedelta(minutes=5), subject="older")),  # older: ignored
        record(ticket("44")),  # new
    ]
    with _statements(store) as mixed:
        third = store.save_pull_page(CONN, page, None)

    assert first == [f"{CONN}:{n}" for n in ("1", "2", "3")]
    assert len(second) == 40
    assert third == [f"{CONN}:1", f"{CONN}:44"]
    upserts = [
        [s for s, _ in sent if s.lstrip().startswith("INSERT INTO ticket_snapshot")]
        for sent in (small, large, mixed)
    ]
    assert all(len(texts) == 1 for texts in upserts), upserts
    assert upserts[0] == upserts[1] == upserts[2]
    snapshots = store.snapshots(CONN, ["1", "3"])
    assert snapshots["1"].status is Status.PENDING
    assert snapshots["3"].subject == "Printer on fire"  # the older snapshot did not replace it


def _executed(store: Store) -> AbstractContextManager[list[object]]:
    """The statement objects handed to SQLAlchemy inside the block (before compilation)."""
    return _listening(store, "before_execute", lambda conn, element, *_: element)


def test_a_cycles_store_statements_are_built_once_and_reused(store: Store) -> None:
    """Loading, recording and pushing run the same statement objects on every call (SQLAlchemy
    computes a kept statement's cache key once), whatever the tickets, keys and instants."""
    store.save_pull_page(CONN, [record(ticket(str(n))) for n in range(1, 21)], "c1")

    def one_round(ids: list[str], cursor: str) -> list[object]:
        with _executed(store) as seen:
            store.get_cursor(CONN)
            store.save_pull_page(
                CONN, [record(ticket(i, updated=T0 + timedelta(hours=len(cursor)))) for i in ids], cursor
            )
            store.load_tickets(CONN, ids)
            store.views(CONN, ids)
            store.page_basis(CONN, ids)
            store.tickets_due_before(T0)
            store.tickets_needing_evaluation("v1")
            store.pending_actions(CONN, limit=50)
            store.mark_sending(["k1", "k2"], now=T0)
            store.queued_count()
        return seen

    first = one_round(["1", "2", "3"], "c2")
    second = one_round(["4", "5", "6", "7", "8"], "c33")
    assert len(first) == len(second) >= 14
    rebuilt = [type(a).__name__ for a, b in zip(first, second, strict=True) if a is not b]
    assert not rebuilt, f"statements built again on the second round: {rebuilt}"
