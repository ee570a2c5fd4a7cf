"""An escalation whose follower alias points at a user Zendesk does not know: the breach note, the
priority raise and the reassignment land on the ticket, only the follower step is failed in the
outbox (with Zendesk's message and the admin's fix), and later cycles never send it again.

The worker's own composition (`build_app`: mappings, SQLite store, the Zendesk plugin) runs sync
cycles against the emulator on a `FixedClock` the test moves.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from connector.bootstrap import build_app
from connector.clock import FixedClock
from plugins.zendesk.emulator.seed import http_caller
from tests.e2e.support import audit_messages, note_markers, outbox_entries, write_mappings, zendesk_emulator

pytestmark = pytest.mark.e2e

START = datetime(2026, 3, 4, 10, 0, tzinfo=UTC)  # a Wednesday
UNKNOWN_USER = "987654321"


def test_an_unknown_follower_fails_only_its_step_and_is_never_retried(tmp_path: Path) -> None:
    with zendesk_emulator(START) as site:
        site.unlimited()
        call = http_caller(site.app)
        requester = call(
            "POST",
            "/api/v2/users.json",
            {
                "user": {
                    "name": "Acme user",
                    "email": "pat@acme.example",
                    "organization_id": site.info.organizations["Acme Corp"],
                }
            },
        )["user"]["id"]
        ticket_id = call(
            "POST",
            "/api/v2/tickets.json",
            {
                "ticket": {
                    "subject": "Invoice export",
                    "requester_id": requester,
                    "comment": {"body": "Please help."},
                }
            },
        )["ticket"]["id"]
        connection = site.connection()
        connection["aliases"]["sla-watcher"] = UNKNOWN_USER
        mappings = write_mappings(
            tmp_path / "mappings", {"zendesk": connection}, options={"zendesk": {"job_poll_interval": "0.05"}}
        )
        db_url = f"sqlite:///{tmp_path / 't.db'}"

        def sync(at: datetime) -> int:
            site.set_clock(at)
            app = build_app(mappings, db_url, clock=FixedClock(at))
            try:
                return app.service.run_cycle().failed
            finally:
                app.close()

        # enterprise, normal severity: first response due in 4 hours on 24x7
        assert sync(START + timedelta(minutes=1)) == 0
        assert sync(START + timedelta(hours=4, minutes=5)) == 1  # the breach and the 75% steps
        assert sync(START + timedelta(hours=4, minutes=10)) == 0
        assert sync(START + timedelta(hours=4, minutes=15)) == 0

        ticket = site.account.tickets[ticket_id]
        assert ticket.priority == "urgent"
        assert ticket.group_id == site.info.groups["Escalations"]
        assert {"sla_breached", "sla_at_risk"} <= set(ticket.tags)
        assert ticket.follower_ids == []
        breach_notes = [n for (t, _marker), n in note_markers(site.account).items() if t == ticket_id]
        assert breach_notes == [1]

    entries = [e for e in outbox_entries(db_url) if e.ticket_id == str(ticket_id)]
    failed = [e for e in entries if e.status == "failed"]
    assert [e.kind for e in failed] == ["add_followers"]
    assert {e.status for e in entries if e.escalation and e.kind != "add_followers"} <= {"applied", "skipped"}
    assert {e.kind for e in entries if e.status == "applied"} >= {
        "add_note",
        "set_priority",
        "assign_group",
        "add_tags",
        "set_field",
    }
    failures = {message: n for (outcome, message), n in audit_messages(db_url).items() if outcome == "failed"}
    assert failures == {
        f"Zendesk rejected follower {UNKNOWN_USER} (Follower: is invalid); fix: point the alias `sla-watcher` "
        "in connections.yaml `aliases` (connection `zendesk-main`) at an existing agent user id, then run "
        "`tierdesk check`": 1
    }
