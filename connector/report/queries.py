"""Read-only selects for the SLA report: the clocks and tickets of a period, as typed rows.

Decided cycles come from the settled outcomes (the record: what was decided stays as decided, with
the tier and severity it was decided under); cycles still open come from the clock rows of each
ticket's last evaluation. Nothing is re-evaluated here. A breach that is not settled yet (the
helpdesk has not been read since the breach instant) counts as in progress.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from connector.domain.model import Ticket
from connector.domain.policy import Metric
from connector.domain.results import ClockState
from connector.store import codec
from connector.store.record import StoredOutcome, outcomes_started
from connector.store.repository import Store, ticket_key
from connector.store.tables import clocks, outcomes, tickets


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
    evaluated_at: datetime  # when the outcome was settled, for a decided cycle
    tier: str | None = None  # a decided cycle's tier and severity when it was decided
    severity: str | None = None
    # a decided cycle's group and assignee when it was decided (None: unassigned or not recorded)
    group_id: str | None = None
    assignee_id: str | None = None

    @property
    def settled(self) -> bool:
        return self.tier is not None


def read_period(store: Store, start: datetime, end: datetime) -> tuple[list[StoredTicket], list[StoredClock]]:
    """Clocks whose cycle started in [start, end), and the tickets created in [start, end) or owning
    one of those clocks; read in one transaction so both come from the same state of the store."""
    in_period = sa.and_(clocks.c.started_at >= start, clocks.c.started_at < end)
    settled_in_period = sa.and_(outcomes.c.started_at >= start, outcomes.c.started_at < end)
    owners = sa.union(
        sa.select(clocks.c.connection, clocks.c.ticket_id).where(in_period),
        sa.select(outcomes.c.connection, outcomes.c.ticket_id).where(settled_in_period),
    ).subquery()
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
                sa.tuple_(tickets.c.connection, tickets.c.ticket_id).in_(
                    sa.select(owners.c.connection, owners.c.ticket_id)
                ),
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
        settled = outcomes_started(db, start, end)
    stored_tickets = [
        StoredTicket(
            ticket=codec.decode_ticket(row.data),
            tier=row.tier,
            severity=row.severity,
            evaluated_version=row.evaluated_version,
        )
        for row in ticket_rows
    ]
    decided = {(s.connection, s.ticket_id, s.outcome.metric.value, s.outcome.started_at): s for s in settled}
    stored_clocks: list[StoredClock] = []
    for row in clock_rows:
        found = decided.pop((row.connection, row.ticket_id, row.metric, row.started_at), None)
        if found is not None:
            # the decision from the record; how long the cycle ran from the latest measurement
            stored_clocks.append(_decided_clock(found, row.stopped_at, row.elapsed))
            continue
        state = ClockState(row.state)
        stored_clocks.append(
            StoredClock(
                ticket_key=ticket_key(row.connection, row.ticket_id),
                metric=Metric(row.metric),
                cycle=row.cycle,
                # decided but not settled: the view predates the breach, so not a fact yet
                state=ClockState.RUNNING if state in (ClockState.MET, ClockState.BREACHED) else state,
                started_at=row.started_at,
                stopped_at=row.stopped_at,
                target=row.target,
                elapsed=row.elapsed,
                breached_at=None,
                policy_version=row.policy_version,
                evaluated_at=row.evaluated_at,
            )
        )
    stored_clocks += [_decided_clock(s, s.outcome.stopped_at, s.outcome.elapsed) for s in decided.values()]
    stored_clocks.sort(key=lambda c: (c.ticket_key, c.metric.value, c.started_at))
    return stored_tickets, stored_clocks


def _decided_clock(stored: StoredOutcome, stopped_at: datetime | None, elapsed: timedelta) -> StoredClock:
    outcome = stored.outcome
    return StoredClock(
        ticket_key=ticket_key(stored.connection, stored.ticket_id),
        metric=outcome.metric,
        cycle=outcome.cycle,
        state=outcome.state,
        started_at=outcome.started_at,
        stopped_at=outcome.stopped_at if outcome.state is ClockState.MET else stopped_at,
        target=outcome.target,
        elapsed=outcome.elapsed if outcome.state is ClockState.MET else elapsed,
        breached_at=outcome.breached_at,
        policy_version=outcome.policy_version,
        evaluated_at=stored.settled_at,
        tier=outcome.tier,
        severity=outcome.severity,
        group_id=outcome.group_id,
        assignee_id=outcome.assignee_id,
    )


@dataclass(frozen=True, slots=True)
class OpenClock:
    """A clock cycle still running (or paused) on an open ticket, as of its last evaluation."""

    ticket: StoredTicket
    metric: Metric
    cycle: int
    state: ClockState  # RUNNING, PAUSED or BREACHED (past target, not stopped)
    started_at: datetime
    target: timedelta
    elapsed: timedelta
    due_at: datetime | None
    evaluated_at: datetime


def read_open_clocks(store: Store) -> list[OpenClock]:
    """The unstopped clock cycles of every open ticket, with their tickets, in one transaction."""
    query = (
        sa.select(
            tickets.c.data,
            tickets.c.tier,
            tickets.c.severity,
            tickets.c.evaluated_version,
            clocks.c.metric,
            clocks.c.cycle,
            clocks.c.state,
            clocks.c.started_at,
            clocks.c.target,
            clocks.c.elapsed,
            clocks.c.due_at,
            clocks.c.evaluated_at,
        )
        .join(
            clocks,
            sa.and_(clocks.c.connection == tickets.c.connection, clocks.c.ticket_id == tickets.c.ticket_id),
        )
        .where(tickets.c.is_open == sa.true(), clocks.c.stopped_at.is_(None))
        .order_by(tickets.c.connection, tickets.c.ticket_id, clocks.c.metric, clocks.c.cycle)
    )
    with store.reading() as db:
        rows = db.execute(query).all()
    decoded: dict[str, StoredTicket] = {}
    found: list[OpenClock] = []
    for row in rows:
        ticket = codec.decode_ticket(row.data)
        owner = decoded.setdefault(
            ticket.key, StoredTicket(ticket, row.tier, row.severity, row.evaluated_version)
        )
        found.append(
            OpenClock(
                ticket=owner,
                metric=Metric(row.metric),
                cycle=row.cycle,
                state=ClockState(row.state),
                started_at=row.started_at,
                target=row.target,
                elapsed=row.elapsed,
                due_at=row.due_at,
                evaluated_at=row.evaluated_at,
            )
        )
    return found


def read_decided(store: Store, start: datetime, end: datetime) -> list[tuple[datetime, Metric, ClockState]]:
    """(start, metric, MET or BREACHED) of every settled cycle that started in [start, end): the
    decided cycles `read_period` counts, without reading tickets (the monthly trend)."""
    query = sa.select(outcomes.c.started_at, outcomes.c.metric, outcomes.c.state).where(
        outcomes.c.started_at >= start, outcomes.c.started_at < end
    )
    with store.reading() as db:
        rows = db.execute(query).all()
    return [(row.started_at, Metric(row.metric), ClockState(row.state)) for row in rows]
