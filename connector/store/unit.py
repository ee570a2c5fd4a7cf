"""Units of work on the store's engine: each store call runs in its own transaction, or joins the
one open on this thread (`with store.transaction():`).

A unit of work also counts the outbox rows it ends without sending (skipped, withdrawn), by
status and recorded reason; the counts join the store's running tally when the unit commits and
are dropped when it rolls back, so the tally is what this process committed (`unsent_tally`)
without counting over the outbox, whose history only grows."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine

from connector.store.engine import begin

CHUNK = 500  # bound on IN-list sizes (SQLite allows 32,766 parameters per statement)


def chunks(values: Sequence[str], size: int = CHUNK) -> Iterator[Sequence[str]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def ticket_key(connection: str, ticket_id: str) -> str:
    return f"{connection}:{ticket_id}"


def dialect_insert(dialect: str, table: sa.Table) -> postgresql.Insert | sqlite.Insert:
    """An INSERT of `table` with the dialect's ON CONFLICT clauses (PostgreSQL or SQLite)."""
    return postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)


def split_ticket_key(key: str) -> tuple[str, str]:
    """`<connection>:<id>` -> (connection, id). Connection names never contain a colon."""
    connection, sep, ticket_id = key.partition(":")
    if not sep or not connection or not ticket_id:
        raise ValueError(f"not a ticket key (expected '<connection>:<id>'): {key!r}")
    return connection, ticket_id


class UnitOfWork:
    """The transaction handling the store's parts share."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._local = threading.local()
        self._unsent: Counter[tuple[str, str | None]] = Counter()
        self._unsent_lock = threading.Lock()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """A unit of work: store calls made inside it on this thread commit together or not at all.

        Nested `transaction()` blocks join the outermost one. An exception rolls everything back
        and propagates.
        """
        with self._unit(write=True):
            yield

    @property
    def in_transaction(self) -> bool:
        return getattr(self._local, "connection", None) is not None

    @contextmanager
    def _unit(self, *, write: bool) -> Iterator[sa.Connection]:
        current: sa.Connection | None = getattr(self._local, "connection", None)
        if current is not None:
            yield current
            return
        with self._engine.connect() as connection:
            begin(connection, write=write)
            self._local.connection = connection
            self._local.unsent = Counter()
            try:
                yield connection
            except BaseException:
                connection.rollback()
                raise
            else:
                connection.commit()
                if self._local.unsent:
                    with self._unsent_lock:
                        self._unsent.update(self._local.unsent)
            finally:
                self._local.connection = None
                self._local.unsent = None

    def _count_unsent(self, status: str, reason: str | None, rows: int) -> None:
        """Inside a unit of work: `rows` outbox rows were set to `status` with `reason` (counted
        once the unit commits)."""
        if rows > 0:
            self._local.unsent[(status, reason)] += rows

    def unsent_tally(self) -> dict[tuple[str, str | None], int]:
        """Outbox rows this store object ended without sending since it was opened, per (status,
        recorded reason), committed ones only. Differences between two readings are what was
        skipped and withdrawn in between, whatever the size of the outbox."""
        with self._unsent_lock:
            return dict(self._unsent)

    def _insert(self, connection: sa.Connection, table: sa.Table) -> postgresql.Insert | sqlite.Insert:
        return dialect_insert(connection.dialect.name, table)
