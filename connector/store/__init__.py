"""The store adapter: SQLModel tables, alembic migrations and the SQL repository.

`Store.open(url)` opens (and migrates) a database: `sqlite:///path` (the default, `tierdesk.db` or
`$TIERDESK_DB`) or `postgresql+psycopg://...`.
"""

from __future__ import annotations

from connector import ports
from connector.store.repository import Store, split_ticket_key, ticket_key

__all__ = ["Store", "open_store", "split_ticket_key", "ticket_key"]


def open_store(url: str | None = None, *, upgrade: bool = True) -> ports.Store:
    """The store at `url` behind the `connector.ports.Store` port (also checks conformance)."""
    return Store.open(url, upgrade=upgrade)
