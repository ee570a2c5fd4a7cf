"""`tierdesk report` counts cycles a manual exemption took out of measurement as exempt."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from connector.domain.policy import ManualCondition, ManualEffect, Metric, Policy
from connector.report.report import build_report
from connector.report.text import render_text
from connector.store.repository import Store
from tests.unit.test_report import ACME, END, NOW, START, march, metric_figures, policy, put, store

__all__ = ["policy", "store"]  # the fixtures, shared with the report tests

H = timedelta(hours=1)
EXEMPT = ManualCondition(ManualEffect.EXEMPT, "credited through the incident review", tag="exempt_sla")


def test_an_exempt_cycle_is_neither_met_nor_breached_in_the_report(store: Store, policy: Policy) -> None:
    enterprise = replace(policy.tiers["enterprise"], manual=(EXEMPT,))
    exempting = replace(policy, tiers={**policy.tiers, "enterprise": enterprise})
    put(store, exempting, "x1", created=march(2), reply_after=9 * H, solve_after=10 * H, organization=ACME)
    put(
        store,
        exempting,
        "x2",
        created=march(3),
        reply_after=9 * H,
        solve_after=10 * H,
        organization=ACME,
        tags=frozenset({"exempt_sla"}),
    )
    report = build_report(store, exempting, start=START, end=END, now=NOW)

    figures = metric_figures(report, "enterprise", Metric.FIRST_RESPONSE)
    assert figures == (0, 1, 0, 0.0)  # x1 breached (9h against 4h); x2 is not counted
    segment = next(s for s in report.by_tier if s.tier == "enterprise")
    assert next(m for m in segment.metrics if m.metric is Metric.FIRST_RESPONSE).exempt == 1
    assert "0/1 +1 exempt" in render_text(report)
