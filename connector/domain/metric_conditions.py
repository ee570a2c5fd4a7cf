"""Per-ticket clock conditions: a target read from a ticket field, manual exemptions and pauses.

Both read a tag or field *over time* (the ticket's FIELD_CHANGE events), so a replay as of an
earlier instant sees the value in force then, and a cycle is judged by the value in force while it
ran: a field or tag changed after a cycle was decided does not reopen it (the trust rule).

- **Target from a field**: a running cycle uses the value in force at `now` (an edit moves its
  due), a stopped one the value in force at its stop. An empty or invalid value falls back to the
  configured target.
- **Pause**: the cycle does not count while the condition holds (subtracted from its counting
  intervals, reported as paused spans).
- **Exempt**: a cycle during which the condition held at any instant before it was decided (its
  stop, or its breach) is not measured; a cycle met or breached before the condition appeared
  keeps its outcome.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from connector.domain.calendar import BusinessCalendar
from connector.domain.clocks import Interval, Measure
from connector.domain.model import TAGS_FIELD, Event, EventKind, Ticket
from connector.domain.policy import ManualCondition, ManualEffect, Metric, TargetFrom, TargetKind, Tier
from connector.domain.timeline import to_us

Steps = list[tuple[int, str]]
"""A value over time: (from instant in µs, value), oldest first."""

_HOURS = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*h?\s*$", re.IGNORECASE)


def value_steps(ticket: Ticket, events: Iterable[Event], names: frozenset[str], now_us: int) -> Steps:
    """The value of the field named any of `names` (or the tags, `tags`) from the ticket's creation
    to `now`. Before its first recorded change it had that change's `previous` (empty when the
    helpdesk did not say); a field never changed has its current value throughout. Changes after
    `now` are not seen."""
    every = sorted(
        (e for e in events if e.kind is EventKind.FIELD_CHANGE and e.field in names),
        key=lambda e: (e.at, e.id),
    )
    created = to_us(ticket.created_at)
    if not every:
        return [(created, _current(ticket, names))]
    # a replay before the first change sees the value that change replaced
    steps: Steps = [(created, every[0].previous or "")]
    for change in (e for e in every if to_us(e.at) <= now_us):
        at = max(to_us(change.at), created)
        if steps[-1][0] == at:
            steps[-1] = (at, change.value or "")
        else:
            steps.append((at, change.value or ""))
    return steps


def _current(ticket: Ticket, names: frozenset[str]) -> str:
    if TAGS_FIELD in names:
        return ",".join(sorted(ticket.tags))
    for name in names:
        value = ticket.fields.get(name)
        if value is not None:
            return value
    return ""


def value_at(steps: Steps, at: int) -> str:
    index = bisect_right([start for start, _ in steps], at) - 1
    return steps[max(index, 0)][1]


def _parts(value: str) -> set[str]:
    return {part.strip().casefold() for part in value.split(",") if part.strip()}


def condition_holds(condition: ManualCondition, value: str) -> bool:
    """Whether the tag is among the tags `value`, or the field `value` is one of the values."""
    parts = _parts(value)
    if condition.tag is not None:
        return condition.tag.casefold() in parts
    return bool(parts & {v.casefold() for v in condition.values})


def held_intervals(steps: Steps, condition: ManualCondition, now_us: int) -> list[Interval]:
    """The intervals [a, b) up to `now` while the condition held."""
    intervals: list[Interval] = []
    for index, (start, value) in enumerate(steps):
        end = steps[index + 1][0] if index + 1 < len(steps) else now_us
        if end <= start or not condition_holds(condition, value):
            continue
        if intervals and intervals[-1][1] == start:
            intervals[-1] = (intervals[-1][0], end)
        else:
            intervals.append((start, end))
    return intervals


def field_target(value: str, kind: TargetKind, start: int, calendar: BusinessCalendar) -> timedelta | None:
    """The target a field value gives a cycle from `start`, None when the value gives none.

    `hours`: that many hours of the metric's calendar. `date`: the business time from the cycle's
    start to the date (a date alone is the end of that day in the calendar's time zone); a date
    at or before the start gives none."""
    text = value.strip()
    if not text:
        return None
    if kind is TargetKind.HOURS:
        match = _HOURS.match(text)
        if match is None or float(match.group(1)) <= 0:
            return None
        return timedelta(hours=float(match.group(1)))
    due = _due_instant(text, calendar)
    if due is None or to_us(due) <= start:
        return None
    return timedelta(microseconds=calendar.elapsed_us(start, to_us(due)))


def _due_instant(text: str, calendar: BusinessCalendar) -> datetime | None:
    try:
        if len(text) == 10:
            day = datetime.fromisoformat(text).date() + timedelta(days=1)
            return datetime.combine(day, time(0), tzinfo=calendar.timezone)
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=calendar.timezone)


def without(m: Measure, pauses: list[Interval], calendar: BusinessCalendar, end: int) -> Measure:
    """The measured cycle `m` (ending at `end`: its stop or `now`) with `pauses` not counting."""
    counting, _, _, paused, running = m
    kept: list[Interval] = []
    removed: list[Interval] = []
    for a, b in counting:
        cursor = a
        for p, q in pauses:
            if q <= cursor or p >= b:
                continue
            if p > cursor:
                kept.append((cursor, p))
            removed.append((max(p, cursor), min(q, b)))
            cursor = min(q, b)
            if cursor >= b:
                break
        if cursor < b:
            kept.append((cursor, b))
    if not removed:
        return m
    merged: list[Interval] = []
    for a, b in sorted((*paused, *removed)):
        if merged and merged[-1][1] >= a:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    cumulative: list[int] = []
    total = 0
    for a, b in kept:
        cumulative.append(total)
        total += calendar.elapsed_us(a, b)
    still_running = running and bool(kept) and kept[-1][1] == end
    return kept, cumulative, total, merged, still_running


@dataclass(frozen=True, slots=True)
class _Held:
    condition: ManualCondition
    intervals: list[Interval]


class TicketConditions:
    """The field targets and manual conditions of one ticket under one tier (built per evaluation,
    only when the tier has any)."""

    __slots__ = ("_events", "_fields", "_held", "_now", "_steps", "_ticket")

    def __init__(
        self,
        ticket: Ticket,
        events: Iterable[Event],
        tier: Tier,
        field_ids: Mapping[str, str],
        now_us: int,
    ) -> None:
        self._ticket = ticket
        self._events = events if isinstance(events, list | tuple) else list(events)
        self._fields = field_ids  # logical field name -> this connection's field id
        self._now = now_us
        self._steps: dict[str, Steps] = {}
        self._held = [
            _Held(
                c, held_intervals(self._value_steps(TAGS_FIELD if c.tag is not None else c.field), c, now_us)
            )
            for c in tier.manual
        ]

    def _value_steps(self, name: str | None) -> Steps:
        assert name is not None
        found = self._steps.get(name)
        if found is None:
            names = frozenset({name, self._fields.get(name, name)})
            found = self._steps[name] = value_steps(self._ticket, self._events, names, self._now)
        return found

    def target(
        self, source: TargetFrom, start: int, stop: int | None, calendar: BusinessCalendar
    ) -> tuple[timedelta, str] | None:
        """The target the field gives the cycle, with its value, None to keep the configured one."""
        value = value_at(self._value_steps(source.field), self._now if stop is None else stop)
        target = field_target(value, source.kind, start, calendar)
        return None if target is None else (target, value.strip())

    def pauses(self, metric: Metric) -> tuple[list[Interval], tuple[ManualCondition, ...]]:
        """The intervals a manual pause stops `metric`, and the conditions that paused it."""
        intervals: list[Interval] = []
        used: list[ManualCondition] = []
        for held in self._held:
            c = held.condition
            if (
                c.effect is ManualEffect.PAUSE
                and held.intervals
                and (c.metrics is None or metric in c.metrics)
            ):
                intervals.extend(held.intervals)
                used.append(c)
        intervals.sort()
        return intervals, tuple(used)

    def exemption(self, metric: Metric, start: int, until: int) -> ManualCondition | None:
        """The first exemption of `metric` in force at some instant of [start, until]."""
        for held in self._held:
            c = held.condition
            if c.effect is not ManualEffect.EXEMPT or (c.metrics is not None and metric not in c.metrics):
                continue
            if any(a <= until and b > start for a, b in held.intervals):
                return c
        return None


def has_conditions(tier: Tier, severity: str) -> bool:
    """Whether the tier's clocks for `severity` read the ticket beyond its status and comments."""
    if tier.manual:
        return True
    own = tier.severity_settings.get(severity, {})
    return any(s.target_from is not None for s in (*tier.metric_settings.values(), *own.values()))


def describe(condition: ManualCondition) -> str:
    """`exempt (tag sla_exempt, at tiers.yaml:40): reason`, as `explain` prints it."""
    where = f", at {condition.source}" if condition.source else ""
    return f"{condition.effect.value} ({condition.describe}{where}): {condition.reason}"
