"""The push loop's queue read (`pending_actions`) walks `ix_outbox_queue` in its own order: SQLite
never sorts the whole queue for each batch, and the rows it returns are still the oldest queued."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from connector.domain.policy import ActionKind
from connector.domain.results import Action
from connector.store import tables
from connector.store.codec import encode_action
from connector.store.repository import Store

START = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def _queue(store: Store, statuses: list[str]) -> None:
    rows = []
    for n, status in enumerate(statuses):
        action = Action(
            key=f"z:{n}", connection="z", ticket_id=str(n // 2), kind=ActionKind.ADD_TAGS, values=("t",)
        )
        rows.append(
            {
                "key": action.key,
                "connection": "z",
                "ticket_id": action.ticket_id,
                "kind": action.kind.value,
                "payload": encode_action(action),
                "status": status,
                "created_at": START + timedelta(seconds=len(statuses) - n),  # newest first
                "ordinal": n % 2,
            }
        )
    with store.engine.begin() as connection:
        connection.execute(sa.insert(tables.OutboxRow.__table__), rows)


def test_the_queue_read_uses_the_queue_index_without_sorting(tmp_path: Path) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 'q.db'}")
    try:
        with store.engine.connect() as connection:
            sql = str(
                store.pending_actions_query("z", 500).compile(
                    connection, compile_kwargs={"literal_binds": True}
                )
            )
            plan = " ".join(str(row[-1]) for row in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}"))
    finally:
        store.close()
    assert "ix_outbox_queue" in plan
    assert "TEMP B-TREE" not in plan


def test_the_queue_read_returns_the_oldest_queued_rows_and_none_that_left_the_queue(tmp_path: Path) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 'q.db'}")
    try:
        _queue(store, ["pending", "applied", "sending", "failed", "pending", "skipped", "pending"])
        keys = [item.action.key for item in store.pending_actions("z", limit=3)]
    finally:
        store.close()
    assert keys == ["z:6", "z:4", "z:2"]  # created oldest-first; applied, failed and skipped left out


def test_the_queue_is_counted_on_the_queue_index_not_over_the_whole_outbox(tmp_path: Path) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 'q.db'}")
    try:
        _queue(store, ["pending", "applied", "sending", "failed", "pending", "skipped", "pending"])
        with store.engine.connect() as connection:
            sql = str(store.queued_count_query("sqlite").compile(connection))
            plan = " ".join(str(row[-1]) for row in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}"))
        count = store.queued_count()
    finally:
        store.close()
    assert "ix_outbox_queue" in plan
    assert count == 4
