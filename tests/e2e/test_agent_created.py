"""A ticket an agent logs (a phone call) through the Zendesk API, synced by the real worker cycle.

Its opening comment is public and the agent's; as Zendesk's first reply time, it answers nothing:
first response runs until the agent's next public reply.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from connector.bootstrap import build_app
from connector.clock import FixedClock
from connector.domain.policy import Metric
from connector.domain.results import ClockState, SlaClock
from plugins.zendesk.emulator.seed import AGENTS, http_caller
from tests.e2e.support import CONNECTION, write_mappings, zendesk_emulator

pytestmark = pytest.mark.e2e

START = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)  # enterprise tickets run on 24x7


def test_opening_comment_by_agent_does_not_answer_first_response(tmp_path: Path) -> None:
    with zendesk_emulator(START - timedelta(hours=1)) as site:
        site.unlimited()
        _, alice_email = AGENTS[0]
        alice = site.info.agents[0]
        as_alice = http_caller(site.app, email=alice_email)
        acme = site.info.organizations["Acme Corp"]  # an enterprise organization
        requester = as_alice(
            "POST",
            "/api/v2/users.json",
            {"user": {"name": "Ann Acme", "email": "ann@acme.example", "organization_id": acme}},
        )["user"]["id"]
        site.set_clock(START)
        ticket_id = as_alice(
            "POST",
            "/api/v2/tickets.json",
            {
                "ticket": {
                    "subject": "Phone call: export fails",
                    "requester_id": requester,
                    "comment": {"body": "Ann called: the export fails.", "author_id": alice, "public": True},
                }
            },
        )["ticket"]["id"]
        mappings = write_mappings(
            tmp_path / "mappings",
            {"zendesk": site.connection()},
            options={"zendesk": {"job_poll_interval": "0.05"}},
        )
        db_url = f"sqlite:///{tmp_path / 't.db'}"

        def first_response(at: datetime) -> SlaClock:
            site.set_clock(at)
            app = build_app(mappings, db_url, clock=FixedClock(at))
            try:
                assert app.service.run_cycle().failed == 0
                (clock,) = [
                    c
                    for c in app.store.load_clocks(CONNECTION, str(ticket_id))
                    if c.metric is Metric.FIRST_RESPONSE
                ]
            finally:
                app.close()
            return clock

        waiting = first_response(START + timedelta(minutes=10))
        reply_at = START + timedelta(minutes=30)
        site.set_clock(reply_at)
        as_alice(
            "PUT",
            f"/api/v2/tickets/{ticket_id}.json",
            {"ticket": {"comment": {"body": "We are on it.", "public": True}}},
        )
        answered = first_response(START + timedelta(minutes=45))

    assert (waiting.state, waiting.stopped_at) == (ClockState.RUNNING, None)
    assert waiting.due_at == START + timedelta(hours=4)  # enterprise, normal: 4h on 24x7
    assert (answered.state, answered.stopped_at) == (ClockState.MET, reply_at)
    assert answered.elapsed == timedelta(minutes=30)
