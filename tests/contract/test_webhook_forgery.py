"""Forged webhooks never reach the worker: over real HTTP to the served webhook port, unsigned,
wrongly signed, stale and replayed deliveries of both vendors' formats are rejected with their
status and counted by reason; only the genuine one names its ticket for a fetch."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
import requests

from connector.clock import FixedClock
from connector.domain.policy import ConnectionConfig
from connector.health import StatusServer
from connector.metrics import WorkerMetrics
from connector.retry import MissingCredentials
from connector.secrets import EnvSecrets
from connector.webhooks import MAX_BODY_BYTES, TicketNudges, serve_webhooks
from plugins.jira.webhook import sign as jira_sign
from plugins.zendesk.webhook import sign as zendesk_sign

pytestmark = pytest.mark.contract

NOW = datetime(2026, 3, 4, 10, 0, tzinfo=UTC)
SECRET = "whsec-right-71c2"
ZENDESK = ConnectionConfig(
    name="zd", kind="zendesk", url="https://x.zendesk.com", webhook_secret_env="ZD_HOOK"
)
JIRA = ConnectionConfig(
    name="jira",
    kind="jira",
    url="https://x.atlassian.net",
    webhook_secret_env="JIRA_HOOK",
    webhook_path="/hooks/jira",
)


class Port:
    def __init__(self, server: StatusServer, nudges: TicketNudges, metrics: WorkerMetrics) -> None:
        self.server, self.nudges, self.metrics = server, nudges, metrics

    def post(self, path: str, body: bytes, headers: dict[str, str]) -> int:
        url = f"http://127.0.0.1:{self.server.port}{path}"
        return requests.post(url, data=body, headers=headers, timeout=10).status_code

    def counted(self, connection: str, outcome: str) -> float:
        sample = self.metrics.registry.get_sample_value(
            "tierdesk_webhook_deliveries_total", {"connection": connection, "outcome": outcome}
        )
        return sample or 0.0


@pytest.fixture
def port() -> Iterator[Port]:
    nudges, metrics = TicketNudges(), WorkerMetrics()
    secrets = EnvSecrets({"ZD_HOOK": SECRET, "JIRA_HOOK": SECRET})
    server = serve_webhooks(
        [ZENDESK, JIRA], nudges, FixedClock(NOW), metrics, 0, "127.0.0.1", secrets=secrets
    )
    try:
        yield Port(server, nudges, metrics)
    finally:
        server.stop()


def _zendesk(ticket: int, *, at: datetime = NOW, secret: str = SECRET) -> tuple[bytes, dict[str, str]]:
    body = json.dumps({"type": "zen:event-type:ticket.comment_added", "detail": {"id": str(ticket)}}).encode()
    stamp = at.isoformat().replace("+00:00", "Z")
    return body, {
        "X-Zendesk-Webhook-Signature": zendesk_sign(secret, stamp, body),
        "X-Zendesk-Webhook-Signature-Timestamp": stamp,
        "Content-Type": "application/json",
    }


def _jira(issue: int, *, at: datetime = NOW, secret: str = SECRET) -> tuple[bytes, dict[str, str]]:
    payload = {"timestamp": int(at.timestamp() * 1000), "webhookEvent": "jira:issue_updated"}
    body = json.dumps({**payload, "issue": {"id": str(issue), "key": "SUP-1"}}).encode()
    return body, {"X-Hub-Signature": jira_sign(secret, body), "Content-Type": "application/json"}


def test_forged_zendesk_deliveries_are_rejected_and_counted_by_reason(port: Port) -> None:
    path = "/webhooks/zd"
    genuine_body, genuine = _zendesk(7)
    assert port.post(path, genuine_body, genuine) == 202
    assert port.post(path, genuine_body, genuine) == 409  # replayed as captured
    assert port.post(path, genuine_body, {"Content-Type": "application/json"}) == 401  # unsigned
    assert port.post(path, *_zendesk(8, secret="whsec-wrong")) == 401  # wrong secret
    tampered = genuine_body.replace(b'"7"', b'"9"')
    assert port.post(path, tampered, genuine) == 401  # signature of another body
    assert port.post(path, *_zendesk(10, at=NOW - timedelta(minutes=6))) == 403  # stale
    restamped = {**genuine, "X-Zendesk-Webhook-Signature-Timestamp": "2026-03-04T10:00:01Z"}
    assert port.post(path, genuine_body, restamped) == 401  # the timestamp is signed too
    assert port.post(path, b"x" * (MAX_BODY_BYTES + 1), genuine) == 413

    assert port.nudges.take() == {"zd": ["7"]}  # only the genuine delivery names a ticket
    counts = {
        o: port.counted("zd", o) for o in ("accepted", "replayed", "unsigned", "bad_signature", "stale")
    }
    assert counts == {"accepted": 1, "replayed": 1, "unsigned": 1, "bad_signature": 3, "stale": 1}
    assert port.counted("zd", "too_large") == 1


def test_forged_jira_deliveries_are_rejected_and_counted_by_reason(port: Port) -> None:
    path = "/hooks/jira"
    genuine_body, genuine = _jira(10005)
    assert port.post(path, genuine_body, genuine) == 202
    assert port.post(path, genuine_body, {**genuine, "X-Atlassian-Webhook-Identifier": "other"}) == 409
    assert port.post(path, genuine_body, {"Content-Type": "application/json"}) == 401
    assert port.post(path, *_jira(10006, secret="whsec-wrong")) == 401
    sha1 = {**genuine, "X-Hub-Signature": "sha1=" + genuine["X-Hub-Signature"].split("=", 1)[1]}
    assert port.post(path, genuine_body, sha1) == 401  # only sha256 is accepted
    assert port.post(path, *_jira(10007, at=NOW - timedelta(minutes=10))) == 403
    assert port.post("/webhooks/jira", *_jira(10008)) == 404  # served at its webhook_path only

    assert port.nudges.take() == {"jira": ["10005"]}
    counts = {
        o: port.counted("jira", o) for o in ("accepted", "replayed", "unsigned", "bad_signature", "stale")
    }
    assert counts == {"accepted": 1, "replayed": 1, "unsigned": 1, "bad_signature": 2, "stale": 1}


def test_a_burst_of_deliveries_for_one_ticket_waits_as_one_fetch(port: Port) -> None:
    for second in range(5):
        assert port.post("/webhooks/zd", *_zendesk(42, at=NOW + timedelta(seconds=second))) == 202
    assert port.nudges.take() == {"zd": ["42"]}


def test_a_connection_whose_secret_variable_is_not_set_stops_the_webhook_port() -> None:
    unset = replace(ZENDESK, webhook_secret_env="NOT_SET_HOOK")
    with pytest.raises(MissingCredentials, match="NOT_SET_HOOK"):
        serve_webhooks(
            [unset], TicketNudges(), FixedClock(NOW), WorkerMetrics(), 0, "127.0.0.1", secrets=EnvSecrets({})
        )
