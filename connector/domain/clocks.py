"""SLA clocks as a pure function of (timeline, tier, severity, calendar, now).

Each metric yields cycles (start, stop). Within a cycle only *counting* time is measured: the
ticket's status must not be one of the metric's pause statuses (nor solved, for a resolution clock
that resumed after a reopen), and the calendar must be open. Targets apply from the cycle's start
whatever the tier or severity were earlier (retroactive start: elapsed time carries over).

The engine computes on a :class:`~connector.domain.timeline.History` in integer microseconds:
:func:`cycle_bounds`, :func:`measure_us` (the counting intervals of a cycle and their business
time) and :func:`clock_record` (state, due instant, crossed thresholds, next deadline). Only the
instants a result needs are computed: a threshold's when it was crossed, and for a running clock
only its next one. :func:`cycles_for`, :func:`measure` and :func:`to_clock` are the same
computation for a datetime :class:`Timeline`.
"""

from __future__ import annotations

import bisect
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Final

from connector.domain.calendar import BusinessCalendar
from connector.domain.model import Status
from connector.domain.policy import Metric, MetricSettings, ReopenMode, Threshold
from connector.domain.results import ClockState, Crossing, SlaClock, Span, new_clock, new_crossing, new_span
from connector.domain.timeline import AGENT, CUSTOMER, DONE, REOPEN, SOLVE, History, Timeline, to_us

ZERO = timedelta(0)
_ONE_US: Final = timedelta(microseconds=1)

Bounds = tuple[int, int | None]
"""A cycle as (start, stop) in microseconds; stop None = not stopped by `now`."""

# ----------------------------------------------------------------------------------- cycles


def first_response_bounds(h: History) -> list[Bounds]:
    created = h.created
    replies = h.agent
    index = bisect.bisect_left(replies, created)
    stop = replies[index] if index < len(replies) else None
    if h.done_at(created):
        solve: int | None = created
    else:
        index = bisect.bisect_left(h.solves, created)
        solve = h.solves[index] if index < len(h.solves) else None
    if solve is not None and (stop is None or solve < stop):
        stop = solve
    return [(created, stop)]


def next_response_bounds(h: History) -> list[Bounds]:
    """A cycle starts at the oldest customer comment not yet answered, once the ticket has had its
    first response (a public agent reply, or a solve); the next public agent reply or solve stops it."""
    cycles: list[Bounds] = []
    answered = False
    active: int | None = None
    for at, kind in h.stream:
        if kind == CUSTOMER:
            if answered and active is None and not h.done_at(at):
                active = at
            continue
        if kind == REOPEN:
            continue
        if active is not None and at >= active:
            if at > active:
                cycles.append((active, at))
            active = None
        answered = True
    if active is not None:
        cycles.append((active, None))
    return cycles


def periodic_update_bounds(h: History) -> list[Bounds]:
    """Between consecutive public agent updates while the ticket is open: a cycle starts at each
    agent reply (and at each reopen) and stops at the next agent reply or solve."""
    cycles: list[Bounds] = []
    active: int | None = None
    for at, kind in h.stream:
        if kind == CUSTOMER:
            continue
        if kind == REOPEN:
            if active is None:
                active = at
            continue
        if active is not None and at > active:
            cycles.append((active, at))
        active = at if kind == AGENT and not h.done_at(at) else None
    if active is not None:
        cycles.append((active, None))
    return cycles


def resolution_bounds(h: History, mode: ReopenMode) -> list[Bounds]:
    if mode is ReopenMode.RESUME:
        return [(h.created, h.solves[-1] if h.solves and h.done_at(h.now) else None)]
    cycles: list[Bounds] = []
    start: int | None = h.created
    for at, kind in h.stream:
        if kind == SOLVE and start is not None:
            cycles.append((start, at))
            start = None
        elif kind == REOPEN and start is None:
            start = at
    if start is not None:
        cycles.append((start, None))
    return cycles


def cycle_bounds(metric: Metric, h: History, on_reopen: ReopenMode) -> list[Bounds]:
    if metric is Metric.FIRST_RESPONSE:
        return first_response_bounds(h)
    if metric is Metric.NEXT_RESPONSE:
        return next_response_bounds(h)
    if metric is Metric.PERIODIC_UPDATE:
        return periodic_update_bounds(h)
    return resolution_bounds(h, on_reopen)


# --------------------------------------------------------------------------------- measuring

Interval = tuple[int, int]

Measure = tuple[list[Interval], list[int], int, list[Interval], bool]
"""A cycle measured against the calendar, in microseconds: (counting intervals, business time
before each, elapsed business time, paused pieces, counting at `now`)."""


def measure_us(
    h: History, start: int, stop: int | None, calendar: BusinessCalendar, noncounting: frozenset[Status]
) -> Measure:
    """Measure the cycle [start, stop or now) of `h`; `noncounting` are the statuses that stop
    the count (the metric's pause statuses and solved/closed)."""
    end = stop if stop is not None else h.now
    starts, ends, statuses = h.starts, h.ends, h.statuses
    i = bisect_right(ends, start)  # the first segment ending after `start`
    n = len(starts)
    if i < n and starts[i] <= start < end <= ends[i]:
        # Most cycles lie within one status segment: one piece, counting or paused.
        if statuses[i] in noncounting:
            return [], [], 0, [(start, end)], False
        return [(start, end)], [0], calendar.elapsed_us(start, end), [], stop is None
    counting: list[Interval] = []
    paused: list[Interval] = []
    counts = False
    while i < n:
        a = starts[i]
        if a >= end:
            break
        a = max(a, start)
        b = ends[i] if ends[i] < end else end
        if b > a:
            counts = statuses[i] not in noncounting
            bucket = counting if counts else paused
            if bucket and bucket[-1][1] == a:  # adjacent pieces (e.g. new -> open) merge
                bucket[-1] = (bucket[-1][0], b)
            else:
                bucket.append((a, b))
        i += 1
    if end == start:  # an empty cycle: its state is the status at its start
        counts = h.status_at(end) not in noncounting
    cumulative: list[int] = []
    total = 0
    for a, b in counting:
        cumulative.append(total)
        total += calendar.elapsed_us(a, b)
    return counting, cumulative, total, paused, stop is None and counts


def reached(
    start: int, intervals: list[Interval], cumulative: list[int], offset: int, calendar: BusinessCalendar
) -> tuple[int, bool]:
    """When a cycle from `start` counted `offset` (<= its elapsed time): (instant, computed).

    `computed` is False when the instant is an interval's or the cycle's own start (an input
    instant), True when the calendar computed it.
    """
    if not intervals:
        return start, False  # offset <= 0: reached at the start
    index = bisect_right(cumulative, offset) - 1
    # walk back over intervals that add no business time so the instant is the earliest one
    while index > 0 and cumulative[index] == offset:
        index -= 1
    delta = offset - cumulative[index]
    if delta == 0:
        return intervals[index][0], False
    return calendar.add_us(intervals[index][0], delta), True


@dataclass(frozen=True, slots=True)
class Mark:
    """A threshold as a clock checks it: the business time from the cycle's start (µs and as a
    timedelta) for one target, and the escalation level it triggers, if any."""

    label: str
    offset: int
    offset_delta: timedelta
    is_breach: bool
    level: int | None
    threshold: Threshold | None = None  # kept so the mark can be moved onto another target


@dataclass(frozen=True, slots=True)
class ClockRule:
    """How one metric is clocked for one tier and severity, in microseconds."""

    metric: Metric
    target: timedelta
    target_us: int
    on_reopen: ReopenMode
    noncounting: frozenset[Status]  # pause statuses and solved/closed
    marks: tuple[Mark, ...]  # the thresholds, in order (crossings are reported in this order)
    # The marks' offsets when they come in ascending order (the usual case: percentages, then the
    # breach), so the reached ones are found by one bisection; () otherwise.
    ascending: tuple[int, ...] = field(init=False)

    def __post_init__(self) -> None:
        offsets = tuple(mark.offset for mark in self.marks)
        object.__setattr__(self, "ascending", offsets if list(offsets) == sorted(offsets) else ())


ClockRecord = tuple[SlaClock, tuple[Crossing, ...], list[int], int | None, int | None, int | None]
"""A clock with what the plan needs beside it: (clock, its crossings, each crossing's `at`, the
clock's `due_at` and `stopped_at`, the instant of its next future threshold), the instants in UTC
microseconds (the engine has them as integers; converting the datetimes back would cost more)."""

_BREACHED: Final = ClockState.BREACHED
_MET: Final = ClockState.MET
_RUNNING: Final = ClockState.RUNNING
_PAUSED: Final = ClockState.PAUSED


def clock_record(
    m: Measure,
    start: int,
    stop: int | None,
    index: int,
    rule: ClockRule,
    calendar: BusinessCalendar,
    calendar_name: str,
    instants: dict[int, datetime],
    now: int,
) -> ClockRecord:
    """The clock of a measured cycle with the thresholds it crossed and the instant of its next
    future threshold (running clocks only). `instants` maps input instants to their datetimes."""
    intervals, cumulative, elapsed, paused, running = m
    target = rule.target_us
    # a reply exactly at the due instant meets the target; a running clock at its due instant is late
    if stop is not None:
        state = _BREACHED if elapsed > target else _MET
    elif elapsed >= target:
        state = _BREACHED
    else:
        state = _RUNNING if running else _PAUSED
    # the breach instant: reached when breached, projected while running, unknown while paused
    due: int | None = None
    due_at = breached_at = None
    if state is _BREACHED:
        due, computed = reached(start, intervals, cumulative, target, calendar)
        due_at = breached_at = calendar.datetime_at(due) if computed else instants[due]
    elif state is _RUNNING:
        due = calendar.add_us(now, target - elapsed)
        due_at = calendar.datetime_at(due)

    metric = rule.metric
    clock = new_clock(
        metric,
        index,
        instants[start],
        None if stop is None else instants[stop],
        rule.target,
        _ONE_US * elapsed,
        paused_spans(paused, stop, running, instants) if paused else (),
        due_at,
        breached_at,
        state,
        calendar_name,
    )

    # Thresholds reached within the measured intervals (so at or before `now`), and the earliest
    # one not reached; only a running clock reaches it, at a projected future instant (the next
    # deadline; add() is monotonic in the offset, so the earliest offset gives the earliest instant).
    marks = rule.marks
    next_offset: int | None = None
    if rule.ascending:
        count = bisect_right(rule.ascending, elapsed)
        reached_marks: Sequence[Mark] = marks[:count]
        if running and count < len(marks):
            next_offset = rule.ascending[count]
    else:
        reached_marks = [mark for mark in marks if mark.offset <= elapsed]
        if running:
            next_offset = min((mark.offset for mark in marks if mark.offset > elapsed), default=None)
    crossings: list[Crossing] = []
    crossed_at: list[int] = []
    met_at = stop if state is _MET else None
    for mark in reached_marks:
        offset = mark.offset
        if offset == target and due is not None and due_at is not None:
            at, at_dt = due, due_at  # the breach instant, computed above
        else:
            if len(intervals) == 1:  # reached(), inlined for the usual single interval
                at = intervals[0][0]
                computed = offset != 0
                if computed:
                    at = calendar.add_us(at, offset)
            else:
                at, computed = reached(start, intervals, cumulative, offset, calendar)
            if met_at is not None and at >= met_at:
                continue  # met: thresholds from the stop on were never reached
            at_dt = calendar.datetime_at(at) if computed else instants[at]
        crossings.append(
            new_crossing(metric, index, mark.label, at_dt, mark.is_breach, mark.level, mark.offset_delta)
        )
        crossed_at.append(at)
    next_at = None
    if next_offset is not None:
        next_at = due if next_offset == target else calendar.add_us(now, next_offset - elapsed)
    return clock, tuple(crossings), crossed_at, due, stop, next_at


def paused_spans(
    paused: list[Interval], stop: int | None, running: bool, instants: dict[int, datetime]
) -> tuple[Span, ...]:
    """The paused pieces of a cycle as spans; the last one is open while paused at `now`."""
    spans = [new_span(instants[a], instants[b]) for a, b in paused]
    if spans and stop is None and not running:
        spans[-1] = new_span(spans[-1].start, None)
    return tuple(spans)


class Run:
    """One cycle measured against the calendar (:func:`measure_us`), kept by :class:`Measured`."""

    __slots__ = ("cumulative", "elapsed", "intervals", "paused", "running", "start", "stop")

    def __init__(self, start: int, stop: int | None, m: Measure) -> None:
        self.start = start
        self.stop = stop
        self.intervals, self.cumulative, self.elapsed, self.paused, self.running = m

    @property
    def measure(self) -> Measure:
        return self.intervals, self.cumulative, self.elapsed, self.paused, self.running

    def instant(self, offset: int, calendar: BusinessCalendar, now: int) -> tuple[int | None, bool, bool]:
        """When the counted business time reaches `offset`: (instant, projected, computed).

        Reached within the measured intervals -> (instant, False, ...). Not yet reached and the
        clock is running at `now` -> (projected future instant, True, True). Paused or stopped ->
        (None, False, False).
        """
        if offset <= self.elapsed:
            at, computed = reached(self.start, self.intervals, self.cumulative, offset, calendar)
            return at, False, computed
        if self.running:
            return calendar.add_us(now, offset - self.elapsed), True, True
        return None, False, False


# ------------------------------------------------------------------- the datetime interface


@dataclass(frozen=True, slots=True)
class Cycle:
    metric: Metric
    index: int
    start: datetime
    stop: datetime | None  # None = not stopped by `now`


def cycles_for(metric: Metric, tl: Timeline, settings: MetricSettings) -> list[Cycle]:
    h = History.of(tl)
    return [
        Cycle(metric, index, h.instants[start], None if stop is None else h.instants[stop])
        for index, (start, stop) in enumerate(cycle_bounds(metric, h, settings.on_reopen))
    ]


@dataclass(frozen=True, slots=True)
class Measured:
    """A cycle measured against the calendar: counting intervals with cumulative business time."""

    cycle: Cycle
    intervals: tuple[tuple[datetime, datetime], ...]
    cumulative: tuple[timedelta, ...]  # business time before each interval
    elapsed: timedelta
    paused_spans: tuple[Span, ...]
    running_at_now: bool  # not stopped and counting at `now` (not paused)
    run: Run
    instants: dict[int, datetime]

    def instant_of(
        self, offset: timedelta, calendar: BusinessCalendar, now: datetime
    ) -> tuple[datetime | None, bool]:
        """When the cycle's counted business time reaches `offset`: (instant, projected).

        Reached within the measured intervals -> (instant, False). Not yet reached and the clock is
        running at `now` -> (projected future instant, True). Paused or stopped -> (None, False).
        """
        at, projected, computed = self.run.instant(offset // _ONE_US, calendar, to_us(now))
        if at is None:
            return None, False
        return (calendar.datetime_at(at) if computed else self.instants[at]), projected


def measure(cycle: Cycle, tl: Timeline, calendar: BusinessCalendar, pause: frozenset[Status]) -> Measured:
    h = History.of(tl)
    start = to_us(cycle.start)
    stop = None if cycle.stop is None else to_us(cycle.stop)
    at = h.instants
    at.setdefault(start, cycle.start)
    if stop is not None and cycle.stop is not None:
        at.setdefault(stop, cycle.stop)
    r = Run(start, stop, measure_us(h, start, stop, calendar, pause | DONE))
    return Measured(
        cycle=cycle,
        intervals=tuple((at[a], at[b]) for a, b in r.intervals),
        cumulative=tuple(_ONE_US * c for c in r.cumulative),
        elapsed=_ONE_US * r.elapsed,
        paused_spans=paused_spans(r.paused, stop, r.running, at),
        running_at_now=r.running,
        run=r,
        instants=at,
    )


def to_clock(
    m: Measured,
    target: timedelta,
    calendar: BusinessCalendar,
    now: datetime,
    calendar_name: str | None = None,
) -> SlaClock:
    rule = ClockRule(m.cycle.metric, target, target // _ONE_US, ReopenMode.RESUME, frozenset(), ())
    r = m.run
    record = clock_record(
        r.measure,
        r.start,
        r.stop,
        m.cycle.index,
        rule,
        calendar,
        calendar_name or calendar.name or "",
        m.instants,
        to_us(now),
    )
    return record[0]


def threshold_instants(
    m: Measured, target: timedelta, thresholds: Sequence[Threshold], calendar: BusinessCalendar, now: datetime
) -> list[tuple[Threshold, datetime | None, bool]]:
    """For each threshold: (threshold, instant or None, projected)."""
    return [(th, *m.instant_of(th.offset(target), calendar, now)) for th in thresholds]
