"""Which policy version each stored ticket was last evaluated under, restored for
tickets whose only change since was tierdesk's own write-back (`connector.own_writes`)."""

from __future__ import annotations

from collections.abc import Collection

import sqlalchemy as sa

from connector.store.in_lists import any_of
from connector.store.tables import tickets
from connector.store.unit import UnitOfWork, chunks


class EvaluatedMarks(UnitOfWork):
    """The evaluated-version part of `connector.store.repository.Store`."""

    def mark_evaluated(self, connection: str, ticket_ids: Collection[str], version: str) -> None:
        """Record that these tickets' stored evaluation under `version` still holds (their new
        snapshot changed nothing an evaluation reads)."""
        with self._unit(write=True) as db:
            for chunk in chunks(sorted(ticket_ids)):
                db.execute(
                    sa.update(tickets)
                    .where(tickets.c.connection == connection, any_of(tickets.c.ticket_id, chunk))
                    .values(evaluated_version=version)
                )
