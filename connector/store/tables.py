"""The store's tables. They describe rows, not domain objects: `codec` maps between the two.

Every datetime column is `UTCDateTime`: timezone-aware in Python, UTC on disk. SQLite has no
time zone type, so instants are written as naive UTC there and get UTC re-attached on read.
Domain objects are kept whole as JSON (`data`, `payload`) next to the few columns the hot queries
filter on.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlmodel import Field, SQLModel

from connector.store.in_lists import any_of


class UTCDateTime(sa.TypeDecorator[datetime]):
    """A timezone-aware instant, stored in UTC. Naive datetimes are refused on write."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value.isoformat()} cannot be stored; pass an aware instant")
        utc = value.astimezone(UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


JSONDocument = sa.JSON().with_variant(JSONB(), "postgresql")
"""A JSON object column (JSONB on PostgreSQL)."""


class OutboxStatus(StrEnum):
    PENDING = "pending"  # planned, not sent yet (or sent and answered RETRY / CONFLICT)
    SENDING = "sending"  # a push started; until its outcome is recorded the send is uncertain
    APPLIED = "applied"
    ALREADY_APPLIED = "already_applied"
    FAILED = "failed"  # permanent error, never retried
    SKIPPED = "skipped"  # superseded before it was ever sent
    WITHDRAWN = "withdrawn"  # an escalation step whose threshold a fresh view of the ticket denies


class TicketSnapshot(SQLModel, table=True):
    """The latest state of a ticket as pulled, plus what its last evaluation concluded.

    `evaluated_version` is the policy version of the last evaluation; NULL means the ticket changed
    since (or was never evaluated), so a restart re-evaluates it even if the cursor moved on.
    `seen_at` is the last instant the helpdesk showed this snapshot as current (a pull, a re-read):
    how old the view is that escalations and settled outcomes rest on.
    """

    __tablename__ = "ticket_snapshot"
    __table_args__ = (
        sa.Index("ix_ticket_snapshot_open_deadline", "is_open", "next_deadline"),
        sa.Index("ix_ticket_snapshot_open_version", "is_open", "evaluated_version"),
    )

    connection: str = Field(primary_key=True, max_length=100)
    ticket_id: str = Field(primary_key=True, max_length=200)
    updated_at: datetime = Field(sa_type=UTCDateTime)
    created_at: datetime = Field(sa_type=UTCDateTime)
    status: str = Field(max_length=20)
    is_open: bool
    data: dict[str, Any] = Field(sa_type=JSONDocument)
    stored_at: datetime = Field(sa_type=UTCDateTime)
    evaluated_version: str | None = Field(default=None, max_length=100)
    evaluated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    next_deadline: datetime | None = Field(default=None, sa_type=UTCDateTime)
    tier: str | None = Field(default=None, max_length=100)
    severity: str | None = Field(default=None, max_length=100)
    seen_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class TicketEvent(SQLModel, table=True):
    """One normalised event; `event_id` is the plugin's stable id, unique within its ticket."""

    __tablename__ = "ticket_event"
    __table_args__ = (
        sa.ForeignKeyConstraint(
            ["connection", "ticket_id"],
            ["ticket_snapshot.connection", "ticket_snapshot.ticket_id"],
            ondelete="CASCADE",
        ),
    )

    connection: str = Field(primary_key=True, max_length=100)
    ticket_id: str = Field(primary_key=True, max_length=200)
    event_id: str = Field(primary_key=True, max_length=200)
    at: datetime = Field(sa_type=UTCDateTime)
    kind: str = Field(max_length=40)
    payload: dict[str, Any] = Field(sa_type=JSONDocument)


class ClockRow(SQLModel, table=True):
    """One cycle of one SLA metric of a ticket, as of the evaluation that wrote it."""

    __tablename__ = "sla_clock"
    __table_args__ = (
        sa.ForeignKeyConstraint(
            ["connection", "ticket_id"],
            ["ticket_snapshot.connection", "ticket_snapshot.ticket_id"],
            ondelete="CASCADE",
        ),
    )

    connection: str = Field(primary_key=True, max_length=100)
    ticket_id: str = Field(primary_key=True, max_length=200)
    metric: str = Field(primary_key=True, max_length=40)
    cycle: int = Field(primary_key=True)
    state: str = Field(max_length=20)
    calendar: str = Field(max_length=100)
    started_at: datetime = Field(sa_type=UTCDateTime)
    stopped_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    target: timedelta = Field(sa_type=sa.Interval)
    elapsed: timedelta = Field(sa_type=sa.Interval)
    due_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    breached_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    paused_spans: list[Any] = Field(sa_type=JSONDocument)
    policy_version: str = Field(max_length=100)
    evaluated_at: datetime = Field(sa_type=UTCDateTime)


class SettledRow(SQLModel, table=True):
    """A decided clock cycle (`connector.domain.record.SettledOutcome`): written once, never
    changed by later evaluations. Reports and service credits read these."""

    __tablename__ = "sla_outcome"
    __table_args__ = (
        sa.ForeignKeyConstraint(
            ["connection", "ticket_id"],
            ["ticket_snapshot.connection", "ticket_snapshot.ticket_id"],
            ondelete="CASCADE",
        ),
        sa.Index("ix_sla_outcome_started", "started_at"),
    )

    connection: str = Field(primary_key=True, max_length=100)
    ticket_id: str = Field(primary_key=True, max_length=200)
    metric: str = Field(primary_key=True, max_length=40)
    started_at: datetime = Field(primary_key=True, sa_type=UTCDateTime)
    cycle: int
    state: str = Field(max_length=20)
    decided_at: datetime = Field(sa_type=UTCDateTime)
    target: timedelta = Field(sa_type=sa.Interval)
    elapsed: timedelta = Field(sa_type=sa.Interval)
    stopped_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    breached_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    policy_version: str = Field(max_length=100)
    tier: str = Field(max_length=100)
    severity: str = Field(max_length=100)
    calendar: str = Field(max_length=100)
    reason: str
    observed_at: datetime = Field(sa_type=UTCDateTime)
    settled_at: datetime = Field(sa_type=UTCDateTime)
    group_id: str | None = Field(default=None, max_length=200)  # on the view that settled it
    assignee_id: str | None = Field(default=None, max_length=200)


class OlaHoldRow(SQLModel, table=True):
    """A settled group hold (`connector.domain.group_clocks.OlaHold`): the group held the ticket
    from `started_at` to `ended_at`, `held` business time against `target`. Written once when the
    hold ends, never changed by later edits of the OLA."""

    __tablename__ = "ola_hold"
    __table_args__ = (
        sa.ForeignKeyConstraint(
            ["connection", "ticket_id"],
            ["ticket_snapshot.connection", "ticket_snapshot.ticket_id"],
            ondelete="CASCADE",
        ),
        sa.Index("ix_ola_hold_ended", "ended_at"),
    )

    connection: str = Field(primary_key=True, max_length=100)
    ticket_id: str = Field(primary_key=True, max_length=200)
    group_id: str = Field(primary_key=True, max_length=200)
    started_at: datetime = Field(primary_key=True, sa_type=UTCDateTime)
    ended_at: datetime = Field(sa_type=UTCDateTime)
    ola: str = Field(max_length=200)
    held: timedelta = Field(sa_type=sa.Interval)
    target: timedelta = Field(sa_type=sa.Interval)
    policy_version: str = Field(max_length=100)
    settled_at: datetime = Field(sa_type=UTCDateTime)


QUEUED_PREDICATE = "status IN ('pending', 'sending')"  # outbox rows still to send
QUEUE_INDEX = "ix_outbox_queue"  # the partial index over those rows


class OutboxRow(SQLModel, table=True):
    """A planned write-back action. The idempotency key is the primary key: a key is queued once."""

    __tablename__ = "outbox"
    __table_args__ = (
        sa.Index("ix_outbox_connection_status", "connection", "status", "created_at", "ordinal"),
        sa.Index("ix_outbox_ticket", "connection", "ticket_id"),
        # The push loop's queue read in its own order over queued rows only: no sort of the whole
        # queue per batch. A partial index; the query repeats its predicate with literal values.
        sa.Index(
            QUEUE_INDEX,
            "connection",
            "created_at",
            "ticket_id",
            "ordinal",
            "key",
            sqlite_where=sa.text(QUEUED_PREDICATE),
            postgresql_where=sa.text(QUEUED_PREDICATE),
        ),
    )

    key: str = Field(primary_key=True, max_length=500)
    connection: str = Field(max_length=100)
    ticket_id: str = Field(max_length=200)
    kind: str = Field(max_length=40)
    payload: dict[str, Any] = Field(sa_type=JSONDocument)
    status: str = Field(max_length=20)
    attempts: int = 0
    uncertain: bool = False
    created_at: datetime = Field(sa_type=UTCDateTime)
    ordinal: int = 0  # position in its evaluation's plan, so a ticket's actions go out in order
    policy_version: str | None = Field(default=None, max_length=100)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_error: str | None = None
    claimed_by: str | None = Field(default=None, max_length=200)  # the worker pushing it (replicas)
    claim_expires: datetime | None = Field(default=None, sa_type=UTCDateTime)


class PullCursor(SQLModel, table=True):
    """Where the incremental pull of a connection resumes."""

    __tablename__ = "pull_cursor"

    connection: str = Field(primary_key=True, max_length=100)
    cursor: str | None = None
    updated_at: datetime = Field(sa_type=UTCDateTime)


class AuditEntry(SQLModel, table=True):
    """The outcome of one push attempt of one outbox action."""

    __tablename__ = "push_audit"
    __table_args__ = (sa.Index("ix_push_audit_key", "key"),)

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=500)
    outcome: str = Field(max_length=20)
    at: datetime = Field(sa_type=UTCDateTime)
    message: str = ""


class PolicyVersion(SQLModel, table=True):
    """A policy version (content hash) the store has seen, with its canonical configuration."""

    __tablename__ = "policy_version"

    version: str = Field(primary_key=True, max_length=100)
    first_seen: datetime = Field(sa_type=UTCDateTime)
    config: dict[str, Any] | None = Field(default=None, sa_type=JSONDocument)


class PolicyActivationRow(SQLModel, table=True):
    """A policy version as a worker started running it: from when its targets apply, to what."""

    __tablename__ = "policy_activation"
    __table_args__ = (sa.ForeignKeyConstraint(["version"], ["policy_version.version"]),)

    id: int | None = Field(default=None, primary_key=True)
    version: str = Field(max_length=100)
    seen_at: datetime = Field(sa_type=UTCDateTime)
    effective_from: datetime = Field(sa_type=UTCDateTime)
    apply_to: str = Field(max_length=20)


class Meta(SQLModel, table=True):
    """Small store-wide settings and markers."""

    __tablename__ = "store_meta"

    key: str = Field(primary_key=True, max_length=100)
    value: str


class PullLeaderEntry(SQLModel, table=True):
    """A worker became the puller of a connection (several workers on PostgreSQL)."""

    __tablename__ = "pull_leader_log"
    __table_args__ = (sa.Index("ix_pull_leader_log_connection", "connection", "acquired_at"),)

    id: int | None = Field(default=None, primary_key=True)
    connection: str = Field(max_length=100)
    owner: str = Field(max_length=200)
    acquired_at: datetime = Field(sa_type=UTCDateTime)


class WebhookDelivery(SQLModel, table=True):
    """A webhook delivery some worker accepted, kept while a replay of it would still look fresh
    (`connector.store.webhook_deliveries`). `key` is a SHA-256 of what identifies the delivery."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (sa.Index("ix_webhook_delivery_expires", "expires_at"),)

    connection: str = Field(primary_key=True, max_length=100)
    key: str = Field(primary_key=True, max_length=64)
    expires_at: datetime = Field(sa_type=UTCDateTime)


metadata = SQLModel.metadata
tickets = metadata.tables["ticket_snapshot"]
events = metadata.tables["ticket_event"]
clocks = metadata.tables["sla_clock"]
outbox = metadata.tables["outbox"]
cursors = metadata.tables["pull_cursor"]
audit = metadata.tables["push_audit"]
policy_versions = metadata.tables["policy_version"]
activations = metadata.tables["policy_activation"]
outcomes = metadata.tables["sla_outcome"]
ola_holds = metadata.tables["ola_hold"]
meta = metadata.tables["store_meta"]
leader_log = metadata.tables["pull_leader_log"]
webhook_deliveries = metadata.tables["webhook_delivery"]


def queued_of_tickets(
    connection: str | sa.BindParameter[Any], ticket_ids: Sequence[str] | sa.BindParameter[Any]
) -> sa.ColumnElement[bool]:
    """Outbox rows of these tickets still to send (pending or sending); callers that want only
    pending rows keep them in Python. Written as `status IN (both)`, never `status = 'pending'`:
    without ANALYZE statistics SQLite answers that equality through `ix_outbox_connection_status`,
    a walk over every pending row of the connection for each chunk of tickets (quadratic in a
    first sync's queue), where this form uses `ix_outbox_ticket`."""
    return sa.and_(
        outbox.c.connection == connection,
        any_of(outbox.c.ticket_id, ticket_ids),
        outbox.c.status.in_((OutboxStatus.PENDING.value, OutboxStatus.SENDING.value)),
    )
