"""Prometheus metrics of the worker (`tierdesk worker --metrics-port N` serves /metrics)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, start_http_server

from connector.sync_summary import CycleReport


class WorkerMetrics:
    """Counters fed from each job's `CycleReport`; a registry of its own so tests and several
    workers in one process don't collide."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.cycles = Counter("tierdesk_cycles", "Worker jobs run", registry=self.registry)
        self.pulled = Counter("tierdesk_tickets_pulled", "Ticket records pulled", registry=self.registry)
        self.evaluated = Counter("tierdesk_evaluations", "Ticket evaluations", registry=self.registry)
        self.outcomes = Counter(
            "tierdesk_actions", "Write-back outcomes", ["outcome"], registry=self.registry
        )
        self.api_calls = Counter("tierdesk_api_calls", "HTTP requests to helpdesks", registry=self.registry)
        self.lag = Gauge(
            "tierdesk_pull_lag_seconds", "Age of the newest change pulled", registry=self.registry
        )
        self.last_cycle = Gauge(
            "tierdesk_last_cycle_timestamp_seconds", "When the last job finished", registry=self.registry
        )

    def record(self, report: CycleReport) -> None:
        self.cycles.inc()
        self.pulled.inc(report.pulled)
        self.evaluated.inc(report.evaluated)
        self.api_calls.inc(report.api_calls)
        for outcome, count in report.outcomes.items():
            self.outcomes.labels(outcome=outcome).inc(count)
        if report.pulled:
            self.lag.set(report.lag_seconds)
        self.last_cycle.set_to_current_time()

    def serve(self, port: int, address: str = "0.0.0.0") -> None:  # noqa: S104 - a metrics endpoint is meant to be scraped
        start_http_server(port, addr=address, registry=self.registry)
