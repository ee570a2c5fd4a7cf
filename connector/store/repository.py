"""The SQL store: tickets, events, clocks, outbox, cursors and audit on SQLite or PostgreSQL.

Every public method runs in its own transaction, or joins the caller's unit of work when called
inside `with store.transaction():` on the same thread. Writes are set-based (one statement per
page or per evaluation, executemany with INSERT ... ON CONFLICT), never one ORM round trip per row.
"""

from __future__ import annotations

import threading
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, Engine

from connector.domain.model import Event, Ticket
from connector.domain.policy import ApplyTo, Metric
from connector.domain.record import SettledOutcome
from connector.domain.results import Action, ClockState, Evaluation, SlaClock
from connector.ports import ActionResult, OutboxItem, Outcome, TicketRecord
from connector.store import codec, migrate
from connector.store import record as sla_record
from connector.store.engine import begin, create_store_engine, resolve_url
from connector.store.tables import (
    OutboxStatus,
    audit,
    clocks,
    cursors,
    events,
    meta,
    outbox,
    policy_versions,
    tickets,
)

_CHUNK = 500  # bound on IN-list sizes (SQLite allows 32,766 parameters per statement)

_ERROR_OUTCOMES = frozenset({Outcome.RETRY, Outcome.CONFLICT, Outcome.FAILED})
_QUEUED = (OutboxStatus.PENDING.value, OutboxStatus.SENDING.value)
# Actions that state what the ticket should show (planned against its `basis`); a newer plan of the
# same ticket replaces them. Notes and other escalation steps are events and are never replaced.
_STATE_KINDS = frozenset({"add_tags", "remove_tags", "set_field", "set_property", "set_priority"})

_FINAL_STATUS = {
    Outcome.APPLIED: OutboxStatus.APPLIED,
    Outcome.ALREADY_APPLIED: OutboxStatus.ALREADY_APPLIED,
    Outcome.FAILED: OutboxStatus.FAILED,
}


@dataclass(frozen=True, slots=True)
class LoadedTicket:
    """A stored ticket as the engine needs it (`Store.load_tickets`)."""

    ticket: Ticket
    events: tuple[Event, ...]
    seen_at: datetime  # when the helpdesk last showed this snapshot as current
    settled: tuple[SettledOutcome, ...]


def ticket_key(connection: str, ticket_id: str) -> str:
    return f"{connection}:{ticket_id}"


def split_ticket_key(key: str) -> tuple[str, str]:
    """`<connection>:<id>` -> (connection, id). Connection names never contain a colon."""
    connection, sep, ticket_id = key.partition(":")
    if not sep or not connection or not ticket_id:
        raise ValueError(f"not a ticket key (expected '<connection>:<id>'): {key!r}")
    return connection, ticket_id


def _error_of(result: ActionResult) -> str | None:
    return (result.message or None) if result.outcome in _ERROR_OUTCOMES else None


def _uncertain_after(result: ActionResult) -> bool | None:
    """The outbox row's uncertain flag after `result` (None: left as it is).

    Final outcomes settle the question. A RETRY keeps the flag `mark_sending` set (and sets it if
    the plugin says the send may have landed). A CONFLICT is the plugin's word on the whole history
    of the action (it checked the marker first if the action was uncertain): cleared unless it
    says something may have been written.
    """
    if result.outcome in _FINAL_STATUS:
        return False
    if result.outcome is Outcome.RETRY:
        return True if result.uncertain else None
    return result.uncertain


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _chunks(values: Sequence[str], size: int = _CHUNK) -> Iterator[Sequence[str]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _per_connection(refs: Iterable[tuple[str, str]]) -> Iterator[tuple[str, Sequence[str]]]:
    """(connection, ticket ids) in chunks, for `connection = ? AND ticket_id IN (...)`: SQLite
    answers a row-value `(connection, ticket_id) IN (...)` by scanning the whole table, so a lookup
    of a few tickets would cost as much as the outbox (which keeps every key ever queued) is big."""
    ids: dict[str, list[str]] = {}
    for connection, ticket_id in refs:
        ids.setdefault(connection, []).append(ticket_id)
    for connection, ticket_ids in ids.items():
        for chunk in _chunks(ticket_ids):
            yield connection, chunk


def _clock_row(
    connection: str, ticket_id: str, clock: SlaClock, version: str, at: datetime
) -> dict[str, Any]:
    return {
        "connection": connection,
        "ticket_id": ticket_id,
        "metric": clock.metric.value,
        "cycle": clock.cycle,
        "state": clock.state.value,
        "calendar": clock.calendar,
        "started_at": clock.started_at,
        "stopped_at": clock.stopped_at,
        "target": clock.target,
        "elapsed": clock.elapsed,
        "due_at": clock.due_at,
        "breached_at": clock.breached_at,
        "paused_spans": [codec.encode_span(span) for span in clock.paused_spans],
        "policy_version": version,
        "evaluated_at": at,
    }


class Store:
    """The tierdesk store (implements `connector.ports.Store`)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._local = threading.local()

    # -- lifecycle --------------------------------------------------------------------------

    @classmethod
    def open(cls, url: str | None = None, *, upgrade: bool = True) -> Store:
        """Open the store at `url` (None: `$TIERDESK_DB`, else `sqlite:///tierdesk.db`) and, unless
        `upgrade=False`, bring its schema to the latest migration."""
        store = cls(create_store_engine(resolve_url(url)))
        if upgrade:
            try:
                store.upgrade()
            except BaseException:
                store.close()
                raise
        return store

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine (for reports and tooling that query the tables directly)."""
        return self._engine

    @property
    def url(self) -> URL:
        return self._engine.url

    @property
    def dialect(self) -> str:
        return self._engine.dialect.name

    def upgrade(self) -> None:
        """Apply pending schema migrations (idempotent, prints nothing)."""
        migrate.upgrade(self._engine)

    def schema_revision(self) -> str | None:
        """The migration the database is at (None before the first upgrade)."""
        return migrate.current_revision(self._engine)

    def close(self) -> None:
        self._engine.dispose()

    # -- units of work ----------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """A unit of work: store calls made inside it on this thread commit together or not at all.

        Nested `transaction()` blocks join the outermost one. An exception rolls everything back
        and propagates.
        """
        with self._unit(write=True):
            yield

    @property
    def in_transaction(self) -> bool:
        return getattr(self._local, "connection", None) is not None

    @contextmanager
    def _unit(self, *, write: bool) -> Iterator[sa.Connection]:
        current: sa.Connection | None = getattr(self._local, "connection", None)
        if current is not None:
            yield current
            return
        with self._engine.connect() as connection:
            begin(connection, write=write)
            self._local.connection = connection
            try:
                yield connection
            except BaseException:
                connection.rollback()
                raise
            else:
                connection.commit()
            finally:
                self._local.connection = None

    def _insert(self, connection: sa.Connection, table: sa.Table) -> postgresql.Insert | sqlite.Insert:
        if connection.dialect.name == "postgresql":
            return postgresql.insert(table)
        return sqlite.insert(table)

    # -- pull -------------------------------------------------------------------------------

    def get_cursor(self, connection: str) -> str | None:
        with self._unit(write=False) as db:
            return db.execute(
                sa.select(cursors.c.cursor).where(cursors.c.connection == connection)
            ).scalar_one_or_none()

    def save_pull_page(
        self,
        connection: str,
        records: Sequence[TicketRecord],
        cursor: str | None,
        *,
        now: datetime | None = None,
    ) -> list[str]:
        """Store one pulled page and its cursor atomically; return the keys of changed tickets.

        A snapshot replaces the stored one only if its `updated_at` is newer. Events are merged by
        id (known ids are ignored). A ticket counts as changed, and is marked for re-evaluation,
        when its snapshot was replaced or it gained an event. `cursor=None` keeps the stored cursor.
        """
        stored_at = now or _utcnow()
        snapshots: dict[str, Ticket] = {}
        event_rows: dict[tuple[str, str], dict[str, Any]] = {}
        for record in records:
            ticket = record.ticket
            if ticket.connection != connection:
                raise ValueError(f"ticket {ticket.key} pulled for connection {connection!r}")
            seen = snapshots.get(ticket.id)
            if seen is None or ticket.updated_at > seen.updated_at:
                snapshots[ticket.id] = ticket
            for event in record.events:
                event_rows[(ticket.id, event.id)] = {
                    "connection": connection,
                    "ticket_id": ticket.id,
                    "event_id": event.id,
                    "at": event.at,
                    "kind": event.kind.value,
                    "payload": codec.encode_event(event),
                }
        with self._unit(write=True) as db:
            changed = self._upsert_snapshots(db, connection, list(snapshots.values()), stored_at)
            with_new_events = self._merge_events(db, list(event_rows.values()))
            self._mark_dirty(db, connection, sorted(with_new_events - changed))
            if cursor is not None:
                self._store_cursor(db, connection, cursor, stored_at)
        return sorted(ticket_key(connection, ticket_id) for ticket_id in changed | with_new_events)

    def _upsert_snapshots(
        self, db: sa.Connection, connection: str, snapshots: Sequence[Ticket], stored_at: datetime
    ) -> set[str]:
        """Insert new snapshots, replace older ones; the ids of the rows written."""
        if not snapshots:
            return set()
        insert = self._insert(db, tickets)
        upsert = insert.on_conflict_do_update(
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
        ).returning(tickets.c.ticket_id)
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
            for ticket in snapshots
        ]
        written = set(db.execute(upsert, rows).scalars().all())
        # shown again as stored: the stored view is confirmed as of now
        again = [
            {"b_connection": connection, "b_ticket_id": t.id, "b_updated": t.updated_at, "b_seen": stored_at}
            for t in snapshots
            if t.id not in written
        ]
        if again:
            db.execute(
                sa.update(tickets)
                .where(
                    tickets.c.connection == sa.bindparam("b_connection"),
                    tickets.c.ticket_id == sa.bindparam("b_ticket_id"),
                    tickets.c.updated_at == sa.bindparam("b_updated"),
                )
                .values(seen_at=sa.bindparam("b_seen")),
                again,
            )
        return written

    def _merge_events(self, db: sa.Connection, rows: Sequence[dict[str, Any]]) -> set[str]:
        """Insert events whose id is new for their ticket; the ids of tickets that gained one."""
        if not rows:
            return set()
        merge = (
            self._insert(db, events)
            .on_conflict_do_nothing(
                index_elements=[events.c.connection, events.c.ticket_id, events.c.event_id]
            )
            .returning(events.c.ticket_id)
        )
        return set(db.execute(merge, rows).scalars().all())

    def _store_cursor(self, db: sa.Connection, connection: str, cursor: str, at: datetime) -> None:
        insert = self._insert(db, cursors)
        upsert = insert.on_conflict_do_update(
            index_elements=[cursors.c.connection],
            set_={"cursor": insert.excluded.cursor, "updated_at": insert.excluded.updated_at},
        )
        db.execute(upsert, {"connection": connection, "cursor": cursor, "updated_at": at})

    def _mark_dirty(self, db: sa.Connection, connection: str, ticket_ids: Sequence[str]) -> None:
        for chunk in _chunks(ticket_ids):
            db.execute(
                sa.update(tickets)
                .where(tickets.c.connection == connection, tickets.c.ticket_id.in_(chunk))
                .values(evaluated_version=None)
            )

    def forget_tickets(self, connection: str, ticket_ids: Sequence[str]) -> int:
        """Drop tickets the helpdesk deleted: snapshot, events and clocks go; their queued actions
        are marked skipped (the outbox keeps every key, so nothing is planned twice). Returns how
        many tickets were stored."""
        ids = sorted(set(ticket_ids))
        removed = 0
        with self._unit(write=True) as db:
            for chunk in _chunks(ids):
                db.execute(
                    sa.update(outbox)
                    .where(
                        outbox.c.connection == connection,
                        outbox.c.ticket_id.in_(chunk),
                        outbox.c.status.in_(_QUEUED),
                    )
                    .values(status=OutboxStatus.SKIPPED.value, last_error="ticket deleted in the helpdesk")
                )
                for table in (events, clocks):
                    db.execute(
                        sa.delete(table).where(table.c.connection == connection, table.c.ticket_id.in_(chunk))
                    )
                result = db.execute(
                    sa.delete(tickets).where(
                        tickets.c.connection == connection, tickets.c.ticket_id.in_(chunk)
                    )
                )
                removed += result.rowcount
        return removed

    def fail_queued(self, connection: str, ticket_ids: Sequence[str], message: str, *, now: datetime) -> int:
        """Answer every queued (pending, not in flight) action of these tickets FAILED with
        `message`, audited; returns how many."""
        failed = 0
        with self._unit(write=True) as db:
            for chunk in _chunks(sorted(set(ticket_ids))):
                keys = list(
                    db.execute(
                        sa.select(outbox.c.key).where(
                            outbox.c.connection == connection,
                            outbox.c.ticket_id.in_(chunk),
                            outbox.c.status == OutboxStatus.PENDING.value,
                        )
                    ).scalars()
                )
                if not keys:
                    continue
                db.execute(
                    sa.update(outbox)
                    .where(outbox.c.key.in_(keys), outbox.c.status == OutboxStatus.PENDING.value)
                    .values(
                        status=OutboxStatus.FAILED.value, last_error=message, finished_at=now, uncertain=False
                    )
                )
                db.execute(
                    audit.insert(),
                    [
                        {"key": key, "outcome": Outcome.FAILED.value, "at": now, "message": message}
                        for key in keys
                    ],
                )
                failed += len(keys)
        return failed

    # -- tickets ----------------------------------------------------------------------------

    def load_ticket(self, connection: str, ticket_id: str) -> tuple[Ticket, tuple[Event, ...]] | None:
        """The stored snapshot and every stored event (ordered by time, then id), or None."""
        with self._unit(write=False) as db:
            data = db.execute(
                sa.select(tickets.c.data).where(
                    tickets.c.connection == connection, tickets.c.ticket_id == ticket_id
                )
            ).scalar_one_or_none()
            if data is None:
                return None
            payloads = db.execute(
                sa.select(events.c.payload)
                .where(events.c.connection == connection, events.c.ticket_id == ticket_id)
                .order_by(events.c.at, events.c.event_id)
            ).scalars()
            return codec.decode_ticket(data), tuple(codec.decode_event(p) for p in payloads)

    def load_tickets(self, connection: str, ticket_ids: Sequence[str]) -> dict[str, LoadedTicket]:
        """What evaluating these tickets needs, read in a few statements per 500 tickets: snapshot,
        events (by time, then id), when the helpdesk last showed the snapshot, settled outcomes.
        Unknown ids are left out."""
        ids = sorted(set(ticket_ids))
        found: dict[str, LoadedTicket] = {}
        with self._unit(write=False) as db:
            for chunk in _chunks(ids):
                snapshots = db.execute(
                    sa.select(
                        tickets.c.ticket_id, tickets.c.data, tickets.c.seen_at, tickets.c.stored_at
                    ).where(tickets.c.connection == connection, tickets.c.ticket_id.in_(chunk))
                ).all()
                if not snapshots:
                    continue
                known = [row.ticket_id for row in snapshots]
                by_ticket: dict[str, list[Event]] = {}
                for row in db.execute(
                    sa.select(events.c.ticket_id, events.c.payload)
                    .where(events.c.connection == connection, events.c.ticket_id.in_(known))
                    .order_by(events.c.ticket_id, events.c.at, events.c.event_id)
                ):
                    by_ticket.setdefault(row.ticket_id, []).append(codec.decode_event(row.payload))
                settled = sla_record.outcomes_of(db, connection, known)
                for snap in snapshots:
                    found[snap.ticket_id] = LoadedTicket(
                        ticket=codec.decode_ticket(snap.data),
                        events=tuple(by_ticket.get(snap.ticket_id, ())),
                        seen_at=snap.seen_at or snap.stored_at,
                        settled=tuple(settled.get(snap.ticket_id, ())),
                    )
        return found

    def views(self, connection: str, ticket_ids: Sequence[str]) -> dict[str, tuple[datetime, datetime]]:
        """(stored `updated_at`, when the helpdesk last showed it) of each stored ticket of these."""
        found: dict[str, tuple[datetime, datetime]] = {}
        with self._unit(write=False) as db:
            for chunk in _chunks(sorted(set(ticket_ids))):
                query = sa.select(
                    tickets.c.ticket_id, tickets.c.updated_at, tickets.c.seen_at, tickets.c.stored_at
                ).where(tickets.c.connection == connection, tickets.c.ticket_id.in_(chunk))
                for row in db.execute(query):
                    found[row.ticket_id] = (row.updated_at, row.seen_at or row.stored_at)
        return found

    def mark_seen(self, connection: str, ticket_ids: Sequence[str], at: datetime) -> None:
        """The helpdesk showed these tickets at `at` exactly as stored (a re-read found no change)."""
        with self._unit(write=True) as db:
            for chunk in _chunks(sorted(set(ticket_ids))):
                db.execute(
                    sa.update(tickets)
                    .where(tickets.c.connection == connection, tickets.c.ticket_id.in_(chunk))
                    .values(seen_at=at)
                )

    def iter_open_tickets(self, connection: str | None = None, *, batch: int = _CHUNK) -> Iterator[Ticket]:
        """Every open (not solved/closed) ticket, by connection then id, read in short batches so no
        transaction stays open while the caller works."""
        after: tuple[str, str] | None = None
        while True:
            query = sa.select(tickets.c.connection, tickets.c.ticket_id, tickets.c.data).where(
                tickets.c.is_open == sa.true()
            )
            if connection is not None:
                query = query.where(tickets.c.connection == connection)
            if after is not None:
                query = query.where(sa.tuple_(tickets.c.connection, tickets.c.ticket_id) > sa.tuple_(*after))
            query = query.order_by(tickets.c.connection, tickets.c.ticket_id).limit(batch)
            with self._unit(write=False) as db:
                rows = db.execute(query).all()
            for row in rows:
                yield codec.decode_ticket(row.data)
            if len(rows) < batch:
                return
            after = (rows[-1].connection, rows[-1].ticket_id)

    def tickets_due_before(self, instant: datetime, connection: str | None = None) -> list[str]:
        """Keys of open tickets whose `next_deadline` is at or before `instant`, earliest first."""
        query = sa.select(tickets.c.connection, tickets.c.ticket_id).where(
            tickets.c.is_open == sa.true(), tickets.c.next_deadline <= instant
        )
        if connection is not None:
            query = query.where(tickets.c.connection == connection)
        query = query.order_by(tickets.c.next_deadline, tickets.c.connection, tickets.c.ticket_id)
        with self._unit(write=False) as db:
            return [ticket_key(row.connection, row.ticket_id) for row in db.execute(query)]

    def earliest_deadline(self, connection: str | None = None) -> datetime | None:
        """The soonest `next_deadline` of any open ticket (when the deadline job should run)."""
        query = sa.select(sa.func.min(tickets.c.next_deadline)).where(tickets.c.is_open == sa.true())
        if connection is not None:
            query = query.where(tickets.c.connection == connection)
        with self._unit(write=False) as db:
            value: datetime | None = db.execute(query).scalar_one()
            return value

    def tickets_needing_evaluation(self, policy_version: str, connection: str | None = None) -> list[str]:
        """Keys of tickets changed since their last evaluation (open or not), and of open tickets
        last evaluated under another policy version. Closed tickets keep their version."""
        version, is_open = tickets.c.evaluated_version, tickets.c.is_open
        # Four index ranges on (is_open, evaluated_version) instead of `!=` and a bare IS NULL,
        # so both databases answer from the index: 100,000 up-to-date tickets cost nothing.
        query = sa.select(tickets.c.connection, tickets.c.ticket_id).where(
            sa.or_(
                sa.and_(is_open == sa.false(), version.is_(None)),
                sa.and_(is_open == sa.true(), version.is_(None)),
                sa.and_(is_open == sa.true(), version < policy_version),
                sa.and_(is_open == sa.true(), version > policy_version),
            )
        )
        if connection is not None:
            query = query.where(tickets.c.connection == connection)
        query = query.order_by(tickets.c.connection, tickets.c.ticket_id)
        with self._unit(write=False) as db:
            return [ticket_key(row.connection, row.ticket_id) for row in db.execute(query)]

    # -- evaluation -------------------------------------------------------------------------

    def record_evaluation(self, evaluation: Evaluation, actions_to_enqueue: Sequence[Action]) -> int:
        """Store an evaluation's clocks and queue its actions, in one transaction.

        The ticket's clocks are replaced; its next deadline, tier, severity and policy version are
        set. Actions are inserted with INSERT ... ON CONFLICT DO NOTHING on their key: a key that
        is already in the outbox is never queued again, whatever its status, so a threshold
        crossing fires once. Superseded actions are stored as `skipped`. Returns how many outbox
        rows were new. Raises KeyError if the ticket is not stored.
        """
        return self.record_evaluations([(evaluation, actions_to_enqueue)])

    def record_evaluations(self, batch: Sequence[tuple[Evaluation, Sequence[Action]]]) -> int:
        """`record_evaluation` for many tickets with a handful of statements (a policy change
        re-evaluating every open ticket). All or nothing; returns the number of new outbox rows.

        Besides the clocks: the cycles each evaluation decided are settled (inserted once, never
        changed), and queued escalation steps whose crossing an evaluation no longer has are
        withdrawn with the reason (`connector.store.sla_record.withdraw_escalations`)."""
        latest: dict[tuple[str, str], Evaluation] = {}
        for evaluation, _ in batch:
            latest[split_ticket_key(evaluation.ticket_key)] = evaluation
        if not latest:
            return 0
        with self._unit(write=True) as db:
            self._require_tickets(db, list(latest))
            db.execute(
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
                ),
                [
                    {
                        "b_connection": connection,
                        "b_ticket_id": ticket_id,
                        "b_version": evaluation.policy_version,
                        "b_at": evaluation.now,
                        "b_deadline": evaluation.next_deadline,
                        "b_tier": evaluation.tier.value,
                        "b_severity": evaluation.severity.value,
                    }
                    for (connection, ticket_id), evaluation in latest.items()
                ],
            )
            db.execute(
                sa.delete(clocks).where(
                    clocks.c.connection == sa.bindparam("b_connection"),
                    clocks.c.ticket_id == sa.bindparam("b_ticket_id"),
                ),
                [{"b_connection": connection, "b_ticket_id": ticket_id} for connection, ticket_id in latest],
            )
            clock_rows = [
                _clock_row(connection, ticket_id, clock, evaluation.policy_version, evaluation.now)
                for (connection, ticket_id), evaluation in latest.items()
                for clock in evaluation.clocks
            ]
            if clock_rows:
                db.execute(clocks.insert(), clock_rows)
            sla_record.insert_outcomes(
                db,
                [
                    sla_record.outcome_row(connection, ticket_id, outcome, evaluation.now)
                    for (connection, ticket_id), evaluation in latest.items()
                    for outcome in evaluation.decided
                ],
            )
            sla_record.withdraw_escalations(db, [(c, t, e) for (c, t), e in latest.items()])
            self._retire_replaced(db, batch)
            return self._enqueue(db, batch)

    def _retire_replaced(
        self, db: sa.Connection, batch: Sequence[tuple[Evaluation, Sequence[Action]]]
    ) -> None:
        """A new plan replaces the unsent state diffs (tags, fields, priority from severity, panel)
        of earlier plans of the same ticket: they were computed against a ticket that has changed
        since, and sending them could undo newer state. Escalation steps (`at` set) are kept; rows
        already being sent are left to their outcome."""
        planned: dict[tuple[str, str], set[str]] = {}
        for evaluation, actions in batch:
            keys = planned.setdefault(split_ticket_key(evaluation.ticket_key), set())
            keys.update(a.key for a in actions)
        retired: list[str] = []
        for connection, chunk in _per_connection(planned):
            rows = db.execute(
                sa.select(outbox.c.key, outbox.c.connection, outbox.c.ticket_id, outbox.c.payload).where(
                    outbox.c.connection == connection,
                    outbox.c.ticket_id.in_(chunk),
                    outbox.c.status == OutboxStatus.PENDING.value,
                )
            )
            for row in rows:
                doc = row.payload
                replaceable = doc.get("kind") in _STATE_KINDS and doc.get("basis") and not doc.get("at")
                if replaceable and row.key not in planned[(row.connection, row.ticket_id)]:
                    retired.append(row.key)
        for chunk_keys in _chunks(retired):
            db.execute(
                sa.update(outbox)
                .where(outbox.c.key.in_(chunk_keys), outbox.c.status == OutboxStatus.PENDING.value)
                .values(status=OutboxStatus.SKIPPED.value, last_error="replaced by a newer plan")
            )

    def _require_tickets(self, db: sa.Connection, refs: Sequence[tuple[str, str]]) -> None:
        known: set[tuple[str, str]] = set()
        for connection, chunk in _per_connection(refs):
            query = sa.select(tickets.c.connection, tickets.c.ticket_id).where(
                tickets.c.connection == connection, tickets.c.ticket_id.in_(chunk)
            )
            known.update((row.connection, row.ticket_id) for row in db.execute(query))
        missing = [ticket_key(*ref) for ref in refs if ref not in known]
        if missing:
            raise KeyError(f"ticket {', '.join(missing[:5])} is not in the store")

    def _enqueue(self, db: sa.Connection, batch: Sequence[tuple[Evaluation, Sequence[Action]]]) -> int:
        rows = [
            {
                "key": action.key,
                "connection": action.connection,
                "ticket_id": action.ticket_id,
                "kind": action.kind.value,
                "payload": codec.encode_action(action),
                "status": (OutboxStatus.SKIPPED if action.superseded else OutboxStatus.PENDING).value,
                "attempts": 0,
                "uncertain": False,
                "created_at": evaluation.now,
                "ordinal": ordinal,
                "policy_version": evaluation.policy_version,
            }
            for evaluation, actions in batch
            for ordinal, action in enumerate(actions)
        ]
        if not rows:
            return 0
        insert = self._insert(db, outbox).on_conflict_do_nothing(index_elements=[outbox.c.key])
        return len(db.execute(insert.returning(outbox.c.key), rows).scalars().all())

    def load_clocks(self, connection: str, ticket_id: str) -> tuple[SlaClock, ...]:
        """The clocks of the ticket's last evaluation, by metric then cycle."""
        with self._unit(write=False) as db:
            rows = db.execute(
                sa.select(clocks)
                .where(clocks.c.connection == connection, clocks.c.ticket_id == ticket_id)
                .order_by(clocks.c.metric, clocks.c.cycle)
            ).all()
        return tuple(
            SlaClock(
                metric=Metric(row.metric),
                cycle=row.cycle,
                started_at=row.started_at,
                stopped_at=row.stopped_at,
                target=row.target,
                elapsed=row.elapsed,
                paused_spans=tuple(codec.decode_span(span) for span in row.paused_spans),
                due_at=row.due_at,
                breached_at=row.breached_at,
                state=ClockState(row.state),
                calendar=row.calendar,
            )
            for row in rows
        )

    # -- outbox -----------------------------------------------------------------------------

    def existing_keys(self, keys: Iterable[str]) -> set[str]:
        """The subset of `keys` already in the outbox (any status)."""
        wanted = sorted(set(keys))
        found: set[str] = set()
        with self._unit(write=False) as db:
            for chunk in _chunks(wanted):
                found.update(db.execute(sa.select(outbox.c.key).where(outbox.c.key.in_(chunk))).scalars())
        return found

    def outbox_statuses(self, keys: Iterable[str]) -> dict[str, str]:
        """Status of each of `keys` that is in the outbox (absent keys were never queued)."""
        wanted = sorted(set(keys))
        found: dict[str, str] = {}
        with self._unit(write=False) as db:
            for chunk in _chunks(wanted):
                query = sa.select(outbox.c.key, outbox.c.status).where(outbox.c.key.in_(chunk))
                found.update((row.key, row.status) for row in db.execute(query))
        return found

    def pending_actions(self, connection: str, limit: int = 100) -> list[OutboxItem]:
        """Queued actions of `connection`, oldest first (a ticket's actions in planned order).

        The actions of one ticket from one evaluation are contiguous: a page's tickets are all
        evaluated at the same instant, and interleaving them by ordinal would split a ticket's
        update across push batches, the later ones then conflicting with the earlier.
        Includes actions left `sending` by a push whose outcome was never recorded (a crash);
        those, and any action whose earlier send may have happened, come with `uncertain=True`.
        """
        query = (
            sa.select(outbox.c.payload, outbox.c.attempts, outbox.c.uncertain)
            .where(outbox.c.connection == connection, outbox.c.status.in_(_QUEUED))
            .order_by(outbox.c.created_at, outbox.c.ticket_id, outbox.c.ordinal, outbox.c.key)
            .limit(limit)
        )
        with self._unit(write=False) as db:
            rows = db.execute(query).all()
        return [
            OutboxItem(
                action=codec.decode_action(row.payload), attempts=row.attempts, uncertain=row.uncertain
            )
            for row in rows
        ]

    def mark_sending(self, keys: Collection[str], *, now: datetime | None = None) -> None:
        """Record that a push of `keys` is starting: status `sending`, `uncertain`, one more attempt.

        Commits before returning, so it must not run inside `transaction()`: if the process dies
        during the HTTP call, the actions stay queued and flagged uncertain.
        """
        if self.in_transaction:
            raise RuntimeError("mark_sending must commit before the push; call it outside transaction()")
        sent_at = now or _utcnow()
        with self._unit(write=True) as db:
            for chunk in _chunks(sorted(set(keys))):
                db.execute(
                    sa.update(outbox)
                    .where(outbox.c.key.in_(chunk), outbox.c.status.in_(_QUEUED))
                    .values(
                        status=OutboxStatus.SENDING.value,
                        uncertain=True,
                        attempts=outbox.c.attempts + 1,
                        sent_at=sent_at,
                    )
                )

    def record_results(self, results: Sequence[ActionResult], *, now: datetime | None = None) -> None:
        """Record push outcomes and append them to the audit log, in one transaction.

        APPLIED / ALREADY_APPLIED / FAILED are final and clear the uncertain flag (FAILED keeps its
        message). RETRY and CONFLICT queue the action again; RETRY keeps it uncertain, CONFLICT
        clears the flag unless `ActionResult.uncertain` says the send may have landed. Outcomes
        for actions no longer queued (already final) are audited but change nothing.
        """
        if not results:
            return
        at = now or _utcnow()
        groups: dict[tuple[OutboxStatus, bool | None], list[ActionResult]] = {}
        for result in results:
            status = _FINAL_STATUS.get(result.outcome, OutboxStatus.PENDING)
            groups.setdefault((status, _uncertain_after(result)), []).append(result)
        with self._unit(write=True) as db:
            for (status, uncertain), group in groups.items():
                values: dict[str, Any] = {"status": status.value, "last_error": sa.bindparam("b_error")}
                if uncertain is not None:
                    values["uncertain"] = uncertain
                if status is not OutboxStatus.PENDING:
                    values["finished_at"] = at
                db.execute(
                    sa.update(outbox)
                    # IN (...) expands per call and cannot run as executemany: spell the statuses out
                    .where(
                        outbox.c.key == sa.bindparam("b_key"),
                        sa.or_(*(outbox.c.status == s for s in _QUEUED)),
                    )
                    .values(values),
                    [{"b_key": r.key, "b_error": _error_of(r)} for r in group],
                )
            db.execute(
                audit.insert(),
                [{"key": r.key, "outcome": r.outcome.value, "at": at, "message": r.message} for r in results],
            )

    def outbox_counts(self, connection: str | None = None) -> dict[str, int]:
        """Number of outbox rows per status (every status present, zeros included)."""
        query = sa.select(outbox.c.status, sa.func.count()).group_by(outbox.c.status)
        if connection is not None:
            query = query.where(outbox.c.connection == connection)
        counts = {status.value: 0 for status in OutboxStatus}
        with self._unit(write=False) as db:
            for status, count in db.execute(query).all():
                counts[status] = count
        return counts

    def audit_log(self, key: str) -> list[tuple[str, datetime, str]]:
        """(outcome, at, message) of every recorded push attempt of `key`, oldest first."""
        query = sa.select(audit.c.outcome, audit.c.at, audit.c.message).where(audit.c.key == key)
        with self._unit(write=False) as db:
            return [(row.outcome, row.at, row.message) for row in db.execute(query.order_by(audit.c.id))]

    # -- policy versions and metadata -------------------------------------------------------

    def record_policy_version(
        self, version: str, config: dict[str, Any] | None = None, *, now: datetime | None = None
    ) -> bool:
        """Remember a policy version (first sighting wins); True if it was new."""
        with self._unit(write=True) as db:
            insert = self._insert(db, policy_versions).on_conflict_do_nothing(
                index_elements=[policy_versions.c.version]
            )
            result = db.execute(
                insert.returning(policy_versions.c.version),
                {"version": version, "first_seen": now or _utcnow(), "config": config},
            )
            return result.scalar_one_or_none() is not None

    def record_activation(
        self,
        version: str,
        files: Mapping[str, str],
        *,
        seen_at: datetime,
        effective_from: datetime | None = None,
        apply_to: ApplyTo = ApplyTo.NEW,
    ) -> bool:
        """A worker runs `version` (its mappings `files` kept): appended as an activation effective
        from `effective_from` (default `seen_at`) unless it is the latest one already. True when
        appended."""
        with self._unit(write=True) as db:
            return sla_record.record_activation(
                db, version, files, seen_at=seen_at, effective_from=effective_from, apply_to=apply_to
            )

    def activations(self) -> list[sla_record.StoredActivation]:
        """Every activation, oldest first."""
        with self._unit(write=False) as db:
            return sla_record.list_activations(db)

    def settled_outcomes(self, connection: str, ticket_id: str) -> tuple[SettledOutcome, ...]:
        """The ticket's settled outcomes, by metric then start."""
        with self._unit(write=False) as db:
            return tuple(sla_record.outcomes_of(db, connection, [ticket_id]).get(ticket_id, ()))

    def policy_versions_seen(self) -> list[tuple[str, datetime]]:
        query = sa.select(policy_versions.c.version, policy_versions.c.first_seen).order_by(
            policy_versions.c.first_seen, policy_versions.c.version
        )
        with self._unit(write=False) as db:
            return [(row.version, row.first_seen) for row in db.execute(query)]

    def get_meta(self, key: str) -> str | None:
        with self._unit(write=False) as db:
            return db.execute(sa.select(meta.c.value).where(meta.c.key == key)).scalar_one_or_none()

    def set_meta(self, key: str, value: str) -> None:
        with self._unit(write=True) as db:
            insert = self._insert(db, meta)
            db.execute(
                insert.on_conflict_do_update(
                    index_elements=[meta.c.key], set_={"value": insert.excluded.value}
                ),
                {"key": key, "value": value},
            )

    # -- read-only access for reports -------------------------------------------------------

    @contextmanager
    def reading(self) -> Iterator[sa.Connection]:
        """A read-only unit of work for set-based selects on the store's tables (reports run
        theirs in `connector.report.queries`). Its queries all see one state of the store: a
        REPEATABLE READ snapshot on PostgreSQL, one read transaction on SQLite. Joins the caller's
        transaction on this thread."""
        if self.in_transaction:
            with self._unit(write=False) as current:
                yield current
            return
        with self._engine.connect() as connection:
            if connection.dialect.name == "postgresql":
                connection.execution_options(isolation_level="REPEATABLE READ")
            begin(connection, write=False)
            try:
                yield connection
            finally:
                connection.rollback()
