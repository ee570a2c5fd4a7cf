"""The report per account: Initech's Zendesk and Jira organizations are one row for credits and
allowance, judged by the contract in force each month, with chronic overuse flagged."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from connector.domain.engine import evaluate
from connector.domain.model import Event, EventKind, Organization, Status, Ticket
from connector.domain.policy import Policy
from connector.domain.record import Activation, PolicyHistory
from connector.mappings import load_policy
from connector.ports import TicketRecord
from connector.report.report import SlaReport, build_report
from connector.report.text import render_text
from connector.store.repository import Store

H = timedelta(hours=1)
EXAMPLES = Path(__file__).resolve().parents[2] / "mappings"
ZENDESK_INITECH = Organization("361", "Initech", external_id="crm-2001", tags=frozenset({"priority"}))
JIRA_INITECH = Organization("4", "Initech")
ACCOUNTS = """accounts:
  initech:
    name: Initech
    tier: priority
    calendar: 24x7
    organizations:
      - {connection: zendesk-main, external_id: crm-2001}
      - {connection: jira-main, name: Initech}
    contracts:
      - name: first half
        start: 2026-01-01
        end: 2026-07-01
        currency: USD
        monthly_fee: 8000
        credit: {per_breach: 2%, cap: 10%}
        allowance: {tickets: 2}
      - name: second half
        start: 2026-07-01
        currency: USD
        monthly_fee: 9500.00
        credit: {per_breach: 3%, cap: 15%}
        allowance: {tickets: 2, ceiling: {tickets: 3}}
        chronic_overuse: {months: 2, of_last: 3}
"""


@pytest.fixture(scope="module")
def policy(tmp_path_factory: pytest.TempPathFactory) -> Policy:
    target = tmp_path_factory.mktemp("m") / "mappings"
    shutil.copytree(EXAMPLES, target)
    (target / "accounts.yaml").write_text(ACCOUNTS, encoding="utf-8")
    return load_policy(target)


def _put(
    store: Store,
    policy: Policy,
    connection: str,
    org: Organization,
    ticket_id: str,
    created: datetime,
    reply_after: timedelta,
) -> None:
    events = [
        Event(id="created", at=created, kind=EventKind.CREATED),
        Event(id="reply", at=created + reply_after, kind=EventKind.PUBLIC_AGENT_REPLY),
        Event(id="solved", at=created + 20 * H, kind=EventKind.STATUS_CHANGE, status=Status.SOLVED),
    ]
    ticket = Ticket(
        connection=connection,
        id=ticket_id,
        created_at=created,
        updated_at=created + 20 * H,
        status=Status.SOLVED,
        subject="Export fails",
        organization=org,
    )
    now = datetime(2026, 8, 1, 12, tzinfo=UTC)
    store.save_pull_page(connection, [TicketRecord(ticket, tuple(events))], None, now=now)
    store.record_evaluation(evaluate(ticket, events, policy, now), ())


@pytest.fixture(scope="module")
def store(policy: Policy, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    opened = Store.open(f"sqlite:///{tmp_path_factory.mktemp('s')}/t.db")
    june, july = datetime(2026, 6, 10, 9, tzinfo=UTC), datetime(2026, 7, 10, 9, tzinfo=UTC)
    for connection, org, ticket_id, created, reply in (
        ("zendesk-main", ZENDESK_INITECH, "1", june, H),
        ("jira-main", JIRA_INITECH, "SUP-1", june + H, H),
        ("zendesk-main", ZENDESK_INITECH, "2", june + 2 * H, H),
        ("zendesk-main", ZENDESK_INITECH, "3", july, 10 * H),  # first response breached (6h target)
        ("jira-main", JIRA_INITECH, "SUP-2", july + H, 10 * H),  # breached
        ("jira-main", JIRA_INITECH, "SUP-3", july + 2 * H, H),
        ("jira-main", JIRA_INITECH, "SUP-4", july + 3 * H, H),  # past the ceiling of 3
    ):
        _put(opened, policy, connection, org, ticket_id, created, reply)
    yield opened
    opened.close()


def _report(store: Store, policy: Policy) -> SlaReport:
    return build_report(
        store,
        policy,
        start=datetime(2026, 6, 1, tzinfo=UTC),
        end=datetime(2026, 8, 1, tzinfo=UTC),
        now=datetime(2026, 8, 1, 12, tzinfo=UTC),
    )


def test_initech_in_both_helpdesks_is_one_credit_row_per_month_under_that_months_terms(
    store: Store, policy: Policy
) -> None:
    report = _report(store, policy)

    rows = [(c.month, c.organization, c.tier, c.breaches, c.terms) for c in report.service_credits]
    assert rows == [
        ("2026-06", "Initech", "priority", 0, "first half"),
        ("2026-07", "Initech", "priority", 2, "second half"),
    ]
    july = report.service_credits[1]
    # 2 breaches (one per helpdesk) x 3% of 9,500.00 USD, the July terms
    assert (july.credit_percent, july.amount, july.currency, july.capped) == (
        6.0,
        Decimal("570.00"),
        "USD",
        False,
    )
    assert report.service_credits[0].amount == Decimal("0.00")
    assert "570.00 USD" in render_text(report)


def test_initech_allowance_is_counted_across_helpdesks_with_ceiling_and_chronic_overuse(
    store: Store, policy: Policy
) -> None:
    report = _report(store, policy)

    rows = [
        (a.month, a.organization, a.tickets, a.allowance, a.over_allowance, a.over_ceiling, a.chronic_overuse)
        for a in report.allowance
    ]
    assert rows == [
        ("2026-06", "Initech", 3, 2, True, False, False),  # June alone of Apr-Jun
        ("2026-07", "Initech", 4, 2, True, True, True),  # June and July of May-Jul: 2 of 3
    ]
    text = render_text(report)
    assert "CHRONIC overuse" in text and "over the ceiling (3)" in text


def test_a_closed_month_keeps_the_terms_it_ended_under_unless_rejudged(
    store: Store, policy: Policy, tmp_path: Path
) -> None:
    # on 1 August 06:00 the admin raises the second-half credit from 3% to 4% per breach
    target = tmp_path / "edited"
    shutil.copytree(EXAMPLES, target)
    (target / "accounts.yaml").write_text(
        ACCOUNTS.replace("credit: {per_breach: 3%, cap: 15%}", "credit: {per_breach: 4%, cap: 15%}"),
        encoding="utf-8",
    )
    edited = load_policy(target)
    history = PolicyHistory(
        [
            Activation(policy, datetime(2026, 1, 1, tzinfo=UTC)),
            Activation(edited, datetime(2026, 8, 1, 6, tzinfo=UTC)),
        ]
    )

    def july_amount(**options: bool) -> Decimal | None:
        report = build_report(
            store,
            edited,
            start=datetime(2026, 7, 1, tzinfo=UTC),
            end=datetime(2026, 8, 1, tzinfo=UTC),
            now=datetime(2026, 8, 1, 12, tzinfo=UTC),
            history=history,
            **options,
        )
        (july,) = report.service_credits
        return july.amount

    assert july_amount() == Decimal("570.00")  # 2 x 3%: July ended under the 3% terms
    assert july_amount(rejudge=True) == Decimal("760.00")  # 2 x 4% of 9,500.00 when asked


def test_chronic_overuse_looks_back_before_the_reports_period(store: Store, policy: Policy) -> None:
    # a report of July alone still sees that June was over the allowance too (2 of the last 3)
    report = build_report(
        store,
        policy,
        start=datetime(2026, 7, 1, tzinfo=UTC),
        end=datetime(2026, 8, 1, tzinfo=UTC),
        now=datetime(2026, 8, 1, 12, tzinfo=UTC),
    )

    (july,) = report.allowance
    assert (july.month, july.tickets, july.over_allowance, july.chronic_overuse) == ("2026-07", 4, True, True)
