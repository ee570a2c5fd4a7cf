"""`connector.store.bulk.insert_many` writes rows exactly as SQLAlchemy's own executemany does, on
SQLite and PostgreSQL: instants in UTC (naive ones refused), durations, JSON, and conflicts on a
unique key left out."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from connector.store.bulk import insert_many
from connector.store.repository import Store
from connector.store.tables import audit, clocks, meta, tickets

BERLIN = ZoneInfo("Europe/Berlin")
AT = datetime(2026, 3, 4, 10, 0, 5, 123, tzinfo=BERLIN)


def _clock(ticket_id: str, started_at: datetime = AT) -> dict[str, Any]:
    return {
        "connection": "z",
        "ticket_id": ticket_id,
        "metric": "resolution",
        "cycle": 0,
        "state": "running",
        "calendar": "24x7",
        "started_at": started_at,
        "stopped_at": None,
        "target": timedelta(hours=4),
        "elapsed": timedelta(seconds=90.5),
        "due_at": AT + timedelta(hours=4),
        "breached_at": None,
        "paused_spans": [{"start": AT.isoformat(), "end": None}],
        "policy_version": "v1",
        "evaluated_at": AT,
    }


def _raw(store: Store, ticket_id: str) -> tuple[Any, ...]:
    with store.engine.connect() as db:
        row = db.execute(sa.select(clocks).where(clocks.c.ticket_id == ticket_id)).one()
    return tuple(row)[2:]


def test_bulk_inserted_rows_read_back_as_sqlalchemy_inserted_ones(store: Store) -> None:
    with store.engine.begin() as db:
        for ticket_id in ("a", "b"):
            db.execute(
                tickets.insert(),
                {
                    "connection": "z",
                    "ticket_id": ticket_id,
                    "updated_at": AT,
                    "created_at": AT,
                    "status": "open",
                    "is_open": True,
                    "data": {},
                    "stored_at": AT,
                },
            )
        db.execute(clocks.insert(), [_clock("a")])
        insert_many(db, clocks, [_clock("b")])
    assert _raw(store, "b") == _raw(store, "a")
    assert _raw(store, "b")[4] == AT  # the same instant, read back in UTC


def test_bulk_insert_leaves_out_rows_whose_key_is_taken(store: Store) -> None:
    with store.engine.begin() as db:
        insert_many(db, meta, [{"key": "a", "value": "first"}], skip_conflicts_on=["key"])
        insert_many(
            db,
            meta,
            [{"key": "a", "value": "second"}, {"key": "b", "value": "new"}],
            skip_conflicts_on=["key"],
        )
    with store.engine.connect() as db:
        assert db.execute(sa.select(meta.c.key, meta.c.value).order_by(meta.c.key)).all() == [
            ("a", "first"),
            ("b", "new"),
        ]


def test_bulk_insert_refuses_naive_instants(store: Store) -> None:
    with pytest.raises(ValueError, match="naive datetime"), store.engine.begin() as db:
        insert_many(
            db, audit, [{"key": "k", "outcome": "applied", "at": AT.replace(tzinfo=None), "message": ""}]
        )
    with store.engine.connect() as db:
        assert db.execute(sa.select(audit.c.key)).all() == []
