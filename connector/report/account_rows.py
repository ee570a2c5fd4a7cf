"""The report's service-credit and allowance tables, per account and month.

Rows group by account (`connector.domain.accounts`): an account's organizations in every
connection are one row; an organization no account claims is its own row, as before accounts
existed. The terms of a month are the account's contract in force then
(`connector.domain.contracts.terms_for_month`), else the tier's `service_credit` /
`monthly_allowance` (percentages and ticket counts only). Credits read decided cycles only: a
month's credit is computed from settled outcomes, so it does not move once its cycles are decided.

Hours come from the helpdesk's time tracking where a connection maps the logical field
`time_spent` (seconds, e.g. the Zendesk Time Tracking app's "Total time spent (sec)" field);
elsewhere the allowance is counted in tickets only.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from decimal import Decimal

import sqlalchemy as sa

from connector.domain.accounts import AccountKey, account_index
from connector.domain.allowance_plan import tracked_hours
from connector.domain.contracts import (
    AllowanceTerms,
    ChronicTerms,
    Contract,
    CreditTerms,
    TicketUse,
    allowance_for_month,
    chronic_overuse,
    credit_for_month,
    month_start,
    next_month,
    terms_for_month,
)
from connector.domain.model import Ticket
from connector.domain.policy import Policy
from connector.domain.record import PolicyHistory
from connector.domain.results import ClockState
from connector.report.queries import StoredClock, StoredTicket
from connector.store import codec
from connector.store.repository import Store
from connector.store.tables import tickets


@dataclass(frozen=True, slots=True)
class ServiceCredit:
    """A month's credit of one account (`organization_id` / `organization`: the account's id and
    name, or the organization's when no account claims it)."""

    organization_id: str
    organization: str
    month: str  # YYYY-MM
    tier: str
    breaches: int  # of the credited metrics
    percent_per_breach: float | None  # None: credit by adherence band
    cap_percent: float
    credit_percent: float
    capped: bool
    mode: str = "per_breach"  # per_breach | bands
    adherence_percent: float | None = None  # of the credited metrics
    amount: Decimal | None = None  # in `currency`; None without a monthly fee in the terms
    currency: str | None = None
    terms: str = ""  # the contract's name, or `tier <name>`
    band_below_percent: float | None = None  # mode bands: the band that applied (None: none did)
    band_percent: float | None = None  # that band's credit before the cap


@dataclass(frozen=True, slots=True)
class AllowanceUse:
    organization_id: str
    organization: str
    month: str  # YYYY-MM
    tier: str
    tickets: int
    allowance: int | None  # tickets included; None: no ticket allowance
    over_allowance: bool
    partial_month: bool  # the period covers only part of the month
    hours: Decimal | None = None  # tracked time; None: tickets only
    allowance_hours: Decimal | None = None
    ceiling: int | None = None
    over_ceiling: bool = False
    chronic_overuse: bool = False  # over the allowance in N of the last M months
    tickets_only: bool = False  # the terms count hours but no ticket had tracked time
    terms: str = ""


def _key(policy: Policy, ticket: Ticket) -> AccountKey | None:
    return account_index(policy).key_for_ticket(ticket)


def _month(instant: datetime, zone: tzinfo) -> str:
    return instant.astimezone(zone).strftime("%Y-%m")


def _tier_contract(policy: Policy, tier_name: str) -> Contract | None:
    """The tier's own terms as a contract without a fee, for organizations with none."""
    tier = policy.tiers.get(tier_name)
    if tier is None:
        return None
    credit = tier.service_credit
    return Contract(
        start=date.min,
        credit=None
        if credit is None
        else CreditTerms(
            cap_percent=Decimal(str(credit.cap_percent)),
            per_breach_percent=Decimal(str(credit.percent_per_breach)),
            metrics=credit.metrics,
        ),
        allowance=None if tier.monthly_allowance is None else AllowanceTerms(tickets=tier.monthly_allowance),
        name=f"tier {tier_name}",
    )


@dataclass(frozen=True, slots=True)
class Judging:
    """Which mappings version's contracts judge a month: a closed month (ended by `now`) keeps
    the terms of the version in effect when it ended, so a later contract edit does not rewrite it;
    `rejudge` judges every month by the report's policy instead. Without a history every month is
    judged by the report's policy."""

    history: PolicyHistory | None = None
    now: datetime | None = None
    rejudge: bool = False

    def policy_for(self, policy: Policy, month: str, zone: tzinfo) -> Policy:
        if self.history is None or self.now is None or self.rejudge:
            return policy
        following = next_month(month_start(month))
        end = datetime(following.year, following.month, 1, tzinfo=zone)
        if end > self.now:
            return policy  # still open: the running terms
        in_effect = [a for a in self.history if a.effective_from < end]
        return in_effect[-1].policy if in_effect else policy


def _terms(
    policy: Policy, key: AccountKey, month: str, tier: str, judging: Judging, zone: tzinfo
) -> Contract | None:
    judged_by = judging.policy_for(policy, month, zone)
    account = None if key.pseudo else judged_by.accounts.get(key.id) or policy.accounts.get(key.id)
    if account is not None and account.contracts:
        return terms_for_month(account.contracts, month)
    return _tier_contract(judged_by if tier in judged_by.tiers else policy, tier)


def service_credits(
    policy: Policy,
    clocks: Sequence[tuple[StoredClock, StoredTicket]],
    zone: tzinfo,
    judging: Judging | None = None,
) -> tuple[ServiceCredit, ...]:
    """Credits per account, month (of the cycle's start) and tier; a month with credit terms and
    no breach is listed with no credit."""
    decided: dict[tuple[AccountKey, str, str], list[StoredClock]] = defaultdict(list)
    for clock, owner in clocks:
        key = _key(policy, owner.ticket)
        if key is None or owner.tier is None:
            continue
        decided[(key, _month(clock.started_at, zone), owner.tier)].append(clock)
    rows: list[ServiceCredit] = []
    for (key, month, tier), month_clocks in decided.items():
        contract = _terms(policy, key, month, tier, judging or Judging(), zone)
        if contract is None or contract.credit is None:
            continue
        done = [c for c in month_clocks if c.state in (ClockState.MET, ClockState.BREACHED)]
        credit = credit_for_month(contract, done)
        assert credit is not None
        terms = contract.credit
        rows.append(
            ServiceCredit(
                organization_id=key.id,
                organization=key.name,
                month=month,
                tier=tier,
                breaches=credit.breaches,
                percent_per_breach=None
                if terms.per_breach_percent is None
                else float(terms.per_breach_percent),
                cap_percent=float(terms.cap_percent),
                credit_percent=float(credit.percent),
                capped=credit.capped,
                mode=credit.mode,
                adherence_percent=None
                if credit.adherence_percent is None
                else float(credit.adherence_percent),
                amount=credit.amount,
                currency=contract.currency if credit.amount is not None else None,
                terms=contract.name,
                band_below_percent=None if credit.band is None else float(credit.band.below_percent),
                band_percent=None if credit.band is None else float(credit.band.credit_percent),
            )
        )
    return tuple(sorted(rows, key=lambda r: (r.month, r.organization, r.organization_id, r.tier)))


def _by_month(
    policy: Policy, tickets: Sequence[StoredTicket], zone: tzinfo
) -> dict[tuple[AccountKey, str, str], list[TicketUse]]:
    created: dict[tuple[AccountKey, str, str], list[TicketUse]] = defaultdict(list)
    for stored in tickets:
        key = _key(policy, stored.ticket)
        if key is None or stored.tier is None:
            continue
        counted = TicketUse(stored.ticket.key, stored.ticket.created_at, tracked_hours(policy, stored.ticket))
        created[(key, _month(stored.ticket.created_at, zone), stored.tier)].append(counted)
    return created


def chronic_lookback(policy: Policy) -> int:
    """How many months before a report's first month chronic overuse looks back on."""
    return max(
        (c.chronic.of_last - 1 for a in policy.accounts.values() for c in a.contracts if c.allowance),
        default=0,
    )


def tickets_created(store: Store, start: datetime, end: datetime) -> list[StoredTicket]:
    """Evaluated tickets created in [start, end), for the months chronic overuse looks back on."""
    query = sa.select(tickets.c.data, tickets.c.tier, tickets.c.severity, tickets.c.evaluated_version).where(
        tickets.c.created_at >= start, tickets.c.created_at < end, tickets.c.tier.is_not(None)
    )
    with store.reading() as db:
        return [
            StoredTicket(codec.decode_ticket(row.data), row.tier, row.severity, row.evaluated_version)
            for row in db.execute(query)
        ]


def allowance(
    policy: Policy,
    tickets: Sequence[StoredTicket],
    partial: set[str],
    zone: tzinfo,
    judging: Judging | None = None,
    earlier: Sequence[StoredTicket] = (),
) -> tuple[AllowanceUse, ...]:
    """Tickets (and tracked hours) created per account, month and tier against the terms.
    `earlier` are the tickets of the months before the period that chronic overuse looks back
    on (they get no rows)."""
    over_by_account: dict[AccountKey, dict[str, bool]] = defaultdict(dict)
    first_month = min((_month(t.ticket.created_at, zone) for t in tickets), default="")
    for (key, month, tier), uses in _by_month(policy, earlier, zone).items():
        if month >= first_month:
            continue
        contract = _terms(policy, key, month, tier, judging or Judging(), zone)
        use = None if contract is None else allowance_for_month(contract, uses)
        over_by_account[key][month] = over_by_account[key].get(month, False) or (
            use is not None and use.over_allowance
        )
    rows: list[AllowanceUse] = []
    figures = []
    for (key, month, tier), uses in _by_month(policy, tickets, zone).items():
        contract = _terms(policy, key, month, tier, judging or Judging(), zone)
        use = None if contract is None else allowance_for_month(contract, uses)
        over_by_account[key][month] = over_by_account[key].get(month, False) or (
            use is not None and use.over_allowance
        )
        figures.append((key, month, tier, uses, contract, use))
    for key, month, tier, uses, contract, use in figures:
        chronic_terms = contract.chronic if contract is not None else ChronicTerms()
        rows.append(
            AllowanceUse(
                organization_id=key.id,
                organization=key.name,
                month=month,
                tier=tier,
                tickets=len(uses),
                allowance=None if use is None else use.allowance_tickets,
                over_allowance=use is not None and use.over_allowance,
                partial_month=month in partial,
                hours=None if use is None else use.hours,
                allowance_hours=None if use is None else use.allowance_hours,
                ceiling=None if use is None else use.ceiling_tickets,
                over_ceiling=use is not None and use.over_ceiling,
                chronic_overuse=use is not None
                and chronic_overuse(over_by_account[key], month, chronic_terms),
                tickets_only=use is not None and use.tickets_only,
                terms="" if contract is None else contract.name,
            )
        )
    return tuple(sorted(rows, key=lambda r: (r.month, r.organization, r.organization_id, r.tier)))
