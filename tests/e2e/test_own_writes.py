"""tierdesk's own write-back must not change the clocks it computes.

A ticket created as pending (an agent's "submit as pending", or an import) has no status-change
event: its status comes with its creation. Resolution pauses on pending, so its clock stays
paused from the start. tierdesk then writes tags and fields to the ticket, which moves the ticket's
`updated_at`; the next evaluation must give the same clock.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from connector.bootstrap import build_app
from connector.clock import FixedClock
from connector.domain.policy import Metric
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
