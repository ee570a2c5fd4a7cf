"""Verify before acting: the deadline job escalates only on a view of the ticket a few seconds old.

An enterprise outage ticket (critical: first response 15 minutes) is pulled once, a minute after
it was opened; the worker's next pull is far away. At the deadline the worker's deadline job runs
(`Worker.deadline_job`, as APScheduler calls it), with the stored view fourteen minutes old. If an
agent replied thirty seconds before the deadline, the breach never happened: the breach note and
the reassignment to the duty managers are withdrawn with the reason, nothing false reaches the
ticket, and the met first response is settled. If nobody replied, the re-read confirms the breach
and it is escalated in the same run, and settled.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from connector.bootstrap import App, build_app
from connector.clock import FixedClock
from connector.domain.policy import Metric
from connector.domain.results import ClockState
from connector.policy_holder import PolicyHolder
from connector.scheduler import Worker
from plugins.zendesk import connect
from plugins.zendesk.testing import FAST_RETRY
from tests.e2e.support import (
    CONNECTION,
    OutboxEntry,
    ZendeskSite,
    customer_of,
    jira_emulator,
    open_ticket,
    outbox_entries,
    write_mappings,
    zendesk_emulator,
)

pytestmark = pytest.mark.e2e

OPENED = datetime(2026, 3, 4, 10, 0, tzinfo=UTC)  # a Wednesday
DEADLINE = OPENED + timedelta(minutes=15)


@dataclass
class Run:
    site: ZendeskSite
    app: App
    worker: Worker
    clock: FixedClock
    db_url: str
    ticket_id: int

    def at(self, instant: datetime) -> None:
        self.clock.set(instant)
        self.site.set_clock(instant)

    def escalations(self) -> list[OutboxEntry]:
        return [e for e in outbox_entries(self.db_url) if e.escalation]


@contextmanager
def outage_ticket(tmp: Path) -> Iterator[Run]:
    with zendesk_emulator(OPENED) as site:
        site.unlimited()
        ticket_id = open_ticket(site, customer_of(site))  # Acme: enterprise
        mappings = write_mappings(
            tmp / "mappings", {"zendesk": site.connection()}, options={"zendesk": {"job_poll_interval": "0"}}
        )
        (config,) = PolicyHolder(mappings).policy.connections
        helpdesk = connect(config, retry=FAST_RETRY, sleep=lambda _seconds: None)
        clock = FixedClock(OPENED)
        db_url = f"sqlite:///{tmp / 't.db'}"
        app = build_app(mappings, db_url, clock=clock, helpdesks={CONNECTION: helpdesk})
        run = Run(site, app, Worker(app), clock, db_url, ticket_id)
        try:
            run.at(OPENED + timedelta(minutes=1))
            run.worker.pull_job(CONNECTION)  # the last pull before the deadline
            yield run
        finally:
            app.close()


def test_a_reply_thirty_seconds_before_the_deadline_withdraws_the_breach_escalation(tmp_path: Path) -> None:
    with outage_ticket(tmp_path) as run:
        run.at(DEADLINE - timedelta(seconds=30))
        change = {"comment": {"body": "On it, rolling back.", "public": True}, "status": "open"}
        agent = run.site.info.agents[0]
        run.site.account.update_ticket(run.ticket_id, change, agent, int(run.clock.now().timestamp()))
        group_before = run.site.account.tickets[run.ticket_id].group_id
        run.at(DEADLINE + timedelta(milliseconds=50))
        run.worker.deadline_job()
        ticket = run.site.account.tickets[run.ticket_id]
        bodies = [c.body for c in ticket.comments]
        steps = run.escalations()
        settled = run.app.store.settled_outcomes(CONNECTION, str(run.ticket_id))

    assert not [b for b in bodies if "breached" in b]
    assert ticket.group_id == group_before
    assert "sla_breached" not in ticket.tags
    breach_steps = [
        e for e in steps if e.kind in ("assign_group", "set_priority") or "breach" in (e.marker or "")
    ]
    assert {e.kind for e in steps if e.status == "withdrawn"} >= {"assign_group", "set_priority", "add_note"}
    assert {e.reason for e in steps if e.status == "withdrawn"} == {
        "withdrawn: first response was met at 2026-03-04T10:14:30Z, before it reached breach"
    }
    assert all(e.status != "applied" for e in breach_steps if e.kind != "add_note")
    first_response = [o for o in settled if o.metric is Metric.FIRST_RESPONSE]
    assert [(o.state, o.decided_at) for o in first_response] == [
        (ClockState.MET, DEADLINE - timedelta(seconds=30))
    ]


def test_an_unanswered_ticket_is_re_read_at_the_deadline_and_escalated_in_the_same_run(
    tmp_path: Path,
) -> None:
    with outage_ticket(tmp_path) as run:
        run.at(DEADLINE + timedelta(milliseconds=50))
        calls_before = len(run.site.app.log.records())
        run.worker.deadline_job()
        requests = [(r.method, r.path) for r in run.site.app.log.records()[calls_before:]]
        ticket = run.site.account.tickets[run.ticket_id]
        bodies = [c.body for c in ticket.comments]
        settled = run.app.store.settled_outcomes(CONNECTION, str(run.ticket_id))
        duty_managers = run.site.info.groups["Escalations"]

    assert [b for b in bodies if "breached" in b]
    assert ticket.group_id == duty_managers
    assert "sla_breached" in ticket.tags
    assert ("GET", "/api/v2/tickets/show_many.json") in requests  # the re-read before sending
    first_response = [o for o in settled if o.metric is Metric.FIRST_RESPONSE]
    assert [(o.state, o.breached_at) for o in first_response] == [(ClockState.BREACHED, DEADLINE)]
    assert first_response[0].observed_at >= DEADLINE


def test_jira_a_reply_thirty_seconds_before_the_deadline_withdraws_the_breach_escalation(
    tmp_path: Path,
) -> None:
    """The same race on Jira: a Standard critical issue (first response 1h of Berlin office hours),
    re-read at the deadline with one search by key."""
    from plugins.jira import SEED_ADMIN_EMAIL
    from plugins.jira import connect as connect_jira
    from plugins.jira.emulator.seed import SEED_TOKEN, InProcessTransport, adf
    from plugins.jira.testing import FAST_RETRY as JIRA_FAST_RETRY

    opened = datetime(2026, 3, 4, 9, 0, tzinfo=UTC)  # a Wednesday, 10:00 in Berlin
    deadline = opened + timedelta(hours=1)
    with jira_emulator(opened, 0) as site:
        transport = InProcessTransport(site.app, SEED_ADMIN_EMAIL, SEED_TOKEN)
        customer = "alex@hooli.example"  # a Standard customer: critical first response 1 h
        agent = next(iter(site.demo.agents))
        site.set_clock(opened)
        key = transport.call(
            "POST",
            "/rest/api/3/issue",
            {
                "fields": {
                    "project": {"key": site.demo.project},
                    "issuetype": {"name": "Service Request"},
                    "summary": "Checkout is down",
                    "description": adf("Nobody can pay."),
                }
            },
            as_email=customer,
        )["key"]
        mappings = write_mappings(tmp_path / "mappings", {"jira": site.connection()})
        (config,) = PolicyHolder(mappings).policy.connections
        helpdesk = connect_jira(config, retry=JIRA_FAST_RETRY, sleep=lambda _seconds: None)
        clock = FixedClock(opened + timedelta(minutes=1))
        db_url = f"sqlite:///{tmp_path / 't.db'}"
        app = build_app(mappings, db_url, clock=clock, helpdesks={config.name: helpdesk})
        worker = Worker(app)
        try:
            site.set_clock(clock.now())
            worker.pull_job(config.name)
            replied = deadline - timedelta(seconds=30)
            site.set_clock(replied)
            transport.call(
                "POST", f"/rest/api/3/issue/{key}/comment", {"body": adf("Rolling back now.")}, as_email=agent
            )
            clock.set(deadline + timedelta(milliseconds=50))
            site.set_clock(clock.now())
            worker.deadline_job()
            issue = next(i for i in site.jira.site.issues.values() if i.key == key)
            comments = [json_text(c.body) for c in issue.comments]
            steps = [e for e in outbox_entries(db_url) if e.escalation]
            settled = app.store.settled_outcomes(config.name, str(issue.id))
        finally:
            app.close()

    assert not [text for text in comments if "breached" in text]
    withdrawn = {e.kind for e in steps if e.status == "withdrawn"}
    assert {"add_note", "set_priority"} <= withdrawn
    assert {e.reason for e in steps if e.status == "withdrawn"} == {
        "withdrawn: first response was met at 2026-03-04T09:59:30Z, before it reached breach"
    }
    assert [(o.state, o.decided_at) for o in settled if o.metric is Metric.FIRST_RESPONSE] == [
        (ClockState.MET, deadline - timedelta(seconds=30))
    ]


def json_text(body: object) -> str:
    """The text of a comment body (ADF or plain)."""
    return json.dumps(body) if not isinstance(body, str) else body
