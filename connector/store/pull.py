"""Pulled pages: ticket snapshots and events merged into the store with the page's cursor, in one
transaction, so a restart resumes after the last stored page and loses no change."""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from connector.domain.model import Event, Ticket
from connector.ports import TicketRecord
from connector.store import codec
from connector.store.bulk import insert_many
from connector.store.in_lists import any_of
from connector.store.outbox import QUEUED
from connector.store.tables import OutboxStatus, clocks, cursors, events, outbox, tickets
from connector.store.ticket_queries import (
    CONNECTION,
    EVENT_IDS,
    MARK_DIRTY,
    PAGE_BASIS,
    SEEN_AGAIN,
    SNAPSHOT_DATA,
    snapshot_upsert,
)
from connector.store.unit import UnitOfWork, chunks, dialect_insert, ticket_key

DELETED = "ticket deleted in the helpdesk"  # the reason queued actions of a deleted ticket are skipped

_CURSOR = sa.select(cursors.c.cursor).where(cursors.c.connection == CONNECTION)  # built once


@functools.cache
def _cursor_upsert(dialect: str) -> Any:
    insert = dialect_insert(dialect, cursors)
    return insert.on_conflict_do_update(
        index_elements=[cursors.c.connection],
        set_={"cursor": insert.excluded.cursor, "updated_at": insert.excluded.updated_at},
    )


@dataclass(frozen=True)
class PageBasis:
    """What the store holds of a pulled page's tickets, read once before the page is stored and in
    the same transaction (`PullStore.page_basis`): the stored `updated_at` and last evaluated
    policy version of each stored ticket, and the ids of its stored events. Both the own-write-back
    check (`connector.own_writes`) and `save_pull_page` work from it, so a page costs one read of
    each, not two."""

    updated: dict[str, datetime] = field(default_factory=dict)
    evaluated: dict[str, str] = field(default_factory=dict)  # tickets waiting for an evaluation left out
    event_ids: dict[str, set[str]] = field(default_factory=dict)  # tickets without events left out


class PullStore(UnitOfWork):
    """The pull part of `connector.store.repository.Store`."""

    def get_cursor(self, connection: str) -> str | None:
        with self._unit(write=False) as db:
            return db.execute(_CURSOR, {"b_connection": connection}).scalar_one_or_none()

    def page_basis(self, connection: str, ticket_ids: Sequence[str]) -> PageBasis:
        """The stored state of these tickets a pulled page is compared with (`PageBasis`); read it
        in the transaction that stores the page."""
        basis = PageBasis()
        ids = sorted(set(ticket_ids))
        with self._unit(write=False) as db:
            for chunk in chunks(ids):
                for row in db.execute(PAGE_BASIS, {"b_connection": connection, "b_ids": list(chunk)}):
                    basis.updated[row.ticket_id] = row.updated_at
                    if row.evaluated_version is not None:
                        basis.evaluated[row.ticket_id] = row.evaluated_version
            for ticket_id, event_id in _stored_event_ids(db, connection, sorted(basis.updated)):
                basis.event_ids.setdefault(ticket_id, set()).add(event_id)
        return basis

    def save_pull_page(
        self,
        connection: str,
        records: Sequence[TicketRecord],
        cursor: str | None,
        *,
        now: datetime | None = None,
        basis: PageBasis | None = None,
    ) -> list[str]:
        """Store one pulled page and its cursor atomically; return the keys of changed tickets.

        A snapshot replaces the stored one only if its `updated_at` is newer. Events are merged by
        id (known ids are ignored). A ticket counts as changed, and is marked for re-evaluation,
        when its snapshot was replaced or it gained an event. `cursor=None` keeps the stored cursor.
        `basis`: the page's `page_basis`, read in the caller's open transaction (else it is read
        here).
        """
        stored_at = now or datetime.now(UTC)
        snapshots: dict[str, Ticket] = {}
        pulled_events: dict[tuple[str, str], Event] = {}
        for record in records:
            ticket = record.ticket
            if ticket.connection != connection:
                raise ValueError(f"ticket {ticket.key} pulled for connection {connection!r}")
            seen = snapshots.get(ticket.id)
            if seen is None or ticket.updated_at > seen.updated_at:
                snapshots[ticket.id] = ticket
            for event in record.events:
                pulled_events[(ticket.id, event.id)] = event
        with self._unit(write=True) as db:
            if basis is None:
                basis = self.page_basis(connection, list(snapshots))
            changed = self._upsert_snapshots(
                db, connection, list(snapshots.values()), stored_at, basis.updated
            )
            with_new_events = self._merge_events(db, connection, pulled_events, basis.event_ids)
            self._mark_dirty(db, connection, sorted(with_new_events - changed))
            if cursor is not None:
                self._store_cursor(db, connection, cursor, stored_at)
        return sorted(ticket_key(connection, ticket_id) for ticket_id in changed | with_new_events)

    def _upsert_snapshots(
        self,
        db: sa.Connection,
        connection: str,
        snapshots: Sequence[Ticket],
        stored_at: datetime,
        stored: Mapping[str, datetime],
    ) -> set[str]:
        """Insert new snapshots, replace older ones; the ids of the rows written. `stored`: the
        stored `updated_at` of the page's tickets.

        Knowing what is stored, the upsert runs as a plain executemany of one statement (with
        RETURNING, SQLAlchemy sent multi-row VALUES statements of tens of KB, a different one for
        every page size). The upsert keeps its own guard: a snapshot never replaces a newer one,
        whoever wrote it in between."""
        if not snapshots:
            return set()
        written = [t for t in snapshots if t.id not in stored or stored[t.id] < t.updated_at]
        if written:
            rows = [
                {
                    "connection": connection,
                    "ticket_id": ticket.id,
                    "updated_at": ticket.updated_at,
                    "created_at": ticket.created_at,
                    "status": ticket.status.value,
                    "is_open": not ticket.status.is_done,
                    "data": codec.encode_ticket(ticket),
                    "stored_at": stored_at,
                    "seen_at": stored_at,
                }
                for ticket in written
            ]
            db.execute(snapshot_upsert(db.dialect.name), rows)
        written_ids = {t.id for t in written}
        # shown again as stored: the stored view is confirmed as of now
        again = [
            {"b_connection": connection, "b_ticket_id": t.id, "b_updated": t.updated_at, "b_seen": stored_at}
            for t in snapshots
            if t.id not in written_ids
        ]
        if again:
            db.execute(SEEN_AGAIN, again)
        return written_ids

    def _merge_events(
        self,
        db: sa.Connection,
        connection: str,
        pulled: Mapping[tuple[str, str], Event],
        stored: Mapping[str, set[str]],
    ) -> set[str]:
        """Insert events whose id is new for their ticket; the ids of tickets that gained one.
        `stored`: the ids of the stored events of the page's tickets.

        A helpdesk sends a changed ticket's whole history again: only events whose id is not stored
        are encoded and inserted, so a changed ticket costs its new events, not its history. ON
        CONFLICT DO NOTHING still guards the ids."""
        new = {key: event for key, event in pulled.items() if key[1] not in stored.get(key[0], ())}
        if not new:
            return set()
        rows = [
            {
                "connection": connection,
                "ticket_id": ticket_id,
                "event_id": event.id,
                "at": event.at,
                "kind": event.kind.value,
                "payload": codec.encode_event(event),
            }
            for (ticket_id, _), event in new.items()
        ]
        insert_many(db, events, rows, skip_conflicts_on=["connection", "ticket_id", "event_id"])
        return {ticket_id for ticket_id, _ in new}

    def snapshots(self, connection: str, ticket_ids: Sequence[str]) -> dict[str, Ticket]:
        """The stored snapshot of each of these tickets that is stored."""
        found: dict[str, Ticket] = {}
        with self._unit(write=False) as db:
            for chunk in chunks(sorted(set(ticket_ids))):
                rows = db.execute(SNAPSHOT_DATA, {"b_connection": connection, "b_ids": list(chunk)})
                found.update((row.ticket_id, codec.decode_ticket(row.data)) for row in rows)
        return found

    def _store_cursor(self, db: sa.Connection, connection: str, cursor: str, at: datetime) -> None:
        db.execute(
            _cursor_upsert(db.dialect.name), {"connection": connection, "cursor": cursor, "updated_at": at}
        )

    def _mark_dirty(self, db: sa.Connection, connection: str, ticket_ids: Sequence[str]) -> None:
        for chunk in chunks(ticket_ids):
            db.execute(MARK_DIRTY, {"b_connection": connection, "b_ids": list(chunk)})

    def forget_tickets(self, connection: str, ticket_ids: Sequence[str]) -> int:
        """Drop tickets the helpdesk deleted: snapshot, events and clocks go; their queued actions
        are marked skipped (the outbox keeps every key, so nothing is planned twice). Returns how
        many tickets were stored."""
        ids = sorted(set(ticket_ids))
        removed = 0
        with self._unit(write=True) as db:
            for chunk in chunks(ids):
                skipped = db.execute(
                    sa.update(outbox)
                    .where(
                        outbox.c.connection == connection,
                        any_of(outbox.c.ticket_id, chunk),
                        outbox.c.status.in_(QUEUED),
                    )
                    .values(status=OutboxStatus.SKIPPED.value, last_error=DELETED)
                )
                self._count_unsent(OutboxStatus.SKIPPED.value, DELETED, skipped.rowcount)
                for table in (events, clocks):
                    db.execute(
                        sa.delete(table).where(
                            table.c.connection == connection, any_of(table.c.ticket_id, chunk)
                        )
                    )
                result = db.execute(
                    sa.delete(tickets).where(
                        tickets.c.connection == connection, any_of(tickets.c.ticket_id, chunk)
                    )
                )
                removed += result.rowcount
        return removed


def _stored_event_ids(
    db: sa.Connection, connection: str, ticket_ids: Sequence[str]
) -> Iterator[tuple[str, str]]:
    """(ticket id, event id) of the stored events of these tickets, read without their payloads."""
    for chunk in chunks(ticket_ids):
        for row in db.execute(EVENT_IDS, {"b_connection": connection, "b_ids": list(chunk)}):
            yield row.ticket_id, row.event_id
