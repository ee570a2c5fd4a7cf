"""A ticket's history as the engine needs it: status segments and the replies that drive clocks.

The engine reads a ticket's history as a :class:`History`, whose instants are integer UTC
microseconds since the epoch: comparing and subtracting ints is an order of magnitude cheaper than
doing the same with aware datetimes (a comparison across two tzinfo objects calls ``utcoffset`` on
both), and one evaluation compares instants a few hundred times. Each instant keeps the datetime it
came from, so results still carry the caller's own datetimes. :class:`Timeline` is the same history
in datetimes, for callers that want to read it (:func:`build_timeline`).
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

from connector.domain.model import Event, EventKind, Status, Ticket

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_US: Final = timedelta(microseconds=1)

DONE: Final = frozenset({Status.SOLVED, Status.CLOSED})
"""Statuses whose `is_done` holds, as a set: a membership test is cheaper than the property."""

# Ranks of the instants merged in `History.stream`: at one instant a customer comment comes before
# an agent reply, which comes before a solve, which comes before a reopen.
CUSTOMER: Final = 0
AGENT: Final = 1
SOLVE: Final = 2
REOPEN: Final = 3


def to_us(at: datetime) -> int:
    """UTC microseconds since the epoch of an aware datetime (TypeError if naive)."""
    return (at - _EPOCH) // _ONE_US


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


class History:
    """A :class:`Timeline` in integer microseconds: what the engine computes clocks from.

    Segment ``i`` covers ``[starts[i], ends[i])`` with ``statuses[i]``; they cover
    ``[created, now]`` and the last one ends at ``now``. ``stream`` merges every reply, comment,
    solve and reopen as ``(instant, rank)`` in time order. ``instants`` maps each instant back to
    the datetime it came from.
    """

    __slots__ = (
        "agent",
        "created",
        "customer",
        "ends",
        "instants",
        "now",
        "priority_changes",
        "reopens",
        "solves",
        "starts",
        "statuses",
        "stream",
    )

    def __init__(
        self,
        created: int,
        now: int,
        starts: list[int],
        ends: list[int],
        statuses: list[Status],
        agent: list[int],
        customer: list[int],
        solves: list[int],
        reopens: list[int],
        priority_changes: tuple[Event, ...],
        instants: dict[int, datetime],
        stream: list[tuple[int, int]] | None = None,
    ) -> None:
        self.created = created
        self.now = now
        self.starts = starts
        self.ends = ends
        self.statuses = statuses
        self.agent = agent
        self.customer = customer
        self.solves = solves
        self.reopens = reopens
        self.priority_changes = priority_changes
        self.instants = instants
        if stream is None:  # else: the replies and comments, in order
            stream = [(at, CUSTOMER) for at in customer]
            stream += [(at, AGENT) for at in agent]
        if solves:
            stream += [(at, SOLVE) for at in solves]
            stream += [(at, REOPEN) for at in reopens]
        stream.sort()  # usually sorted already but for the solves: close to linear
        self.stream = stream

    def status_at(self, at: int) -> Status:
        return self.statuses[max(bisect.bisect_right(self.starts, at) - 1, 0)]

    def done_at(self, at: int) -> bool:
        return self.statuses[max(bisect.bisect_right(self.starts, at) - 1, 0)] in DONE

    def timeline(self) -> Timeline:
        """The same history in datetimes."""
        at = self.instants
        return Timeline(
            created_at=at[self.created],
            now=at[self.now],
            segments=tuple(
                Segment(at[start], at[end], status)
                for start, end, status in zip(self.starts, self.ends, self.statuses, strict=True)
            ),
            agent_replies=tuple(at[t] for t in self.agent),
            customer_comments=tuple(at[t] for t in self.customer),
            solves=tuple(at[t] for t in self.solves),
            reopens=tuple(at[t] for t in self.reopens),
            priority_changes=self.priority_changes,
        )

    @classmethod
    def of(cls, tl: Timeline) -> History:
        """A timeline's history in integer microseconds (the inverse of :meth:`timeline`)."""
        instants: dict[int, datetime] = {}

        def us(at: datetime) -> int:
            value = to_us(at)
            instants.setdefault(value, at)
            return value

        return cls(
            created=us(tl.created_at),
            now=us(tl.now),
            starts=[us(s.start) for s in tl.segments],
            ends=[us(s.end) for s in tl.segments],
            statuses=[s.status for s in tl.segments],
            agent=[us(at) for at in tl.agent_replies],
            customer=[us(at) for at in tl.customer_comments],
            solves=[us(at) for at in tl.solves],
            reopens=[us(at) for at in tl.reopens],
            priority_changes=tl.priority_changes,
            instants=instants,
        )


_AGENT_REPLY: Final = EventKind.PUBLIC_AGENT_REPLY
_CUSTOMER_COMMENT: Final = EventKind.PUBLIC_CUSTOMER_COMMENT
_PRIORITY_CHANGE: Final = EventKind.PRIORITY_CHANGE
_STATUS_CHANGE: Final = EventKind.STATUS_CHANGE
_SOLVED: Final = EventKind.SOLVED
_REOPENED: Final = EventKind.REOPENED
# Kinds that change nothing the clocks or the plan read (creation is `ticket.created_at`).
_IGNORED: Final = frozenset({EventKind.CREATED, EventKind.INTERNAL_NOTE, EventKind.FIELD_CHANGE})
_CREATED: Final = EventKind.CREATED


def _order(event: Event) -> tuple[datetime, str]:
    return event.at, event.id


class _Unsorted(Exception):
    """The events did not come in (instant, id) order."""


def history(
    ticket: Ticket, events: Iterable[Event], now: datetime, opening_is_reply: bool = False
) -> History:
    """Order the events (by instant, then id) and fold them into segments; events after `now` are
    ignored so a replay with an earlier `now` sees the ticket as it was.

    An agent's public opening comment (a ticket an agent logged, such as a phone call) is not a
    reply unless `opening_is_reply`: as Zendesk's first reply time, the agent's next public reply
    answers first response. Events that do not say whether they opened the ticket (stored before
    tierdesk recorded it) count as opening when they are at or before the creation instant."""
    # Helpdesks export events in order: one pass folds them while checking the order, and only
    # events that come unsorted pay for sorting (and a second pass).
    events = events if isinstance(events, list | tuple) else list(events)  # iterated twice if unsorted
    try:
        return _fold(ticket, events, now, opening_is_reply, check_order=True)
    except _Unsorted:
        return _fold(ticket, sorted(events, key=_order), now, opening_is_reply, check_order=False)


def _fold(
    ticket: Ticket, events: Iterable[Event], now: datetime, opening_is_reply: bool, *, check_order: bool
) -> History:
    epoch, one_us = _EPOCH, _ONE_US
    now_us = (now - epoch) // one_us
    created_at = ticket.created_at
    created = (created_at - epoch) // one_us
    if created > now_us:
        created, created_at = now_us, now
    instants = {now_us: now, created: created_at}

    agent: list[int] = []
    customer: list[int] = []
    priority: list[Event] = []
    starts: list[int] = []
    ends: list[int] = []
    statuses: list[Status] = []
    solves: list[int] = []
    reopens: list[int] = []
    stream: list[tuple[int, int]] = []
    status = Status.NEW
    cursor = created  # start of the current status segment
    last_at = -1 << 62
    last_id = ""
    last_human = created  # the latest instant something not done by tierdesk happened
    for event in events:
        kind = event.kind
        if kind is _CREATED and event.status is not None and status is Status.NEW and not statuses:
            # the status the ticket was created with (e.g. submitted as pending): no change event
            status = event.status
            if status.is_done:
                solves.append(created)
            continue
        at = (event.at - epoch) // one_us
        if event.by_tierdesk:
            if kind in _IGNORED or kind is _AGENT_REPLY:
                continue
        else:
            if last_human < at <= now_us:
                last_human = at
            if kind in _IGNORED:
                continue
        if at > now_us:
            continue
        if check_order:
            if at < last_at or (at == last_at and event.id < last_id):
                raise _Unsorted
            last_at, last_id = at, event.id
        if kind is _AGENT_REPLY:
            if not opening_is_reply:
                opening = event.opening
                if opening or (opening is None and at <= created):
                    continue
            agent.append(at)
            stream.append((at, AGENT))
            instants.setdefault(at, event.at)
            continue
        if kind is _CUSTOMER_COMMENT:
            customer.append(at)
            stream.append((at, CUSTOMER))
            instants.setdefault(at, event.at)
            continue
        if kind is _PRIORITY_CHANGE:
            priority.append(event)
            continue
        if kind is _STATUS_CHANGE:
            new = event.status
            if new is None:
                continue
        elif kind is _SOLVED:
            new = event.status or Status.SOLVED
        elif kind is _REOPENED:
            new = event.status or Status.OPEN
        else:
            continue
        if new == status:
            continue
        if at < created:
            at = created  # a change recorded before creation took effect at creation
        else:
            instants.setdefault(at, event.at)
        cursor = _change(at, status, new, cursor, starts, ends, statuses, solves, reopens)
        status = new
    # A status the helpdesk shows but no event explains (an export gap) is dated at the last thing
    # a person or the helpdesk did, not at `updated_at`: tierdesk's own writes move `updated_at`,
    # and must never move the clocks they report.
    if ticket.status != status and (ticket.updated_at - epoch) // one_us <= now_us:
        updated = max(last_human, cursor)
        instants.setdefault(updated, epoch + timedelta(microseconds=updated))
        cursor = _change(updated, status, ticket.status, cursor, starts, ends, statuses, solves, reopens)
        status = ticket.status
    starts.append(cursor)
    ends.append(now_us if now_us > cursor else cursor)
    statuses.append(status)
    return History(
        created,
        now_us,
        starts,
        ends,
        statuses,
        agent,
        customer,
        solves,
        reopens,
        tuple(priority),
        instants,
        stream,
    )


def _change(
    at: int,
    old: Status,
    new: Status,
    cursor: int,
    starts: list[int],
    ends: list[int],
    statuses: list[Status],
    solves: list[int],
    reopens: list[int],
) -> int:
    """Close the segment of `old` at `at` (unless empty) and record a solve or reopen; returns the
    start of the next segment."""
    if at > cursor:
        starts.append(cursor)
        ends.append(at)
        statuses.append(old)
        cursor = at
    if new in DONE:
        if old not in DONE:
            solves.append(at)
    elif old in DONE:
        reopens.append(at)
    return cursor


def build_timeline(
    ticket: Ticket, events: Iterable[Event], now: datetime, opening_is_reply: bool = False
) -> Timeline:
    """:func:`history` in datetimes."""
    return history(ticket, events, now, opening_is_reply).timeline()
