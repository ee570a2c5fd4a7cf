"""The SQL store: tickets, events, clocks, outbox, cursors and audit on SQLite or PostgreSQL.

Every public method runs in its own transaction, or joins the caller's unit of work when called
inside `with store.transaction():` on the same thread. Writes are set-based (one statement per
page or per evaluation, executemany with INSERT ... ON CONFLICT), never one ORM round trip per row.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import URL, Engine

from connector.domain.group_clocks import OlaHold
from connector.domain.model import Event, Ticket
from connector.domain.policy import ApplyTo, Metric
from connector.domain.record import SettledOutcome
from connector.domain.results import Action, ClockState, Evaluation, SlaClock
from connector.ports import LoadedTicket, StoredActivation
from connector.store import codec, migrate, ola_record
from connector.store import record as sla_record
from connector.store.bulk import insert_many
from connector.store.engine import begin, create_store_engine, resolve_url
from connector.store.evaluated import EvaluatedMarks
from connector.store.in_lists import any_of
from connector.store.leases import ClaimStore
from connector.store.outbox import OutboxStore, _per_connection, read_pending
from connector.store.pull import PullStore
from connector.store.tables import (
    OutboxStatus,
    clocks,
    events,
    meta,
    policy_versions,
    tickets,
)
from connector.store.ticket_queries import (
    DROP_CLOCKS,
    DUE_BEFORE,
    LOAD_EVENTS,
    LOAD_SNAPSHOTS,
    NEEDING_EVALUATION,
    RECORD_EVALUATED,
    STORED_REFS,
    VIEWS,
)
from connector.store.unit import CHUNK, chunks, split_ticket_key, ticket_key
from connector.store.webhook_deliveries import WebhookDeliveryStore

__all__ = ["Store", "split_ticket_key", "ticket_key"]


def _utcnow() -> datetime:
    return datetime.now(UTC)


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


class Store(PullStore, OutboxStore, ClaimStore, EvaluatedMarks, WebhookDeliveryStore):
    """The tierdesk store (implements `connector.ports.Store`). Its parts: pulled pages and
    cursors (`connector.store.pull`), the outbox (`connector.store.outbox`), outbox claims of
    several workers (`connector.store.leases`), evaluated versions (`connector.store.evaluated`),
    accepted webhook deliveries (`connector.store.webhook_deliveries`), units of work
    (`connector.store.unit`); tickets, evaluations and the SLA record here."""

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
        events (by time, then id), when the helpdesk last showed the snapshot, settled outcomes
        and settled group holds. Unknown ids are left out."""
        ids = sorted(set(ticket_ids))
        found: dict[str, LoadedTicket] = {}
        with self._unit(write=False) as db:
            for chunk in chunks(ids):
                snapshots = db.execute(
                    LOAD_SNAPSHOTS, {"b_connection": connection, "b_ids": list(chunk)}
                ).all()
                if not snapshots:
                    continue
                known = [row.ticket_id for row in snapshots]
                by_ticket: dict[str, list[Event]] = {}
                for row in db.execute(LOAD_EVENTS, {"b_connection": connection, "b_ids": known}):
                    by_ticket.setdefault(row.ticket_id, []).append(codec.decode_event(row.payload))
                settled = sla_record.outcomes_of(db, connection, known)
                holds = ola_record.hold_keys_of(db, connection, known)
                for snap in snapshots:
                    found[snap.ticket_id] = LoadedTicket(
                        ticket=codec.decode_ticket(snap.data),
                        events=tuple(by_ticket.get(snap.ticket_id, ())),
                        seen_at=snap.seen_at or snap.stored_at,
                        settled=tuple(settled.get(snap.ticket_id, ())),
                        settled_holds=frozenset(holds.get(snap.ticket_id, ())),
                    )
        return found

    def views(self, connection: str, ticket_ids: Sequence[str]) -> dict[str, tuple[datetime, datetime]]:
        """(stored `updated_at`, when the helpdesk last showed it) of each stored ticket of these."""
        found: dict[str, tuple[datetime, datetime]] = {}
        with self._unit(write=False) as db:
            for chunk in chunks(sorted(set(ticket_ids))):
                for row in db.execute(VIEWS, {"b_connection": connection, "b_ids": list(chunk)}):
                    found[row.ticket_id] = (row.updated_at, row.seen_at or row.stored_at)
        return found

    def mark_seen(self, connection: str, ticket_ids: Sequence[str], at: datetime) -> None:
        """The helpdesk showed these tickets at `at` exactly as stored (a re-read found no change)."""
        with self._unit(write=True) as db:
            for chunk in chunks(sorted(set(ticket_ids))):
                db.execute(
                    sa.update(tickets)
                    .where(tickets.c.connection == connection, any_of(tickets.c.ticket_id, chunk))
                    .values(seen_at=at)
                )

    def find_tickets(self, reference: str) -> list[tuple[str, str]]:
        """(connection, ticket id) of every stored ticket whose id is `reference` or whose
        helpdesk key is (a Jira issue key such as `SUP-5`, compared without regard to case)."""
        key = tickets.c.data["fields"]["key"].as_string()
        query = (
            sa.select(tickets.c.connection, tickets.c.ticket_id)
            .where(sa.or_(tickets.c.ticket_id == reference, sa.func.upper(key) == reference.upper()))
            .order_by(tickets.c.connection, tickets.c.ticket_id)
        )
        with self._unit(write=False) as db:
            return [(row.connection, row.ticket_id) for row in db.execute(query)]

    def iter_open_tickets(self, connection: str | None = None, *, batch: int = CHUNK) -> Iterator[Ticket]:
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
        query = DUE_BEFORE
        if connection is not None:
            query = query.where(tickets.c.connection == connection)
        with self._unit(write=False) as db:
            rows = db.execute(query, {"b_instant": instant})
            return [ticket_key(row.connection, row.ticket_id) for row in rows]

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
        query = NEEDING_EVALUATION  # its four index ranges: see the statement
        if connection is not None:
            query = query.where(tickets.c.connection == connection)
        with self._unit(write=False) as db:
            rows = db.execute(query, {"b_version": policy_version})
            return [ticket_key(row.connection, row.ticket_id) for row in rows]

    # -- evaluation -------------------------------------------------------------------------

    def record_evaluation(self, evaluation: Evaluation, actions_to_enqueue: Sequence[Action]) -> int:
        """Store an evaluation's clocks and queue its actions, in one transaction.

        The ticket's clocks are replaced; its next deadline, tier, severity and policy version are
        set. Actions are inserted with INSERT ... ON CONFLICT DO NOTHING on their key: a key that
        is already in the outbox is never queued again, whatever its status, so a threshold
        crossing fires once. Superseded actions are stored as `skipped`. Returns how many actions
        were newly queued to send (new skipped rows are not counted). Raises KeyError if the ticket is not stored.
        """
        return self.record_evaluations([(evaluation, actions_to_enqueue)])

    def record_evaluations(self, batch: Sequence[tuple[Evaluation, Sequence[Action]]]) -> int:
        """`record_evaluation` for many tickets with a handful of statements (a policy change
        re-evaluating every open ticket). All or nothing; returns the number of newly queued actions.

        Besides the clocks: the cycles each evaluation decided are settled (inserted once, never
        changed), and queued escalation steps whose crossing an evaluation no longer has are
        withdrawn with the reason (`connector.store.sla_record.withdraw_escalations`)."""
        latest: dict[tuple[str, str], Evaluation] = {}
        for evaluation, _ in batch:
            latest[split_ticket_key(evaluation.ticket_key)] = evaluation
        if not latest:
            return 0
        with self._unit(write=True) as db:
            updated = db.execute(
                RECORD_EVALUATED,
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
            if not db.dialect.supports_sane_multi_rowcount or updated.rowcount != len(latest):
                self._require_tickets(db, list(latest))  # raises, naming the tickets not stored
            for connection, chunk in _per_connection(latest):  # one IN-list, not one binding per ticket
                db.execute(DROP_CLOCKS, {"b_connection": connection, "b_ids": list(chunk)})
            clock_rows = [
                _clock_row(connection, ticket_id, clock, evaluation.policy_version, evaluation.now)
                for (connection, ticket_id), evaluation in latest.items()
                for clock in evaluation.clocks
            ]
            insert_many(db, clocks, clock_rows)
            sla_record.insert_outcomes(
                db,
                [
                    sla_record.outcome_row(connection, ticket_id, outcome, evaluation.now)
                    for (connection, ticket_id), evaluation in latest.items()
                    for outcome in evaluation.decided
                ],
            )
            pending = read_pending(db, latest)
            withdrawn = sla_record.withdraw_escalations(
                db, [(c, t, e) for (c, t), e in latest.items()], pending
            )
            for reason, count in withdrawn.items():
                self._count_unsent(OutboxStatus.WITHDRAWN.value, reason, count)
            self._retire_replaced(db, batch, pending)
            return self._enqueue(db, batch)

    def _require_tickets(self, db: sa.Connection, refs: Sequence[tuple[str, str]]) -> None:
        known: set[tuple[str, str]] = set()
        for connection, chunk in _per_connection(refs):
            rows = db.execute(STORED_REFS, {"b_connection": connection, "b_ids": list(chunk)})
            known.update((row.connection, row.ticket_id) for row in rows)
        missing = [ticket_key(*ref) for ref in refs if ref not in known]
        if missing:
            raise KeyError(f"ticket {', '.join(missing[:5])} is not in the store")

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

    def record_ola_holds(
        self, holds: Sequence[tuple[str, str, OlaHold]], policy_version: str, now: datetime
    ) -> int:
        """Settle the ended group holds of (connection, ticket id, hold) not recorded before."""
        with self._unit(write=True) as db:
            return ola_record.insert_holds(db, holds, policy_version, now)

    def ola_holds(self, start: datetime, end: datetime) -> list[ola_record.StoredOlaHold]:
        """Settled group holds that ended in [start, end)."""
        with self._unit(write=False) as db:
            return ola_record.holds_ended(db, start, end)

    def ola_holds_of(self, connection: str, ticket_id: str) -> list[ola_record.StoredOlaHold]:
        """The ticket's settled group holds."""
        with self._unit(write=False) as db:
            return ola_record.holds_of(db, connection, ticket_id)

    def activations(self) -> list[StoredActivation]:
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
