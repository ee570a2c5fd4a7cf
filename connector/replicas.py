"""A one-off cycle (`tierdesk sync --once`) run beside workers on one PostgreSQL database.

It joins the replicas for the length of the cycle, the way a worker does
(`connector.store.leases`): it pulls and evaluates only the connections whose pull leadership it
can take (a connection another process leads is skipped and named in the summary), and it sends
only outbox rows it claimed, renewing its claims from a heartbeat thread while a batch is being
sent. When the cycle ends its claims are given back and its leadership is released.

On SQLite nothing changes: a cycle owns the database file as before.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
import structlog

from connector.bootstrap import App
from connector.store.leases import (
    CLAIM_ENV,
    DEFAULT_CLAIM_SECONDS,
    DEFAULT_LEASE_POLL_SECONDS,
    LEASE_POLL_ENV,
    PgLeadership,
    seconds_from_env,
    worker_id,
)

log = structlog.get_logger("tierdesk.replicas")


@contextmanager
def cycle_among_replicas(app: App) -> Iterator[str | None]:
    """Within the block, `app.service` pulls only connections it leads and pushes only rows it
    claimed; yields the owner name its claims carry (None on SQLite, where nothing changes)."""
    url = app.store.url
    if url.get_backend_name() != "postgresql":
        yield None
        return
    owner = worker_id()
    claim_seconds = seconds_from_env(CLAIM_ENV, DEFAULT_CLAIM_SECONDS)
    poll = seconds_from_env(LEASE_POLL_ENV, DEFAULT_LEASE_POLL_SECONDS)
    service = app.service
    leadership = PgLeadership(url, owner)
    service.leadership = leadership
    service.claim_owner = owner
    service.claim_seconds = claim_seconds
    done = threading.Event()

    def heartbeat() -> None:
        # a batch slower than the claim must not be taken over by a worker while it is sent
        while not done.wait(poll):
            try:
                app.store.renew_claims(owner, ttl=claim_seconds)
            except sa.exc.SQLAlchemyError as error:
                log.warning("outbox claims not renewed", error=str(error).splitlines()[0])

    thread = threading.Thread(target=heartbeat, name="claims", daemon=True)
    thread.start()
    try:
        yield owner
    finally:
        done.set()
        thread.join()
        try:
            app.store.release_claims(owner)
        finally:
            leadership.close()
            service.leadership = None
            service.claim_owner = None
