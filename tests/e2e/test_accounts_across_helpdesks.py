"""Accounts over both emulators: the demo-seeded Zendesk and Jira both hold Initech; after a real
sync with the shipped mappings the report shows Initech as one account, one row per month."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest

from connector.bootstrap import build_app
from connector.demo.run import prepare
from connector.domain.accounts import account_index
from connector.report.queries import read_period
from connector.report.report import build_report

pytestmark = pytest.mark.e2e

EXAMPLES = Path(__file__).resolve().parents[2] / "mappings"


def test_initech_in_zendesk_and_jira_is_one_account_row_in_the_report(tmp_path: Path) -> None:
    env = prepare(tmp_path / "demo", speed=1.0, mappings=EXAMPLES)
    app = build_app(env.mappings, env.db_url, clock=env.clock)
    try:
        assert app.service.run_cycle().failed == 0
        policy = app.policies.policy
        now = env.clock.now()
        start, end = now - timedelta(days=120), now + timedelta(seconds=1)
        tickets, _ = read_period(app.store, start, end)
        report = build_report(app.store, policy, start=start, end=end, now=now)
    finally:
        app.close()
        env.stop()

    index = account_index(policy)
    initech = [
        t for t in tickets if (key := index.key_for_ticket(t.ticket)) is not None and key.id == "initech"
    ]
    by_connection = Counter(t.ticket.connection for t in initech)
    assert by_connection["zendesk-main"] > 0 and by_connection["jira-main"] > 0, by_connection
    assert {t.tier for t in initech if t.tier is not None} == {"priority"}  # one tier on both helpdesks

    rows = [a for a in report.allowance if a.organization == "Initech"]
    assert rows and all(a.organization_id == "initech" for a in rows)
    months = Counter((a.month, a.tier) for a in rows)
    assert all(count == 1 for count in months.values()), months  # one row, not one per helpdesk
    assert sum(a.tickets for a in rows) == sum(
        1 for t in initech if start <= t.ticket.created_at < end and t.tier is not None
    )
    credits = [c for c in report.service_credits if c.organization == "Initech"]
    assert credits and all(c.currency in (None, "USD") for c in credits)
    assert len({c.month for c in credits}) == len(credits)
