"""Contract terms: which terms judge a month, credits per breach and per adherence band with a cap,
allowance use in arrival order, and chronic overuse."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from connector.domain.allowance_plan import TIME_SPENT_FIELD, tracked_hours
from connector.domain.contracts import (
    AllowanceTerms,
    ChronicTerms,
    Contract,
    CreditBand,
    CreditTerms,
    TicketUse,
    allowance_for_month,
    chronic_overuse,
    credit_for_month,
    terms_for_month,
)
from connector.domain.model import Status, Ticket
from connector.domain.policy import Metric
from connector.domain.results import ClockState
from connector.mappings import load_policy

EXAMPLES = Path(__file__).resolve().parents[2] / "mappings"


@dataclass(frozen=True)
class Outcome:
    metric: Metric
    state: ClockState


def _outcomes(met: int, breached: int, metric: Metric = Metric.FIRST_RESPONSE) -> list[Outcome]:
    return [Outcome(metric, ClockState.MET)] * met + [Outcome(metric, ClockState.BREACHED)] * breached


def test_the_shipped_initech_terms_switch_on_the_first_of_july() -> None:
    initech = load_policy(EXAMPLES).accounts["initech"]

    june = terms_for_month(initech.contracts, "2026-06")
    july = terms_for_month(initech.contracts, "2026-07")

    assert june is not None and july is not None
    assert june.name == "2026 first half" and june.monthly_fee == Decimal("8000.00")
    assert july.name == "2026 second half (renegotiated)" and july.monthly_fee == Decimal("9500.00")
    assert july.targets["critical"] == {Metric.FIRST_RESPONSE: timedelta(minutes=20)}
    assert terms_for_month(initech.contracts, "2025-12") is None  # before any contract
    assert terms_for_month(initech.contracts, "2027-01") is None  # after the renewal date, no terms yet


def test_a_contract_starting_mid_month_judges_that_month_and_a_closed_month_keeps_its_terms() -> None:
    old = Contract(start=date(2026, 1, 1), end=date(2026, 3, 15), name="old")
    new = Contract(start=date(2026, 3, 15), name="new")
    late = Contract(start=date(2026, 5, 10), name="late")

    assert terms_for_month([old, new], "2026-03") is old  # in force on the 1st
    assert terms_for_month([old, new], "2026-04") is new
    assert terms_for_month([late], "2026-05") is late  # nothing on the 1st: the one starting within
    # a month already judged by `old` stays judged by it after the terms are edited
    edited = Contract(start=date(2026, 1, 1), end=date(2026, 3, 15), name="old, edited")
    assert terms_for_month([edited, new], "2026-02", judged=old) is old
    assert terms_for_month([edited, new], "2026-02", judged=old, rejudge=True) is edited


def test_credit_per_breach_is_a_percent_of_the_fee_capped() -> None:
    contract = Contract(
        start=date(2026, 1, 1),
        currency="USD",
        monthly_fee=Decimal("9500.00"),
        credit=CreditTerms(cap_percent=Decimal(15), per_breach_percent=Decimal(3)),
    )

    three = credit_for_month(contract, _outcomes(met=10, breached=3))
    seven = credit_for_month(contract, _outcomes(met=10, breached=7))
    # breaches of a metric the terms do not credit count for nothing
    other = credit_for_month(contract, _outcomes(met=0, breached=4, metric=Metric.NEXT_RESPONSE))

    assert three is not None and seven is not None and other is not None
    assert (three.percent, three.amount, three.capped) == (Decimal(9), Decimal("855.00"), False)
    assert (seven.uncapped_percent, seven.percent, seven.amount, seven.capped) == (
        Decimal(21),
        Decimal(15),
        Decimal("1425.00"),
        True,
    )
    assert seven.currency == "USD" and seven.breaches == 7 and seven.decided == 17
    assert (other.breaches, other.percent, other.amount) == (0, Decimal(0), Decimal("0.00"))


def test_credit_per_adherence_band_takes_the_lowest_band_that_applies_and_the_cap() -> None:
    contract = Contract(
        start=date(2026, 1, 1),
        monthly_fee=Decimal("25000"),
        credit=CreditTerms(
            cap_percent=Decimal(15),
            bands=(
                CreditBand(Decimal(99), Decimal(5)),
                CreditBand(Decimal(95), Decimal(10)),
                CreditBand(Decimal(90), Decimal(20)),
            ),
        ),
    )

    def credit(met: int, breached: int) -> tuple[Decimal | None, Decimal, Decimal | None, bool]:
        found = credit_for_month(contract, _outcomes(met, breached))
        assert found is not None
        return found.adherence_percent, found.percent, found.amount, found.capped

    assert credit(100, 0) == (Decimal("100.0"), Decimal(0), Decimal("0.00"), False)
    assert credit(99, 1) == (Decimal("99.0"), Decimal(0), Decimal("0.00"), False)  # 99% is not below 99%
    assert credit(98, 2) == (Decimal("98.0"), Decimal(5), Decimal("1250.00"), False)
    assert credit(94, 6) == (Decimal("94.0"), Decimal(10), Decimal("2500.00"), False)
    assert credit(80, 20) == (Decimal("80.0"), Decimal(15), Decimal("3750.00"), True)  # 20% band, capped
    assert credit(0, 0) == (None, Decimal(0), Decimal("0.00"), False)  # nothing decided, nothing owed


def test_allowance_flags_the_tickets_past_it_and_past_the_ceiling_in_arrival_order() -> None:
    contract = Contract(
        start=date(2026, 1, 1), allowance=AllowanceTerms(tickets=2, hours=Decimal(10), ceiling_tickets=3)
    )
    base = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    tickets = [TicketUse(f"zendesk-main:{n}", base + timedelta(hours=n)) for n in (4, 1, 3, 2)]

    use = allowance_for_month(contract, tickets)

    assert use is not None
    assert use.tickets == 4 and use.over_allowance and use.over_ceiling
    assert use.over_allowance_keys == ("zendesk-main:3", "zendesk-main:4")
    assert use.over_ceiling_keys == ("zendesk-main:4",)
    assert use.tickets_only and use.hours is None  # no time tracking on these tickets


def test_allowance_in_hours_counts_the_tracked_time() -> None:
    contract = Contract(start=date(2026, 1, 1), allowance=AllowanceTerms(hours=Decimal(5)))
    base = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    tickets = [
        TicketUse("jira-main:A-1", base, Decimal(3)),
        TicketUse("jira-main:A-2", base + timedelta(hours=1), Decimal("2.5")),
        TicketUse("jira-main:A-3", base + timedelta(hours=2), Decimal(1)),
    ]

    use = allowance_for_month(contract, tickets)

    assert use is not None and not use.tickets_only
    assert use.hours == Decimal("6.5") and use.over_allowance
    assert use.over_allowance_keys == ("jira-main:A-3",)  # 5.5 h were used when it arrived


def test_chronic_overuse_is_n_of_the_last_m_months() -> None:
    terms = ChronicTerms(months=2, of_last=3)
    over = {"2026-08": True, "2026-09": False, "2026-10": True, "2026-11": False}

    assert chronic_overuse(over, "2026-10", terms)  # Aug and Oct of Aug-Oct
    assert chronic_overuse(over, "2026-11", ChronicTerms(months=1, of_last=3))
    assert not chronic_overuse(over, "2026-11", terms)  # only Oct of Sep-Nov
    assert not chronic_overuse(over, "2026-09", terms)  # only Aug of Jul-Sep
    assert chronic_overuse({"2025-12": True, "2026-01": True}, "2026-01", terms)  # across the year end


def test_hours_come_from_the_time_tracking_field_a_connection_maps_else_tickets_only() -> None:
    policy = load_policy(EXAMPLES)
    zendesk = next(c for c in policy.connections if c.name == "zendesk-main")
    tracked = replace(
        policy,
        connections=tuple(
            replace(c, fields={**c.fields, TIME_SPENT_FIELD: "9001"}) if c is zendesk else c
            for c in policy.connections
        ),
    )
    created = datetime(2026, 11, 2, 9, tzinfo=UTC)

    def ticket(connection: str, fields: dict[str, str]) -> Ticket:
        return Ticket(connection, "1", created, created, Status.OPEN, fields=fields)

    assert tracked_hours(tracked, ticket("zendesk-main", {"9001": "5400"})) == Decimal("1.5")
    assert tracked_hours(tracked, ticket("zendesk-main", {})) == Decimal(0)  # tracked, none logged yet
    assert tracked_hours(tracked, ticket("jira-main", {"9001": "5400"})) is None  # jira: tickets only
    assert tracked_hours(policy, ticket("zendesk-main", {"9001": "5400"})) is None  # not mapped
