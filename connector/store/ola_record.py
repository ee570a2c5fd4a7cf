"""Settled group holds (`ola_hold`): inserted once when a hold ends, read by the OLA report."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from connector.domain.group_clocks import OlaHold
from connector.store.in_lists import any_of, text_list
from connector.store.tables import ola_holds


@dataclass(frozen=True, slots=True)
class StoredOlaHold:
    connection: str
    ticket_id: str
    ola: str
    group_id: str
    started_at: datetime
    ended_at: datetime
    held: timedelta
    target: timedelta
    policy_version: str

    @property
    def within_target(self) -> bool:
        return self.held <= self.target


def insert_holds(
    db: sa.Connection,
    holds: Sequence[tuple[str, str, OlaHold]],
    policy_version: str,
    now: datetime,
) -> int:
    """Insert the ended holds of (connection, ticket id, hold) not settled before; a hold already
    recorded keeps its figures and target whatever the OLA says now. Returns how many were new."""
    rows = [
        {
            "connection": connection,
            "ticket_id": ticket_id,
            "group_id": hold.group_id,
            "started_at": hold.started_at,
            "ended_at": hold.ended_at,
            "ola": hold.ola,
            "held": hold.held,
            "target": hold.target,
            "policy_version": policy_version,
            "settled_at": now,
        }
        for connection, ticket_id, hold in holds
        if hold.ended_at is not None
    ]
    if not rows:
        return 0
    insert = postgresql.insert(ola_holds) if db.dialect.name == "postgresql" else sqlite.insert(ola_holds)
    statement = insert.on_conflict_do_nothing(
        index_elements=[
            ola_holds.c.connection,
            ola_holds.c.ticket_id,
            ola_holds.c.group_id,
            ola_holds.c.started_at,
        ]
    )
    return len(db.execute(statement.returning(ola_holds.c.ola), rows).all())


_HOLD_KEYS_OF = sa.select(ola_holds.c.ticket_id, ola_holds.c.group_id, ola_holds.c.started_at).where(
    ola_holds.c.connection == sa.bindparam("b_connection"), any_of(ola_holds.c.ticket_id, text_list("b_ids"))
)  # built once (`connector.store.in_lists`)


def hold_keys_of(
    db: sa.Connection, connection: str, ticket_ids: Sequence[str]
) -> dict[str, list[tuple[str, datetime]]]:
    """(group id, started at) of each ticket's settled holds: what a re-evaluation need not insert
    again (read through the primary key's leading columns)."""
    found: dict[str, list[tuple[str, datetime]]] = {}
    for row in db.execute(_HOLD_KEYS_OF, {"b_connection": connection, "b_ids": list(ticket_ids)}):
        found.setdefault(row.ticket_id, []).append((row.group_id, row.started_at))
    return found


def holds_ended(db: sa.Connection, start: datetime, end: datetime) -> list[StoredOlaHold]:
    """Settled holds that ended in [start, end), oldest first."""
    return _read(db, ola_holds.c.ended_at >= start, ola_holds.c.ended_at < end)


def holds_of(db: sa.Connection, connection: str, ticket_id: str) -> list[StoredOlaHold]:
    """One ticket's settled holds, oldest first."""
    return _read(db, ola_holds.c.connection == connection, ola_holds.c.ticket_id == ticket_id)


def _read(db: sa.Connection, *where: sa.ColumnElement[bool]) -> list[StoredOlaHold]:
    query = (
        sa.select(ola_holds)
        .where(*where)
        .order_by(ola_holds.c.ended_at, ola_holds.c.connection, ola_holds.c.ticket_id)
    )
    return [
        StoredOlaHold(
            row.connection,
            row.ticket_id,
            row.ola,
            row.group_id,
            row.started_at,
            row.ended_at,
            row.held,
            row.target,
            row.policy_version,
        )
        for row in db.execute(query)
    ]
