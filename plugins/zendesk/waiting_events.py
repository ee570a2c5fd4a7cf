"""Ticket events that wait for their ticket, kept in memory while few and spilled to a temporary
SQLite file when many.

On a first sync the ticket export runs in `updated_at` order while the ticket events export runs
in event order, so most of an account's history is read long before its ticket shows up: about
11 KB per ticket, over a gigabyte for a 100k-ticket account if it all stayed in memory. Past
`spill_after` events everything waiting moves to a SQLite file in the temporary directory
(stdlib `sqlite3`: no server, dropped with the pull) and is read back per page of tickets.
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
from collections.abc import Iterable, Mapping
from typing import Any

import orjson
import structlog

log = structlog.get_logger("tierdesk.zendesk")
SPILL_AFTER = 2_000  # events (about 9 MB); an incremental pull of a busy hour stays below
SPILL_STATEMENTS = 16  # prepared statements kept (the file's few statements)


class WaitingEvents:
    """Raw ticket events by ticket id, in arrival order per ticket."""

    def __init__(self, spill_after: int = SPILL_AFTER, *, connection: str = "") -> None:
        self.spill_after = spill_after
        self.connection = connection
        self._memory: dict[str, list[Mapping[str, Any]]] = {}
        self._count = 0
        self._db: sqlite3.Connection | None = None
        self._path: str | None = None

    @property
    def spilled(self) -> bool:
        return self._db is not None

    def __len__(self) -> int:
        return self._count

    def add(self, ticket_id: str, event: Mapping[str, Any]) -> None:
        if self._db is None:
            self._memory.setdefault(ticket_id, []).append(event)
            self._count += 1
            if self._count > self.spill_after:
                self._spill()
            return
        self._insert([(ticket_id, event)])

    def add_many(self, items: Iterable[tuple[str, Mapping[str, Any]]]) -> None:
        if self._db is None:
            for ticket_id, event in items:
                self.add(ticket_id, event)
            return
        self._insert(items)

    def take(self, ticket_ids: Iterable[str]) -> dict[str, list[Mapping[str, Any]]]:
        """Remove and return the events of these tickets (those that have some)."""
        ids = list(ticket_ids)
        if self._db is None:
            out = {tid: self._memory.pop(tid) for tid in ids if tid in self._memory}
            self._count -= sum(len(evs) for evs in out.values())
            return out
        out = {}
        for start in range(0, len(ids), 500):
            # the ids as one JSON array: one statement whatever the number (`connector.store.in_lists`)
            chunk = (orjson.dumps(ids[start : start + 500]).decode(),)
            rows = self._db.execute(
                "SELECT ticket_id, body FROM waiting WHERE ticket_id IN (SELECT value FROM json_each(?))"
                " ORDER BY seq",
                chunk,
            ).fetchall()
            if rows:
                self._db.execute(
                    "DELETE FROM waiting WHERE ticket_id IN (SELECT value FROM json_each(?))", chunk
                )
            for tid, body in rows:
                out.setdefault(tid, []).append(orjson.loads(body))
        self._count -= sum(len(evs) for evs in out.values())
        return out

    def take_all(self) -> dict[str, list[Mapping[str, Any]]]:
        if self._db is None:
            out, self._memory, self._count = self._memory, {}, 0
            return out
        return self.take(self.ticket_ids())

    def ticket_ids(self) -> list[str]:
        if self._db is None:
            return list(self._memory)
        return [row[0] for row in self._db.execute("SELECT DISTINCT ticket_id FROM waiting")]

    def oldest(self) -> int | None:
        """The earliest `timestamp` of a waiting event, None when none waits."""
        if self._db is None:
            times = [ev.get("timestamp") for evs in self._memory.values() for ev in evs]
            valid = [t for t in times if isinstance(t, int)]
            return min(valid) if valid else None
        row = self._db.execute("SELECT min(ts) FROM waiting").fetchone()
        return row[0] if row else None

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
        if self._path is not None:
            os.unlink(self._path)
            self._path = None

    # ------------------------------------------------------------------ the file
    def _spill(self) -> None:
        fd, self._path = tempfile.mkstemp(prefix="tierdesk-zendesk-events-", suffix=".sqlite")
        os.close(fd)
        # the file only lives as long as this pull: no journal, no fsync
        self._db = sqlite3.connect(
            self._path, isolation_level=None, check_same_thread=False, cached_statements=SPILL_STATEMENTS
        )
        self._db.executescript(
            "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA cache_size=-8000;"
            "CREATE TABLE waiting (seq INTEGER PRIMARY KEY, ticket_id TEXT NOT NULL, ts INTEGER, body TEXT);"
            "CREATE INDEX waiting_ticket ON waiting (ticket_id);"
            "CREATE INDEX waiting_ts ON waiting (ts);"
        )
        log.info("zendesk.waiting_events_spilled", connection=self.connection, events=self._count)
        memory, self._memory, self._count = self._memory, {}, 0
        self._insert((tid, ev) for tid, evs in memory.items() for ev in evs)

    def _insert(self, items: Iterable[tuple[str, Mapping[str, Any]]]) -> None:
        assert self._db is not None
        rows = [
            (tid, ev.get("timestamp") if isinstance(ev.get("timestamp"), int) else None, orjson.dumps(ev))
            for tid, ev in items
        ]
        self._db.executemany("INSERT INTO waiting (ticket_id, ts, body) VALUES (?, ?, ?)", rows)
        self._count += len(rows)
