"""One mappings set drives a Zendesk and a Jira connection at once, with the same tiers and
calendars: both emulators seeded with the demo data, the example mappings, two real sync cycles."""

from __future__ import annotations

from pathlib import Path

import pytest

from connector.bootstrap import build_app
from connector.demo.run import prepare
from connector.domain.engine import evaluate
from connector.domain.plan import same_field_value

pytestmark = pytest.mark.e2e

EXAMPLES = Path(__file__).resolve().parents[2] / "mappings"


def test_one_mappings_set_drives_zendesk_and_jira_together(tmp_path: Path) -> None:
    env = prepare(tmp_path / "demo", speed=1.0, mappings=EXAMPLES)
    app = build_app(env.mappings, env.db_url, clock=env.clock)
    try:
        first = app.service.run_cycle()
        second = app.service.run_cycle()
        policy = app.policies.policy
        now = env.clock.now()

        assert first.pulled >= 600 and first.pushed > 1000
        assert first.failed == 0 and second.failed == 0  # Jira's "-" alias skips group assignment
        counts = app.store.outbox_counts()
        assert counts["pending"] + counts["sending"] == 0

        tiers_seen: dict[str, set[str]] = {}
        for name, helpdesk in app.helpdesks.items():
            open_ids = [t.id for t in app.store.iter_open_tickets(name)][:40]
            assert open_ids, f"no open tickets stored for {name}"
            for record in helpdesk.fetch(open_ids):
                stored = app.store.load_ticket(name, record.ticket.id)
                assert stored is not None
                result = evaluate(record.ticket, stored[1], policy, now)
                tiers_seen.setdefault(name, set()).add(result.tier.value)
                shown = record.ticket
                assert f"tier_{result.tier.value}" in shown.tags, (name, shown.id, sorted(shown.tags))
                assert f"sev_{result.severity.value}" in shown.tags
                due = result.desired_fields.get("sla_due", "")
                assert same_field_value(shown.fields.get("sla_due", ""), due), (name, shown.id)
        # both helpdesks are served from the same tiers
        assert tiers_seen["zendesk-main"] & tiers_seen["jira-main"]
    finally:
        app.close()
        env.stop()
