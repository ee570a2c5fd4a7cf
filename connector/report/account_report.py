"""`build_account_report`: the monthly health report of one customer account.

What the customer paid for and what they got, for one calendar month of the report's time zone:
adherence per metric against the contract's targets and the tier's goal, time to first response
and resolution, every breach with how late it was, the credit earned and the allowance used under
the contract in force (`connector.domain.contracts`), the trend over the previous months and the
account's open tickets at risk of breaching.

Customer-safe by construction: the report carries only what the customer already sees on their
tickets (number, subject, creation, the SLA clocks) and their own contract terms. It holds no
field that could carry agent-only data: no internal notes or comments, descriptions, tags, custom
fields, groups, assignees, agent links, organization ids or policy versions.

Figures follow the global report (`connector.report.report`): a clock belongs to the month its
cycle started in; decided cycles come from the settled record; adherence = met / (met + breached).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

from connector.domain.accounts import Account, account_index
from connector.domain.allowance_plan import tracked_hours
from connector.domain.contracts import (
    Contract,
    MonthAllowance,
    MonthCredit,
    TicketUse,
    allowance_for_month,
    chronic_overuse,
    credit_for_month,
    terms_for_month,
)
from connector.domain.engine import METRIC_ORDER
from connector.domain.policy import Metric, Policy, Tier
from connector.domain.results import ClockState
from connector.report.account_rows import Judging
from connector.report.breakdown import percent_of
from connector.report.distributions import (
    FIRST_RESPONSE_BOUNDS,
    FIRST_RESPONSE_BUCKETS,
    RESOLUTION_BOUNDS,
    RESOLUTION_BUCKETS,
    bucket_counts,
    stopped,
)
from connector.report.period import month_period
from connector.report.queries import OpenClock, StoredClock, StoredTicket, read_open_clocks, read_period
from connector.report.report import DurationFigures, durations
from connector.report.trend import DEFAULT_TREND_MONTHS, TrendPoint, months_back, trend_points
from connector.store.repository import Store

# A running clock is at risk from the tier's first warning on (this share of the target without one).
DEFAULT_AT_RISK_SHARE = 0.75


@dataclass(frozen=True, slots=True)
class ContractTerms:
    """The contract the month is judged by, as the customer signed it."""

    name: str
    start: str  # ISO dates
    end: str | None
    currency: str
    monthly_fee: str | None  # decimal text in `currency`


@dataclass(frozen=True, slots=True)
class AccountMetric:
    metric: Metric
    targets: tuple[tuple[str, timedelta], ...]  # (severity, business-time target) under the contract
    met: int
    breached: int
    in_progress: int
    adherence_percent: float | None
    goal_percent: float | None
    # a decided cycle was judged on another target than the contract's for its severity (the
    # target in force when it ran, e.g. before a renegotiation took effect)
    other_targets: bool = False


@dataclass(frozen=True, slots=True)
class AccountBreach:
    ticket: str  # the ticket number the customer knows
    subject: str
    severity: str
    metric: Metric
    started_at: datetime
    breached_at: datetime | None
    target: timedelta
    elapsed: timedelta
    late_by: timedelta
    resolved_late: bool  # False: still running past its target


@dataclass(frozen=True, slots=True)
class AtRiskTicket:
    ticket: str
    subject: str
    severity: str
    metric: Metric
    due_at: datetime | None
    target: timedelta
    elapsed: timedelta
    used_percent: float
    breached: bool
    as_of: datetime  # the evaluation the figures come from


@dataclass(frozen=True, slots=True)
class AccountReport:
    account_id: str
    account_name: str
    month: str  # YYYY-MM
    start: datetime
    end: datetime
    time_zone: str
    generated_at: datetime
    tier_label: str | None
    contract: ContractTerms | None
    tickets_created: int
    adherence_percent: float | None  # every metric together
    goal_percent: float | None
    metrics: tuple[AccountMetric, ...]
    first_response: DurationFigures
    resolution: DurationFigures
    first_response_buckets: tuple[str, ...]
    first_response_counts: tuple[int, ...]
    resolution_buckets: tuple[str, ...]
    resolution_counts: tuple[int, ...]
    breaches: tuple[AccountBreach, ...]
    credit: MonthCredit | None  # None: no contract, or no credit terms
    allowance: MonthAllowance | None  # None: no contract, or no allowance terms
    chronic_overuse: bool | None  # None: no allowance terms
    chronic_rule: str | None  # "over the allowance in 3 of the last 6 months"
    trend: tuple[TrendPoint, ...]  # the previous months and this one
    at_risk: tuple[AtRiskTicket, ...]


def find_account(policy: Policy, wanted: str) -> Account | None:
    """The account whose id or name is `wanted` (case-insensitively)."""
    key = wanted.strip().casefold()
    return next(
        (a for a in policy.accounts.values() if key in (a.id.casefold(), a.name.casefold())),
        None,
    )


def build_account_report(
    store: Store,
    policy: Policy,
    account: Account,
    *,
    month: str,
    zone: tzinfo,
    now: datetime,
    trend_months: int = DEFAULT_TREND_MONTHS,
    judging: Judging | None = None,
) -> AccountReport:
    """The health report of `account` for `month` (YYYY-MM in `zone`), generated at `now`. With
    `judging`, a closed month keeps the contract terms of the mappings version in effect when it
    ended (`connector.report.account_rows.Judging`); without, the given policy's terms judge."""
    judge = judging or Judging()

    def contracts_for(name: str) -> tuple[Contract, ...]:
        judged_by = judge.policy_for(policy, name, zone).accounts.get(account.id)
        return (judged_by or account).contracts

    start, end = month_period(month, zone)
    contract = terms_for_month(contracts_for(month), month)
    chronic_months = contract.chronic.of_last if contract is not None and contract.allowance else 1
    month_starts = months_back(start, max(trend_months, chronic_months))
    index = account_index(policy)

    def belongs(stored: StoredTicket) -> bool:
        found = index.for_ticket(stored.ticket)
        return found is not None and found.id == account.id

    stored_tickets, stored_clocks = read_period(store, month_starts[0], end)
    mine = {t.key: t for t in stored_tickets if belongs(t)}
    clocks = [c for c in stored_clocks if c.ticket_key in mine]
    in_month = [c for c in clocks if start <= c.started_at < end]
    created = [t for t in mine.values() if start <= t.ticket.created_at < end]
    tier = policy.tiers.get(account.tier or "") or _common_tier(policy, created)
    goal = tier.target_adherence_percent if tier else None
    metrics = _metrics(in_month, tier, contract, goal)
    met = sum(m.met for m in metrics)
    decided = met + sum(m.breached for m in metrics)
    allowance, chronic, rule = _allowance(
        policy, contracts_for, contract, mine.values(), month, month_starts, zone
    )
    return AccountReport(
        account_id=account.id,
        account_name=account.name,
        month=month,
        start=start,
        end=end,
        time_zone=str(zone),
        generated_at=now,
        tier_label=tier.label if tier else None,
        contract=_terms(contract),
        tickets_created=len(created),
        adherence_percent=percent_of(met, decided),
        goal_percent=goal,
        metrics=metrics,
        first_response=durations(stopped(in_month, Metric.FIRST_RESPONSE)),
        resolution=durations(stopped(in_month, Metric.RESOLUTION)),
        first_response_buckets=FIRST_RESPONSE_BUCKETS,
        first_response_counts=bucket_counts(stopped(in_month, Metric.FIRST_RESPONSE), FIRST_RESPONSE_BOUNDS),
        resolution_buckets=RESOLUTION_BUCKETS,
        resolution_counts=bucket_counts(stopped(in_month, Metric.RESOLUTION), RESOLUTION_BOUNDS),
        breaches=_breaches(in_month, mine),
        credit=None if contract is None else credit_for_month(contract, in_month),
        allowance=allowance,
        chronic_overuse=chronic,
        chronic_rule=rule,
        trend=trend_points(clocks, [s.strftime("%Y-%m") for s in month_starts[-trend_months:]], zone),
        at_risk=_at_risk(policy, [c for c in read_open_clocks(store) if belongs(c.ticket)]),
    )


def _common_tier(policy: Policy, tickets: Sequence[StoredTicket]) -> Tier | None:
    """The tier of the account's tickets when it has no tier of its own and they share one."""
    names = {t.tier for t in tickets if t.tier is not None}
    return policy.tiers.get(names.pop()) if len(names) == 1 else None


def contract_targets(
    tier: Tier | None, contract: Contract | None
) -> dict[Metric, list[tuple[str, timedelta]]]:
    """Per metric, the (severity, target) pairs the contract promises: its own targets where it
    names them, the tier's otherwise."""
    promised: dict[Metric, list[tuple[str, timedelta]]] = {}
    if tier is None:
        return promised
    overrides = contract.targets if contract is not None else {}
    for severity, targets in tier.targets.items():
        for metric, target in targets.items():
            chosen = overrides.get(severity, {}).get(metric, target)
            promised.setdefault(metric, []).append((severity, chosen))
    return promised


def _metrics(
    clocks: Sequence[StoredClock], tier: Tier | None, contract: Contract | None, goal: float | None
) -> tuple[AccountMetric, ...]:
    promised = contract_targets(tier, contract)
    rows = []
    for metric in METRIC_ORDER:
        states = [c.state for c in clocks if c.metric is metric]
        if not states and metric not in promised:
            continue
        met, breached = states.count(ClockState.MET), states.count(ClockState.BREACHED)
        promised_by_severity = dict(promised.get(metric, ()))
        other = any(
            c.severity in promised_by_severity and c.target != promised_by_severity[c.severity]
            for c in clocks
            if c.metric is metric and c.settled
        )
        rows.append(
            AccountMetric(
                metric=metric,
                targets=tuple(promised.get(metric, ())),
                met=met,
                breached=breached,
                in_progress=len(states) - met - breached,
                adherence_percent=percent_of(met, met + breached),
                goal_percent=goal,
                other_targets=other,
            )
        )
    return tuple(rows)


def _breaches(clocks: Sequence[StoredClock], owners: dict[str, StoredTicket]) -> tuple[AccountBreach, ...]:
    rows = []
    for clock in clocks:
        if clock.state is not ClockState.BREACHED:
            continue
        owner = owners[clock.ticket_key]
        rows.append(
            AccountBreach(
                ticket=owner.ticket.id,
                subject=owner.ticket.subject,
                severity=clock.severity or owner.severity or "",
                metric=clock.metric,
                started_at=clock.started_at,
                breached_at=clock.breached_at,
                target=clock.target,
                elapsed=clock.elapsed,
                late_by=clock.elapsed - clock.target,
                resolved_late=clock.stopped_at is not None,
            )
        )
    return tuple(sorted(rows, key=lambda b: (b.breached_at or b.started_at, b.ticket, b.metric.value)))


def _allowance(
    policy: Policy,
    contracts_for: Callable[[str], tuple[Contract, ...]],
    contract: Contract | None,
    tickets: Iterable[StoredTicket],
    month: str,
    month_starts: Sequence[datetime],
    zone: tzinfo,
) -> tuple[MonthAllowance | None, bool | None, str | None]:
    """This month's allowance use, whether it closes a run of chronic overuse, and the rule."""
    if contract is None or contract.allowance is None:
        return None, None, None
    by_month: dict[str, list[TicketUse]] = {}
    for stored in tickets:
        key = stored.ticket.created_at.astimezone(zone).strftime("%Y-%m")
        counted = TicketUse(stored.key, stored.ticket.created_at, tracked_hours(policy, stored.ticket))
        by_month.setdefault(key, []).append(counted)
    over: dict[str, bool] = {}
    this_month: MonthAllowance | None = None
    for start in month_starts:
        name = start.strftime("%Y-%m")
        terms = terms_for_month(contracts_for(name), name)
        use = None if terms is None else allowance_for_month(terms, by_month.get(name, []))
        over[name] = use is not None and use.over_allowance
        if name == month:
            this_month = use
    chronic = contract.chronic
    rule = f"over the allowance in {chronic.months} of the last {chronic.of_last} months"
    return this_month, chronic_overuse(over, month, chronic), rule


def _terms(contract: Contract | None) -> ContractTerms | None:
    if contract is None:
        return None
    return ContractTerms(
        name=contract.name,
        start=contract.start.isoformat(),
        end=None if contract.end is None else contract.end.isoformat(),
        currency=contract.currency,
        monthly_fee=None if contract.monthly_fee is None else f"{contract.monthly_fee:,.2f}",
    )


def _at_risk(policy: Policy, clocks: Sequence[OpenClock]) -> tuple[AtRiskTicket, ...]:
    rows = []
    for clock in clocks:
        tier = policy.tiers.get(clock.ticket.tier or "")
        offsets = [
            w.offset(clock.target)
            for w in (tier.warnings if tier else ())
            if w.after is None and not w.is_breach
        ]
        threshold = min(offsets, default=clock.target * DEFAULT_AT_RISK_SHARE)
        breached = clock.state is ClockState.BREACHED or clock.elapsed >= clock.target
        if not breached and clock.elapsed < threshold:
            continue
        ticket = clock.ticket.ticket
        rows.append(
            AtRiskTicket(
                ticket=ticket.id,
                subject=ticket.subject,
                severity=clock.ticket.severity or "",
                metric=clock.metric,
                due_at=clock.due_at,
                target=clock.target,
                elapsed=clock.elapsed,
                used_percent=round(100.0 * clock.elapsed / clock.target, 1) if clock.target else 100.0,
                breached=breached,
                as_of=clock.evaluated_at,
            )
        )
    return tuple(sorted(rows, key=lambda r: (not r.breached, -r.used_percent, r.ticket, r.metric.value)))
