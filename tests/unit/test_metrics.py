"""Worker metrics: each job's report feeds the Prometheus counters."""

from __future__ import annotations

from prometheus_client import generate_latest

from connector.metrics import WorkerMetrics
from connector.sync_summary import CycleReport


def test_cycle_reports_accumulate_into_prometheus_counters() -> None:
    metrics = WorkerMetrics()
    metrics.record(
        CycleReport(pulled=12, evaluated=12, api_calls=5, lag_seconds=61.0, outcomes={"applied": 7})
    )
    metrics.record(CycleReport(pulled=0, evaluated=3, api_calls=2, outcomes={"applied": 1, "retry": 2}))

    text = generate_latest(metrics.registry).decode()

    assert "tierdesk_cycles_total 2.0" in text
    assert "tierdesk_tickets_pulled_total 12.0" in text
    assert "tierdesk_evaluations_total 15.0" in text
    assert 'tierdesk_actions_total{outcome="applied"} 8.0' in text
    assert 'tierdesk_actions_total{outcome="retry"} 2.0' in text
    assert "tierdesk_pull_lag_seconds 61.0" in text  # a cycle that pulled nothing keeps the last lag
