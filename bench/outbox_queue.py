"""How long the push loop's queue read (`Store.pending_actions`) takes with a large queue.

Fills a fresh SQLite store with N queued actions over many tickets, then times `pending_actions`
for one 500-action batch and prints the query plan SQLite chose.

    .venv/bin/python bench/outbox_queue.py [--queued 250000] [--calls 20]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from connector.domain.policy import ActionKind
from connector.domain.results import Action
from connector.store import tables
from connector.store.codec import encode_action
from connector.store.repository import Store

CONNECTION = "zendesk-main"


def fill(store: Store, queued: int) -> None:
    start = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    rows = []
    for n in range(queued):
        ticket = str(n // 5)
        action = Action(
            key=f"{CONNECTION}:{ticket}:tags:{n}",
            connection=CONNECTION,
            ticket_id=ticket,
            kind=ActionKind.ADD_TAGS,
            values=(f"tag_{n % 7}",),
        )
        rows.append(
            {
                "key": action.key,
                "connection": CONNECTION,
                "ticket_id": ticket,
                "kind": action.kind.value,
                "payload": encode_action(action),
                "status": "pending" if n % 10 else "sending",
                "attempts": 0,
                "uncertain": False,
                "created_at": start + timedelta(seconds=n // 500),
                "ordinal": n % 5,
            }
        )
    table = tables.OutboxRow.__table__
    with store.engine.begin() as connection:
        for first in range(0, len(rows), 10_000):
            connection.execute(sa.insert(table), rows[first : first + 10_000])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queued", type=int, default=250_000)
    parser.add_argument("--calls", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        store = Store.open(f"sqlite:///{Path(directory) / 'bench.db'}")
        try:
            fill(store, args.queued)
            timings = []
            for _ in range(args.calls):
                began = time.perf_counter()
                batch = store.pending_actions(CONNECTION, limit=500)
                timings.append((time.perf_counter() - began) * 1000)
            assert len(batch) == 500
            with store.engine.connect() as connection:
                sql = str(
                    store.pending_actions_query(CONNECTION, 500).compile(
                        connection, compile_kwargs={"literal_binds": True}
                    )
                )
                plan = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}").all()
        finally:
            store.close()
    print(f"queued actions: {args.queued:,}; pending_actions(limit=500) over {args.calls} calls")
    print(f"  median {statistics.median(timings):.1f} ms, max {max(timings):.1f} ms")
    print("  plan: " + "; ".join(str(row[-1]) for row in plan))


if __name__ == "__main__":
    main()
