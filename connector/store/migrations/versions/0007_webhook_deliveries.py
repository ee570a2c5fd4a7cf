"""Webhook replay protection shared by every worker: `webhook_delivery`, the deliveries accepted
within the staleness window.

Revision ID: 0007w
Revises: 0006ga
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007w"
down_revision: str | None = "0006ga"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "webhook_delivery",
        sa.Column("connection", sa.String(100), nullable=False),
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("connection", "key"),
    )
    op.create_index("ix_webhook_delivery_expires", "webhook_delivery", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_webhook_delivery_expires", table_name="webhook_delivery")
    op.drop_table("webhook_delivery")
