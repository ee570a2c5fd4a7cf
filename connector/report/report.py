"""`build_report`: SLA figures of a period, from the SLA record the engine stored.

Decided cycles come from the settled outcomes (met stays met, a breach stays a breach, under the
tier, severity, target and policy version they were decided by); open ones from the clock rows of
each ticket's last evaluation. So the report shows the same targets, elapsed business time and
breach instants agents saw on their tickets, and names the policy versions that produced them.
Nothing is re-evaluated: a running clock counts as of the evaluation that stored it.

Definitions used throughout:
- Period: a clock belongs to the period when its cycle started in [start, end); a ticket when it
  was created in [start, end). Days and months are those of `start`'s time zone.
- A clock is *met* (stopped within target), *breached* (past target, stopped or not) or *in
  progress* (running or paused within target). Adherence = met / (met + breached); clocks in
  progress are left out until they are decided.
- Time to first response / resolution: the business time (`elapsed`) of stopped clock cycles.
  Median is the middle value (mean of the two middle values for an even count); p90 is the
  nearest-rank 90th percentile, a value that actually occurred.
- Service credit: per account (an organization no account claims is its own), month (of the
  clock's start) and tier, under the account's contract in force that month, else the tier's
  `service_credit` (`connector.report.account_rows`); terms from the given policy.
- Allowance: tickets (and tracked hours) created per account, month and tier against the
  contract's allowance, else the tier's `monthly_allowance`; a month the period covers only in part
  is flagged `partial_month`, N of the last M months over it `chronic_overuse`.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta, tzinfo

from connector.domain.accounts import account_decision
from connector.domain.engine import METRIC_ORDER
from connector.domain.formatting import tag_name
from connector.domain.policy import Metric, Policy
from connector.domain.record import PolicyHistory
from connector.domain.results import ClockState
from connector.domain.rules import first_match
from connector.report.account_rows import (
    AllowanceUse,
    Judging,
    ServiceCredit,
    allowance,
    chronic_lookback,
    service_credits,
    tickets_created,
)
from connector.report.breakdown import HolderFigures, alias_names, by_holder
from connector.report.distributions import (
    FIRST_RESPONSE_BUCKETS,
    RESOLUTION_BUCKETS,
    Distribution,
    distribution,
    stopped,
)
from connector.report.ola import OlaRow, ola_rows
from connector.report.queries import StoredClock, StoredTicket, read_period
from connector.report.trend import DEFAULT_TREND_MONTHS, TrendPoint, build_trend
from connector.store.repository import Store


@dataclass(frozen=True, slots=True)
class MetricFigures:
    metric: Metric
    met: int
    breached: int
    in_progress: int
    adherence_percent: float | None  # None while no clock of the metric is decided
    exempt: int = 0  # cycles a manual exemption took out of measurement (neither met nor breached)


@dataclass(frozen=True, slots=True)
class DurationFigures:
    count: int
    median: timedelta | None
    p90: timedelta | None


@dataclass(frozen=True, slots=True)
class Segment:
    """Figures of one tier (severity None), one tier x severity, or everything (tier None)."""

    tier: str | None
    tier_label: str
    severity: str | None
    tickets: int  # created in the period
    adherence_percent: float | None  # every metric together
    metrics: tuple[MetricFigures, ...]  # metrics that have clocks, in engine order
    first_response: DurationFigures
    resolution: DurationFigures
    goal_percent: float | None = None  # the tier's target adherence (a tier segment only)


@dataclass(frozen=True, slots=True)
class Breach:
    ticket: str  # `<connection>:<id>`
    url: str | None
    organization: str | None
    tier: str
    severity: str
    metric: Metric
    cycle: int
    started_at: datetime
    breached_at: datetime | None
    target: timedelta
    elapsed: timedelta
    overrun: timedelta  # elapsed - target, as of the evaluation that stored the clock
    stopped: bool
    policy_version: str


@dataclass(frozen=True, slots=True)
class DailyBreaches:
    day: date
    breaches: int


@dataclass(frozen=True, slots=True)
class VersionUse:
    version: str
    clocks: int
    tickets: int
    current: bool  # the version of the policy the report was built with


@dataclass(frozen=True, slots=True)
class SlaReport:
    start: datetime
    end: datetime
    time_zone: str
    generated_at: datetime
    policy_version: str  # the policy that supplied labels, credit and allowance terms
    versions: tuple[VersionUse, ...]  # the policy versions that computed the clocks
    oldest_evaluation: datetime | None  # the clocks are as of these evaluations
    newest_evaluation: datetime | None
    overall: Segment
    by_tier: tuple[Segment, ...]
    by_tier_severity: tuple[Segment, ...]
    breaches: tuple[Breach, ...]
    breaches_per_day: tuple[DailyBreaches, ...]
    first_response_buckets: tuple[str, ...]
    first_response_distribution: tuple[Distribution, ...]
    service_credits: tuple[ServiceCredit, ...]
    allowance: tuple[AllowanceUse, ...]
    unmatched_tickets: int  # created in the period, given the default tier because no rule matched
    unevaluated_tickets: int  # created in the period, never evaluated
    resolution_buckets: tuple[str, ...] = RESOLUTION_BUCKETS
    resolution_distribution: tuple[Distribution, ...] = ()
    trend: tuple[TrendPoint, ...] = ()  # the months up to the one the period ends in
    by_group: tuple[HolderFigures, ...] = ()
    by_assignee: tuple[HolderFigures, ...] = ()
    olas: tuple[OlaRow, ...] = ()  # group ownership: settled holds that ended in the period


def build_report(
    store: Store,
    policy: Policy,
    *,
    start: datetime,
    end: datetime,
    now: datetime,
    trend_months: int = DEFAULT_TREND_MONTHS,
    history: PolicyHistory | None = None,
    rejudge: bool = False,
) -> SlaReport:
    """The SLA report of [start, end) as stored in `store`; `policy` supplies tier labels, goals,
    the service-credit and allowance terms and the unmatched-tier rule check. `now` is the
    generation instant; days and months are those of `start`'s time zone; the trend covers the
    `trend_months` months up to the one `end` falls in. With the stored policy `history`, a month
    that ended by `now` is judged by the contract terms of the version in effect when it ended
    (`rejudge`: by `policy`'s). Raises ValueError for naive datetimes or an empty period."""
    for name, value in (("start", start), ("end", end), ("now", now)):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"{name} must be timezone-aware")
    if end <= start:
        raise ValueError(f"the period is empty: end {end.isoformat()} is not after start {start.isoformat()}")
    zone = start.tzinfo
    assert zone is not None
    judging = Judging(history, now, rejudge)
    stored_tickets, stored_clocks = read_period(store, start, end)
    by_key = {t.key: t for t in stored_tickets}
    created = [t for t in stored_tickets if start <= t.ticket.created_at < end]
    evaluated = [t for t in created if t.tier is not None]
    # Clocks always belong to an evaluated ticket (the evaluation wrote tier and clocks together);
    # a decided clock counts under the tier and severity it was decided under.
    clocks = [(c, _as_decided(by_key[c.ticket_key], c)) for c in stored_clocks]
    tiers = _ordered(policy.tiers, (t.tier for t in evaluated), (t.tier for _, t in clocks))
    severities = _ordered(policy.severities, (t.severity for t in evaluated), (t.severity for _, t in clocks))

    def label(tier: str) -> str:
        known = policy.tiers.get(tier)
        return known.label if known else tier

    def segment(tier: str | None, severity: str | None) -> Segment:
        def keep(t: StoredTicket) -> bool:
            return (tier is None or t.tier == tier) and (severity is None or t.severity == severity)

        known = policy.tiers.get(tier or "")
        return _segment(
            tier,
            "All tiers" if tier is None else label(tier),
            severity,
            tickets=len(created) if tier is None else sum(1 for t in evaluated if keep(t)),
            clocks=[c for c, t in clocks if keep(t)],
            goal=known.target_adherence_percent if known else None,
        )

    by_tier = tuple(segment(tier, None) for tier in tiers)
    by_tier_severity = tuple(
        s for tier in tiers for severity in severities if (s := segment(tier, severity)).tickets or s.metrics
    )
    breaches = tuple(
        sorted(
            (_breach(c, t) for c, t in clocks if c.state is ClockState.BREACHED),
            key=lambda b: (b.breached_at or b.started_at, b.ticket, b.metric.value, b.cycle),
        )
    )
    return SlaReport(
        start=start,
        end=end,
        time_zone=str(zone),
        generated_at=now,
        policy_version=policy.version,
        versions=_versions(stored_clocks, policy.version),
        oldest_evaluation=min((c.evaluated_at for c in stored_clocks), default=None),
        newest_evaluation=max((c.evaluated_at for c in stored_clocks), default=None),
        overall=segment(None, None),
        by_tier=by_tier,
        by_tier_severity=by_tier_severity,
        breaches=breaches,
        breaches_per_day=_per_day(breaches, start, end, zone),
        first_response_buckets=FIRST_RESPONSE_BUCKETS,
        first_response_distribution=tuple(
            distribution(tier, label(tier), [c for c, t in clocks if t.tier == tier], Metric.FIRST_RESPONSE)
            for tier in tiers
        ),
        service_credits=service_credits(policy, clocks, zone, judging),
        allowance=allowance(
            policy,
            evaluated,
            _partial_months(start, end, zone),
            zone,
            judging,
            _lookback(store, policy, start),
        ),
        unmatched_tickets=sum(1 for t in evaluated if _unmatched(t, policy)),
        unevaluated_tickets=len(created) - len(evaluated),
        resolution_distribution=tuple(
            distribution(tier, label(tier), [c for c, t in clocks if t.tier == tier], Metric.RESOLUTION)
            for tier in tiers
        ),
        trend=build_trend(store, end=end, zone=zone, months=trend_months),
        by_group=by_holder(clocks, "group", alias_names(policy)),
        by_assignee=by_holder(clocks, "assignee", alias_names(policy)),
        olas=tuple(ola_rows(store.ola_holds(start, end))),
    )


def _as_decided(owner: StoredTicket, clock: StoredClock) -> StoredTicket:
    if clock.tier is None or (clock.tier, clock.severity) == (owner.tier, owner.severity):
        return owner
    return replace(owner, tier=clock.tier, severity=clock.severity)


def _ordered(known: Iterable[str], *seen: Iterable[str | None]) -> list[str]:
    """`known` names that occur in `seen`, in `known` order, then unknown ones alphabetically (a
    tier or severity the current policy no longer has still gets its figures)."""
    present = {value for values in seen for value in values if value is not None}
    first = [name for name in known if name in present]
    return first + sorted(present - set(first))


def _percent(part: int, whole: int) -> float | None:
    return None if whole == 0 else round(100.0 * part / whole, 1)


def _segment(
    tier: str | None,
    tier_label: str,
    severity: str | None,
    *,
    tickets: int,
    clocks: Sequence[StoredClock],
    goal: float | None = None,
) -> Segment:
    metrics: list[MetricFigures] = []
    for metric in METRIC_ORDER:
        states = Counter(c.state for c in clocks if c.metric is metric)
        if not states:
            continue
        met, breached = states[ClockState.MET], states[ClockState.BREACHED]
        in_progress = states[ClockState.RUNNING] + states[ClockState.PAUSED]
        metrics.append(
            MetricFigures(
                metric, met, breached, in_progress, _percent(met, met + breached), states[ClockState.EXEMPT]
            )
        )
    met = sum(m.met for m in metrics)
    decided = met + sum(m.breached for m in metrics)
    return Segment(
        tier=tier,
        tier_label=tier_label,
        severity=severity,
        tickets=tickets,
        adherence_percent=_percent(met, decided),
        metrics=tuple(metrics),
        first_response=durations(stopped(clocks, Metric.FIRST_RESPONSE)),
        resolution=durations(stopped(clocks, Metric.RESOLUTION)),
        goal_percent=goal,
    )


def durations(values: Sequence[timedelta]) -> DurationFigures:
    """Median and nearest-rank p90 of sorted durations."""
    count = len(values)
    if count == 0:
        return DurationFigures(0, None, None)
    middle = count // 2
    median = values[middle] if count % 2 else (values[middle - 1] + values[middle]) / 2
    p90 = values[math.ceil(0.9 * count) - 1]
    return DurationFigures(count, median, p90)


def _breach(clock: StoredClock, owner: StoredTicket) -> Breach:
    organization = owner.ticket.organization
    return Breach(
        ticket=clock.ticket_key,
        url=owner.ticket.url,
        organization=None if organization is None else organization.name,
        tier=owner.tier or "",
        severity=owner.severity or "",
        metric=clock.metric,
        cycle=clock.cycle,
        started_at=clock.started_at,
        breached_at=clock.breached_at,
        target=clock.target,
        elapsed=clock.elapsed,
        overrun=clock.elapsed - clock.target,
        stopped=clock.stopped_at is not None,
        policy_version=clock.policy_version,
    )


def _local_day(instant: datetime, zone: tzinfo) -> date:
    return instant.astimezone(zone).date()


def _month(instant: datetime, zone: tzinfo) -> str:
    return instant.astimezone(zone).strftime("%Y-%m")


def _per_day(
    breaches: Sequence[Breach], start: datetime, end: datetime, zone: tzinfo
) -> tuple[DailyBreaches, ...]:
    """Breaches per local day of their breach instant, every day of the period listed (and later
    days when a clock of the period breached after its end)."""
    counts = Counter(_local_day(b.breached_at, zone) for b in breaches if b.breached_at is not None)
    first = _local_day(start, zone)
    last = max([_local_day(end - timedelta(microseconds=1), zone), *counts])
    return tuple(
        DailyBreaches(day, counts[day])
        for day in (first + timedelta(days=offset) for offset in range((last - first).days + 1))
    )


def _lookback(store: Store, policy: Policy, start: datetime) -> list[StoredTicket]:
    """Tickets of the months before the period that chronic overuse counts."""
    months = chronic_lookback(policy)
    if months == 0:
        return []
    local = start.astimezone(start.tzinfo)
    first = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    back = first.month - 1 - months
    since = first.replace(year=first.year + back // 12, month=back % 12 + 1)
    return tickets_created(store, since, first)


def _partial_months(start: datetime, end: datetime, zone: tzinfo) -> set[str]:
    """Months of the period that it does not cover from their first to their last instant."""
    local_start, local_end = start.astimezone(zone), end.astimezone(zone)
    partial: set[str] = set()
    if local_start != local_start.replace(day=1, hour=0, minute=0, second=0, microsecond=0):
        partial.add(local_start.strftime("%Y-%m"))
    if local_end != local_end.replace(day=1, hour=0, minute=0, second=0, microsecond=0):
        partial.add(local_end.strftime("%Y-%m"))
    return partial


def _unmatched(stored: StoredTicket, policy: Policy) -> bool:
    """Whether the ticket's last evaluation gave it the default tier because no rule matched.

    Under the report's policy version the rules are re-checked on the stored snapshot: it is the
    one that was evaluated (a newer snapshot clears `evaluated_version`), so this is the engine's
    own decision. Evaluated under another version, or changed since, the rules or the ticket may
    differ from what was evaluated, so the flag tag the helpdesk shows on the ticket decides.
    """
    if stored.evaluated_version == policy.version:
        if account_decision(policy, stored.ticket) is not None:
            return False  # an account gives the tier
        return first_match(policy.tier_rules, stored.ticket, policy.default_tier).unmatched
    flag = tag_name(f"{policy.writeback.tag_prefix}tier_unmatched")
    return flag in stored.ticket.tags


def _versions(clocks: Sequence[StoredClock], current: str) -> tuple[VersionUse, ...]:
    clock_counts = Counter(c.policy_version for c in clocks)
    ticket_sets: defaultdict[str, set[str]] = defaultdict(set)
    for clock in clocks:
        ticket_sets[clock.policy_version].add(clock.ticket_key)
    return tuple(
        VersionUse(version, count, len(ticket_sets[version]), version == current)
        for version, count in sorted(clock_counts.items(), key=lambda item: (-item[1], item[0]))
    )
