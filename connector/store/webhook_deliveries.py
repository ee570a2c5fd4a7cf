"""Webhook deliveries accepted by any worker on the database, for replay protection across
replicas (`connector.webhooks`): a delivery accepted by one worker and replayed to another is
recognised there.

Each delivery is recorded under the keys that identify it (its signature, and the vendor's
delivery id when it sends one) until `expires_at`, the end of the window in which it could still
pass the staleness check. Recording is insert-if-absent on the primary key (`ON CONFLICT ... DO
UPDATE ... WHERE` the row's window has ended, so a live row is left alone; SQLite and PostgreSQL
alike), so two workers racing on the same delivery cannot both accept it: PostgreSQL makes the
second insert wait for the first one's commit, then skip. Rows
past `expires_at` are deleted as the store goes, at most once every `PRUNE_EVERY`.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Sequence
from datetime import datetime, timedelta

import sqlalchemy as sa

from connector.store.tables import webhook_deliveries
from connector.store.unit import UnitOfWork

PRUNE_EVERY = timedelta(seconds=60)


def delivery_key(key: str) -> str:
    """The stored form of a key: fixed length, whatever the vendor's header held."""
    return hashlib.sha256(key.encode("utf-8", "replace")).hexdigest()


class WebhookDeliveryStore(UnitOfWork):
    """The part of `connector.store.repository.Store` that implements
    `connector.ports.SeenDeliveries`."""

    _prune_lock = threading.Lock()

    def first_delivery(
        self, connection: str, keys: Sequence[str], *, expires_at: datetime, now: datetime
    ) -> bool:
        """Record one delivery of `connection` under `keys`; True when none of them was recorded
        before (and is still within its window), False for a replay. Atomic across workers."""
        stored = sorted({delivery_key(key) for key in keys})
        with self._unit(write=True) as db:
            insert = self._insert(db, webhook_deliveries)
            # one statement: new keys are inserted, keys past their window (not pruned yet) taken
            # over, live ones left alone; RETURNING names the keys this delivery won
            won = db.execute(
                insert.values(
                    [{"connection": connection, "key": key, "expires_at": expires_at} for key in stored]
                )
                .on_conflict_do_update(
                    index_elements=[webhook_deliveries.c.connection, webhook_deliveries.c.key],
                    set_={"expires_at": insert.excluded.expires_at},
                    where=webhook_deliveries.c.expires_at < now,
                )
                .returning(webhook_deliveries.c.key)
            ).all()
            if self._prune_due(now):
                db.execute(sa.delete(webhook_deliveries).where(webhook_deliveries.c.expires_at < now))
        fresh = len(won) == len(stored)
        return fresh

    def _prune_due(self, now: datetime) -> bool:
        with self._prune_lock:
            last: datetime | None = getattr(self, "_pruned_at", None)
            if last is not None and now - last < PRUNE_EVERY:
                return False
            self._pruned_at = now
            return True

    def webhook_deliveries_kept(self) -> int:
        """How many delivery keys the store holds (expired ones not pruned yet included)."""
        with self._unit(write=False) as db:
            return int(db.execute(sa.select(sa.func.count()).select_from(webhook_deliveries)).scalar_one())
