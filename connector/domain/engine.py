"""`evaluate(ticket, events, policy, now)`: the whole pure computation for one ticket.

Same inputs, same answer: a policy edit is re-applied by calling this again with the new policy.

A worker evaluates every ticket against the same policy, so what depends only on the policy (the
triage decisions, targets and threshold offsets in microseconds, escalation levels) is derived
once per policy object (:func:`_compiled`) rather than once per ticket.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Final

from connector.domain.accounts import ContractTargets, account_decision, contract_targets
from connector.domain.calendar import BusinessCalendar
from connector.domain.clocks import ClockRecord, ClockRule, Mark, clock_record, cycle_bounds, measure_us
from connector.domain.formatting import human
from connector.domain.metric_conditions import TicketConditions, describe, has_conditions, without
from connector.domain.model import Event, Ticket
from connector.domain.people_view import as_people_left_it
from connector.domain.plan import plan
from connector.domain.plan_settings import PlanSettings
from connector.domain.policy import (
    BREACH,
    EscalationChain,
    Metric,
    MetricSettings,
    Policy,
    ReopenMode,
    Rule,
    TargetFrom,
    Threshold,
    Tier,
)
from connector.domain.record import (
    PolicyHistory,
    SettledOutcome,
    decided_outcome,
    orphan_record,
    retarget,
    settle_record,
    settled_index,
)
from connector.domain.results import ClockState, Crossing, Decision, Evaluation, new_evaluation
from connector.domain.rules import first_match_index
from connector.domain.timeline import DONE, history, to_us

METRIC_ORDER = (Metric.FIRST_RESPONSE, Metric.NEXT_RESPONSE, Metric.PERIODIC_UPDATE, Metric.RESOLUTION)

_ONE_US: Final = timedelta(microseconds=1)
_ZERO: Final = timedelta(0)
_MET: Final = ClockState.MET
_BREACHED: Final = ClockState.BREACHED


def thresholds_for(tier: Tier, chain: EscalationChain | None, metric: Metric) -> tuple[Threshold, ...]:
    """Warnings of the tier, thresholds of the chain's levels for this metric, and the breach;
    ordered by how early they come (percent first, then breach)."""
    seen: dict[str, Threshold] = {}
    for th in tier.warnings:
        seen.setdefault(th.label, th)
    if chain is not None:
        for level in chain.levels:
            if level.metrics is None or metric in level.metrics:
                for th in level.thresholds:
                    seen.setdefault(th.label, th)
    seen.setdefault(BREACH.label, BREACH)
    # after-breach occurrences come after the breach, in the order they fall
    before = [th for th in seen.values() if th.after is None]
    after = sorted((th for th in seen.values() if th.after is not None), key=lambda th: th.after or _ZERO)
    return (*before, *after)


def _level_index(chain: EscalationChain | None, metric: Metric, label: str) -> int | None:
    if chain is None:
        return None
    for index, level in enumerate(chain.levels):
        if (level.metrics is None or metric in level.metrics) and any(
            th.label == label for th in level.thresholds
        ):
            return index
    return None


# ------------------------------------------------------------------------ compiled policy


@dataclass(frozen=True, slots=True)
class _Compiled:
    policy: Policy  # held so its id() cannot be reused while cached
    tier_decisions: tuple[Decision, ...]  # one per tier rule, then the default
    severity_decisions: tuple[Decision, ...]
    # (tier, severity[, contract variant]) -> each metric with a target: its rule and settings
    rules: dict[tuple[str, ...], tuple[tuple[ClockRule, MetricSettings], ...]]
    plan_settings: dict[tuple[str, str, str], PlanSettings]  # (tier, severity, connection)
    # (id of a rule, target µs) -> (the rule, held so its id stays unique; it moved onto the target)
    retargeted: dict[tuple[int, int], tuple[ClockRule, ClockRule]]


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
        {},
    )
    return compiled


def _decisions(rules: Iterable[Rule], default: str) -> tuple[Decision, ...]:
    decisions = [Decision(value=r.result, rule=r.name, source=r.source, calendar=r.calendar) for r in rules]
    decisions.append(Decision(value=default, rule=None, unmatched=True))
    return tuple(decisions)


def _clock_rule(
    metric: Metric, target: timedelta, tier: Tier, chain: EscalationChain | None, severity: str
) -> ClockRule:
    settings = tier.settings(metric, severity)
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
                th,
            )
        )
    return ClockRule(
        metric,
        target,
        target // _ONE_US,
        settings.on_reopen,
        settings.pause_statuses | DONE,
        tuple(marks),
    )


def _metric_rules(
    compiled: _Compiled, tier: Tier, chain: EscalationChain | None, severity: str, variant: str = ""
) -> tuple[tuple[ClockRule, MetricSettings], ...]:
    """`variant` names the account contract whose target overrides `tier` carries ("" for none)."""
    key = (tier.name, severity) if not variant else (tier.name, severity, variant)
    rules = compiled.rules.get(key)
    if rules is None:
        targets = tier.targets.get(severity, {})
        rules = compiled.rules[key] = tuple(
            (_clock_rule(metric, targets[metric], tier, chain, severity), tier.settings(metric, severity))
            for metric in METRIC_ORDER
            if metric in targets
        )
    return rules


# ------------------------------------------------------------------------------- evaluate


@dataclass(frozen=True, slots=True)
class _Choice:
    """How a cycle runs under one policy version: its rule, calendar and the version's name."""

    rule: ClockRule
    calendar: BusinessCalendar
    calendar_name: str
    version: str
    target_from: TargetFrom | None = None


_VersionPlan = tuple[tuple[Metric, ReopenMode, tuple[_Choice | None, ...]], ...]


def _version_plan(
    versions: PolicyHistory,
    tier: Tier,
    chain: EscalationChain | None,
    severity: str,
    calendar_override: str | None,
    overrides: ContractTargets | None = None,
) -> _VersionPlan:
    """Per metric any version tracks for this tier and severity: how cycles are cut (the running
    version's reopen mode, else the newest version that tracks the metric) and, per activation, how
    a cycle runs under it (None: that version does not track the metric). Thresholds come from each
    version's warnings and the running version's escalation chain. Cached on the history."""
    key = (tier.name, severity, calendar_override, None if overrides is None else overrides.variant)
    cache: dict[object, _VersionPlan] = versions.cache
    found = cache.get(key)
    if found is not None:
        return found
    per_activation: list[dict[Metric, _Choice]] = []
    for activation in versions:
        policy = activation.policy
        own = policy.tiers.get(tier.name, tier)
        if overrides is not None:
            own = overrides.apply(own)
        name = own.calendar
        if calendar_override is not None and calendar_override in policy.calendars:
            name = calendar_override
        calendar = policy.calendars.get(name) or versions.current.calendars[tier.calendar]
        targets = own.targets.get(severity, {})
        by_metric: dict[Metric, _Choice] = {}
        for metric in METRIC_ORDER:
            if metric in targets:
                settings = own.settings(metric, severity)
                own_name = settings.calendar or name
                by_metric[metric] = _Choice(
                    _clock_rule(metric, targets[metric], own, chain, severity),
                    policy.calendars.get(own_name, calendar),
                    own_name,
                    policy.version,
                    settings.target_from,
                )
        per_activation.append(by_metric)
    built = []
    for metric in METRIC_ORDER:
        choices = tuple(choice.get(metric) for choice in per_activation)
        newest = next((c for c in reversed(choices) if c is not None), None)
        if newest is not None:
            built.append((metric, newest.rule.on_reopen, choices))
    plan_ = cache[key] = tuple(built)
    return plan_


def evaluate(
    ticket: Ticket,
    events: Iterable[Event],
    policy: Policy | PolicyHistory,
    now: datetime,
    *,
    settled: Iterable[SettledOutcome] = (),
    observed_at: datetime | None = None,
) -> Evaluation:
    """Evaluate `ticket` as of `now`.

    `policy` is the running policy, or its history of effective-dated versions (the last one
    running). `settled` are the outcomes recorded for this ticket by earlier evaluations: they are
    kept as they are. `observed_at` is when the helpdesk showed the ticket as `ticket` and `events`
    say (default `now`): cycles decided at or before it are returned in `Evaluation.decided`.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    versions: PolicyHistory | None = None
    if isinstance(policy, PolicyHistory):
        versions = policy if len(policy) > 1 else None
        policy = policy.current
    compiled = _compiled(policy)
    events = events if isinstance(events, list | tuple) else list(events)  # read twice below
    # The rules read the ticket as people left it: tierdesk's own writes never feed back into them.
    seen = as_people_left_it(ticket, events, policy)
    tier_decision = (
        account_decision(policy, seen) or compiled.tier_decisions[first_match_index(policy.tier_rules, seen)]
    )
    severity_decision = compiled.severity_decisions[first_match_index(policy.severity_rules, seen)]
    severity = severity_decision.value
    tier = policy.tiers[tier_decision.value]
    overrides = contract_targets(policy, seen) if policy.accounts else None
    if overrides is not None:
        tier = overrides.apply(tier)
    calendar_name = tier_decision.calendar or tier.calendar
    calendar: BusinessCalendar = policy.calendars[calendar_name]
    chain = policy.chains.get(tier.escalation) if tier.escalation else None
    h = history(ticket, events, now, tier.opening_comment_is_reply)

    records: list[ClockRecord] = []
    crossings: list[Crossing] = []
    decided: list[SettledOutcome] = []
    next_deadline: int | None = None
    instants, now_us = h.instants, h.now
    observed = now if observed_at is None or observed_at > now else observed_at
    observed_us = to_us(observed)
    by_start = settled_index(settled) if settled else None
    conditions = None
    if has_conditions(tier, severity):
        conditions = TicketConditions(ticket, events, tier, _field_ids(policy, ticket.connection), now_us)

    def add(
        rule: ClockRule,
        cal: BusinessCalendar,
        cal_name: str,
        version: str,
        index: int,
        start: int,
        stop: int | None,
        target_from: TargetFrom | None = None,
    ) -> None:
        nonlocal next_deadline
        outcome = by_start.pop((rule.metric, start), None) if by_start else None
        if outcome is not None and outcome.target != rule.target:
            rule = _retargeted(compiled, rule, outcome.target)
        measured = measure_us(h, start, stop, cal, rule.noncounting)
        notes: list[str] = []
        if conditions is not None:
            if target_from is not None and outcome is None:
                from_field = conditions.target(target_from, start, stop, cal)
                if from_field is not None:
                    rule = _retargeted(compiled, rule, from_field[0])
                    notes.append(
                        f"target {human(from_field[0])} from field {target_from.field} ({from_field[1]})"
                    )
            pauses, paused_by = conditions.pauses(rule.metric)
            if pauses:
                cut = without(measured, pauses, cal, now_us if stop is None else stop)
                if cut is not measured:
                    measured = cut
                    for a, b in (*cut[0], *cut[3]):  # pause edges are instants no event has
                        instants.setdefault(a, cal.datetime_at(a))
                        instants.setdefault(b, cal.datetime_at(b))
                    notes.extend(describe(c) for c in paused_by)
        record = clock_record(
            measured,
            start,
            stop,
            index,
            rule,
            cal,
            cal_name,
            instants,
            now_us,
        )
        if outcome is not None:
            record = settle_record(record, outcome, rule)
        else:
            state = record[0].state
            if conditions is not None:
                until = stop if state is _MET else record[3] if state is _BREACHED else now_us
                exempt = conditions.exemption(rule.metric, start, now_us if until is None else until)
                if exempt is not None:
                    records.append(exempt_record(record, describe(exempt)))
                    return
            if state is _MET or state is _BREACHED:
                found = decided_outcome(
                    record,
                    h,
                    observed,
                    observed_us,
                    version,
                    tier.name,
                    severity,
                    ticket.group_id,
                    ticket.assignee_id,
                )
                if found is not None:
                    decided.append(found)
        if notes:
            record = (replace(record[0], condition="; ".join(notes)), *record[1:])
        records.append(record)
        if record[1]:
            crossings.extend(record[1])
        next_at = record[5]
        if next_at is not None and (next_deadline is None or next_at < next_deadline):
            next_deadline = next_at

    if versions is None:
        variant = "" if overrides is None else overrides.variant
        for rule, own in _metric_rules(compiled, tier, chain, severity, variant):
            cal, cal_name = calendar, calendar_name
            if own.calendar is not None:  # the metric's own calendar wins over the tier's or customer's
                cal, cal_name = policy.calendars[own.calendar], own.calendar
            for index, (start, stop) in enumerate(cycle_bounds(rule.metric, h, rule.on_reopen)):
                add(rule, cal, cal_name, policy.version, index, start, stop, own.target_from)
    else:
        for metric, on_reopen, choices in _version_plan(
            versions, tier, chain, severity, tier_decision.calendar, overrides
        ):
            for index, (start, stop) in enumerate(cycle_bounds(metric, h, on_reopen)):
                choice = choices[versions.index_for_cycle(start)]
                if choice is not None:
                    add(
                        choice.rule,
                        choice.calendar,
                        choice.calendar_name,
                        choice.version,
                        index,
                        start,
                        stop,
                        choice.target_from,
                    )
    if by_start:  # settled cycles the rules no longer compute
        records.extend(orphan_record(outcome) for outcome in by_start.values())
        records.sort(key=lambda r: (METRIC_ORDER.index(r[0].metric), r[0].started_at))

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
        tuple(decided),
    )


def _retargeted(compiled: _Compiled, rule: ClockRule, target: timedelta) -> ClockRule:
    key = (id(rule), target // _ONE_US)
    found = compiled.retargeted.get(key)
    if found is None or found[0] is not rule:
        found = compiled.retargeted[key] = (rule, retarget(rule, target))
    return found[1]


def _field_ids(policy: Policy, connection: str) -> dict[str, str]:
    for config in policy.connections:
        if config.name == connection:
            return dict(config.fields)
    return {}


def exempt_record(record: ClockRecord, reason: str) -> ClockRecord:
    """A cycle a manual exemption took out of measurement: no due, no crossings, no deadline."""
    clock = replace(record[0], state=ClockState.EXEMPT, due_at=None, breached_at=None, condition=reason)
    return clock, (), [], None, record[4], None
