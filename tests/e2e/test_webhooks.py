"""Signed webhooks end to end: the emulator POSTs the event its helpdesk would send to the
worker's webhook port; the worker verifies it, fetches just that ticket and pushes its new due
time, with no pull in between (the pull runs every hour here).

Clocks: the worker's is fixed, the emulator stands at the same instant, so the signed timestamps
are fresh; the scheduler runs the webhook job in real time.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from connector.bootstrap import App, build_app
from connector.clock import FixedClock
from connector.fakes import FakeHelpdesk
from connector.health import StatusServer
from connector.metrics import WorkerMetrics
from connector.policy_holder import PolicyHolder
from connector.ports import TicketRecord
from connector.retry import TransientError
from connector.scheduler import Worker
from connector.secrets import EnvSecrets
from connector.webhooks import serve_webhooks
from tests.e2e.support import (
    customer_of,
    jira_emulator,
    open_ticket,
    run_cli,
    write_mappings,
    zendesk_emulator,
)

pytestmark = pytest.mark.e2e

OPENED = datetime(2026, 3, 4, 10, 0, tzinfo=UTC)  # a Wednesday
SECRET_ENV = "TEST_WEBHOOK_SECRET"
SECRET = "whsec-test-3f9a"


def _wait(condition: Callable[[], bool], timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.02)  # bounded wait for the worker's threads to reach the state
    return condition()


@contextmanager
def _worker(app: App) -> Iterator[tuple[Worker, StatusServer, WorkerMetrics]]:
    metrics = WorkerMetrics()
    worker = Worker(app, drain_interval=3600.0, metrics=metrics, webhook_delay=0.05)
    server = serve_webhooks(
        app.policies.policy.connections,
        worker.nudges,
        app.clock,
        metrics,
        0,
        "127.0.0.1",
        secrets=EnvSecrets({SECRET_ENV: SECRET}),
    )
    worker.start()  # its start-up pull is the only pull within the test (pull_interval 1h)
    try:
        yield worker, server, metrics
    finally:
        worker.shutdown()
        server.stop()
        app.close()


def _deliveries(metrics: WorkerMetrics, connection: str, outcome: str) -> float:
    value = metrics.registry.get_sample_value(
        "tierdesk_webhook_deliveries_total", {"connection": connection, "outcome": outcome}
    )
    return value or 0.0


def test_a_zendesk_comment_webhook_fetches_just_that_ticket_and_updates_its_due_field(tmp_path: Path) -> None:
    with zendesk_emulator(OPENED) as site:
        site.unlimited()
        ticket_id = open_ticket(site, customer_of(site))  # Acme: enterprise, critical
        other = open_ticket(site, customer_of(site, email="bob@acme.example"), subject="Checkout is down too")
        connection = {**site.connection(), "pull_interval": "1h", "webhook_secret_env": SECRET_ENV}
        mappings = write_mappings(
            tmp_path / "mappings", {"zendesk": connection}, options={"zendesk": {"job_poll_interval": "0"}}
        )
        (config,) = PolicyHolder(mappings).policy.connections
        clock = FixedClock(OPENED + timedelta(minutes=2))
        site.set_clock(clock.now())
        app = build_app(mappings, f"sqlite:///{tmp_path / 't.db'}", clock=clock)
        due_field = int(site.info.fields["sla_due"])

        def due() -> Any:
            return site.account.tickets[ticket_id].custom_fields.get(due_field)

        with _worker(app) as (worker, server, metrics):
            assert _wait(lambda: worker.cycles >= 1)  # the start-up pull wrote the first-response due
            first_due = due()
            other_due = site.account.tickets[other].custom_fields.get(due_field)
            assert first_due is not None
            mark = len(site.app.log.records())
            # every delivery is sent twice (Zendesk retries), and tierdesk's own writes send none
            register = {
                "url": f"http://127.0.0.1:{server.port}/webhooks/{config.name}",
                "secret": SECRET,
                "duplicate_rate": 1.0,
                "ignore_author": str(site.info.integration_user),
            }
            _control(site.app, "POST", "/_emulator/webhooks", register)
            clock.set(OPENED + timedelta(minutes=3))
            site.set_clock(clock.now())
            reply = {"comment": {"body": "Rolling back now.", "public": True}}
            site.account.update_ticket(ticket_id, reply, site.info.agents[0], int(clock.now().timestamp()))
            assert _wait(lambda: due() != first_due)
            requests = site.app.log.records()[mark:]
            deliveries = _control(site.app, "GET", "/_emulator/webhooks", None)["deliveries"]

    reads = [r for r in requests if r.method == "GET"]
    assert not [r for r in reads if "incremental" in r.path]  # no pull: the webhook did it
    fetches = [r.query for r in reads if r.path.endswith("/tickets/show_many.json")]
    assert len(fetches) == 1  # one fetch: the duplicate delivery fetched nothing
    assert f"ids={ticket_id}&" in fetches[0] + "&"  # just that ticket
    assert [(d["event"], d["status"], d["fault"]) for d in deliveries] == [
        ("ticket.comment_added", 202, ""),
        ("ticket.comment_added", 409, "duplicate"),
    ]
    assert _deliveries(metrics, config.name, "accepted") == 1
    assert _deliveries(metrics, config.name, "replayed") == 1
    assert site.account.tickets[other].custom_fields.get(due_field) == other_due  # not touched


def _control(app: Any, method: str, path: str, body: Any) -> Any:
    from werkzeug.test import Client

    response = Client(app).open(path, method=method, json=body)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def test_a_jira_comment_webhook_fetches_that_issue_and_updates_its_due_field_even_out_of_order(
    tmp_path: Path,
) -> None:
    from plugins.jira import SEED_ADMIN_EMAIL
    from plugins.jira.emulator.seed import SEED_TOKEN, InProcessTransport, adf

    with jira_emulator(OPENED, 0) as site:
        transport = InProcessTransport(site.app, SEED_ADMIN_EMAIL, SEED_TOKEN)
        agent = next(iter(site.demo.agents))
        site.set_clock(OPENED)
        issue = {
            "fields": {
                "project": {"key": site.demo.project},
                "issuetype": {"name": "Service Request"},
                "summary": "Checkout is down",
                "description": adf("Nobody can pay."),
            }
        }
        key = transport.call("POST", "/rest/api/3/issue", issue, as_email="alex@hooli.example")["key"]
        connection = {**site.connection(), "pull_interval": "1h", "webhook_secret_env": SECRET_ENV}
        mappings = write_mappings(tmp_path / "mappings", {"jira": connection})
        (config,) = PolicyHolder(mappings).policy.connections
        clock = FixedClock(OPENED + timedelta(minutes=2))
        site.set_clock(clock.now())
        app = build_app(mappings, f"sqlite:///{tmp_path / 't.db'}", clock=clock)
        due_field = site.demo.fields["sla_due"]
        stored = next(i for i in site.jira.site.issues.values() if i.key == key)

        def due() -> Any:
            return stored.custom.get(due_field)

        with _worker(app) as (worker, server, metrics):
            assert _wait(lambda: worker.cycles >= 1)
            first_due = due()
            assert first_due is not None
            mark = len(site.app.log.records())
            cursor = app.store.get_cursor(config.name)
            register = {
                "url": f"http://127.0.0.1:{server.port}/webhooks/{config.name}",
                "secret": SECRET,
                "reorder_rate": 1.0,  # the first delivery arrives after the second
                "ignore_author": site.jira.admin.account_id,
            }
            _control(site.app, "POST", "/_emulator/webhooks", register)
            clock.set(OPENED + timedelta(minutes=3))
            site.set_clock(clock.now())
            for text in ("Looking into it.", "Rolling back now."):
                transport.call(
                    "POST", f"/rest/api/3/issue/{key}/comment", {"body": adf(text)}, as_email=agent
                )
            assert _wait(lambda: due() != first_due)
            assert _wait(
                lambda: len(_control(site.app, "GET", "/_emulator/webhooks", None)["deliveries"]) == 2
            )
            deliveries = _control(site.app, "GET", "/_emulator/webhooks", None)["deliveries"]
            requests = site.app.log.records()[mark:]
            assert app.store.get_cursor(config.name) == cursor  # no pull ran

    assert [(d["event"], d["status"], d["fault"]) for d in deliveries] == [
        ("jira:issue_updated", 202, ""),
        ("jira:issue_updated", 202, "reordered"),
    ]
    assert _deliveries(metrics, config.name, "accepted") == 2
    searches = [r for r in requests if r.path.endswith("/search/jql")]
    assert 1 <= len(searches) <= 2  # one re-read by key per webhook job (a burst coalesces into one)


def test_a_worker_whose_webhook_secret_variable_is_unset_exits_1_naming_it(tmp_path: Path) -> None:
    with zendesk_emulator(OPENED) as site:
        connection = {**site.connection(), "webhook_secret_env": "TIERDESK_UNSET_WEBHOOK_SECRET"}
        mappings = write_mappings(tmp_path / "mappings", {"zendesk": connection})
        args = ["worker", "--mappings", str(mappings), "--db", f"sqlite:///{tmp_path / 't.db'}"]
        result = run_cli([*args, "--webhook-port", "0"], tmp_path, env={"TIERDESK_LOG_FORMAT": "console"})
    assert result.returncode == 1
    assert "webhook_secret_env names TIERDESK_UNSET_WEBHOOK_SECRET, which is not set" in result.stderr
    assert "Traceback" not in result.stderr


class _Unreachable(FakeHelpdesk):
    def fetch(
        self, ticket_ids: Sequence[str], known: Mapping[str, datetime] | None = None
    ) -> list[TicketRecord]:
        raise TransientError("connection refused")


def test_a_webhook_job_whose_fetch_fails_keeps_the_tickets_without_a_retry_loop(tmp_path: Path) -> None:
    mappings = write_mappings(tmp_path / "mappings", {"zendesk": {}})
    (config,) = PolicyHolder(mappings).policy.connections
    helpdesk = _Unreachable(config.name)
    app = build_app(
        mappings,
        f"sqlite:///{tmp_path / 't.db'}",
        clock=FixedClock(OPENED),
        helpdesks={config.name: helpdesk},
    )
    worker = Worker(app)
    try:
        worker.nudges.add(config.name, ["7", "8"])  # the scheduler is not running: nothing is planned
        with pytest.raises(TransientError):
            worker.webhook_job()
        assert worker.scheduler.get_jobs() == []  # no retry scheduled against a helpdesk that is down
        assert worker.nudges.take() == {config.name: ["7", "8"]}  # the next delivery (or the pull) takes them
    finally:
        app.close()
