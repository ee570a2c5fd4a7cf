"""Read-only selects for the SLA report: the stored clocks and tickets of a period, as typed rows.

The report reads exactly what the engine stored (clock rows of each ticket's last evaluation and
the tier/severity written with them); nothing is re-evaluated here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from connector.domain.model import Ticket
from connector.domain.policy import Metric
from connector.domain.results import ClockState
from connector.store import codec
from connector.store.repository import Store, ticket_key
from connector.store.tables import clocks, tickets


@dataclass(frozen=True, slots=True)
class StoredTicket:
    """A stored ticket with what its last evaluation concluded (tier None: never evaluated)."""

    ticket: Ticket
    tier: str | None
    severity: str | None
    evaluated_version: str | None

    @property
    def key(self) -> str:
        return self.ticket.key


@dataclass(frozen=True, slots=True)
class StoredClock:
    """One stored clock cycle, with the policy version and instant of the evaluation that wrote it."""

    ticket_key: str
    metric: Metric
    cycle: int
    state: ClockState
    started_at: datetime
    stopped_at: datetime | None
    target: timedelta
    elapsed: timedelta
    breached_at: datetime | None
    policy_version: str
    evaluated_at: datetime


def read_period(store: Store, start: datetime, end: datetime) -> tuple[list[StoredTicket], list[StoredClock]]:
    """Clocks whose cycle started in [start, end), and the tickets created in [start, end) or owning
    one of those clocks; read in one transaction so both come from the same state of the store."""
    in_period = sa.and_(clocks.c.started_at >= start, clocks.c.started_at < end)
    with_clocks = sa.select(clocks.c.connection, clocks.c.ticket_id).where(in_period)
    ticket_query = (
        sa.select(
            tickets.c.data,
            tickets.c.tier,
            tickets.c.severity,
            tickets.c.evaluated_version,
        )
        .where(
            sa.or_(
                sa.and_(tickets.c.created_at >= start, tickets.c.created_at < end),
                sa.tuple_(tickets.c.connection, tickets.c.ticket_id).in_(with_clocks),
            )
        )
        .order_by(tickets.c.connection, tickets.c.ticket_id)
    )
    clock_query = (
        sa.select(
            clocks.c.connection,
            clocks.c.ticket_id,
            clocks.c.metric,
            clocks.c.cycle,
            clocks.c.state,
            clocks.c.started_at,
            clocks.c.stopped_at,
            clocks.c.target,
            clocks.c.elapsed,
            clocks.c.breached_at,
            clocks.c.policy_version,
            clocks.c.evaluated_at,
        )
        .where(in_period)
        .order_by(clocks.c.connection, clocks.c.ticket_id, clocks.c.metric, clocks.c.cycle)
    )
    with store.reading() as db:
        ticket_rows = db.execute(ticket_query).all()
        clock_rows = db.execute(clock_query).all()
    stored_tickets = [
        StoredTicket(
            ticket=codec.decode_ticket(row.data),
            tier=row.tier,
            severity=row.severity,
            evaluated_version=row.evaluated_version,
        )
        for row in ticket_rows
    ]
    stored_clocks = [
        StoredClock(
            ticket_key=ticket_key(row.connection, row.ticket_id),
            metric=Metric(row.metric),
            cycle=row.cycle,
            state=ClockState(row.state),
            started_at=row.started_at,
            stopped_at=row.stopped_at,
            target=row.target,
            elapsed=row.elapsed,
            breached_at=row.breached_at,
            policy_version=row.policy_version,
            evaluated_at=row.evaluated_at,
        )
        for row in clock_rows
    ]
    return stored_tickets, stored_clocks
