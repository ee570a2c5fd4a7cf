"""Several workers on one database: outbox claims and the pull leadership log.

- `outbox.claimed_by` / `outbox.claim_expires`: the worker pushing a row and until when its claim
  holds; a row whose claim expired (its worker died) is claimable again.
- `pull_leader_log`: every time a worker became the puller of a connection, with the instant.

Revision ID: 0003r
Revises: 0002
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003r"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INSTANT = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("claimed_by", sa.String(200), nullable=True))
        batch.add_column(sa.Column("claim_expires", INSTANT, nullable=True))
    op.create_table(
        "pull_leader_log",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("connection", sa.String(100), nullable=False),
        sa.Column("owner", sa.String(200), nullable=False),
        sa.Column("acquired_at", INSTANT, nullable=False),
    )
    op.create_index("ix_pull_leader_log_connection", "pull_leader_log", ["connection", "acquired_at"])


def downgrade() -> None:
    op.drop_index("ix_pull_leader_log_connection", table_name="pull_leader_log")
    op.drop_table("pull_leader_log")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("claim_expires")
        batch.drop_column("claimed_by")
