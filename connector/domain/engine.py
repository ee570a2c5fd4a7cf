"""`evaluate(ticket, events, policy, now)`: the whole pure computation for one ticket.

Same inputs, same answer: a policy edit is re-applied by calling this again with the new policy.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from connector.domain.calendar import BusinessCalendar
from connector.domain.clocks import Measured, cycles_for, measure, to_clock
from connector.domain.model import Event, Ticket
from connector.domain.plan import plan_writeback
from connector.domain.policy import BREACH, EscalationChain, Metric, Policy, Threshold, Tier
from connector.domain.results import ClockState, Crossing, Evaluation, SlaClock
from connector.domain.rules import first_match
from connector.domain.timeline import build_timeline

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
