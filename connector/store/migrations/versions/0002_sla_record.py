"""The SLA record: settled outcomes, policy activations, the age of each ticket's view.

- `sla_outcome`: decided clock cycles, written once. Filled from the clocks already stored: what
  their last evaluation decided is settled as it stands.
- `policy_activation`: the policy versions as workers started running them, effective-dated. Each
  version already seen becomes an activation effective from when it was first seen.
- `ticket_snapshot.seen_at`: when the helpdesk last showed the stored snapshot (from `stored_at`).

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INSTANT = sa.DateTime(timezone=True)
CONNECTION = sa.String(100)
TICKET_ID = sa.String(200)


def upgrade() -> None:
    op.add_column("ticket_snapshot", sa.Column("seen_at", INSTANT, nullable=True))
    op.execute("UPDATE ticket_snapshot SET seen_at = stored_at")

    op.create_table(
        "sla_outcome",
        sa.Column("connection", CONNECTION, nullable=False),
        sa.Column("ticket_id", TICKET_ID, nullable=False),
        sa.Column("metric", sa.String(40), nullable=False),
        sa.Column("started_at", INSTANT, nullable=False),
        sa.Column("cycle", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("decided_at", INSTANT, nullable=False),
        sa.Column("target", sa.Interval(), nullable=False),
        sa.Column("elapsed", sa.Interval(), nullable=False),
        sa.Column("stopped_at", INSTANT, nullable=True),
        sa.Column("breached_at", INSTANT, nullable=True),
        sa.Column("policy_version", sa.String(100), nullable=False),
        sa.Column("tier", sa.String(100), nullable=False),
        sa.Column("severity", sa.String(100), nullable=False),
        sa.Column("calendar", sa.String(100), nullable=False),
        sa.Column("reason", sa.String(), nullable=False),
        sa.Column("observed_at", INSTANT, nullable=False),
        sa.Column("settled_at", INSTANT, nullable=False),
        sa.ForeignKeyConstraint(
            ["connection", "ticket_id"],
            ["ticket_snapshot.connection", "ticket_snapshot.ticket_id"],
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("connection", "ticket_id", "metric", "started_at"),
    )
    op.create_index("ix_sla_outcome_started", "sla_outcome", ["started_at"])
    op.execute(
        """
        INSERT INTO sla_outcome (connection, ticket_id, metric, started_at, cycle, state, decided_at,
            target, elapsed, stopped_at, breached_at, policy_version, tier, severity, calendar, reason,
            observed_at, settled_at)
        SELECT c.connection, c.ticket_id, c.metric, c.started_at, MIN(c.cycle), MIN(c.state),
            MIN(CASE WHEN c.state = 'met' THEN c.stopped_at ELSE c.breached_at END),
            MIN(c.target), MIN(CASE WHEN c.state = 'met' THEN c.elapsed ELSE c.target END),
            MIN(c.stopped_at), MIN(c.breached_at), MIN(c.policy_version), COALESCE(MIN(t.tier), ''),
            COALESCE(MIN(t.severity), ''), MIN(c.calendar),
            'settled from the last evaluation before the upgrade', MIN(c.evaluated_at), MIN(c.evaluated_at)
        FROM sla_clock c
        JOIN ticket_snapshot t ON t.connection = c.connection AND t.ticket_id = c.ticket_id
        WHERE (c.state = 'met' AND c.stopped_at IS NOT NULL)
           OR (c.state = 'breached' AND c.breached_at IS NOT NULL)
        GROUP BY c.connection, c.ticket_id, c.metric, c.started_at
        """
    )

    op.create_table(
        "policy_activation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.String(100), nullable=False),
        sa.Column("seen_at", INSTANT, nullable=False),
        sa.Column("effective_from", INSTANT, nullable=False),
        sa.Column("apply_to", sa.String(20), nullable=False),
        sa.ForeignKeyConstraint(["version"], ["policy_version.version"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.execute(
        """
        INSERT INTO policy_activation (version, seen_at, effective_from, apply_to)
        SELECT version, first_seen, first_seen, 'new' FROM policy_version ORDER BY first_seen, version
        """
    )


def downgrade() -> None:
    op.drop_table("policy_activation")
    op.drop_index("ix_sla_outcome_started", table_name="sla_outcome")
    op.drop_table("sla_outcome")
    op.drop_column("ticket_snapshot", "seen_at")
