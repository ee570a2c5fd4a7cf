"""tierdesk's own write-back must not change the clocks it computes, nor the rules it decides by.

A ticket created as pending (an agent's "submit as pending", or an import) has no status-change
event: its status comes with its creation. Resolution pauses on pending, so its clock stays
paused from the start. tierdesk then writes tags and fields to the ticket, which moves the ticket's
`updated_at`; the next evaluation must give the same clock.

An enterprise breach raises the priority to urgent (escalations.yaml), and the triage rule
`urgent-priority` maps urgent to severity high: when the next pull brings tierdesk's own priority
change back, the rule must not read it, so the severity and its targets stay what they were.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from rich.console import Console

from connector.bootstrap import build_app
from connector.clock import FixedClock
from connector.domain.policy import Metric
from connector.report.explain import render_explain
from plugins.zendesk.emulator.seed import http_caller
from tests.e2e.support import CONNECTION, write_mappings, zendesk_emulator

pytestmark = pytest.mark.e2e

START = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)  # a Wednesday, 13:00 in Berlin


def test_a_ticket_created_pending_keeps_its_paused_clock_after_tierdesk_writes_to_it(tmp_path: Path) -> None:
    with zendesk_emulator(START - timedelta(hours=3)) as site:
        customer = site.info.organizations["Hooli"]  # a standard-tier organization
        call = http_caller(site.app)
        requester = call(
            "POST",
            "/api/v2/users.json",
            {"user": {"name": "Hooli user", "email": "pat@hooli.example", "organization_id": customer}},
        )["user"]["id"]
        ticket_id = str(
            call(
                "POST",
                "/api/v2/tickets.json",
                {
                    "ticket": {
                        "subject": "Invoice copy",
                        "requester_id": requester,
                        "status": "pending",
                        "comment": {"body": "Please send the invoice again.", "author_id": requester},
                    }
                },
            )["ticket"]["id"]
        )
        mappings = write_mappings(
            tmp_path / "mappings",
            {"zendesk": site.connection()},
            options={"zendesk": {"job_poll_interval": "0.05"}},
        )
        db_url = f"sqlite:///{tmp_path / 't.db'}"

        def sync(at: datetime) -> tuple[str, timedelta]:
            site.set_clock(at)
            app = build_app(mappings, db_url, clock=FixedClock(at))
            try:
                report = app.service.run_cycle()
                assert report.failed == 0
                (resolution,) = [
                    c for c in app.store.load_clocks(CONNECTION, ticket_id) if c.metric is Metric.RESOLUTION
                ]
            finally:
                app.close()
            return resolution.state.value, resolution.elapsed

        first = sync(START)
        assert site.account.tickets[int(ticket_id)].updated_at == int(START.timestamp())  # tierdesk wrote
        later = sync(START + timedelta(hours=2))

    assert first == ("paused", timedelta(0))
    assert later == first


def test_a_priority_tierdesk_raised_on_breach_does_not_raise_the_severity(tmp_path: Path) -> None:
    with zendesk_emulator(START - timedelta(hours=1)) as site:
        site.unlimited()
        call = http_caller(site.app)
        acme = site.info.organizations["Acme Corp"]  # an enterprise organization
        requester = call(
            "POST",
            "/api/v2/users.json",
            {"user": {"name": "Ann Acme", "email": "ann@acme.example", "organization_id": acme}},
        )["user"]["id"]
        site.set_clock(START)
        ticket_id = call(
            "POST",
            "/api/v2/tickets.json",
            {
                "ticket": {
                    "subject": "Export fails with error 500",
                    "requester_id": requester,
                    "priority": "normal",
                    "comment": {"body": "The nightly export failed.", "author_id": requester},
                }
            },
        )["ticket"]["id"]
        mappings = write_mappings(
            tmp_path / "mappings",
            {"zendesk": site.connection()},
            options={"zendesk": {"job_poll_interval": "0.05"}},
        )
        db_url = f"sqlite:///{tmp_path / 't.db'}"

        def sync(at: datetime) -> dict[Metric, timedelta]:
            site.set_clock(at)
            app = build_app(mappings, db_url, clock=FixedClock(at))
            try:
                assert app.service.run_cycle().failed == 0
                return {c.metric: c.target for c in app.store.load_clocks(CONNECTION, str(ticket_id))}
            finally:
                app.close()

        before = sync(START + timedelta(minutes=5))
        sync(START + timedelta(hours=4, minutes=5))  # first response (4h) breached: priority urgent
        shown = site.account.tickets[ticket_id]
        assert shown.priority == "urgent"
        after = sync(START + timedelta(hours=4, minutes=20))  # the pull brings tierdesk's change back

        app = build_app(mappings, db_url, clock=FixedClock(START + timedelta(hours=4, minutes=20)))
        console = Console(record=True, width=400)
        try:
            render_explain(
                console, app.store, app.policies.policy, app.clock.now(), (CONNECTION, str(ticket_id))
            )
        finally:
            app.close()
        tags = set(site.account.tickets[ticket_id].tags)

    normal = {Metric.FIRST_RESPONSE: timedelta(hours=4), Metric.RESOLUTION: timedelta(days=3)}
    assert before == after == normal  # enterprise normal; high would be 1h and 1d
    assert "sev_normal" in tags and "sev_high" not in tags
    explained = console.export_text()
    assert "severity: normal — default" in explained
    assert "rules read priority normal, the last one a person set (the ticket shows urgent" in explained
