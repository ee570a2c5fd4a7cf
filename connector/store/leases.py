"""Several workers on one database: who pulls a connection, who pushes which outbox rows.

PostgreSQL:
- Pull leadership is a session advisory lock per (schema, connection), held on a connection of its
  own (`PgLeadership`). PostgreSQL releases it when that session ends: at once when the worker
  process dies (its socket closes), within the TCP keepalive (`KEEPALIVE_BOUND_SECONDS`) when its
  host or network is lost. The other workers try to take it every `lease_poll` seconds, so a
  connection is left unpulled for at most `lease_poll` after its leader died (plus the keepalive
  bound on a lost host). Before each pulled page is stored the leader checks that its session
  still holds the lock, so a worker that lost it stops pulling and the cursor never moves back.
- Outbox rows are claimed with `FOR UPDATE SKIP LOCKED` (`ClaimStore.claim_actions`): a claim
  names its worker and expires `claim_seconds` after the worker last renewed it (every
  `lease_poll`, however long its batch takes to send); rows of a killed worker become claimable
  when their claim expires, flagged uncertain if a send had started, so the plugin checks the
  ticket before sending again.

SQLite: one worker per database file; a second one is refused (`SqliteWorkerLock`).
"""

from __future__ import annotations

import fcntl
import os
import socket
import threading
import uuid
import zlib
from collections.abc import Collection, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO

import sqlalchemy as sa
import structlog
from sqlalchemy.pool import NullPool

from connector.errors import InvalidInput
from connector.ports import OutboxItem
from connector.store import codec
from connector.store.engine import sqlite_file
from connector.store.in_lists import any_of
from connector.store.outbox import QUEUED
from connector.store.tables import QUEUED_PREDICATE, OutboxStatus, leader_log, outbox, queued_of_tickets
from connector.store.unit import UnitOfWork, chunks

log = structlog.get_logger("tierdesk.leases")

DEFAULT_CLAIM_SECONDS = 120.0  # longer than any push batch takes, retries included
DEFAULT_LEASE_POLL_SECONDS = 5.0
CLAIM_ENV = "TIERDESK_CLAIM_SECONDS"
LEASE_POLL_ENV = "TIERDESK_LEASE_POLL_SECONDS"
# PostgreSQL drops the session of a silent client after idle + interval * count seconds.
KEEPALIVE = {"tcp_keepalives_idle": 10, "tcp_keepalives_interval": 5, "tcp_keepalives_count": 3}
KEEPALIVE_BOUND_SECONDS = 25
_LOCK_NAMESPACE = 0x7464_0001  # first key of tierdesk's two-key advisory locks ("td", 1)


def worker_id() -> str:
    """A name unique to this worker process, readable in the claim columns and the leader log."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def seconds_from_env(name: str, default: float) -> float:
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        raise InvalidInput(
            f"${name}={text!r} is not a number of seconds", f"set {name} to e.g. {default:g}"
        ) from None
    if value <= 0:
        raise InvalidInput(f"${name}={text!r} must be more than zero", f"set {name} to e.g. {default:g}")
    return value


def lock_key(schema: str, connection: str) -> int:
    """The second advisory-lock key of a connection: per schema, since locks are per database."""
    return zlib.crc32(f"{schema}\x00{connection}".encode()) & 0x7FFF_FFFF


def _db_now(db: sa.Connection) -> datetime:
    """The database's clock on PostgreSQL (claims of workers on several hosts compare one clock)."""
    if db.dialect.name == "postgresql":
        value = db.execute(sa.select(sa.func.clock_timestamp())).scalar_one()
        assert isinstance(value, datetime)
        return value.astimezone(UTC)
    return datetime.now(UTC)


class ClaimStore(UnitOfWork):
    """Outbox claims, the part of `connector.store.repository.Store` replicas use."""

    def claim_actions(
        self, connection: str, owner: str, *, limit: int, ttl: float, tickets: Sequence[str] | None = None
    ) -> list[OutboxItem]:
        """Claim up to `limit` queued actions of `connection` for `owner` for `ttl` seconds, oldest
        first, and return them (what `pending_actions` returns, restricted to rows nobody else
        holds). Rows locked by another claim in progress are skipped (`FOR UPDATE SKIP LOCKED`);
        rows claimed by another worker count as free once their claim expired.

        A ticket's queued actions are claimed together or not at all: two workers sending parts of
        one ticket's update would conflict. The only exception is a ticket with more queued actions
        than `limit` heading the queue, which is claimed in part rather than never. With `tickets`,
        only their rows are considered (a webhook's tickets go ahead of the queue).
        """
        with self._unit(write=True) as db:
            now = _db_now(db)
            free = sa.or_(
                outbox.c.claim_expires.is_(None), outbox.c.claim_expires < now, outbox.c.claimed_by == owner
            )
            rows = db.execute(
                sa.select(
                    outbox.c.key, outbox.c.ticket_id, outbox.c.payload, outbox.c.attempts, outbox.c.uncertain
                )
                .where(
                    sa.and_(outbox.c.connection == connection, sa.text(QUEUED_PREDICATE))  # ix_outbox_queue
                    if tickets is None
                    else queued_of_tickets(connection, tickets),  # ix_outbox_ticket
                    free,
                )
                .order_by(outbox.c.created_at, outbox.c.ticket_id, outbox.c.ordinal, outbox.c.key)
                .limit(limit)
                .with_for_update(skip_locked=True)
            ).all()
            if not rows:
                return []
            locked: dict[str, set[str]] = {}
            for row in rows:
                locked.setdefault(row.ticket_id, set()).add(row.key)
            queued: dict[str, set[str]] = {}
            for chunk in chunks(sorted(locked)):
                for key, ticket_id in db.execute(
                    sa.select(outbox.c.key, outbox.c.ticket_id).where(
                        outbox.c.connection == connection,
                        any_of(outbox.c.ticket_id, chunk),
                        outbox.c.status.in_(QUEUED),
                    )
                ):
                    queued.setdefault(ticket_id, set()).add(key)
            whole = {t for t, keys in locked.items() if queued.get(t, set()) <= keys}
            if not whole and len(rows) == limit:
                whole = {rows[0].ticket_id}
            kept = [row for row in rows if row.ticket_id in whole]
            for chunk_keys in chunks([row.key for row in kept]):
                db.execute(
                    sa.update(outbox)
                    .where(any_of(outbox.c.key, chunk_keys))
                    .values(claimed_by=owner, claim_expires=now + timedelta(seconds=ttl))
                )
        return [
            OutboxItem(
                action=codec.decode_action(row.payload), attempts=row.attempts, uncertain=row.uncertain
            )
            for row in kept
        ]

    def mark_claimed_sending(
        self, keys: Collection[str], owner: str, *, ttl: float, now: datetime
    ) -> set[str]:
        """`mark_sending` for the rows of `keys` still queued and claimed by `owner` (a newer plan
        may have replaced some since the claim); renews their claim; returns the keys marked, the
        only ones the caller may send."""
        if self.in_transaction:
            raise RuntimeError(
                "mark_claimed_sending must commit before the push; call it outside transaction()"
            )
        marked: set[str] = set()
        with self._unit(write=True) as db:
            expires = _db_now(db) + timedelta(seconds=ttl)
            for chunk in chunks(sorted(set(keys))):
                marked.update(
                    db.execute(
                        sa.update(outbox)
                        .where(
                            any_of(outbox.c.key, chunk),
                            outbox.c.status.in_(QUEUED),
                            outbox.c.claimed_by == owner,
                        )
                        .values(
                            status=OutboxStatus.SENDING.value,
                            uncertain=True,
                            attempts=outbox.c.attempts + 1,
                            sent_at=now,
                            claim_expires=expires,
                        )
                        .returning(outbox.c.key)
                    ).scalars()
                )
        return marked

    def has_claimable(self, owner: str) -> bool:
        """True when some queued action of any connection is free for `owner` to claim."""
        with self._unit(write=False) as db:
            now = _db_now(db)
            query = sa.select(outbox.c.key).where(
                outbox.c.status.in_(QUEUED),
                sa.or_(
                    outbox.c.claim_expires.is_(None),
                    outbox.c.claim_expires < now,
                    outbox.c.claimed_by == owner,
                ),
            )
            return db.execute(query.limit(1)).first() is not None

    def renew_claims(self, owner: str, *, ttl: float) -> int:
        """Extend every claim `owner` holds to `ttl` seconds from now (the worker's heartbeat: a
        batch may take longer to send than a claim lasts); returns how many rows."""
        with self._unit(write=True) as db:
            expires = _db_now(db) + timedelta(seconds=ttl)
            query = sa.update(outbox).where(outbox.c.claimed_by == owner, outbox.c.status.in_(QUEUED))
            return db.execute(query.values(claim_expires=expires)).rowcount

    def release_claims(self, owner: str, connection: str | None = None) -> int:
        """Give back `owner`'s claims on rows not being sent (a push that ended early); returns how
        many. Rows left `sending` keep their claim until it expires: their outcome is unknown."""
        query = sa.update(outbox).where(
            outbox.c.claimed_by == owner, outbox.c.status == OutboxStatus.PENDING.value
        )
        if connection is not None:
            query = query.where(outbox.c.connection == connection)
        with self._unit(write=True) as db:
            return db.execute(query.values(claimed_by=None, claim_expires=None)).rowcount

    def leader_log(self, connection: str | None = None) -> list[tuple[str, str, datetime]]:
        """(connection, worker, when) of every change of pull leadership, oldest first."""
        query = sa.select(leader_log.c.connection, leader_log.c.owner, leader_log.c.acquired_at)
        if connection is not None:
            query = query.where(leader_log.c.connection == connection)
        with self._unit(write=False) as db:
            return [
                (r.connection, r.owner, r.acquired_at) for r in db.execute(query.order_by(leader_log.c.id))
            ]


class PgLeadership:
    """Pull leadership of connections on PostgreSQL: session advisory locks on one connection of
    its own (implements `connector.ports.Leadership`). Thread-safe."""

    def __init__(self, url: sa.URL, owner: str) -> None:
        options = " ".join(f"-c{name}={value}" for name, value in KEEPALIVE.items())
        given = url.query.get("options")
        given_text = given if isinstance(given, str) else " ".join(given or ())
        self._engine = sa.create_engine(
            url.update_query_dict({"options": f"{given_text} {options}".strip()}),
            poolclass=NullPool,
            connect_args={
                "keepalives": 1,
                "keepalives_idle": 10,
                "keepalives_interval": 5,
                "keepalives_count": 3,
            },
        )
        self.owner = owner
        self._lock = threading.Lock()
        self._session: sa.Connection | None = None
        self._schema = ""
        self._held: set[str] = set()

    def _connect(self) -> sa.Connection:
        if self._session is None:
            self._session = self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            self._schema = str(self._session.execute(sa.text("SELECT current_schema()")).scalar_one())
            self._held.clear()
        return self._session

    def _lost(self, error: Exception) -> None:
        if self._held:
            log.warning(
                "pull leadership lost", connections=sorted(self._held), error=str(error).splitlines()[0]
            )
        self._held.clear()
        session, self._session = self._session, None
        if session is not None:
            try:
                session.invalidate()
                session.close()
            except sa.exc.SQLAlchemyError:
                pass

    def acquire(self, connection: str) -> bool:
        """Hold the leadership of `connection` (try to take it if free); True when held."""
        with self._lock:
            try:
                session = self._connect()
                if connection in self._held:
                    return self._confirm(session, connection)
                got = session.execute(
                    sa.text("SELECT pg_try_advisory_lock(:ns, :key)"),
                    {"ns": _LOCK_NAMESPACE, "key": lock_key(self._schema, connection)},
                ).scalar_one()
                if not got:
                    return False
                self._held.add(connection)
                session.execute(
                    leader_log.insert().values(
                        connection=connection, owner=self.owner, acquired_at=datetime.now(UTC)
                    )
                )
            except sa.exc.SQLAlchemyError as error:
                self._lost(error)
                return False
        log.info("pull leadership taken", connection=connection, worker=self.owner)
        return True

    def _confirm(self, session: sa.Connection, connection: str) -> bool:
        held = session.execute(
            sa.text(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid() "
                "AND classid = :ns AND objid = :key AND objsubid = 2 AND granted"
            ),
            {"ns": _LOCK_NAMESPACE, "key": lock_key(self._schema, connection)},
        ).scalar_one()
        if not held:
            self._held.discard(connection)
        return bool(held)

    def holds(self, connection: str) -> bool:
        """True when this worker's session still holds the leadership of `connection` (asked of
        PostgreSQL, not remembered)."""
        with self._lock:
            if connection not in self._held:
                return False
            try:
                return self._confirm(self._connect(), connection)
            except sa.exc.SQLAlchemyError as error:
                self._lost(error)
                return False

    def close(self) -> None:
        """Give every leadership up (ending the session releases the locks)."""
        with self._lock:
            if self._session is not None:
                self._session.close()
                self._session = None
            self._held.clear()
            self._engine.dispose()


class SqliteWorkerLock:
    """The only worker of a SQLite database: an exclusive `flock` on `<database>.worker.lock`,
    which records the holder's pid; the kernel releases it when the process ends, however it ends.
    Leads every connection (implements `connector.ports.Leadership`)."""

    def __init__(self, database: Path) -> None:
        self.path = database.with_name(database.name + ".worker.lock")
        self._file: IO[str] | None = open(self.path, "a+", encoding="utf-8")  # noqa: SIM115 (held open)
        try:
            fcntl.flock(self._file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._file.seek(0)
            holder = self._file.read().strip() or "unknown"
            self._file.close()
            self._file = None
            raise InvalidInput(
                f"another tierdesk worker holds {database.name} (pid {holder})",
                "run one worker per SQLite database or use PostgreSQL (TIERDESK_DB=postgresql://...)",
            ) from None
        self._file.seek(0)
        self._file.truncate()
        self._file.write(f"{os.getpid()}\n")
        self._file.flush()

    def acquire(self, connection: str) -> bool:
        return True

    def holds(self, connection: str) -> bool:
        return True

    def close(self) -> None:
        if self._file is not None:
            self._file.close()  # closing the descriptor releases the flock
            self._file = None


class SoleLeadership:
    """Leadership where no other worker can exist (an in-memory database)."""

    def acquire(self, connection: str) -> bool:
        return True

    def holds(self, connection: str) -> bool:
        return True

    def close(self) -> None:
        return None


def leadership_for(url: sa.URL, owner: str) -> PgLeadership | SqliteWorkerLock | SoleLeadership:
    """The leadership a worker on the database at `url` runs with; raises `InvalidInput` when it
    is a SQLite file another worker holds."""
    if url.get_backend_name() == "postgresql":
        return PgLeadership(url, owner)
    database = sqlite_file(url)
    return SqliteWorkerLock(database) if database is not None else SoleLeadership()
