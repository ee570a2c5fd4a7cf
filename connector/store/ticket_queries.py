"""The ticket queries every sync cycle runs, built once and executed with their parameters
bound (`connector.store.in_lists`): b_connection and b_ids (a `text_list` of ticket ids), or the
named ones below. Used by the store's parts (`repository`, `pull`, `evaluated`)."""

from __future__ import annotations

import functools
from typing import Any

import sqlalchemy as sa

from connector.store.in_lists import any_of, text_list
from connector.store.tables import clocks, events, tickets
from connector.store.unit import dialect_insert

CONNECTION: sa.BindParameter[str] = sa.bindparam("b_connection")
IDS = text_list("b_ids")
LOAD_SNAPSHOTS = sa.select(tickets.c.ticket_id, tickets.c.data, tickets.c.seen_at, tickets.c.stored_at).where(
    tickets.c.connection == CONNECTION, any_of(tickets.c.ticket_id, IDS)
)
LOAD_EVENTS = (
    sa.select(events.c.ticket_id, events.c.payload)
    .where(events.c.connection == CONNECTION, any_of(events.c.ticket_id, IDS))
    .order_by(events.c.ticket_id, events.c.at, events.c.event_id)
)
VIEWS = sa.select(tickets.c.ticket_id, tickets.c.updated_at, tickets.c.seen_at, tickets.c.stored_at).where(
    tickets.c.connection == CONNECTION, any_of(tickets.c.ticket_id, IDS)
)
STORED_REFS = sa.select(tickets.c.connection, tickets.c.ticket_id).where(
    tickets.c.connection == CONNECTION, any_of(tickets.c.ticket_id, IDS)
)
RECORD_EVALUATED = (
    sa.update(tickets)
    .where(
        tickets.c.connection == sa.bindparam("b_connection"),
        tickets.c.ticket_id == sa.bindparam("b_ticket_id"),
    )
    .values(
        evaluated_version=sa.bindparam("b_version"),
        evaluated_at=sa.bindparam("b_at"),
        next_deadline=sa.bindparam("b_deadline"),
        tier=sa.bindparam("b_tier"),
        severity=sa.bindparam("b_severity"),
    )
)
DROP_CLOCKS = sa.delete(clocks).where(clocks.c.connection == CONNECTION, any_of(clocks.c.ticket_id, IDS))
DUE_BEFORE = (
    sa.select(tickets.c.connection, tickets.c.ticket_id)
    .where(tickets.c.is_open == sa.true(), tickets.c.next_deadline <= sa.bindparam("b_instant"))
    .order_by(tickets.c.next_deadline, tickets.c.connection, tickets.c.ticket_id)
)
VERSION: sa.BindParameter[str] = sa.bindparam("b_version")
# Four index ranges on (is_open, evaluated_version) instead of `!=` and a bare IS NULL, so both
# databases answer from the index: 100,000 up-to-date tickets cost nothing.
NEEDING_EVALUATION = (
    sa.select(tickets.c.connection, tickets.c.ticket_id)
    .where(
        sa.or_(
            sa.and_(tickets.c.is_open == sa.false(), tickets.c.evaluated_version.is_(None)),
            sa.and_(tickets.c.is_open == sa.true(), tickets.c.evaluated_version.is_(None)),
            sa.and_(tickets.c.is_open == sa.true(), tickets.c.evaluated_version < VERSION),
            sa.and_(tickets.c.is_open == sa.true(), tickets.c.evaluated_version > VERSION),
        )
    )
    .order_by(tickets.c.connection, tickets.c.ticket_id)
)
SEEN_AGAIN = (  # executemany: b_connection, b_ticket_id, b_updated, b_seen
    sa.update(tickets)
    .where(
        tickets.c.connection == sa.bindparam("b_connection"),
        tickets.c.ticket_id == sa.bindparam("b_ticket_id"),
        tickets.c.updated_at == sa.bindparam("b_updated"),
    )
    .values(seen_at=sa.bindparam("b_seen"))
)
MARK_DIRTY = (
    sa.update(tickets)
    .where(tickets.c.connection == CONNECTION, any_of(tickets.c.ticket_id, IDS))
    .values(evaluated_version=None)
)
SNAPSHOT_DATA = sa.select(tickets.c.ticket_id, tickets.c.data).where(
    tickets.c.connection == CONNECTION, any_of(tickets.c.ticket_id, IDS)
)
EVENT_IDS = sa.select(events.c.ticket_id, events.c.event_id).where(
    events.c.connection == CONNECTION, any_of(events.c.ticket_id, IDS)
)
PAGE_BASIS = sa.select(tickets.c.ticket_id, tickets.c.updated_at, tickets.c.evaluated_version).where(
    tickets.c.connection == CONNECTION, any_of(tickets.c.ticket_id, IDS)
)


@functools.cache
def snapshot_upsert(dialect: str) -> Any:
    """Insert a snapshot or replace an older one (never a newer one, whoever wrote it)."""
    insert = dialect_insert(dialect, tickets)
    return insert.on_conflict_do_update(
        index_elements=[tickets.c.connection, tickets.c.ticket_id],
        set_={
            "updated_at": insert.excluded.updated_at,
            "created_at": insert.excluded.created_at,
            "status": insert.excluded.status,
            "is_open": insert.excluded.is_open,
            "data": insert.excluded.data,
            "stored_at": insert.excluded.stored_at,
            "seen_at": insert.excluded.seen_at,
            "evaluated_version": sa.null(),
        },
        where=tickets.c.updated_at < insert.excluded.updated_at,
    )
