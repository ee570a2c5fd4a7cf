"""The worker's health endpoint: `/healthz` answers 200 while pulls succeed, and 503 once the helpdesk
has been down for longer than the bound (3 pull intervals); `tierdesk health` turns that into the
exit code of the Docker HEALTHCHECK. The worker runs its own pull job as APScheduler calls it, on a
`FixedClock` moved by the test (the adapter's retry waits pass no time); `/healthz` is asked over
real HTTP beside `/metrics` on one port."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from connector.bootstrap import build_app
from connector.cli import app as cli
from connector.clock import FixedClock
from connector.health import StatusServer, WorkerHealth, serve_status
from connector.metrics import WorkerMetrics
from connector.policy_holder import PolicyHolder
from connector.retry import HelpdeskError
from connector.scheduler import Worker
from plugins.zendesk import connect
from plugins.zendesk.testing import FAST_RETRY
from tests.e2e.support import CONNECTION, ZendeskSite, write_mappings, zendesk_emulator

pytestmark = pytest.mark.e2e

START = datetime(2026, 3, 4, 10, 0, tzinfo=UTC)
PULL = timedelta(seconds=60)  # the example connection's pull_interval


def _get(url: str) -> tuple[int, dict[str, Any]]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


@contextmanager
def _worker(site: ZendeskSite, tmp: Path) -> Iterator[tuple[Worker, FixedClock, StatusServer]]:
    mappings = write_mappings(tmp / "mappings", {"zendesk": site.connection()})
    clock = FixedClock(START)
    (config,) = PolicyHolder(mappings).policy.connections
    helpdesk = connect(config, retry=FAST_RETRY, sleep=lambda _seconds: None)
    app = build_app(mappings, f"sqlite:///{tmp / 't.db'}", clock=clock, helpdesks={CONNECTION: helpdesk})
    metrics = WorkerMetrics()
    worker = Worker(app, metrics=metrics)
    server = serve_status(worker.health, metrics.registry, port=0, address="127.0.0.1")
    try:
        yield worker, clock, server
    finally:
        server.stop()
        app.close()


def _pull(worker: Worker, clock: FixedClock, site: ZendeskSite, at: datetime) -> bool:
    clock.set(at)
    site.set_clock(at)
    try:
        worker.pull_job(CONNECTION)
    except HelpdeskError:
        return False
    return True


def test_healthz_is_200_while_pulls_succeed_and_503_once_the_helpdesk_is_down_past_the_bound(
    tmp_path: Path,
) -> None:
    with zendesk_emulator(START) as site, _worker(site, tmp_path) as (worker, clock, server):
        site.unlimited()
        url = f"http://127.0.0.1:{server.port}/healthz"
        assert _pull(worker, clock, site, START)
        status, body = _get(url)
        assert status == 200
        assert body["status"] == "ok" and body["store"] == "ok" and body["problems"] == []
        assert body["connections"][CONNECTION]["last_success"] == "2026-03-04T10:00:00Z"
        assert isinstance(body["outbox_backlog"], int)

        site.faults({"path": r"^/api/v2/", "status": 503})
        down = [START + PULL * n for n in (1, 2, 3)]
        assert [_pull(worker, clock, site, at) for at in down] == [False, False, False]
        status, body = _get(url)  # exactly 3 intervals since the last success: still within the bound
        assert status == 200
        assert body["connections"][CONNECTION]["last_error"]
        assert body["connections"][CONNECTION]["last_error_at"] == "2026-03-04T10:03:00Z"

        assert not _pull(worker, clock, site, START + PULL * 3 + timedelta(seconds=1))
        status, body = _get(url)
        assert status == 503
        assert body["status"] == "unhealthy" and body["connections"][CONNECTION]["stale"] is True
        assert body["problems"] == [
            f"{CONNECTION}: last successful pull at 2026-03-04T10:00:00Z, more than 3 pull "
            "intervals (180 s) ago"
        ]
        unhealthy = CliRunner().invoke(cli, ["health", "--url", url])
        assert unhealthy.exit_code == 1
        assert "unhealthy (503)" in unhealthy.output and CONNECTION in unhealthy.output

        site.faults()
        assert _pull(worker, clock, site, START + PULL * 4)
        assert _get(url)[0] == 200
        healthy = CliRunner().invoke(cli, ["health", "--url", url])
        assert healthy.exit_code == 0, healthy.output
        assert "healthy" in healthy.output

        with urllib.request.urlopen(f"http://127.0.0.1:{server.port}/metrics", timeout=10) as metrics:
            assert b"tierdesk_cycles_total 2.0" in metrics.read()  # the two successful pull jobs


def test_a_worker_that_never_pulled_is_unhealthy_once_the_bound_has_passed_since_its_start() -> None:
    clock = FixedClock(START)
    health = WorkerHealth(clock, _Store({"pending": 4, "sending": 1, "applied": 9}), {"zd": 60})
    assert health.report().healthy
    assert health.report().body["outbox_backlog"] == 5  # pending + sending
    clock.set(START + timedelta(seconds=181))
    report = health.report()
    assert (report.healthy, report.status_code) == (False, 503)
    assert report.body["connections"]["zd"]["last_success"] is None
    assert report.body["problems"][0].startswith(
        "zd: no successful pull since the worker started at 2026-03-04T10:00:00Z"
    )


def test_pages_arriving_keep_a_long_first_pull_healthy_past_the_bound() -> None:
    clock = FixedClock(START)
    health = WorkerHealth(clock, _Store({}), {"zd": 60})
    for minute in range(1, 10):  # a first sync that runs for nine minutes, a page every minute
        clock.set(START + timedelta(minutes=minute))
        health.page_pulled("zd")
        assert health.report().healthy, minute
    clock.set(START + timedelta(minutes=9, seconds=181))  # then the pages stop coming
    assert not health.report().healthy


def test_an_unreachable_store_makes_the_worker_unhealthy() -> None:
    health = WorkerHealth(FixedClock(START), _Store(None), {"zd": 60})
    health.pull_succeeded("zd")
    report = health.report()
    assert report.status_code == 503
    assert report.body["store"] == "unreachable" and report.body["outbox_backlog"] is None
    assert report.body["problems"] == ["store unreachable: connection refused"]


def test_errors_in_the_health_body_are_one_line_and_redacted() -> None:
    health = WorkerHealth(FixedClock(START), _Store({}), {"zd": 60})
    health.pull_failed("zd", "401 from https://x.zendesk.com\nAuthorization: Basic dXNlcjpzZWNyZXQtdG9rZW4=")
    error = health.report().body["connections"]["zd"]["last_error"]
    assert "\n" not in error and "dXNlcjpzZWNyZXQtdG9rZW4" not in error


def test_tierdesk_health_exits_1_when_nothing_answers() -> None:
    result = CliRunner().invoke(cli, ["health", "--url", "http://127.0.0.1:9/healthz", "--timeout", "2"])
    assert result.exit_code == 1
    assert "unhealthy: no answer from http://127.0.0.1:9/healthz" in result.output


class _Store:
    """A fake of the one store query health needs; `None` fails like a database that is down."""

    def __init__(self, counts: dict[str, int] | None) -> None:
        self._counts = counts

    def outbox_counts(self, connection: str | None = None) -> dict[str, int]:
        if self._counts is None:
            raise ConnectionRefusedError("connection refused")
        return dict(self._counts)
