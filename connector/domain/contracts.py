"""Contract terms of an account and what a month owes under them: credits and allowance use.

Pure functions over settled records (no I/O): reports, the monthly account report and the
allowance write-back all read them.

- A contract is in force from `start` (a date) until `end` (the first day it no longer covers;
  None: open-ended). A month is judged by the contract in force on its first day, else by the
  first contract that starts within it; a later edit of the terms of a closed month changes it only
  when the admin passes `rejudge` (`terms_for_month(..., judged=...)`).
- Credits are a percent of the monthly fee, in the contract's currency, as `decimal.Decimal`
  (money is never a float): `per_breach` percent for each breached cycle of the credited metrics,
  or `bands` (adherence below a bound earns that band's percent; the lowest bound that applies
  wins), capped at `cap` percent.
- Allowance: tickets and/or hours a month includes. Tickets count by creation instant in the
  contract's month; hours are the helpdesk's time tracking where a connection maps it (else the
  allowance is "tickets only" there). `ceiling` is the most the month may use before every further
  ticket is flagged over the ceiling; tickets beyond the allowance are flagged over the allowance.
- Chronic overuse: over the allowance in at least `months` of the last `of_last` months
  (the judged month included).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Protocol

from connector.domain.policy import Metric
from connector.domain.results import ClockState

HUNDRED = Decimal(100)
CREDITED_METRICS = frozenset({Metric.FIRST_RESPONSE, Metric.RESOLUTION})


@dataclass(frozen=True, slots=True)
class CreditBand:
    """Adherence below `below_percent` earns `credit_percent` of the monthly fee."""

    below_percent: Decimal
    credit_percent: Decimal


@dataclass(frozen=True, slots=True)
class CreditTerms:
    cap_percent: Decimal
    per_breach_percent: Decimal | None = None  # exactly one of per_breach / bands
    bands: tuple[CreditBand, ...] = ()
    metrics: frozenset[Metric] = CREDITED_METRICS

    @property
    def mode(self) -> str:
        return "per_breach" if self.per_breach_percent is not None else "bands"


@dataclass(frozen=True, slots=True)
class AllowanceTerms:
    tickets: int | None = None
    hours: Decimal | None = None
    ceiling_tickets: int | None = None  # None: no ceiling beyond the allowance
    ceiling_hours: Decimal | None = None


@dataclass(frozen=True, slots=True)
class ChronicTerms:
    months: int = 3
    of_last: int = 6


@dataclass(frozen=True, slots=True)
class Contract:
    """One period of an account's terms. `targets` override the tier's (severity -> metric ->
    business-time target); a metric not named keeps the tier's target."""

    start: date
    end: date | None = None
    currency: str = "EUR"  # ISO 4217
    monthly_fee: Decimal | None = None
    targets: Mapping[str, Mapping[Metric, timedelta]] = field(default_factory=dict)
    credit: CreditTerms | None = None
    allowance: AllowanceTerms | None = None
    chronic: ChronicTerms = ChronicTerms()
    name: str = ""
    source: str = ""  # file:line

    def covers(self, day: date) -> bool:
        return self.start <= day and (self.end is None or day < self.end)


# ---------------------------------------------------------------------------- which terms


def month_start(month: str) -> date:
    """`YYYY-MM` -> its first day."""
    year, _, number = month.partition("-")
    return date(int(year), int(number), 1)


def next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def terms_on(contracts: Sequence[Contract], day: date) -> Contract | None:
    """The contract in force on `day` (the latest-starting one when terms overlap)."""
    found = [c for c in contracts if c.covers(day)]
    return max(found, key=lambda c: c.start) if found else None


def terms_for_month(
    contracts: Sequence[Contract], month: str, *, judged: Contract | None = None, rejudge: bool = False
) -> Contract | None:
    """The contract a month is judged by: the one in force on its first day, else the first that
    starts within it. `judged` is the contract a closed month was already judged by (recorded
    with its figures): it stands unless `rejudge`, so a later edit does not rewrite the month."""
    if judged is not None and not rejudge:
        return judged
    first = month_start(month)
    found = terms_on(contracts, first)
    if found is not None:
        return found
    following = next_month(first)
    within = sorted((c for c in contracts if first <= c.start < following), key=lambda c: c.start)
    return within[0] if within else None


# ---------------------------------------------------------------------------------- credits


class Decided(Protocol):
    """What credits read of a settled (or stored) clock cycle."""

    @property
    def metric(self) -> Metric: ...

    @property
    def state(self) -> ClockState: ...


@dataclass(frozen=True, slots=True)
class MonthCredit:
    breaches: int  # decided cycles of the credited metrics that breached
    decided: int  # decided cycles of the credited metrics (met + breached)
    adherence_percent: Decimal | None  # None: nothing decided
    uncapped_percent: Decimal
    percent: Decimal  # after the cap
    capped: bool
    amount: Decimal | None  # percent of the monthly fee, in `currency`; None without a fee
    currency: str
    mode: str  # per_breach | bands
    band: CreditBand | None = None  # the band that applied (mode bands)


def _money(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN)


def credit_for_month(contract: Contract, outcomes: Iterable[Decided]) -> MonthCredit | None:
    """The credit a month earns under `contract` from its decided cycles (`outcomes`: the settled
    outcomes of cycles that started in the month; running ones are ignored). None when the
    contract has no credit terms."""
    terms = contract.credit
    if terms is None:
        return None
    met = breached = 0
    for outcome in outcomes:
        if outcome.metric not in terms.metrics:
            continue
        if outcome.state is ClockState.BREACHED:
            breached += 1
        elif outcome.state is ClockState.MET:
            met += 1
    decided = met + breached
    adherence = None if decided == 0 else (HUNDRED * met / decided).quantize(Decimal("0.1"))
    band: CreditBand | None = None
    if terms.per_breach_percent is not None:
        uncapped = terms.per_breach_percent * breached
    else:
        exact = None if decided == 0 else HUNDRED * met / decided
        applying = [b for b in terms.bands if exact is not None and exact < b.below_percent]
        band = min(applying, key=lambda b: b.below_percent) if applying else None
        uncapped = band.credit_percent if band is not None else Decimal(0)
    percent = min(uncapped, terms.cap_percent)
    amount = None if contract.monthly_fee is None else _money(contract.monthly_fee * percent / HUNDRED)
    return MonthCredit(
        breaches=breached,
        decided=decided,
        adherence_percent=adherence,
        uncapped_percent=uncapped,
        percent=percent,
        capped=uncapped > terms.cap_percent,
        amount=amount,
        currency=contract.currency,
        mode=terms.mode,
        band=band,
    )


# -------------------------------------------------------------------------------- allowance


@dataclass(frozen=True, slots=True)
class TicketUse:
    """A ticket counted against an account's month: `key` `<connection>:<id>`, its creation
    instant, and hours tracked on it (None: the connection has no time tracking)."""

    key: str
    created_at: datetime
    hours: Decimal | None = None


@dataclass(frozen=True, slots=True)
class MonthAllowance:
    tickets: int
    hours: Decimal | None  # None: no ticket of the month carries tracked time
    allowance_tickets: int | None
    allowance_hours: Decimal | None
    ceiling_tickets: int | None
    over_allowance: bool
    over_ceiling: bool
    tickets_only: bool  # hours are in the terms but no ticket had tracked time
    # tickets past the allowance / past the ceiling, in arrival order
    over_allowance_keys: tuple[str, ...] = ()
    over_ceiling_keys: tuple[str, ...] = ()


def allowance_for_month(contract: Contract, tickets: Iterable[TicketUse]) -> MonthAllowance | None:
    """The month's use against the contract's allowance; None without allowance terms.

    Tickets are taken in arrival order (creation instant, then key): the first `tickets` are
    included; so are tickets while the hours tracked on earlier ones stay within `hours`."""
    terms = contract.allowance
    if terms is None:
        return None
    ordered = sorted(tickets, key=lambda t: (t.created_at, t.key))
    tracked = [t.hours for t in ordered if t.hours is not None]
    hours = sum(tracked, Decimal(0)) if tracked else None
    over: list[str] = []
    beyond: list[str] = []
    used_hours = Decimal(0)
    for count, ticket in enumerate(ordered, start=1):
        past = terms.tickets is not None and count > terms.tickets
        past = past or (terms.hours is not None and used_hours >= terms.hours and tracked != [])
        past_ceiling = terms.ceiling_tickets is not None and count > terms.ceiling_tickets
        past_ceiling = past_ceiling or (
            terms.ceiling_hours is not None and used_hours >= terms.ceiling_hours and tracked != []
        )
        if past:
            over.append(ticket.key)
        if past_ceiling:
            beyond.append(ticket.key)
        used_hours += ticket.hours or Decimal(0)
    over_tickets = terms.tickets is not None and len(ordered) > terms.tickets
    over_hours = terms.hours is not None and hours is not None and hours > terms.hours
    return MonthAllowance(
        tickets=len(ordered),
        hours=hours,
        allowance_tickets=terms.tickets,
        allowance_hours=terms.hours,
        ceiling_tickets=terms.ceiling_tickets,
        over_allowance=over_tickets or over_hours,
        over_ceiling=bool(beyond)
        or (terms.ceiling_hours is not None and hours is not None and hours > terms.ceiling_hours),
        tickets_only=terms.hours is not None and hours is None,
        over_allowance_keys=tuple(over),
        over_ceiling_keys=tuple(beyond),
    )


def chronic_overuse(over_by_month: Mapping[str, bool], month: str, terms: ChronicTerms) -> bool:
    """Whether `month` closes a run of chronic overuse: over the allowance in at least
    `terms.months` of the last `terms.of_last` months, `month` included (a month with no figures
    counts as not over)."""
    day = month_start(month)
    count = 0
    for _ in range(terms.of_last):
        if over_by_month.get(day.strftime("%Y-%m"), False):
            count += 1
        day = date(day.year - (day.month == 1), (day.month - 2) % 12 + 1, 1)
    return count >= terms.months
