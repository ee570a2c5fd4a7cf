"""A ticket's history as the engine needs it: status segments and the replies that drive clocks."""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from connector.domain.model import Event, EventKind, Status, Ticket


@dataclass(frozen=True, slots=True)
class Segment:
    start: datetime
    end: datetime  # exclusive; the last segment ends at `now`
    status: Status


@dataclass(frozen=True, slots=True)
class Timeline:
    """Everything up to `now`: status segments covering [created_at, now], sorted reply instants."""

    created_at: datetime
    now: datetime
    segments: tuple[Segment, ...]
    agent_replies: tuple[datetime, ...]
    customer_comments: tuple[datetime, ...]
    solves: tuple[datetime, ...]  # instants the ticket entered solved/closed
    reopens: tuple[datetime, ...]  # instants it left solved/closed
    priority_changes: tuple[Event, ...]

    def status_at(self, at: datetime) -> Status:
        starts = [s.start for s in self.segments]
        index = max(bisect.bisect_right(starts, at) - 1, 0)
        return self.segments[index].status

    def done_at(self, at: datetime) -> bool:
        return self.status_at(at).is_done

    def next_solve(self, after: datetime) -> datetime | None:
        """First instant >= `after` at which the ticket is solved (or `after` itself if done then)."""
        if self.done_at(after):
            return after
        index = bisect.bisect_left(self.solves, after)
        return self.solves[index] if index < len(self.solves) else None

    def first_after(
        self, instants: Sequence[datetime], after: datetime, *, inclusive: bool = False
    ) -> datetime | None:
        index = bisect.bisect_left(instants, after) if inclusive else bisect.bisect_right(instants, after)
        return instants[index] if index < len(instants) else None


def _new_status(event: Event) -> Status | None:
    if event.kind is EventKind.STATUS_CHANGE:
        return event.status
    if event.kind is EventKind.SOLVED:
        return event.status or Status.SOLVED
    if event.kind is EventKind.REOPENED:
        return event.status or Status.OPEN
    return None


def build_timeline(ticket: Ticket, events: Iterable[Event], now: datetime) -> Timeline:
    """Order the events (by instant, then id) and fold them into segments; events after `now` are
    ignored so a replay with an earlier `now` sees the ticket as it was."""
    ordered = sorted((e for e in events if e.at <= now), key=lambda e: (e.at, e.id))
    created = min(ticket.created_at, now)
    status = Status.NEW
    changes: list[tuple[datetime, Status]] = []
    agent: list[datetime] = []
    customer: list[datetime] = []
    priority: list[Event] = []
    for event in ordered:
        new = _new_status(event)
        if new is not None:
            changes.append((max(event.at, created), new))
        elif event.kind is EventKind.PUBLIC_AGENT_REPLY and not event.by_tierdesk:
            agent.append(event.at)
        elif event.kind is EventKind.PUBLIC_CUSTOMER_COMMENT:
            customer.append(event.at)
        elif event.kind is EventKind.PRIORITY_CHANGE:
            priority.append(event)
    # A status the helpdesk shows but no event explains (an export gap) took effect at the last update.
    last = changes[-1][1] if changes else status
    if ticket.status != last and ticket.updated_at <= now:
        changes.append((max(ticket.updated_at, created), ticket.status))
    segments: list[Segment] = []
    solves: list[datetime] = []
    reopens: list[datetime] = []
    cursor = created
    for at, new in changes:
        if new == status:
            continue
        if at > cursor:
            segments.append(Segment(cursor, at, status))
            cursor = at
        if new.is_done and not status.is_done:
            solves.append(at)
        elif status.is_done and not new.is_done:
            reopens.append(at)
        status = new
    segments.append(Segment(cursor, max(now, cursor), status))
    return Timeline(
        created_at=created,
        now=now,
        segments=tuple(segments),
        agent_replies=tuple(agent),
        customer_comments=tuple(customer),
        solves=tuple(solves),
        reopens=tuple(reopens),
        priority_changes=tuple(priority),
    )
