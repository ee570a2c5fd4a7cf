"""The push loop's queue read without a sort of the whole queue.

`ix_outbox_queue`: (connection, created_at, ticket_id, ordinal, key) over queued rows only (a
partial index, `status IN ('pending', 'sending')`), the order `pending_actions` reads in.

Revision ID: 0004
Revises: 0003r
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003r"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

QUEUED = sa.text("status IN ('pending', 'sending')")


def upgrade() -> None:
    op.create_index(
        "ix_outbox_queue",
        "outbox",
        ["connection", "created_at", "ticket_id", "ordinal", "key"],
        sqlite_where=QUEUED,
        postgresql_where=QUEUED,
    )


def downgrade() -> None:
    op.drop_index("ix_outbox_queue", table_name="outbox")
