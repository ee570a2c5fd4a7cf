"""The engine's integer fast paths against the engine as it was before them.

`evaluate` computes on integer microseconds, formats keys, ISO instants and the panel JSON by
hand and reuses policy-derived data between tickets. The reference below is the previous,
datetime-based implementation, kept verbatim (only its imports differ) as the obviously-correct
definition: on thousands of generated tickets, policies, calendars and event histories, both must
produce equal evaluations, with the same idempotency keys, note texts and panel JSON. The public
datetime functions (`build_timeline`, `cycles_for`, `measure`, `to_clock`, `plan_writeback`) are
checked against their reference counterparts the same way.
"""

from __future__ import annotations

import bisect
import dataclasses
import hashlib
import json
import random
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, is_dataclass, replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from connector.domain import clocks as fast_clocks
from connector.domain import engine as fast_engine
from connector.domain import formatting as fast_formatting
from connector.domain import plan as fast_plan
from connector.domain import timeline as fast_timeline
from connector.domain.calendar import BusinessCalendar
from connector.domain.model import Event, EventKind, Organization, Priority, Status, Ticket
from connector.domain.policy import (
    BREACH,
    DEFAULT_METRIC_SETTINGS,
    ActionKind,
    Condition,
    ConditionKind,
    ConnectionConfig,
    EscalationChain,
    EscalationLevel,
    EscalationStep,
    Metric,
    MetricSettings,
    Policy,
    ReopenMode,
    Rule,
    Threshold,
    Tier,
    WritebackSettings,
)
from connector.domain.results import (
    Action,
    ClockState,
    Crossing,
    Decision,
    Evaluation,
    SlaClock,
    Span,
    new_action,
    new_clock,
)
from connector.domain.rules import first_match

# =====================================================================================================
# Reference: timeline.py, clocks.py, plan.py and engine.py before the integer fast paths, verbatim.
# =====================================================================================================


# -------------------- reference timeline.py


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
        if event.kind is EventKind.CREATED and event.status is not None and not changes:
            changes.append((created, event.status))  # the status the ticket was created with
            continue
        new = _new_status(event)
        if new is not None:
            changes.append((max(event.at, created), new))
        elif event.kind is EventKind.PUBLIC_AGENT_REPLY and not event.by_tierdesk:
            agent.append(event.at)
        elif event.kind is EventKind.PUBLIC_CUSTOMER_COMMENT:
            customer.append(event.at)
        elif event.kind is EventKind.PRIORITY_CHANGE:
            priority.append(event)
    # A status the helpdesk shows but no event explains (an export gap) is dated at the last thing
    # not done by tierdesk, never at `updated_at`, which tierdesk's own writes move.
    last = changes[-1][1] if changes else status
    if ticket.status != last and ticket.updated_at <= now:
        human = max([created] + [e.at for e in ordered if not e.by_tierdesk])
        changes.append((max([human] + [at for at, _ in changes]), ticket.status))
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


# -------------------- reference clocks.py

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
    m: Measured,
    target: timedelta,
    calendar: BusinessCalendar,
    now: datetime,
    calendar_name: str | None = None,
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


# -------------------- reference plan.py

_TAG_UNSAFE = re.compile(r"[^a-z0-9_:\-/]+")


def tag_name(raw: str) -> str:
    """Helpdesk-safe tag: lower case, spaces and punctuation folded to `_` (Zendesk and Jira labels
    allow no spaces)."""
    return _TAG_UNSAFE.sub("_", raw.strip().casefold()).strip("_")


def action_key(*parts: object) -> str:
    return hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).hexdigest()[:32]


def iso(at: datetime | None) -> str:
    """Full ISO 8601 timestamp in UTC to the second, `Z` suffix; empty for None."""
    if at is None:
        return ""
    return at.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def human(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    parts = [f"{days}d" if days else "", f"{hours}h" if hours else "", f"{minutes}m" if minutes else ""]
    text = "".join(parts) or f"{seconds}s"
    return sign + text


@dataclass(frozen=True, slots=True)
class Plan:
    actions: tuple[Action, ...]
    desired_tags: frozenset[str]
    desired_fields: Mapping[str, str]


def _instant(text: str) -> datetime | None:
    candidate = text.strip().replace("Z", "+00:00")
    if len(candidate) >= 5 and candidate[-5] in "+-" and candidate[-3] != ":":
        candidate = candidate[:-2] + ":" + candidate[-2:]  # Jira writes offsets as -0800
    try:
        parsed = datetime.fromisoformat(candidate)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def same_field_value(shown: str, desired: str) -> bool:
    """Whether the helpdesk already shows `desired`: instants compare as instants whatever their
    format (`...Z` vs Jira's `.000-0800`), other values case-insensitively (select options)."""
    if shown == desired:
        return True
    shown_at, desired_at = _instant(shown), _instant(desired)
    if shown_at is not None and desired_at is not None:
        return shown_at == desired_at
    return shown.strip().casefold() == desired.strip().casefold()


def managed_tag(tag: str, prefix: str) -> bool:
    """Tags tierdesk owns and may remove: `<prefix>tier_*`, `<prefix>sev_*`, `<prefix>sla_*`."""
    return any(tag.startswith(prefix + family) for family in ("tier_", "sev_", "sla_"))


def sla_state(clocks: Sequence[SlaClock], warned: bool) -> str:
    active = [c for c in clocks if c.stopped_at is None]
    if any(c.state is ClockState.BREACHED for c in active):
        return "breached"
    if warned:
        return "warning"
    if any(c.state is ClockState.RUNNING for c in active):
        return "running"
    if any(c.state is ClockState.PAUSED for c in active):
        return "paused"
    if any(c.state is ClockState.BREACHED for c in clocks):
        return "breached"
    return "met" if clocks else "none"


def plan_writeback(
    *,
    ticket: Ticket,
    timeline: Timeline,
    policy: Policy,
    tier: Tier,
    chain: EscalationChain | None,
    tier_decision: Decision,
    severity_decision: Decision,
    details: Sequence[tuple[SlaClock, Sequence[Crossing]]],
    now: datetime,
) -> Plan:
    wb = policy.writeback
    prefix = wb.tag_prefix
    clocks = [clock for clock, _ in details]
    # Escalations fire only for clocks still counting or paused; a stopped clock's past crossings
    # are history (shown by explain and reports), not a reason to notify now.
    live = [(clock, crossings) for clock, crossings in details if clock.stopped_at is None]
    warned = any(not c.is_breach for _, crossings in live for c in crossings) and not any(
        clock.state is ClockState.BREACHED for clock, _ in live
    )

    desired: set[str] = {
        tag_name(f"{prefix}tier_{tier.name}"),
        tag_name(f"{prefix}sev_{severity_decision.value}"),
    }
    if tier_decision.unmatched:
        desired.add(tag_name(f"{prefix}tier_unmatched"))
    if warned:
        desired.add(tag_name(f"{prefix}sla_warning"))
    if any(c.state is ClockState.BREACHED for c in clocks):
        desired.add(tag_name(f"{prefix}sla_breached"))

    actions: list[Action] = []
    escalation_tags: set[str] = set()
    if chain is not None:
        for clock, crossings in live:
            actions.extend(
                _escalation_actions(
                    ticket, policy, tier, chain, severity_decision.value, clock, crossings, now
                )
            )
        escalation_tags = {t for a in actions if a.kind is ActionKind.ADD_TAGS for t in a.values}
    basis = ticket.updated_at

    def state_action(
        kind: ActionKind,
        *,
        value: str | None = None,
        values: tuple[str, ...] = (),
        field: str | None = None,
        reason: str,
    ) -> Action:
        return Action(
            key=action_key(ticket.key, kind.value, field or "", value or "", ",".join(values), iso(basis)),
            connection=ticket.connection,
            ticket_id=ticket.id,
            kind=kind,
            value=value,
            values=values,
            field=field,
            reason=reason,
            basis=basis,
        )

    to_add = tuple(sorted(desired - ticket.tags))
    to_remove = tuple(
        sorted(
            t for t in ticket.tags if managed_tag(t, prefix) and t not in desired and t not in escalation_tags
        )
    )
    if to_add:
        actions.append(
            state_action(ActionKind.ADD_TAGS, values=to_add, reason="tier/severity/SLA state tags")
        )
    if to_remove:
        actions.append(state_action(ActionKind.REMOVE_TAGS, values=to_remove, reason="tags no longer true"))

    wanted_priority = wb.severity_priority.get(severity_decision.value)
    if wanted_priority is not None and _should_raise(ticket, timeline, wanted_priority, wb.priority_mode):
        actions.append(
            state_action(
                ActionKind.SET_PRIORITY,
                value=wanted_priority.value,
                reason=f"severity {severity_decision.value} maps to priority {wanted_priority.value}",
            )
        )

    fields = _desired_fields(tier, clocks, warned)
    mapped = _connection_fields(policy, ticket.connection)
    desired_fields = {k: v for k, v in fields.items() if k in wb.fields and (mapped is None or k in mapped)}
    for name, value in sorted(desired_fields.items()):
        if not same_field_value(ticket.fields.get(name, ""), value):
            actions.append(
                state_action(ActionKind.SET_FIELD, field=name, value=value, reason=f"{name} is {value!r}")
            )

    panel = _panel(tier, severity_decision.value, clocks)
    actions.append(
        Action(
            key=action_key(ticket.key, ActionKind.SET_PROPERTY.value, panel),
            connection=ticket.connection,
            ticket_id=ticket.id,
            kind=ActionKind.SET_PROPERTY,
            field="tierdesk",
            value=panel,
            reason="issue panel data",
            basis=basis,
        )
    )
    return Plan(tuple(actions), frozenset(desired), desired_fields)


def _connection(policy: Policy, name: str) -> ConnectionConfig | None:
    for conn in policy.connections:
        if conn.name == name:
            return conn
    return None


def _connection_fields(policy: Policy, connection: str) -> frozenset[str] | None:
    conn = _connection(policy, connection)
    return frozenset(conn.fields) if conn is not None else None


SKIP_ALIAS = "-"


def _resolve(aliases: Mapping[str, str], value: str | None) -> str | None:
    return aliases.get(value, value) if value is not None else None


def _should_raise(ticket: Ticket, timeline: Timeline, wanted: Priority, mode: str) -> bool:
    if ticket.priority is not None and ticket.priority.rank >= wanted.rank:
        return False
    if mode == "enforce":
        return True
    # raise_only: once an agent changed the priority after tierdesk last set it, the agent wins.
    ours = [e.at for e in timeline.priority_changes if e.by_tierdesk]
    if not ours:
        return True
    return not any(not e.by_tierdesk and e.at >= ours[-1] for e in timeline.priority_changes)


def _desired_fields(tier: Tier, clocks: Sequence[SlaClock], warned: bool) -> dict[str, str]:
    active_due = [c.due_at for c in clocks if c.stopped_at is None and c.due_at is not None]
    return {
        "tier": tier.name,
        "sla_due": iso(min(active_due)) if active_due else "",
        "sla_state": sla_state(clocks, warned),
    }


def _panel(tier: Tier, severity: str, clocks: Sequence[SlaClock]) -> str:
    """Issue-panel JSON: stable while nothing changes (due instants, not elapsed time), so it is
    pushed only when a due time, state or decision changes."""
    body = {
        "tier": tier.name,
        "tier_label": tier.label,
        "severity": severity,
        "clocks": [
            {
                "metric": c.metric.value,
                "cycle": c.cycle,
                "state": c.state.value if c.state is not ClockState.RUNNING else "running",
                "target_seconds": int(c.target.total_seconds()),
                "due": iso(c.due_at),
                "stopped": iso(c.stopped_at),
                "calendar": c.calendar,
            }
            for c in clocks
            if c.stopped_at is None or c.state is ClockState.BREACHED
        ],
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":"))


def _escalation_actions(
    ticket: Ticket,
    policy: Policy,
    tier: Tier,
    chain: EscalationChain,
    severity: str,
    clock: SlaClock,
    crossings: Sequence[Crossing],
    now: datetime,
) -> list[Action]:
    crossed = [c for c in crossings if c.level is not None]
    if not crossed:
        return []
    conn = _connection(policy, ticket.connection)
    aliases: Mapping[str, str] = conn.aliases if conn is not None else {}
    latest = max(crossed, key=lambda c: (c.at, c.is_breach))
    actions: list[Action] = []
    for crossing in crossed:
        assert crossing.level is not None
        level = chain.levels[crossing.level]
        level_name = level.name or f"L{crossing.level + 1}"
        for step_index, step in enumerate(level.steps):
            key = action_key(
                ticket.key, clock.metric.value, clock.cycle, crossing.threshold, crossing.level, step_index
            )
            reason = f"{clock.metric.value} reached {crossing.threshold} at {iso(crossing.at)}"
            value, marker = step.value, None
            if step.kind in (ActionKind.ASSIGN_GROUP, ActionKind.ASSIGN_ASSIGNEE):
                value = _resolve(aliases, value)
            values = tuple(v for v in (_resolve(aliases, v) or v for v in step.values) if v != SKIP_ALIAS)
            if value == SKIP_ALIAS or (step.kind is ActionKind.ADD_FOLLOWERS and not values):
                continue  # this helpdesk has no equivalent (e.g. group assignment in Jira)
            if step.kind is ActionKind.ADD_NOTE:
                if not policy.writeback.notes:
                    continue
                value = render_note(step, ticket, tier, chain, severity, clock, crossing, level_name)
                marker = f"td-{key[:16]}"
            elif step.kind is ActionKind.SET_PRIORITY:
                wanted = Priority(step.value) if step.value else Priority.URGENT
                if ticket.priority is not None and ticket.priority.rank >= wanted.rank:
                    continue
                value = wanted.value
            actions.append(
                Action(
                    key=key,
                    connection=ticket.connection,
                    ticket_id=ticket.id,
                    kind=step.kind,
                    value=value,
                    values=values,
                    marker=marker,
                    reason=reason,
                    superseded=step.kind is ActionKind.ADD_NOTE and crossing is not latest,
                    at=crossing.at,
                )
            )
    return actions


class _Safe(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def render_note(
    step: EscalationStep,
    ticket: Ticket,
    tier: Tier,
    chain: EscalationChain,
    severity: str,
    clock: SlaClock,
    crossing: Crossing,
    level_name: str,
) -> str:
    """Fill a note template with values as of the crossing (not `now`), so the same crossing always
    renders the same text."""
    threshold_elapsed = clock.target if crossing.is_breach else crossing.offset
    values = _Safe(
        ticket=ticket.id,
        tier=tier.label,
        severity=severity,
        metric=clock.metric.value.replace("_", " "),
        threshold=crossing.threshold,
        target=human(clock.target),
        elapsed=human(threshold_elapsed),
        remaining=human(clock.target - threshold_elapsed),
        due=iso(clock.due_at),
        playbook=chain.playbook or "",
        level=level_name,
        calendar=clock.calendar,
    )
    return (step.value or "").format_map(values)


# -------------------- reference engine.py

METRIC_ORDER = (Metric.FIRST_RESPONSE, Metric.NEXT_RESPONSE, Metric.PERIODIC_UPDATE, Metric.RESOLUTION)


@dataclass(frozen=True, slots=True)
class ClockDetail:
    """A clock with what produced it; plan and explain read the thresholds from here."""

    clock: SlaClock
    measured: Measured
    crossings: tuple[Crossing, ...]
    next_threshold_at: datetime | None


def thresholds_for(tier: Tier, chain: EscalationChain | None, metric: Metric) -> tuple[Threshold, ...]:
    """Warnings of the tier, thresholds of the chain's levels for this metric, and the breach;
    ordered by how early they come (percent first, then breach)."""
    seen: dict[str, Threshold] = {}
    for th in tier.warnings:
        seen.setdefault(th.label, th)
    if chain is not None:
        for level in chain.levels:
            if level.metrics is None or metric in level.metrics:
                seen.setdefault(level.threshold.label, level.threshold)
    seen.setdefault(BREACH.label, BREACH)
    return tuple(seen.values())


def _level_index(chain: EscalationChain | None, metric: Metric, label: str) -> int | None:
    if chain is None:
        return None
    for index, level in enumerate(chain.levels):
        if level.threshold.label == label and (level.metrics is None or metric in level.metrics):
            return index
    return None


def evaluate(ticket: Ticket, events: Iterable[Event], policy: Policy, now: datetime) -> Evaluation:
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    tier_decision = first_match(policy.tier_rules, ticket, policy.default_tier)
    severity_decision = first_match(policy.severity_rules, ticket, policy.default_severity)
    tier = policy.tiers[tier_decision.value]
    calendar_name = tier_decision.calendar or tier.calendar
    calendar: BusinessCalendar = policy.calendars[calendar_name]
    chain = policy.chains.get(tier.escalation) if tier.escalation else None
    targets = tier.targets.get(severity_decision.value, {})
    timeline = build_timeline(ticket, events, now)

    details: list[ClockDetail] = []
    for metric in METRIC_ORDER:
        target = targets.get(metric)
        if target is None:
            continue
        settings = tier.settings(metric)
        thresholds = thresholds_for(tier, chain, metric)
        for cycle in cycles_for(metric, timeline, settings):
            m = measure(cycle, timeline, calendar, settings.pause_statuses)
            details.append(_detail(m, target, thresholds, chain, calendar, now, calendar_name))

    clocks = tuple(d.clock for d in details)
    crossings = tuple(c for d in details for c in d.crossings)
    future = [d.next_threshold_at for d in details if d.next_threshold_at is not None]
    plan = plan_writeback(
        ticket=ticket,
        timeline=timeline,
        policy=policy,
        tier=tier,
        chain=chain,
        tier_decision=tier_decision,
        severity_decision=severity_decision,
        details=[(d.clock, d.crossings) for d in details],
        now=now,
    )
    return Evaluation(
        ticket_key=ticket.key,
        policy_version=policy.version,
        now=now,
        tier=tier_decision,
        severity=severity_decision,
        clocks=clocks,
        crossings=crossings,
        actions=plan.actions,
        desired_tags=plan.desired_tags,
        desired_fields=plan.desired_fields,
        next_deadline=min(future) if future else None,
    )


def _detail(
    m: Measured,
    target: timedelta,
    thresholds: tuple[Threshold, ...],
    chain: EscalationChain | None,
    calendar: BusinessCalendar,
    now: datetime,
    calendar_name: str,
) -> ClockDetail:
    clock = to_clock(m, target, calendar, now, calendar_name)
    crossings: list[Crossing] = []
    next_at: datetime | None = None
    for th in thresholds:
        offset = th.offset(target)
        if offset > m.elapsed and not m.running_at_now:
            continue  # a paused or stopped clock reaches nothing new
        at, projected = m.instant_of(offset, calendar, now)
        if at is None:
            continue
        if projected or at > now:
            next_at = at if next_at is None or at < next_at else next_at
            continue
        if clock.state is ClockState.MET and m.cycle.stop is not None and at >= m.cycle.stop:
            continue
        crossings.append(
            Crossing(
                metric=m.cycle.metric,
                cycle=m.cycle.index,
                threshold=th.label,
                at=at,
                is_breach=th.is_breach,
                level=_level_index(chain, m.cycle.metric, th.label),
                offset=offset,
            )
        )
    return ClockDetail(clock, m, tuple(crossings), next_at)


# =====================================================================================================
# Generated scenarios
# =====================================================================================================

NOW = datetime(2026, 12, 28, 11, 0, tzinfo=UTC)  # after Christmas holidays, before the new year
BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
EST = timezone(timedelta(hours=-5))

CALENDARS: dict[str, BusinessCalendar] = {
    "berlin": BusinessCalendar.from_spec(
        {
            "timezone": "Europe/Berlin",
            "hours": {"mon-fri": ["09:00-12:30", "13:30-17:00"]},
            "holidays": {"country": "DE", "subdivision": "BE", "dates": ["2026-12-24", "2026-12-31"]},
        },
        name="berlin",
    ),
    "new_york": BusinessCalendar.from_spec(
        {
            "timezone": "America/New_York",
            "hours": {"mon-fri": ["08:00-20:00"]},
            "holidays": {"country": "US"},
        },
        name="new_york",
    ),
    "sydney": BusinessCalendar.from_spec(
        {"timezone": "Australia/Sydney", "hours": {"mon-fri": ["08:30-18:00"], "sat": ["10:00-14:00"]}},
        name="sydney",
    ),
    "24x7": BusinessCalendar.from_spec("24x7", name="24x7"),
}

ALL_STATUSES = tuple(Status)
H = timedelta(hours=1)
M = timedelta(minutes=1)


def _threshold(rng: random.Random) -> Threshold:
    if rng.random() < 0.7:
        percent = rng.choice([0.0, 25.0, 50.0, 75.0, 90.0, 33.3, 100.0])
        return Threshold(f"{percent:g}%" if percent < 100 else "breach", percent=percent)
    minutes = rng.choice([15, 30, 90, 600])
    return Threshold(f"{minutes}m before", before=timedelta(minutes=minutes))


def _chain(rng: random.Random) -> EscalationChain:
    levels = []
    for i in range(rng.randint(1, 3)):
        th = BREACH if i == 2 or rng.random() < 0.3 else _threshold(rng)
        steps = [
            EscalationStep(
                ActionKind.ADD_NOTE,
                rng.choice(
                    [
                        "{metric} at {threshold}: target {target}, due {due}. {playbook} {level} {unknown}",
                        "BREACH {metric}: target {target} elapsed {elapsed} remaining {remaining} ({calendar})",
                        "{ticket} {tier} {severity}",
                    ]
                ),
            )
        ]
        if rng.random() < 0.5:
            steps.append(EscalationStep(ActionKind.ASSIGN_GROUP, rng.choice(["900", "duty", "gone"])))
        if rng.random() < 0.3:
            steps.append(EscalationStep(ActionKind.SET_PRIORITY, rng.choice(["urgent", "high", None])))
        if rng.random() < 0.3:
            steps.append(EscalationStep(ActionKind.ADD_FOLLOWERS, values=("lead", "gone")))
        if rng.random() < 0.3:
            steps.append(EscalationStep(ActionKind.ADD_TAGS, values=(rng.choice(["sla_escalated", "vip"]),)))
        if rng.random() < 0.2:
            steps.append(EscalationStep(ActionKind.ASSIGN_ASSIGNEE, "duty"))
        metrics = None if rng.random() < 0.7 else frozenset(rng.sample(list(Metric), rng.randint(1, 3)))
        levels.append(EscalationLevel(th, tuple(steps), metrics, rng.choice(["", f"level {i}"])))
    return EscalationChain("chain", tuple(levels), rng.choice([None, "https://wiki.example/sla"]))


def _targets(rng: random.Random, scale: float) -> dict[Metric, timedelta]:
    base = {
        Metric.FIRST_RESPONSE: H,
        Metric.NEXT_RESPONSE: 2 * H,
        Metric.PERIODIC_UPDATE: 4 * H,
        Metric.RESOLUTION: 16 * H,
    }
    return {
        m: t * scale + timedelta(microseconds=rng.choice([0, 0, 0, 1, 999_999]))
        for m, t in base.items()
        if rng.random() < 0.9
    }


def random_policy(rng: random.Random) -> Policy:
    calendar_name = rng.choice(list(CALENDARS))
    settings = dict(DEFAULT_METRIC_SETTINGS)
    for metric in Metric:
        if rng.random() < 0.3:
            settings[metric] = MetricSettings(
                pause_statuses=frozenset(
                    rng.sample([Status.PENDING, Status.ON_HOLD, Status.NEW], rng.randint(0, 2))
                ),
                on_reopen=rng.choice(list(ReopenMode)),
            )
    warnings = tuple(_threshold(rng) for _ in range(rng.randint(0, 4)))
    chain = _chain(rng) if rng.random() < 0.8 else None
    targets = {sev: _targets(rng, scale) for sev, scale in (("critical", 0.5), ("normal", 2), ("low", 8))}
    tier = Tier(
        name=rng.choice(["standard", "Gold Plus"]),
        label=rng.choice(["Standard", 'Gold \u2605 "plus"']),
        calendar=calendar_name,
        targets=targets,
        warnings=warnings,
        escalation="chain" if chain else None,
        metric_settings=settings,
    )
    enterprise = replace(tier, name="enterprise", label="Enterprise", calendar=rng.choice(list(CALENDARS)))
    tier_rules = (
        Rule(
            "enterprise orgs",
            "enterprise",
            (Condition(ConditionKind.ORGANIZATION_TAG, values=("enterprise",)),),
            "customers.yaml:3",
            rng.choice([None, None, "new_york", "24x7"]),
        ),
    )
    severity_rules = (
        Rule(
            "outage",
            "critical",
            (Condition(ConditionKind.SUBJECT_REGEX, pattern=re.compile(r"(?i)\bdown\b")),),
        ),
        Rule("minor", "low", (Condition(ConditionKind.TAG, values=("minor",)),)),
    )
    connections: tuple[ConnectionConfig, ...] = ()
    if rng.random() < 0.4:
        connections = (
            ConnectionConfig(
                name="zd",
                kind="zendesk",
                url="http://127.0.0.1:1",
                aliases={"duty": "3601", "gone": "-", "lead": "77"},
                fields=rng.choice(
                    [{}, {"sla_due": "123", "tier": "456"}, {"sla_due": "1", "sla_state": "2", "tier": "3"}]
                ),
            ),
        )
    writeback = WritebackSettings(
        tag_prefix=rng.choice(["", "td_", "SLA "]),
        severity_priority=rng.choice(
            [
                {},
                {"critical": Priority.URGENT},
                {"critical": Priority.URGENT, "normal": Priority.NORMAL, "low": Priority.LOW},
            ]
        ),
        priority_mode=rng.choice(["raise_only", "enforce"]),
        fields=frozenset(rng.sample(["tier", "sla_due", "sla_state"], rng.randint(0, 3))),
        notes=rng.random() < 0.85,
    )
    return Policy(
        version="v1",
        calendars=CALENDARS,
        tiers={tier.name: tier, "enterprise": enterprise},
        tier_rules=tier_rules,
        default_tier=tier.name,
        severities=("critical", "normal", "low"),
        severity_rules=severity_rules,
        default_severity=rng.choice(["normal", "low", "missing"]),
        chains={"chain": chain} if chain else {},
        writeback=writeback,
        connections=connections,
    )


def _random_instant(rng: random.Random, around: datetime, spread: timedelta) -> datetime:
    at = around + spread * rng.random()
    at = at.replace(microsecond=0) if rng.random() < 0.8 else at
    zone = rng.choice([UTC, UTC, UTC, BERLIN, NEW_YORK, EST])
    return at.astimezone(zone)


def random_ticket(rng: random.Random, now: datetime) -> tuple[Ticket, list[Event]]:
    created = _random_instant(rng, now - timedelta(days=20), timedelta(days=21))
    events: list[Event] = [Event("c", created, EventKind.CREATED)]
    at = created - timedelta(minutes=rng.choice([0, 0, 0, 30]))
    status = Status.NEW
    for i in range(rng.randint(0, 14)):
        at = at + timedelta(minutes=rng.choice([0, 1, 5, 30, 120, 600, 1440]), seconds=rng.choice([0, 0, 7]))
        event_at = at.astimezone(rng.choice([UTC, UTC, BERLIN, EST]))
        roll = rng.random()
        kind = rng.choice(list(EventKind)) if roll < 0.15 else None
        if kind is None:
            kind = rng.choice(
                [
                    EventKind.PUBLIC_AGENT_REPLY,
                    EventKind.PUBLIC_AGENT_REPLY,
                    EventKind.PUBLIC_CUSTOMER_COMMENT,
                    EventKind.PUBLIC_CUSTOMER_COMMENT,
                    EventKind.STATUS_CHANGE,
                    EventKind.STATUS_CHANGE,
                    EventKind.INTERNAL_NOTE,
                ]
            )
        new_status = None
        if kind is EventKind.STATUS_CHANGE:
            new_status = (
                rng.choice([*ALL_STATUSES, None])
                if rng.random() < 0.3
                else rng.choice([Status.OPEN, Status.PENDING, Status.SOLVED, Status.ON_HOLD, Status.OPEN])
            )
            status = new_status or status
        elif kind in (EventKind.SOLVED, EventKind.REOPENED):
            new_status = rng.choice([None, None, Status.CLOSED, Status.OPEN, Status.PENDING])
        events.append(
            Event(
                id=f"e{rng.randint(0, 9)}{i:02d}",
                at=event_at,
                kind=kind,
                status=new_status,
                value=rng.choice(["urgent", "high", None]) if kind is EventKind.PRIORITY_CHANGE else None,
                author_id="a",
                by_tierdesk=rng.random() < 0.15,
                # the reference predates opening comments, which answer nothing by default
                opening=False,
            )
        )
    if rng.random() < 0.2:
        rng.shuffle(events)  # an export out of order
    elif rng.random() < 0.1 and len(events) > 2:
        events[1], events[2] = events[2], events[1]
    ticket_status = status if rng.random() < 0.8 else rng.choice(ALL_STATUSES)
    updated = at if rng.random() < 0.8 else _random_instant(rng, created, timedelta(days=25))
    tags = frozenset(
        rng.sample(
            [
                "tier_standard",
                "sev_normal",
                "tier_unmatched",
                "sla_warning",
                "sla_breached",
                "td_sev_low",
                "billing",
                "vip",
                "sla_escalated",
                "tier_enterprise",
            ],
            rng.randint(0, 4),
        )
    )
    fields: dict[str, str] = {}
    if rng.random() < 0.4:
        fields = {
            "tier": rng.choice(["standard", "Standard", "enterprise", ""]),
            "sla_due": rng.choice(["", "2026-12-28T12:00:00Z", "2026-12-28T04:00:00.000-0800", "garbage"]),
            "sla_state": rng.choice(["running", "breached", "RUNNING ", "met"]),
        }
    ticket = Ticket(
        connection=rng.choice(["zd", "jira"]),
        id=str(rng.randint(1, 10**6)),
        created_at=created,
        updated_at=updated,
        status=ticket_status,
        subject=rng.choice(["Checkout is down", "Export fails", "question"]),
        priority=rng.choice([None, *Priority]),
        organization=rng.choice(
            [None, Organization("1", "Acme"), Organization("2", "Big", tags=frozenset({"Enterprise"}))]
        ),
        tags=tags,
        fields=fields,
    )
    return ticket, events


def _scenarios(count: int, seed: int) -> Iterator[tuple[Ticket, list[Event], Policy, datetime]]:
    rng = random.Random(seed)
    policy = random_policy(rng)
    for i in range(count):
        if i % 25 == 0:
            policy = random_policy(rng)
        now = NOW + timedelta(hours=rng.randint(-300, 300), seconds=rng.choice([0, 0, 13]))
        now = now.astimezone(rng.choice([UTC, UTC, BERLIN, NEW_YORK]))
        ticket, events = random_ticket(rng, now)
        yield ticket, events, policy, now


def _utc(value: Any) -> Any:
    """`value` with every datetime in UTC and every dataclass as a tuple, for exact comparison:
    two evaluations may name an instant in different zones (the engine returns the caller's own
    datetimes where the reference returned another equal one)."""
    if isinstance(value, datetime):
        return value.astimezone(UTC)
    if is_dataclass(value) and not isinstance(value, type):
        return (type(value).__name__, *(_utc(getattr(value, f.name)) for f in dataclasses.fields(value)))
    if isinstance(value, tuple | list):
        return tuple(_utc(v) for v in value)
    if isinstance(value, frozenset | set):
        return frozenset(value)
    if isinstance(value, Mapping):
        return tuple(sorted((k, _utc(v)) for k, v in value.items()))
    return value


def _as_reference(evaluation: Evaluation) -> Evaluation:
    """`evaluation` without what the engine computes beyond the reference (the cycles it decided,
    which crossing each escalation step answers); those are checked against the rest first."""
    refs = evaluation.crossing_refs
    for action in evaluation.actions:
        assert (action.crossing in refs) if action.at is not None else action.crossing is None, action
    for outcome in evaluation.decided:
        clock = next(c for c in evaluation.clocks if (c.metric, c.started_at) == outcome.key)
        assert (clock.state, clock.stopped_at, clock.breached_at) == (
            outcome.state,
            outcome.stopped_at,
            outcome.breached_at,
        )
    return replace(
        evaluation, decided=(), actions=tuple(replace(a, crossing=None) for a in evaluation.actions)
    )


# =====================================================================================================
# Tests
# =====================================================================================================


@pytest.mark.parametrize("seed", range(8))
def test_evaluate_matches_the_reference_engine(seed: int) -> None:
    for ticket, events, policy, now in _scenarios(400, seed):
        expected = evaluate(ticket, events, policy, now)
        actual = _as_reference(fast_engine.evaluate(ticket, events, policy, now))
        assert _utc(actual) == _utc(expected), (ticket, events, now)
        assert actual == expected


def test_bench_shaped_tickets_match_the_reference_engine() -> None:
    """The benchmark's own workload (bench/engine.py): sorted events, UTC instants, holidays."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "bench" / "engine.py"
    spec = importlib.util.spec_from_file_location("bench_engine", path)
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    policy = bench.build_policy()
    for ticket, events in bench.synth(2000, random.Random(11), NOW):
        assert _as_reference(fast_engine.evaluate(ticket, events, policy, NOW)) == evaluate(
            ticket, events, policy, NOW
        )


def test_public_datetime_functions_match_the_reference() -> None:
    for ticket, events, policy, now in _scenarios(600, 99):
        tier = policy.tiers[first_match(policy.tier_rules, ticket, policy.default_tier).value]
        calendar = policy.calendars[tier.calendar]
        timeline = build_timeline(ticket, events, now)
        fast = fast_timeline.build_timeline(ticket, events, now)
        assert _utc(fast) == _utc(timeline)
        for metric in Metric:
            settings = tier.settings(metric)
            cycles = cycles_for(metric, timeline, settings)
            assert _utc(fast_clocks.cycles_for(metric, fast, settings)) == _utc(cycles)
            for cycle in cycles:
                m = measure(cycle, timeline, calendar, settings.pause_statuses)
                fm = fast_clocks.measure(
                    fast_clocks.Cycle(*dataclasses.astuple(cycle)), fast, calendar, settings.pause_statuses
                )
                assert _utc(
                    (fm.intervals, fm.cumulative, fm.elapsed, fm.paused_spans, fm.running_at_now)
                ) == _utc((m.intervals, m.cumulative, m.elapsed, m.paused_spans, m.running_at_now))
                for offset in (timedelta(0), H, 3 * H, m.elapsed, m.elapsed + M):
                    assert _utc(fm.instant_of(offset, calendar, now)) == _utc(
                        m.instant_of(offset, calendar, now)
                    )
                target = 2 * H
                assert _utc(fast_clocks.to_clock(fm, target, calendar, now, "cal")) == _utc(
                    to_clock(m, target, calendar, now, "cal")
                )


def test_plan_writeback_matches_the_reference() -> None:
    for ticket, events, policy, now in _scenarios(300, 7):
        result = evaluate(ticket, events, policy, now)
        tier = policy.tiers[result.tier.value]
        chain = policy.chains.get(tier.escalation) if tier.escalation else None
        details = [
            (c, tuple(x for x in result.crossings if (x.metric, x.cycle) == (c.metric, c.cycle)))
            for c in result.clocks
        ]
        kwargs: dict[str, Any] = dict(
            ticket=ticket,
            policy=policy,
            tier=tier,
            chain=chain,
            tier_decision=result.tier,
            severity_decision=result.severity,
            details=details,
            now=now,
        )
        expected = plan_writeback(timeline=build_timeline(ticket, events, now), **kwargs)
        actual = fast_plan.plan_writeback(
            timeline=fast_timeline.build_timeline(ticket, events, now), **kwargs
        )
        # the reference has its own Plan class: compare the fields
        assert (
            tuple(replace(a, crossing=None) for a in actual.actions),
            actual.desired_tags,
            actual.desired_fields,
        ) == (
            expected.actions,
            expected.desired_tags,
            expected.desired_fields,
        )


def test_keys_iso_and_panel_are_byte_for_byte_the_previous_ones() -> None:
    assert fast_formatting.action_key(
        "zd:1", "add_tags", "", "", "a,b", "2026-01-01T00:00:00Z"
    ) == action_key("zd:1", "add_tags", "", "", "a,b", "2026-01-01T00:00:00Z")
    rng = random.Random(3)
    for _ in range(2000):
        at = datetime(1971, 1, 1, tzinfo=UTC) + timedelta(microseconds=rng.randint(0, 4_000_000_000_000_000))
        at = at.astimezone(rng.choice([UTC, BERLIN, NEW_YORK, EST]))
        assert fast_formatting.iso(at) == iso(at)
        delta = timedelta(seconds=rng.randint(-(10**7), 10**7))
        assert fast_formatting.human(delta) == human(delta)
    for shown, desired in [
        ("", ""),
        ("", "  "),
        (" 2026-11-26T15:08:40Z", "2026-11-26T07:08:40.000-0800"),
        ("٢٠٢٦-11-26", "2026-11-26T15:08:40Z"),
        ("2026-11-26", "2026-11-26T00:00:00Z"),
        ("Running", "running"),
        ("x", "2026-11-26T15:08:40Z"),
    ]:
        assert fast_plan.same_field_value(shown, desired) == same_field_value(shown, desired)


def test_fast_constructors_build_ordinary_frozen_results() -> None:
    at = datetime(2026, 1, 1, tzinfo=UTC)
    args = (Metric.RESOLUTION, 1, at, None, H, M, (Span(at, None),), at, None, ClockState.RUNNING, "cal")
    fast, plain = new_clock(*args), SlaClock(*args)
    assert type(fast) is SlaClock
    assert fast == plain and hash(fast) == hash(plain) and repr(fast) == repr(plain)
    with pytest.raises(dataclasses.FrozenInstanceError):
        fast.cycle = 2  # type: ignore[misc]
    assert replace(fast, cycle=2) == SlaClock(*args[:1], 2, *args[2:])
    action = new_action("k", "zd", "1", ActionKind.ADD_TAGS, values=("a",))
    assert action == Action("k", "zd", "1", ActionKind.ADD_TAGS, values=("a",))
    assert action.reason == "" and action.basis is None


@pytest.mark.parametrize("name", sorted(CALENDARS))
def test_calendar_integer_forms_match_add_and_elapsed(name: str) -> None:
    calendar = CALENDARS[name]
    rng = random.Random(name)
    one_us = timedelta(microseconds=1)
    for _ in range(500):
        start = NOW + timedelta(
            minutes=rng.randint(-400 * 1440, 400 * 1440), microseconds=rng.choice([0, 1, 7])
        )
        end = start + timedelta(minutes=rng.randint(0, 90 * 1440))
        delta = timedelta(minutes=rng.randint(0, 30 * 600), microseconds=rng.choice([0, 0, 999_999]))
        start_us, end_us = fast_timeline.to_us(start), fast_timeline.to_us(end)
        assert calendar.elapsed_us(start_us, end_us) * one_us == calendar.elapsed(start, end)
        assert calendar.elapsed_us(end_us, start_us) == 0
        added = calendar.add(start, delta)
        assert calendar.datetime_at(calendar.add_us(start_us, delta // one_us)) == added
        assert calendar.add_us(start_us, 0) == start_us
    with pytest.raises(ValueError, match="negative"):
        calendar.add_us(0, -1)
