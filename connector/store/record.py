"""The store's side of the SLA record: settled outcomes, policy activations, withdrawn escalations.

Settled outcomes are inserted once (INSERT ... ON CONFLICT DO NOTHING on ticket, metric and start)
and never updated: a later evaluation cannot change a decided cycle. Policy activations are
appended when a worker starts running a version different from the last one it ran; the version's
mappings files are kept with it, so any version can be rebuilt for `tierdesk explain` and for the
clocks that still run on it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from connector.domain.policy import ApplyTo, Metric
from connector.domain.record import SettledOutcome, withdrawal_reason
from connector.domain.results import ClockState, Evaluation
from connector.ports import StoredActivation
from connector.store.bulk import insert_many
from connector.store.in_lists import any_of, text_list
from connector.store.outbox import PendingRow
from connector.store.tables import OutboxStatus, activations, outbox, outcomes, policy_versions
from connector.store.unit import dialect_insert

_CHUNK = 500


def _chunks(values: Sequence[str]) -> Iterator[Sequence[str]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


# ------------------------------------------------------------------------------ settled outcomes


def outcome_row(connection: str, ticket_id: str, outcome: SettledOutcome, at: datetime) -> dict[str, Any]:
    return {
        "connection": connection,
        "ticket_id": ticket_id,
        "metric": outcome.metric.value,
        "started_at": outcome.started_at,
        "cycle": outcome.cycle,
        "state": outcome.state.value,
        "decided_at": outcome.decided_at,
        "target": outcome.target,
        "elapsed": outcome.elapsed,
        "stopped_at": outcome.stopped_at,
        "breached_at": outcome.breached_at,
        "policy_version": outcome.policy_version,
        "tier": outcome.tier,
        "severity": outcome.severity,
        "calendar": outcome.calendar,
        "reason": outcome.reason,
        "observed_at": outcome.observed_at,
        "settled_at": at,
        "group_id": outcome.group_id,
        "assignee_id": outcome.assignee_id,
    }


def decode_outcome(row: Any) -> SettledOutcome:
    return SettledOutcome(
        metric=Metric(row.metric),
        started_at=row.started_at,
        cycle=row.cycle,
        state=ClockState(row.state),
        decided_at=row.decided_at,
        target=row.target,
        elapsed=row.elapsed,
        stopped_at=row.stopped_at,
        breached_at=row.breached_at,
        policy_version=row.policy_version,
        tier=row.tier,
        severity=row.severity,
        calendar=row.calendar,
        reason=row.reason,
        observed_at=row.observed_at,
        group_id=row.group_id,
        assignee_id=row.assignee_id,
    )


def insert_outcomes(db: sa.Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert outcomes not settled before; one settled is never replaced. A plain executemany of
    one statement (with RETURNING, SQLAlchemy sent multi-row VALUES statements of tens of KB, a
    different one for every number of rows)."""
    insert_many(db, outcomes, rows, skip_conflicts_on=("connection", "ticket_id", "metric", "started_at"))


_OUTCOMES_OF = (  # built once (`connector.store.in_lists`)
    sa.select(outcomes)
    .where(
        outcomes.c.connection == sa.bindparam("b_connection"),
        any_of(outcomes.c.ticket_id, text_list("b_ids")),
    )
    .order_by(outcomes.c.ticket_id, outcomes.c.metric, outcomes.c.started_at)
)


def outcomes_of(
    db: sa.Connection, connection: str, ticket_ids: Sequence[str]
) -> dict[str, list[SettledOutcome]]:
    """The settled outcomes of tickets, by ticket id, by metric then start."""
    found: dict[str, list[SettledOutcome]] = {}
    for chunk in _chunks(ticket_ids):
        for row in db.execute(_OUTCOMES_OF, {"b_connection": connection, "b_ids": list(chunk)}):
            found.setdefault(row.ticket_id, []).append(decode_outcome(row))
    return found


@dataclass(frozen=True, slots=True)
class StoredOutcome:
    """A settled outcome with the ticket it belongs to."""

    connection: str
    ticket_id: str
    outcome: SettledOutcome
    settled_at: datetime


def outcomes_started(db: sa.Connection, start: datetime, end: datetime) -> list[StoredOutcome]:
    """Settled outcomes of cycles that started in [start, end)."""
    query = (
        sa.select(outcomes)
        .where(outcomes.c.started_at >= start, outcomes.c.started_at < end)
        .order_by(outcomes.c.connection, outcomes.c.ticket_id, outcomes.c.metric, outcomes.c.started_at)
    )
    return [
        StoredOutcome(row.connection, row.ticket_id, decode_outcome(row), row.settled_at)
        for row in db.execute(query)
    ]


# --------------------------------------------------------------------------- withdrawn escalations


def withdraw_escalations(
    db: sa.Connection, evaluations: Iterable[tuple[str, str, Evaluation]], pending: Iterable[PendingRow]
) -> Counter[str]:
    """Withdraw queued escalation steps of these tickets whose crossing the (newer) evaluation no
    longer has: the threshold did not happen on the ticket as now read. Steps being sent, or whose
    earlier send is uncertain, are left to their outcome (they may already be on the ticket).
    Steps queued before steps named their crossing are left alone. `pending`: the tickets'
    pending rows (`connector.store.outbox.read_pending`). Returns how many were withdrawn, by
    recorded reason."""
    by_ticket = {(c, t): (e, e.crossing_refs) for c, t, e in evaluations}
    withdrawn: list[dict[str, Any]] = []
    for row in pending:
        if row.uncertain or not row.crossing or not row.at:
            continue
        evaluation, refs = by_ticket[(row.connection, row.ticket_id)]
        if row.crossing not in refs:
            reason = f"withdrawn: {withdrawal_reason(evaluation, row.crossing)}"
            withdrawn.append({"b_key": row.key, "b_reason": reason, "b_at": evaluation.now})
    if not withdrawn:
        return Counter()
    result = db.execute(
        sa.update(outbox)
        .where(outbox.c.key == sa.bindparam("b_key"), outbox.c.status == OutboxStatus.PENDING.value)
        .values(
            status=OutboxStatus.WITHDRAWN.value,
            last_error=sa.bindparam("b_reason"),
            finished_at=sa.bindparam("b_at"),
        ),
        withdrawn,
    )
    # both drivers sum an executemany's row counts (`supports_sane_multi_rowcount`)
    if result.rowcount == len(withdrawn):
        return Counter(row["b_reason"] for row in withdrawn)
    # another worker started sending some of them since they were read: count what this did
    reasons: Counter[str] = Counter()
    for chunk in _chunks([row["b_key"] for row in withdrawn]):
        reasons.update(
            db.execute(
                sa.select(outbox.c.last_error).where(
                    any_of(outbox.c.key, chunk), outbox.c.status == OutboxStatus.WITHDRAWN.value
                )
            ).scalars()
        )
    return reasons


# ------------------------------------------------------------------------------ policy activations


def record_activation(
    db: sa.Connection,
    version: str,
    files: Mapping[str, str],
    *,
    seen_at: datetime,
    effective_from: datetime | None,
    apply_to: ApplyTo,
) -> bool:
    """Append an activation of `version` unless it is already the latest one; keep its files.
    True when an activation was added."""
    insert = dialect_insert(db.dialect.name, policy_versions).on_conflict_do_nothing(
        index_elements=[policy_versions.c.version]
    )
    db.execute(insert, {"version": version, "first_seen": seen_at, "config": {"files": dict(files)}})
    db.execute(
        sa.update(policy_versions)
        .where(policy_versions.c.version == version, policy_versions.c.config.is_(None))
        .values(config={"files": dict(files)})
    )
    latest = db.execute(
        sa.select(activations.c.version).order_by(activations.c.id.desc()).limit(1)
    ).scalar_one_or_none()
    if latest == version:
        return False
    db.execute(
        activations.insert(),
        {
            "version": version,
            "seen_at": seen_at,
            "effective_from": effective_from or seen_at,
            "apply_to": apply_to.value,
        },
    )
    return True


def list_activations(db: sa.Connection) -> list[StoredActivation]:
    query = sa.select(
        activations.c.id,
        activations.c.version,
        activations.c.seen_at,
        activations.c.effective_from,
        activations.c.apply_to,
        policy_versions.c.config,
    ).join(policy_versions, policy_versions.c.version == activations.c.version)
    found = []
    for row in db.execute(query.order_by(activations.c.id)):
        config = row.config if isinstance(row.config, Mapping) else {}
        files = config.get("files")
        found.append(
            StoredActivation(
                id=row.id,
                version=row.version,
                seen_at=row.seen_at,
                effective_from=row.effective_from,
                apply_to=ApplyTo(row.apply_to),
                files=files if isinstance(files, Mapping) else None,
            )
        )
    return found
