"""SLA clocks as a pure function of (timeline, tier, severity, calendar, now).

Each metric yields cycles (start, stop). Within a cycle only *counting* time is measured: the
ticket's status must not be one of the metric's pause statuses (nor solved, for a resolution clock
that resumed after a reopen), and the calendar must be open. Targets apply from the cycle's start
whatever the tier or severity were earlier (retroactive start: elapsed time carries over).
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from connector.domain.calendar import BusinessCalendar
from connector.domain.model import Status
from connector.domain.policy import Metric, MetricSettings, ReopenMode, Threshold
from connector.domain.results import ClockState, SlaClock, Span
from connector.domain.timeline import Timeline

ZERO = timedelta(0)


@dataclass(frozen=True, slots=True)
class Cycle:
    metric: Metric
    index: int
    start: datetime
    stop: datetime | None  # None = not stopped by `now`


def _merge(*streams: tuple[str, Sequence[datetime]]) -> list[tuple[datetime, int, str]]:
    order = {name: rank for rank, (name, _) in enumerate(streams)}
    merged = [(at, order[name], name) for name, instants in streams for at in instants]
    merged.sort()
    return merged


def first_response_cycles(tl: Timeline) -> list[Cycle]:
    reply = tl.first_after(tl.agent_replies, tl.created_at, inclusive=True)
    solve = tl.next_solve(tl.created_at)
    stops = [s for s in (reply, solve) if s is not None]
    return [Cycle(Metric.FIRST_RESPONSE, 0, tl.created_at, min(stops) if stops else None)]


def next_response_cycles(tl: Timeline) -> list[Cycle]:
    """A cycle starts at the oldest customer comment not yet answered, once the ticket has had its
    first response (a public agent reply, or a solve); the next public agent reply or solve stops it."""
    cycles: list[Cycle] = []
    answered = False
    active: datetime | None = None
    for at, _, kind in _merge(
        ("customer", tl.customer_comments), ("agent", tl.agent_replies), ("solve", tl.solves)
    ):
        if kind == "customer":
            if answered and active is None and not tl.done_at(at):
                active = at
            continue
        if active is not None and at > active:
            cycles.append(Cycle(Metric.NEXT_RESPONSE, len(cycles), active, at))
        if active is not None and at >= active:
            active = None
        answered = True
    if active is not None:
        cycles.append(Cycle(Metric.NEXT_RESPONSE, len(cycles), active, None))
    return cycles


def periodic_update_cycles(tl: Timeline) -> list[Cycle]:
    """Between consecutive public agent updates while the ticket is open: a cycle starts at each
    agent reply (and at each reopen) and stops at the next agent reply or solve."""
    cycles: list[Cycle] = []
    active: datetime | None = None
    for at, _, kind in _merge(("agent", tl.agent_replies), ("solve", tl.solves), ("reopen", tl.reopens)):
        if kind == "reopen":
            if active is None:
                active = at
            continue
        if active is not None and at > active:
            cycles.append(Cycle(Metric.PERIODIC_UPDATE, len(cycles), active, at))
        active = at if kind == "agent" and not tl.done_at(at) else None
    if active is not None:
        cycles.append(Cycle(Metric.PERIODIC_UPDATE, len(cycles), active, None))
    return cycles


def resolution_cycles(tl: Timeline, mode: ReopenMode) -> list[Cycle]:
    if mode is ReopenMode.RESUME:
        stop = tl.solves[-1] if tl.solves and tl.done_at(tl.now) else None
        return [Cycle(Metric.RESOLUTION, 0, tl.created_at, stop)]
    cycles: list[Cycle] = []
    start: datetime | None = tl.created_at
    for at, _, kind in _merge(("solve", tl.solves), ("reopen", tl.reopens)):
        if kind == "solve" and start is not None:
            cycles.append(Cycle(Metric.RESOLUTION, len(cycles), start, at))
            start = None
        elif kind == "reopen" and start is None:
            start = at
    if start is not None:
        cycles.append(Cycle(Metric.RESOLUTION, len(cycles), start, None))
    return cycles


def cycles_for(metric: Metric, tl: Timeline, settings: MetricSettings) -> list[Cycle]:
    if metric is Metric.FIRST_RESPONSE:
        return first_response_cycles(tl)
    if metric is Metric.NEXT_RESPONSE:
        return next_response_cycles(tl)
    if metric is Metric.PERIODIC_UPDATE:
        return periodic_update_cycles(tl)
    return resolution_cycles(tl, settings.on_reopen)


@dataclass(frozen=True, slots=True)
class Measured:
    """A cycle measured against the calendar: counting intervals with cumulative business time."""

    cycle: Cycle
    intervals: tuple[tuple[datetime, datetime], ...]
    cumulative: tuple[timedelta, ...]  # business time before each interval
    elapsed: timedelta
    paused_spans: tuple[Span, ...]
    running_at_now: bool  # not stopped and counting at `now` (not paused)

    def instant_of(
        self, offset: timedelta, calendar: BusinessCalendar, now: datetime
    ) -> tuple[datetime | None, bool]:
        """When the cycle's counted business time reaches `offset`: (instant, projected).

        Reached within the measured intervals -> (instant, False). Not yet reached and the clock is
        running at `now` -> (projected future instant, True). Paused or stopped -> (None, False).
        """
        if offset <= self.elapsed and self.intervals:
            index = bisect.bisect_right(self.cumulative, offset) - 1
            # walk back over intervals that add no business time so the instant is the earliest one
            while index > 0 and self.cumulative[index] == offset:
                index -= 1
            start = self.intervals[index][0]
            return calendar.add(start, offset - self.cumulative[index]), False
        if offset <= ZERO:
            return self.cycle.start, False
        if self.running_at_now:
            return calendar.add(now, offset - self.elapsed), True
        return None, False


def _counting_intervals(
    tl: Timeline, start: datetime, end: datetime, pause: frozenset[Status]
) -> Iterator[tuple[datetime, datetime, bool]]:
    """Pieces of [start, end) with whether each counts (status not paused and not done)."""
    for seg in tl.segments:
        if seg.end <= start and seg.end != seg.start:
            continue
        if seg.start >= end:
            break
        a = max(seg.start, start)
        b = min(seg.end, end)
        if b > a:
            yield a, b, not (seg.status in pause or seg.status.is_done)


def measure(cycle: Cycle, tl: Timeline, calendar: BusinessCalendar, pause: frozenset[Status]) -> Measured:
    end = cycle.stop if cycle.stop is not None else tl.now
    counting: list[tuple[datetime, datetime]] = []
    paused: list[tuple[datetime, datetime]] = []
    last_counts = False
    for a, b, counts in _counting_intervals(tl, cycle.start, end, pause):
        last_counts = counts
        bucket = counting if counts else paused
        if bucket and bucket[-1][1] == a:  # adjacent pieces (e.g. new -> open) merge
            bucket[-1] = (bucket[-1][0], b)
        else:
            bucket.append((a, b))
    if end == cycle.start:  # an empty cycle: its state is the status at its start
        status = tl.status_at(end)
        last_counts = not (status in pause or status.is_done)
    cumulative: list[timedelta] = []
    total = ZERO
    for a, b in counting:
        cumulative.append(total)
        total += calendar.elapsed(a, b)
    running = cycle.stop is None and last_counts
    spans = [Span(a, b) for a, b in paused]
    if cycle.stop is None and not running and spans:
        spans[-1] = Span(spans[-1].start, None)
    return Measured(cycle, tuple(counting), tuple(cumulative), total, tuple(spans), running)


def to_clock(
    m: Measured, target: timedelta, calendar: BusinessCalendar, now: datetime, calendar_name: str | None = None
) -> SlaClock:
    breach_at, projected = m.instant_of(target, calendar, now)
    stopped = m.cycle.stop is not None
    # a reply exactly at the due instant meets the target; a running clock at its due instant is late
    breached = m.elapsed > target if stopped else m.elapsed >= target
    if breached:
        state = ClockState.BREACHED
    elif stopped:
        state = ClockState.MET
    elif m.running_at_now:
        state = ClockState.RUNNING
    else:
        state = ClockState.PAUSED
    return SlaClock(
        metric=m.cycle.metric,
        cycle=m.cycle.index,
        started_at=m.cycle.start,
        stopped_at=m.cycle.stop,
        target=target,
        elapsed=m.elapsed,
        paused_spans=m.paused_spans,
        due_at=None if state is ClockState.MET else breach_at,
        breached_at=breach_at if breached and not projected else None,
        state=state,
        calendar=calendar_name or calendar.name or "",
    )


def threshold_instants(
    m: Measured, target: timedelta, thresholds: Sequence[Threshold], calendar: BusinessCalendar, now: datetime
) -> list[tuple[Threshold, datetime | None, bool]]:
    """For each threshold: (threshold, instant or None, projected)."""
    return [(th, *m.instant_of(th.offset(target), calendar, now)) for th in thresholds]
