"""Initial schema: tickets, events, clocks, outbox, cursors, audit, policy versions, meta.

Revision ID: 0001
Revises:
Create Date: 2026-01-15
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of the column types, so later edits of tables.py cannot change this revision.
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
INSTANT = sa.DateTime(timezone=True)
CONNECTION = sa.String(100)
TICKET_ID = sa.String(200)


def upgrade() -> None:
    op.create_table(
        "ticket_snapshot",
        sa.Column("connection", CONNECTION, nullable=False),
        sa.Column("ticket_id", TICKET_ID, nullable=False),
        sa.Column("updated_at", INSTANT, nullable=False),
        sa.Column("created_at", INSTANT, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("is_open", sa.Boolean(), nullable=False),
        sa.Column("data", JSON, nullable=False),
        sa.Column("stored_at", INSTANT, nullable=False),
        sa.Column("evaluated_version", sa.String(100), nullable=True),
        sa.Column("evaluated_at", INSTANT, nullable=True),
        sa.Column("next_deadline", INSTANT, nullable=True),
        sa.Column("tier", sa.String(100), nullable=True),
        sa.Column("severity", sa.String(100), nullable=True),
        sa.PrimaryKeyConstraint("connection", "ticket_id"),
    )
    op.create_index("ix_ticket_snapshot_open_deadline", "ticket_snapshot", ["is_open", "next_deadline"])
    op.create_index("ix_ticket_snapshot_open_version", "ticket_snapshot", ["is_open", "evaluated_version"])

    op.create_table(
        "ticket_event",
        sa.Column("connection", CONNECTION, nullable=False),
        sa.Column("ticket_id", TICKET_ID, nullable=False),
        sa.Column("event_id", sa.String(200), nullable=False),
        sa.Column("at", INSTANT, nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("payload", JSON, nullable=False),
        sa.ForeignKeyConstraint(
            ["connection", "ticket_id"],
            ["ticket_snapshot.connection", "ticket_snapshot.ticket_id"],
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("connection", "ticket_id", "event_id"),
    )

    op.create_table(
        "sla_clock",
        sa.Column("connection", CONNECTION, nullable=False),
        sa.Column("ticket_id", TICKET_ID, nullable=False),
        sa.Column("metric", sa.String(40), nullable=False),
        sa.Column("cycle", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("calendar", sa.String(100), nullable=False),
        sa.Column("started_at", INSTANT, nullable=False),
        sa.Column("stopped_at", INSTANT, nullable=True),
        sa.Column("target", sa.Interval(), nullable=False),
        sa.Column("elapsed", sa.Interval(), nullable=False),
        sa.Column("due_at", INSTANT, nullable=True),
        sa.Column("breached_at", INSTANT, nullable=True),
        sa.Column("paused_spans", JSON, nullable=False),
        sa.Column("policy_version", sa.String(100), nullable=False),
        sa.Column("evaluated_at", INSTANT, nullable=False),
        sa.ForeignKeyConstraint(
            ["connection", "ticket_id"],
            ["ticket_snapshot.connection", "ticket_snapshot.ticket_id"],
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("connection", "ticket_id", "metric", "cycle"),
    )

    op.create_table(
        "outbox",
        sa.Column("key", sa.String(500), nullable=False),
        sa.Column("connection", CONNECTION, nullable=False),
        sa.Column("ticket_id", TICKET_ID, nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("payload", JSON, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("uncertain", sa.Boolean(), nullable=False),
        sa.Column("created_at", INSTANT, nullable=False),
        sa.Column("ordinal", sa.Integer(), nullable=False),
        sa.Column("policy_version", sa.String(100), nullable=True),
        sa.Column("sent_at", INSTANT, nullable=True),
        sa.Column("finished_at", INSTANT, nullable=True),
        sa.Column("last_error", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_index("ix_outbox_connection_status", "outbox", ["connection", "status", "created_at", "ordinal"])
    op.create_index("ix_outbox_ticket", "outbox", ["connection", "ticket_id"])

    op.create_table(
        "pull_cursor",
        sa.Column("connection", CONNECTION, nullable=False),
        sa.Column("cursor", sa.String(), nullable=True),
        sa.Column("updated_at", INSTANT, nullable=False),
        sa.PrimaryKeyConstraint("connection"),
    )

    op.create_table(
        "push_audit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(500), nullable=False),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.Column("at", INSTANT, nullable=False),
        sa.Column("message", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_push_audit_key", "push_audit", ["key"])

    op.create_table(
        "policy_version",
        sa.Column("version", sa.String(100), nullable=False),
        sa.Column("first_seen", INSTANT, nullable=False),
        sa.Column("config", JSON, nullable=True),
        sa.PrimaryKeyConstraint("version"),
    )

    op.create_table(
        "store_meta",
        sa.Column("key", sa.String(100), nullable=False),
        sa.Column("value", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )


def downgrade() -> None:
    for table in (
        "store_meta",
        "policy_version",
        "push_audit",
        "pull_cursor",
        "outbox",
        "sla_clock",
        "ticket_event",
        "ticket_snapshot",
    ):
        op.drop_table(table)
