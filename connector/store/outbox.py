"""The outbox: planned write-back actions, each queued once under its idempotency key, pushed,
and answered (applied, failed, retried, skipped, withdrawn), with an audit row per attempt."""

from __future__ import annotations

import functools
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from connector.domain.policy import STATE_DIFF_KINDS
from connector.domain.results import Action, Evaluation
from connector.ports import ActionResult, OutboxItem, Outcome
from connector.redaction import scrub
from connector.store import codec
from connector.store.bulk import insert_many
from connector.store.in_lists import any_of, text_list
from connector.store.tables import (
    QUEUE_INDEX,
    QUEUED_PREDICATE,
    OutboxStatus,
    audit,
    outbox,
    queued_of_tickets,
)
from connector.store.unit import UnitOfWork, chunks, split_ticket_key

_ERROR_OUTCOMES = frozenset({Outcome.RETRY, Outcome.CONFLICT, Outcome.FAILED})
QUEUED = (OutboxStatus.PENDING.value, OutboxStatus.SENDING.value)
# State diffs (`STATE_DIFF_KINDS`) are replaced by a newer plan of the same ticket; notes and other
# escalation steps are events and are never replaced.
REPLACED = "replaced by a newer plan"  # the reason a retired state diff is recorded with

_FINAL_STATUS = {
    Outcome.APPLIED: OutboxStatus.APPLIED,
    Outcome.ALREADY_APPLIED: OutboxStatus.ALREADY_APPLIED,
    Outcome.FAILED: OutboxStatus.FAILED,
}


def _error_of(result: ActionResult) -> str | None:
    """The stored reason, credentials scrubbed (vendors may echo request headers in error bodies)."""
    return (scrub(result.message) or None) if result.outcome in _ERROR_OUTCOMES else None


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
        if result.not_sent:
            return False
        return True if result.uncertain else None
    return result.uncertain


def _utcnow() -> datetime:
    return datetime.now(UTC)


# What every cycle runs, built once (`connector.store.in_lists`): parameters b_connection, b_ids
# (ticket ids) or b_keys (outbox keys).
_CONNECTION: sa.BindParameter[str] = sa.bindparam("b_connection")
_PENDING_FIELDS = sa.select(
    outbox.c.key,
    outbox.c.connection,
    outbox.c.ticket_id,
    outbox.c.status,
    outbox.c.uncertain,
    outbox.c.kind,
    outbox.c.payload["basis"].as_string().label("basis"),
    outbox.c.payload["at"].as_string().label("at"),
    outbox.c.payload["crossing"].as_string().label("crossing"),
).where(queued_of_tickets(_CONNECTION, text_list("b_ids")))
_KNOWN_KEYS = sa.select(outbox.c.key).where(any_of(outbox.c.key, text_list("b_keys")))
_MARK_SENDING = (
    sa.update(outbox)
    .where(any_of(outbox.c.key, text_list("b_keys")), outbox.c.status.in_(QUEUED))
    .values(
        status=OutboxStatus.SENDING.value,
        uncertain=True,
        attempts=outbox.c.attempts + 1,
        sent_at=sa.bindparam("b_sent_at"),
    )
)
_QUEUE_ORDER = (outbox.c.created_at, outbox.c.ticket_id, outbox.c.ordinal, outbox.c.key)
_QUEUE = (
    sa.select(outbox.c.payload, outbox.c.attempts, outbox.c.uncertain)
    .where(outbox.c.connection == _CONNECTION, sa.text(QUEUED_PREDICATE))  # ix_outbox_queue's
    .order_by(*_QUEUE_ORDER)
    .limit(sa.bindparam("b_limit", type_=sa.Integer()))
)


@functools.cache
def _answered(status: OutboxStatus, uncertain: bool | None) -> sa.Update:
    """The update recording an answer without message for the keys b_keys (at b_at when final)."""
    values: dict[str, Any] = {
        "status": status.value,
        "last_error": None,
        "claimed_by": None,  # answered: the claim of the worker that sent it ends
        "claim_expires": None,
    }
    if uncertain is not None:
        values["uncertain"] = uncertain
    if status is not OutboxStatus.PENDING:
        values["finished_at"] = sa.bindparam("b_at")
    return (
        sa.update(outbox)
        .where(any_of(outbox.c.key, text_list("b_keys")), outbox.c.status.in_(QUEUED))
        .values(values)
    )


def _per_connection(refs: Iterable[tuple[str, str]]) -> Iterable[tuple[str, Sequence[str]]]:
    """(connection, ticket ids) in chunks, for `connection = ? AND ticket_id IN (...)`: SQLite
    answers a row-value `(connection, ticket_id) IN (...)` by scanning the whole table, so a lookup
    of a few tickets would cost as much as the outbox (which keeps every key ever queued) is big."""
    ids: dict[str, list[str]] = {}
    for connection, ticket_id in refs:
        ids.setdefault(connection, []).append(ticket_id)
    for connection, ticket_ids in ids.items():
        for chunk in chunks(ticket_ids):
            yield connection, chunk


@dataclass(frozen=True, slots=True)
class PendingRow:
    """A pending outbox row as a new evaluation of its ticket judges it: the fields of its action
    that decide whether the new plan replaces it or withdraws it."""

    key: str
    connection: str
    ticket_id: str
    uncertain: bool
    kind: str
    basis: str | None
    at: str | None
    crossing: str | None


def read_pending(db: sa.Connection, refs: Iterable[tuple[str, str]]) -> list[PendingRow]:
    """The pending rows of these (connection, ticket id), read once for both judgements of a
    recorded evaluation; the few action fields come out of the payload in SQL, not by decoding it."""
    found: list[PendingRow] = []
    for connection, chunk in _per_connection(refs):
        rows = db.execute(_PENDING_FIELDS, {"b_connection": connection, "b_ids": list(chunk)})
        found.extend(
            PendingRow(
                row.key,
                row.connection,
                row.ticket_id,
                row.uncertain,
                row.kind,
                row.basis,
                row.at,
                row.crossing,
            )
            for row in rows
            if row.status == OutboxStatus.PENDING.value
        )
    return found


class OutboxStore(UnitOfWork):
    """The outbox part of `connector.store.repository.Store`."""

    def fail_queued(self, connection: str, ticket_ids: Sequence[str], message: str, *, now: datetime) -> int:
        """Answer every queued (pending, not in flight) action of these tickets FAILED with
        `message`, audited; returns how many."""
        failed = 0
        with self._unit(write=True) as db:
            for chunk in chunks(sorted(set(ticket_ids))):
                keys = [
                    row.key
                    for row in db.execute(
                        sa.select(outbox.c.key, outbox.c.status).where(queued_of_tickets(connection, chunk))
                    )
                    if row.status == OutboxStatus.PENDING.value
                ]
                if not keys:
                    continue
                db.execute(
                    sa.update(outbox)
                    .where(any_of(outbox.c.key, keys), outbox.c.status == OutboxStatus.PENDING.value)
                    .values(
                        status=OutboxStatus.FAILED.value,
                        last_error=scrub(message),
                        finished_at=now,
                        uncertain=False,
                    )
                )
                insert_many(
                    db,
                    audit,
                    [
                        {"key": key, "outcome": Outcome.FAILED.value, "at": now, "message": message}
                        for key in keys
                    ],
                )
                failed += len(keys)
        return failed

    def _retire_replaced(
        self,
        db: sa.Connection,
        batch: Sequence[tuple[Evaluation, Sequence[Action]]],
        pending: Iterable[PendingRow],
    ) -> None:
        """A new plan replaces the unsent state diffs (tags, fields, priority from severity, panel)
        of earlier plans of the same ticket: they were computed against a ticket that has changed
        since, and sending them could undo newer state. Escalation steps (`at` set) are kept; rows
        already being sent are left to their outcome. `pending`: the batch's tickets' pending rows
        (`read_pending`)."""
        planned: dict[tuple[str, str], set[str]] = {}
        for evaluation, actions in batch:
            keys = planned.setdefault(split_ticket_key(evaluation.ticket_key), set())
            keys.update(a.key for a in actions)
        retired = [
            row.key
            for row in pending
            if row.kind in STATE_DIFF_KINDS
            and row.basis
            and not row.at
            and row.key not in planned.get((row.connection, row.ticket_id), ())
        ]
        for chunk_keys in chunks(retired):
            result = db.execute(
                sa.update(outbox)
                .where(any_of(outbox.c.key, chunk_keys), outbox.c.status == OutboxStatus.PENDING.value)
                .values(status=OutboxStatus.SKIPPED.value, last_error=REPLACED)
            )
            self._count_unsent(OutboxStatus.SKIPPED.value, REPLACED, result.rowcount)

    def _enqueue(self, db: sa.Connection, batch: Sequence[tuple[Evaluation, Sequence[Action]]]) -> int:
        """Insert the actions whose key was never queued; returns how many of them are pending.

        Keys already in the outbox are found first with primary-key lookups and left out, so the
        insert is a plain executemany (no RETURNING, which makes SQLAlchemy render and read back
        every row); ON CONFLICT DO NOTHING still guards the key."""
        rows: dict[str, dict[str, Any]] = {}
        for evaluation, actions in batch:
            for ordinal, action in enumerate(actions):
                if action.key in rows:
                    continue  # the first plan of a key in the batch is the one kept
                rows[action.key] = {
                    "key": action.key,
                    "connection": action.connection,
                    "ticket_id": action.ticket_id,
                    "kind": action.kind.value,
                    "action": action,
                    "status": (OutboxStatus.SKIPPED if action.superseded else OutboxStatus.PENDING).value,
                    "attempts": 0,
                    "uncertain": False,
                    "created_at": evaluation.now,
                    "ordinal": ordinal,
                    "policy_version": evaluation.policy_version,
                }
        if not rows:
            return 0
        for chunk in chunks(sorted(rows)):
            for key in db.execute(_KNOWN_KEYS, {"b_keys": list(chunk)}).scalars():
                del rows[key]
        if not rows:
            return 0
        for row in rows.values():
            row["payload"] = codec.encode_action(row.pop("action"))
        insert_many(db, outbox, list(rows.values()), skip_conflicts_on=["key"])
        pending = sum(1 for row in rows.values() if row["status"] == OutboxStatus.PENDING.value)
        self._count_unsent(OutboxStatus.SKIPPED.value, None, len(rows) - pending)
        return pending

    def enqueue_once(self, actions: Sequence[Action], *, now: datetime, policy_version: str) -> int:
        """Queue actions planned outside a ticket's evaluation (allowance overuse): a key already
        in the outbox, in any status, is not queued again. Returns how many were new."""
        if not actions:
            return 0
        rows = [
            {
                "key": action.key,
                "connection": action.connection,
                "ticket_id": action.ticket_id,
                "kind": action.kind.value,
                "payload": codec.encode_action(action),
                "status": OutboxStatus.PENDING.value,
                "attempts": 0,
                "uncertain": False,
                "created_at": now,
                "ordinal": ordinal,
                "policy_version": policy_version,
            }
            for ordinal, action in enumerate(actions)
        ]
        with self._unit(write=True) as db:
            insert = self._insert(db, outbox).on_conflict_do_nothing(index_elements=[outbox.c.key])
            return len(db.execute(insert.returning(outbox.c.key), rows).scalars().all())

    def existing_keys(self, keys: Iterable[str]) -> set[str]:
        """The subset of `keys` already in the outbox (any status)."""
        wanted = sorted(set(keys))
        found: set[str] = set()
        with self._unit(write=False) as db:
            for chunk in chunks(wanted):
                found.update(db.execute(sa.select(outbox.c.key).where(any_of(outbox.c.key, chunk))).scalars())
        return found

    def outbox_statuses(self, keys: Iterable[str]) -> dict[str, str]:
        """Status of each of `keys` that is in the outbox (absent keys were never queued)."""
        wanted = sorted(set(keys))
        found: dict[str, str] = {}
        with self._unit(write=False) as db:
            for chunk in chunks(wanted):
                query = sa.select(outbox.c.key, outbox.c.status).where(any_of(outbox.c.key, chunk))
                found.update((row.key, row.status) for row in db.execute(query))
        return found

    def pending_actions(
        self, connection: str, limit: int = 100, tickets: Sequence[str] | None = None
    ) -> list[OutboxItem]:
        """Queued actions of `connection`, oldest first (a ticket's actions in planned order); with
        `tickets`, only theirs (a webhook's tickets go ahead of the queue).

        The actions of one ticket from one evaluation are contiguous: a page's tickets are all
        evaluated at the same instant, and interleaving them by ordinal would split a ticket's
        update across push batches, the later ones then conflicting with the earlier.
        Includes actions left `sending` by a push whose outcome was never recorded (a crash);
        those, and any action whose earlier send may have happened, come with `uncertain=True`.
        """
        with self._unit(write=False) as db:
            if tickets is None:  # the statement built once, its parameters bound here
                rows = db.execute(_QUEUE, {"b_connection": connection, "b_limit": limit}).all()
            else:
                rows = db.execute(self.pending_actions_query(connection, limit, tickets)).all()
        return [
            OutboxItem(
                action=codec.decode_action(row.payload), attempts=row.attempts, uncertain=row.uncertain
            )
            for row in rows
        ]

    def pending_actions_query(
        self, connection: str, limit: int, tickets: Sequence[str] | None = None
    ) -> sa.Select[Any]:
        """The query behind `pending_actions`, its parameters bound."""
        if tickets is None:
            return _QUEUE.params(b_connection=connection, b_limit=limit)
        return (
            sa.select(outbox.c.payload, outbox.c.attempts, outbox.c.uncertain)
            .where(queued_of_tickets(connection, tickets))  # ix_outbox_ticket's
            .order_by(*_QUEUE_ORDER)
            .limit(limit)
        )

    def mark_sending(self, keys: Collection[str], *, now: datetime | None = None) -> None:
        """Record that a push of `keys` is starting: status `sending`, `uncertain`, one more attempt.

        Commits before returning, so it must not run inside `transaction()`: if the process dies
        during the HTTP call, the actions stay queued and flagged uncertain.
        """
        if self.in_transaction:
            raise RuntimeError("mark_sending must commit before the push; call it outside transaction()")
        sent_at = now or _utcnow()
        with self._unit(write=True) as db:
            for chunk in chunks(sorted(set(keys))):
                db.execute(_MARK_SENDING, {"b_keys": list(chunk), "b_sent_at": sent_at})

    def record_results(self, results: Sequence[ActionResult], *, now: datetime | None = None) -> None:
        """Record push outcomes and append them to the audit log, in one transaction.

        APPLIED / ALREADY_APPLIED / FAILED are final and clear the uncertain flag (FAILED keeps its
        message). RETRY and CONFLICT queue the action again; RETRY keeps it uncertain (unless
        `ActionResult.not_sent` says the receiver refused it), CONFLICT
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
                errors = [_error_of(r) for r in group]
                if not any(errors):
                    # the usual answer (applied, no message): one IN-list update per chunk of keys
                    # instead of an executemany SQLAlchemy binds row by row
                    for chunk in chunks([r.key for r in group]):
                        db.execute(_answered(status, uncertain), {"b_keys": list(chunk), "b_at": at})
                    continue
                values: dict[str, Any] = {
                    "status": status.value,
                    "last_error": sa.bindparam("b_error"),
                    "claimed_by": None,  # answered: the claim of the worker that sent it ends
                    "claim_expires": None,
                }
                if uncertain is not None:
                    values["uncertain"] = uncertain
                if status is not OutboxStatus.PENDING:
                    values["finished_at"] = at
                db.execute(
                    sa.update(outbox)
                    # IN (...) expands per call and cannot run as executemany: spell the statuses out
                    .where(
                        outbox.c.key == sa.bindparam("b_key"),
                        sa.or_(*(outbox.c.status == s for s in QUEUED)),
                    )
                    .values(values),
                    [{"b_key": r.key, "b_error": error} for r, error in zip(group, errors, strict=True)],
                )
            insert_many(
                db,
                audit,
                [
                    {"key": r.key, "outcome": r.outcome.value, "at": at, "message": scrub(r.message)}
                    for r in results
                ],
            )

    def ticket_outbox(self, connection: str, ticket_id: str) -> list[tuple[Action, str, str | None]]:
        """Every action ever queued for the ticket, oldest first: (action, status, why it failed,
        was skipped or withdrawn)."""
        query = (
            sa.select(outbox.c.payload, outbox.c.status, outbox.c.last_error)
            .where(outbox.c.connection == connection, outbox.c.ticket_id == ticket_id)
            .order_by(outbox.c.created_at, outbox.c.ordinal, outbox.c.key)
        )
        with self._unit(write=False) as db:
            return [
                (codec.decode_action(row.payload), row.status, row.last_error) for row in db.execute(query)
            ]

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

    def queued_count(self) -> int:
        """Outbox rows still to send (pending or sending), counted on the queue's partial index:
        the cost follows the queue, not the outbox's history."""
        with self._unit(write=False) as db:
            return int(db.execute(self.queued_count_query(db.dialect.name)).scalar_one())

    @staticmethod
    @functools.cache
    def queued_count_query(dialect: str) -> sa.Select[Any]:
        """The query behind `queued_count` (built once per dialect). SQLite is told the index: left
        to itself it counts over the narrowest index, `ix_outbox_connection_status`, a walk over
        every row the outbox ever held (130 ms per cycle at 1.1 million rows), partial indexes not
        being smaller to its planner."""
        source = sa.text(f"{outbox.name} INDEXED BY {QUEUE_INDEX}") if dialect == "sqlite" else outbox
        return sa.select(sa.func.count()).select_from(source).where(sa.text(QUEUED_PREDICATE))

    def outbox_reasons(self, statuses: Collection[str]) -> dict[tuple[str, str | None], int]:
        """Number of outbox rows per (status, recorded reason) among `statuses` (rows that left the
        queue without being sent: skipped, withdrawn; the reason is None where none was recorded)."""
        query = (
            sa.select(outbox.c.status, outbox.c.last_error, sa.func.count())
            .where(outbox.c.status.in_(sorted(statuses)))
            .group_by(outbox.c.status, outbox.c.last_error)
        )
        with self._unit(write=False) as db:
            return {(status, reason): count for status, reason, count in db.execute(query).all()}

    def queued_by_kind(self) -> dict[str, int]:
        """Queued (pending or sending) outbox rows per action kind, kinds with none left out."""
        query = (
            sa.select(outbox.c.kind, sa.func.count())
            .where(outbox.c.status.in_(QUEUED))
            .group_by(outbox.c.kind)
        )
        with self._unit(write=False) as db:
            return {str(kind): int(count) for kind, count in db.execute(query).all()}

    def audit_log(self, key: str) -> list[tuple[str, datetime, str]]:
        """(outcome, at, message) of every recorded push attempt of `key`, oldest first."""
        query = sa.select(audit.c.outcome, audit.c.at, audit.c.message).where(audit.c.key == key)
        with self._unit(write=False) as db:
            return [(row.outcome, row.at, row.message) for row in db.execute(query.order_by(audit.c.id))]
