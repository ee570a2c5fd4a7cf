"""Replay protection shared by worker replicas: two webhook ports, each with its own store on
ONE PostgreSQL schema, over real HTTP; and two `tierdesk worker --webhook-port` processes.
A delivery accepted by one replica and replayed to the other is rejected there (409) and counted
as `replayed`; so is a vendor retry of an accepted delivery (same Zendesk invocation, same Jira
delivery identifier) signed again; a new delivery is accepted by either."""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests

from connector.clock import FixedClock
from connector.metrics import WorkerMetrics
from connector.secrets import EnvSecrets
from connector.store.repository import Store
from connector.webhooks import TicketNudges, serve_webhooks
from tests.contract.test_webhook_forgery import JIRA, NOW, SECRET, ZENDESK, Port, _jira, _zendesk
from tests.e2e.support import ForkServer, WorkerRun, write_mappings, zendesk_emulator
from tests.store.conftest import _fresh_pg_schema

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]


@pytest.fixture
def replicas() -> Iterator[tuple[Port, Port]]:
    with _fresh_pg_schema() as db_url, ExitStack() as stack:
        ports = []
        for _ in range(2):
            store = Store.open(db_url)
            stack.callback(store.close)
            nudges, metrics = TicketNudges(), WorkerMetrics()
            server = serve_webhooks(
                [ZENDESK, JIRA],
                nudges,
                FixedClock(NOW),
                metrics,
                0,
                "127.0.0.1",
                secrets=EnvSecrets({"ZD_HOOK": SECRET, "JIRA_HOOK": SECRET}),
                seen=store,
            )
            stack.callback(server.stop)
            ports.append(Port(server, nudges, metrics))
        yield ports[0], ports[1]


def test_a_zendesk_delivery_replayed_to_another_replica_is_rejected_there(
    replicas: tuple[Port, Port],
) -> None:
    first, second = replicas
    body, headers = _zendesk(7)
    headers = {
        **headers,
        "X-Zendesk-Webhook-Id": "01HWEBHOOK",
        "X-Zendesk-Webhook-Invocation-Id": "8350205582",
    }
    assert first.post("/webhooks/zd", body, headers) == 202
    assert second.post("/webhooks/zd", body, headers) == 409  # replayed as captured, elsewhere
    assert first.post("/webhooks/zd", body, headers) == 409  # and where it was accepted
    # Zendesk's next attempt of the same invocation, signed a second later: a replay too
    retry_body, retry = _zendesk(7, at=NOW + timedelta(seconds=1))
    retry = {**retry, "X-Zendesk-Webhook-Id": "01HWEBHOOK", "X-Zendesk-Webhook-Invocation-Id": "8350205582"}
    assert second.post("/webhooks/zd", retry_body, retry) == 409
    other_body, other = _zendesk(8, at=NOW + timedelta(seconds=2))
    assert second.post("/webhooks/zd", other_body, other) == 202  # a new delivery: accepted

    assert first.nudges.take() == {"zd": ["7"]}
    assert second.nudges.take() == {"zd": ["8"]}  # the replays named nothing for a fetch
    assert (first.counted("zd", "accepted"), first.counted("zd", "replayed")) == (1, 1)
    assert (second.counted("zd", "accepted"), second.counted("zd", "replayed")) == (1, 2)


def test_a_jira_delivery_replayed_or_retried_to_another_replica_is_rejected_there(
    replicas: tuple[Port, Port],
) -> None:
    first, second = replicas
    body, headers = _jira(10005)
    headers = {**headers, "X-Atlassian-Webhook-Identifier": "d6f3c9e0-5a1b"}
    assert first.post("/hooks/jira", body, headers) == 202
    assert second.post("/hooks/jira", body, headers) == 409
    # Jira's retry keeps the identifier; a body with another timestamp is signed anew
    retry_body, retry = _jira(10005, at=NOW + timedelta(seconds=30))
    retry = {**retry, "X-Atlassian-Webhook-Identifier": "d6f3c9e0-5a1b", "X-Atlassian-Webhook-Retry": "1"}
    assert second.post("/hooks/jira", retry_body, retry) == 409
    new_body, new = _jira(10006, at=NOW + timedelta(seconds=31))
    assert second.post("/hooks/jira", new_body, {**new, "X-Atlassian-Webhook-Identifier": "e1"}) == 202

    assert first.nudges.take() == {"jira": ["10005"]}
    assert second.nudges.take() == {"jira": ["10006"]}
    assert second.counted("jira", "replayed") == 2 and first.counted("jira", "replayed") == 0


def _webhook_port(log: Path, run: WorkerRun, timeout: float = 60.0) -> int:
    """The port a worker logged `serving webhooks` on (it was asked for port 0)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and run.alive():
        for line in log.read_text().splitlines() if log.exists() else []:
            if line.startswith("{") and json.loads(line).get("event") == "serving webhooks":
                return int(json.loads(line)["port"])
        time.sleep(0.05)
    raise AssertionError(f"no webhook port in {log}: {log.read_text() if log.exists() else ''}")


def test_two_worker_processes_on_one_database_reject_a_replay_to_the_other(tmp_path: Path) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    with _fresh_pg_schema() as db_url, zendesk_emulator(now - timedelta(days=1)) as zendesk:
        zendesk.app.clock.follow(lambda: datetime.now(UTC))
        mappings = write_mappings(
            tmp_path / "mappings",
            {"zendesk": {**zendesk.connection(), "webhook_secret_env": "TEST_REPLICA_HOOK"}},
        )
        Store.open(db_url).close()  # migrated once, before the workers start together
        server = ForkServer(tmp_path, env={"TEST_REPLICA_HOOK": SECRET})
        args = ["worker", "--mappings", str(mappings), "--db", db_url, "--webhook-port", "0"]
        logs = [tmp_path / f"worker-{n}.log" for n in (1, 2)]
        workers = [server.run(args, log) for log in logs]
        try:
            ports = [_webhook_port(log, run) for log, run in zip(logs, workers, strict=True)]
            body, headers = _zendesk(1, at=now)
            headers = {**headers, "X-Zendesk-Webhook-Id": "01HW", "X-Zendesk-Webhook-Invocation-Id": "912"}
            path = "/webhooks/zendesk-main"
            answers = [
                requests.post(
                    f"http://127.0.0.1:{port}{path}", data=body, headers=headers, timeout=10
                ).status_code
                for port in (ports[0], ports[1], ports[1])
            ]
            for run in workers:
                os.kill(run.pid, signal.SIGTERM)
            codes = [run.wait(timeout=30) for run in workers]
        finally:
            for run in workers:
                run.kill()
            server.close()
    assert answers == [202, 409, 409]  # accepted by one worker, a replay at the other
    assert set(codes) <= {0, 5}, codes
    rejected = [
        json.loads(line)
        for line in logs[1].read_text().splitlines()
        if line.startswith("{") and json.loads(line).get("event") == "webhook rejected"
    ]
    assert [event["reason"] for event in rejected] == ["replayed", "replayed"]
