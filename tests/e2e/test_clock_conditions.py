"""Clock conditions read from the ticket, end to end through the Zendesk emulator.

An Enterprise outage ticket (critical, 24x7: first response 15 minutes, resolution 8 hours) gets
its resolution target from a custom field an agent fills in (`agreed_hours`), and an agent's tag
`exempt_sla` exempts first response with a reason. The real zenpy client pulls the agent's
edits (field and tag changes in the ticket events export); the worker writes back.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from ruamel.yaml import YAML

from connector.bootstrap import build_app
from connector.clock import FixedClock
from connector.domain.policy import Metric
from connector.domain.results import ClockState, SlaClock
from connector.policy_holder import PolicyHolder
from connector.report.explain import render_explain
from connector.scheduler import Worker
from plugins.zendesk import connect
from plugins.zendesk.emulator.seed import http_caller
from plugins.zendesk.testing import FAST_RETRY
from tests.e2e.support import (
    CONNECTION,
    ZendeskSite,
    customer_of,
    open_ticket,
    write_mappings,
    zendesk_emulator,
)

pytestmark = pytest.mark.e2e

OPENED = datetime(2026, 3, 4, 10, 0, tzinfo=UTC)  # a Wednesday
REASON = "first response waived: the customer reported by phone to the duty manager"


def add_conditions(mappings: Path, field_id: str) -> None:
    yaml = YAML()
    path = mappings / "tiers.yaml"
    doc = yaml.load(path.read_text(encoding="utf-8"))
    enterprise = doc["tiers"]["enterprise"]
    enterprise["clocks"]["resolution"]["target_from"] = {"field": "agreed_hours", "kind": "hours"}
    enterprise["manual"] = [
        {"exempt": {"tag": "exempt_sla"}, "metrics": ["first_response"], "reason": REASON}
    ]
    with path.open("w", encoding="utf-8") as out:
        yaml.dump(doc, out)
    path = mappings / "connections.yaml"
    doc = yaml.load(path.read_text(encoding="utf-8"))
    doc["connections"][0]["fields"]["agreed_hours"] = field_id
    with path.open("w", encoding="utf-8") as out:
        yaml.dump(doc, out)


@dataclass
class Run:
    site: ZendeskSite
    mappings: Path
    db_url: str
    clock: FixedClock
    field_id: str
    ticket_id: int = 0

    def at(self, instant: datetime) -> None:
        self.clock.set(instant)
        self.site.set_clock(instant)

    def agent_edit(self, change: dict[str, Any]) -> None:
        """An agent's edit of the ticket in Zendesk (not tierdesk's integration user)."""
        now = int(self.site.app.clock.now().timestamp())
        self.site.account.update_ticket(self.ticket_id, change, self.site.info.agents[0], now)

    def set_hours(self, hours: str) -> None:
        self.agent_edit({"custom_fields": [{"id": int(self.field_id), "value": hours}]})

    @contextmanager
    def worker(self) -> Iterator[Worker]:
        (config,) = PolicyHolder(self.mappings).policy.connections
        helpdesk = connect(config, retry=FAST_RETRY, sleep=lambda _seconds: None)
        app = build_app(self.mappings, self.db_url, clock=self.clock, helpdesks={CONNECTION: helpdesk})
        try:
            yield Worker(app)
        finally:
            app.close()

    def clocks(self, worker: Worker) -> dict[Metric, SlaClock]:
        return {
            c.metric: c for c in worker.app.store.load_clocks(CONNECTION, str(self.ticket_id)) if c.cycle == 0
        }

    def tags(self) -> frozenset[str]:
        with self.site.account.lock:
            return frozenset(self.site.account.tickets[self.ticket_id].tags)

    def comments(self) -> list[str]:
        with self.site.account.lock:
            return [c.body for c in self.site.account.tickets[self.ticket_id].comments]


@contextmanager
def outage(tmp: Path) -> Iterator[Run]:
    first_sync = OPENED - timedelta(minutes=5)
    with zendesk_emulator(first_sync) as site:
        site.unlimited()
        customer = customer_of(site)  # Acme: enterprise
        field = http_caller(site.app)(
            "POST",
            "/api/v2/ticket_fields.json",
            {"ticket_field": {"type": "decimal", "title": "Agreed resolution hours", "key": "agreed_hours"}},
        )["ticket_field"]
        mappings = write_mappings(
            tmp / "mappings", {"zendesk": site.connection()}, options={"zendesk": {"job_poll_interval": "0"}}
        )
        add_conditions(mappings, str(field["id"]))
        run = Run(site, mappings, f"sqlite:///{tmp / 't.db'}", FixedClock(first_sync), str(field["id"]))
        with run.worker() as worker:
            worker.pull_job(CONNECTION)
        run.at(OPENED)
        run.ticket_id = open_ticket(site, customer)  # "Checkout is down": critical
        yield run


def test_resolution_target_follows_the_agreed_hours_field_an_agent_edits(tmp_path: Path) -> None:
    with outage(tmp_path) as run, run.worker() as worker:
        run.at(OPENED + timedelta(minutes=1))
        run.set_hours("2")
        run.at(OPENED + timedelta(minutes=2))
        worker.pull_job(CONNECTION)
        first = run.clocks(worker)[Metric.RESOLUTION]
        run.at(OPENED + timedelta(minutes=3))
        run.set_hours("5")
        run.at(OPENED + timedelta(minutes=4))
        worker.pull_job(CONNECTION)
        moved = run.clocks(worker)[Metric.RESOLUTION]

    assert (first.target, first.due_at) == (timedelta(hours=2), OPENED + timedelta(hours=2))
    assert (moved.target, moved.due_at) == (timedelta(hours=5), OPENED + timedelta(hours=5))
    assert moved.state is ClockState.RUNNING


def test_an_agents_exempt_tag_keeps_first_response_from_breaching_and_explain_gives_the_reason(
    tmp_path: Path,
) -> None:
    with outage(tmp_path) as run, run.worker() as worker:
        run.at(OPENED + timedelta(minutes=5))
        run.agent_edit({"additional_tags": ["exempt_sla"]})
        run.at(OPENED + timedelta(minutes=20))  # past the 15 minute first response target
        worker.pull_job(CONNECTION)
        worker.drain_job()
        first = run.clocks(worker)[Metric.FIRST_RESPONSE]
        console = Console(record=True, width=240)
        assert render_explain(
            console,
            worker.app.store,
            worker.app.policies.policy,
            run.clock.now(),
            (CONNECTION, str(run.ticket_id)),
        )

    assert first.state is ClockState.EXEMPT
    assert first.breached_at is None
    assert "exempt_sla" in run.tags()  # an agent's tag, left alone
    assert not any(tag.endswith("sla_breached") for tag in run.tags())
    assert not any("BREACH" in body.upper() and "first response" in body.lower() for body in run.comments())
    text = console.export_text()
    assert "exempt (tag exempt_sla, at " in text and "tiers.yaml:" in text
    assert REASON in text


def test_a_first_response_breached_before_the_exempt_tag_stays_breached(tmp_path: Path) -> None:
    with outage(tmp_path) as run, run.worker() as worker:
        run.at(OPENED + timedelta(minutes=16))
        worker.pull_job(CONNECTION)
        worker.drain_job()
        run.at(OPENED + timedelta(minutes=17))
        run.agent_edit({"additional_tags": ["exempt_sla"]})
        run.at(OPENED + timedelta(minutes=18))
        worker.pull_job(CONNECTION)
        first = run.clocks(worker)[Metric.FIRST_RESPONSE]

    assert (first.state, first.breached_at) == (ClockState.BREACHED, OPENED + timedelta(minutes=15))
