"""The group and assignee a ticket had when each of its clock cycles was settled.

`sla_outcome.group_id`, `sla_outcome.assignee_id`: the helpdesk ids on the view of the ticket that
settled the outcome, so adherence by group and by assignee counts a cycle for whoever held the
ticket when it was decided, not for whoever holds it now. Outcomes settled before this revision
keep NULL (not known): the current assignment says nothing reliable about theirs.

Revision ID: 0006ga
Revises: 0005
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006ga"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("sla_outcome") as batch:
        batch.add_column(sa.Column("group_id", sa.String(200), nullable=True))
        batch.add_column(sa.Column("assignee_id", sa.String(200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sla_outcome") as batch:
        batch.drop_column("assignee_id")
        batch.drop_column("group_id")
