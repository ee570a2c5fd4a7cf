"""Database URLs and engines: SQLite by default (WAL, foreign keys, busy timeout), PostgreSQL by URL."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.pool import StaticPool

DEFAULT_URL = "sqlite:///tierdesk.db"
URL_ENV = "TIERDESK_DB"
SQLITE_BUSY_TIMEOUT_MS = 30_000
# Page cache per connection. SQLite's default (2 MB) cannot hold the inner pages of the indexes of a
# store with 100,000 tickets, so every lookup read them from the file again; 32 MB buys a little
# more CPU (about 13% per changed ticket) for 30 MB more resident memory per connection.
SQLITE_CACHE_KIB = 8 * 1024
# Prepared statements kept per SQLite connection (Python's default 128). A cycle sends some 30
# distinct statements, each prepared again once it falls out of this cache. When the batched
# lookups sent IN-lists of every length and the snapshot and outcome inserts multi-row VALUES of
# every page size, each length was a statement of its own and 128 of them held 20-25 MB per
# connection; both are now one statement text each (`connector.store.in_lists`, plain
# executemany). 64 vs 16, side by side: first sync of 30,000 tickets 37.5 -> 36.8 s CPU, peak RSS
# +0.8 MB; 10 changed tickets per cycle 1.62 -> 1.53 ms CPU each.
SQLITE_CACHED_STATEMENTS = 64

# WAL pages written before a commit copies them back into the database file (SQLite's default
# 1,000, about 4 MB). A sync rewrites the same index pages commit after commit; a checkpoint writes
# each page once however often it changed, so a longer interval writes fewer pages in all. First
# sync of 30,000 tickets, both runs side by side: 3,703 -> 3,101 MB written to disk, CPU 43.2 ->
# 42.6 s (the WAL file grows to about 40 MB and is reused from its start after each checkpoint).
SQLITE_WAL_AUTOCHECKPOINT = 10_000

_BEGIN_KEY = "tierdesk_begin"


def dump_json(value: Any) -> str:
    """A JSON column's text: orjson (compact, UTF-8), several times faster than the standard
    library, which serialised and parsed the snapshots, events and outbox payloads of a sync in
    about a sixth of its CPU."""
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


load_json = orjson.loads


def resolve_url(url: str | None) -> URL:
    """The URL given, else `$TIERDESK_DB`, else `tierdesk.db` in the working directory.

    `postgresql://` and `postgres://` mean psycopg 3 (the driver tierdesk ships with).
    """
    text = url or os.environ.get(URL_ENV) or DEFAULT_URL
    if text.startswith("postgres://"):
        text = "postgresql://" + text.removeprefix("postgres://")
    parsed = make_url(text)
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def is_memory_sqlite(url: URL) -> bool:
    return url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")


def sqlite_file(url: URL) -> Path | None:
    """The database file of a SQLite URL (None for other databases and in-memory SQLite)."""
    if url.get_backend_name() != "sqlite" or is_memory_sqlite(url) or not url.database:
        return None
    return Path(url.database).expanduser()


def create_store_engine(url: URL) -> Engine:
    """An engine configured for the store. SQLite files get WAL journaling, an 8 MB page cache,
    enforced foreign keys, a busy timeout, and write transactions that take the write lock up
    front (`BEGIN IMMEDIATE`), so two writers queue instead of failing on a lock upgrade."""
    if url.get_backend_name() != "sqlite":
        return sa.create_engine(
            url, pool_pre_ping=True, json_serializer=dump_json, json_deserializer=load_json
        )
    memory = is_memory_sqlite(url)
    if not memory and url.database:
        Path(url.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(
        url,
        connect_args={"check_same_thread": False, "cached_statements": SQLITE_CACHED_STATEMENTS},
        poolclass=StaticPool if memory else None,
        json_serializer=dump_json,
        json_deserializer=load_json,
    )

    @sa.event.listens_for(engine, "connect")
    def _configure(dbapi_connection: Any, _record: Any) -> None:
        # Transactions are issued by the "begin" hook below, not by the sqlite3 module.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            if not memory:
                cursor.execute("PRAGMA journal_mode=WAL")
                cursor.execute("PRAGMA synchronous=NORMAL")
                cursor.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
                cursor.execute(f"PRAGMA wal_autocheckpoint={SQLITE_WAL_AUTOCHECKPOINT}")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        finally:
            cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _begin(connection: sa.Connection) -> None:
        connection.exec_driver_sql(connection.info.pop(_BEGIN_KEY, "BEGIN"))

    return engine


def begin(connection: sa.Connection, *, write: bool) -> None:
    """Start a transaction on `connection`; on SQLite a write transaction locks immediately."""
    if write and connection.dialect.name == "sqlite":
        connection.info[_BEGIN_KEY] = "BEGIN IMMEDIATE"
    connection.begin()
