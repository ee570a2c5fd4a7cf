"""Group ownership clocks: `ola_hold`, each settled hold of a ticket by a group with an OLA.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INSTANT = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "ola_hold",
        sa.Column("connection", sa.String(100), nullable=False),
        sa.Column("ticket_id", sa.String(200), nullable=False),
        sa.Column("group_id", sa.String(200), nullable=False),
        sa.Column("started_at", INSTANT, nullable=False),
        sa.Column("ended_at", INSTANT, nullable=False),
        sa.Column("ola", sa.String(200), nullable=False),
        sa.Column("held", sa.Interval(), nullable=False),
        sa.Column("target", sa.Interval(), nullable=False),
        sa.Column("policy_version", sa.String(100), nullable=False),
        sa.Column("settled_at", INSTANT, nullable=False),
        sa.ForeignKeyConstraint(
            ["connection", "ticket_id"],
            ["ticket_snapshot.connection", "ticket_snapshot.ticket_id"],
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("connection", "ticket_id", "group_id", "started_at"),
    )
    op.create_index("ix_ola_hold_ended", "ola_hold", ["ended_at"])


def downgrade() -> None:
    op.drop_index("ix_ola_hold_ended", table_name="ola_hold")
    op.drop_table("ola_hold")
