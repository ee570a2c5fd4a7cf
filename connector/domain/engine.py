"""`evaluate(ticket, events, policy, now)`: the whole pure computation for one ticket.

Same inputs, same answer: a policy edit is re-applied by calling this again with the new policy.

A worker evaluates every ticket against the same policy, so what depends only on the policy (the
triage decisions, targets and threshold offsets in microseconds, escalation levels) is derived
once per policy object (:func:`_compiled`) rather than once per ticket.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from connector.domain.calendar import BusinessCalendar
from connector.domain.clocks import ClockRecord, ClockRule, Mark, clock_record, cycle_bounds, measure_us
from connector.domain.model import Event, Ticket
from connector.domain.people_view import as_people_left_it
from connector.domain.plan import PlanSettings, plan
from connector.domain.policy import (
    BREACH,
    EscalationChain,
    Metric,
    Policy,
    Rule,
    Threshold,
    Tier,
)
from connector.domain.results import Crossing, Decision, Evaluation, new_evaluation
from connector.domain.rules import first_match_index
from connector.domain.timeline import DONE, history

METRIC_ORDER = (Metric.FIRST_RESPONSE, Metric.NEXT_RESPONSE, Metric.PERIODIC_UPDATE, Metric.RESOLUTION)

_ONE_US: Final = timedelta(microseconds=1)


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


# ------------------------------------------------------------------------ compiled policy


@dataclass(frozen=True, slots=True)
class _Compiled:
    policy: Policy  # held so its id() cannot be reused while cached
    tier_decisions: tuple[Decision, ...]  # one per tier rule, then the default
    severity_decisions: tuple[Decision, ...]
    rules: dict[tuple[str, str], tuple[ClockRule, ...]]  # (tier, severity) -> metrics with a target
    plan_settings: dict[tuple[str, str, str], PlanSettings]  # (tier, severity, connection)


_COMPILED: dict[int, _Compiled] = {}
_COMPILED_MAX: Final = 16


def _compiled(policy: Policy) -> _Compiled:
    """The policy's derived data; policies are immutable, so it is keyed by identity."""
    compiled = _COMPILED.get(id(policy))
    if compiled is not None and compiled.policy is policy:
        return compiled
    if len(_COMPILED) >= _COMPILED_MAX:
        _COMPILED.clear()  # a worker holds one or two policies at a time
    compiled = _COMPILED[id(policy)] = _Compiled(
        policy,
        _decisions(policy.tier_rules, policy.default_tier),
        _decisions(policy.severity_rules, policy.default_severity),
        {},
        {},
    )
    return compiled


def _decisions(rules: Iterable[Rule], default: str) -> tuple[Decision, ...]:
    decisions = [Decision(value=r.result, rule=r.name, source=r.source, calendar=r.calendar) for r in rules]
    decisions.append(Decision(value=default, rule=None, unmatched=True))
    return tuple(decisions)


def _metric_rules(
    compiled: _Compiled, tier: Tier, chain: EscalationChain | None, severity: str
) -> tuple[ClockRule, ...]:
    key = (tier.name, severity)
    rules = compiled.rules.get(key)
    if rules is None:
        targets = tier.targets.get(severity, {})
        built: list[ClockRule] = []
        for metric in METRIC_ORDER:
            target = targets.get(metric)
            if target is None:
                continue
            settings = tier.settings(metric)
            marks = []
            for th in thresholds_for(tier, chain, metric):
                offset = th.offset(target)
                marks.append(
                    Mark(
                        th.label,
                        offset // _ONE_US,
                        offset,
                        th.is_breach,
                        _level_index(chain, metric, th.label),
                    )
                )
            built.append(
                ClockRule(
                    metric,
                    target,
                    target // _ONE_US,
                    settings.on_reopen,
                    settings.pause_statuses | DONE,
                    tuple(marks),
                )
            )
        rules = compiled.rules[key] = tuple(built)
    return rules


# ------------------------------------------------------------------------------- evaluate


def evaluate(ticket: Ticket, events: Iterable[Event], policy: Policy, now: datetime) -> Evaluation:
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    compiled = _compiled(policy)
    events = events if isinstance(events, list | tuple) else list(events)  # read twice below
    # The rules read the ticket as people left it: tierdesk's own writes never feed back into them.
    seen = as_people_left_it(ticket, events, policy)
    tier_decision = compiled.tier_decisions[first_match_index(policy.tier_rules, seen)]
    severity_decision = compiled.severity_decisions[first_match_index(policy.severity_rules, seen)]
    severity = severity_decision.value
    tier = policy.tiers[tier_decision.value]
    calendar_name = tier_decision.calendar or tier.calendar
    calendar: BusinessCalendar = policy.calendars[calendar_name]
    chain = policy.chains.get(tier.escalation) if tier.escalation else None
    h = history(ticket, events, now, tier.opening_comment_is_reply)

    records: list[ClockRecord] = []
    crossings: list[Crossing] = []
    next_deadline: int | None = None
    instants, now_us = h.instants, h.now
    for rule in _metric_rules(compiled, tier, chain, severity):
        noncounting = rule.noncounting
        for index, (start, stop) in enumerate(cycle_bounds(rule.metric, h, rule.on_reopen)):
            record = clock_record(
                measure_us(h, start, stop, calendar, noncounting),
                start,
                stop,
                index,
                rule,
                calendar,
                calendar_name,
                instants,
                now_us,
            )
            records.append(record)
            if record[1]:
                crossings += record[1]
            next_at = record[5]
            if next_at is not None and (next_deadline is None or next_at < next_deadline):
                next_deadline = next_at

    settings_key = (tier.name, severity, ticket.connection)
    settings = compiled.plan_settings.get(settings_key)
    if settings is None:
        settings = compiled.plan_settings[settings_key] = PlanSettings(
            policy, tier, severity, ticket.connection
        )
    actions, desired_tags, desired_fields = plan(
        ticket, h.priority_changes, settings, tier, chain, tier_decision, severity_decision, records
    )
    return new_evaluation(
        ticket.key,
        policy.version,
        now,
        tier_decision,
        severity_decision,
        tuple([record[0] for record in records]),
        tuple(crossings),
        actions,
        desired_tags,
        desired_fields,
        None if next_deadline is None else calendar.datetime_at(next_deadline),
    )
