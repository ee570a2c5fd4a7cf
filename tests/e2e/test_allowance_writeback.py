"""Tickets past their account's monthly allowance get a tag and an internal note on the helpdesk,
once: through the outbox and the real Zendesk client against the emulator, and never again on a
re-run (the actions' keys are fixed by account, month and ticket)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from connector.bootstrap import build_app
from connector.clock import FixedClock
from tests.e2e.support import ZendeskSite, customer_of, open_ticket, write_mappings, zendesk_emulator

pytestmark = pytest.mark.e2e

START = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)
ACCOUNTS = """accounts:
  hooli:
    name: Hooli
    tier: standard
    organizations:
      - {connection: zendesk-main, name: Hooli}
    contracts:
      - name: 2026
        start: 2026-01-01
        currency: EUR
        allowance: {tickets: 2, ceiling: {tickets: 3}}
"""


def _notes(site: ZendeskSite, ticket_id: int) -> list[str]:
    return [
        c.body for c in site.account.tickets[ticket_id].comments if not c.public and "allowance" in c.body
    ]


def test_tickets_past_the_allowance_get_the_tag_and_note_exactly_once_across_reruns(tmp_path: Path) -> None:
    with zendesk_emulator(START - timedelta(hours=1)) as site:
        site.unlimited()
        requester = customer_of(site, "Hooli", "pat@hooli.example")
        ids = []
        for minute in range(4):
            site.set_clock(START + timedelta(minutes=minute))
            ids.append(open_ticket(site, requester, subject=f"Question {minute}", body="How do I export?"))
        mappings = write_mappings(
            tmp_path / "mappings",
            {"zendesk": site.connection()},
            options={"zendesk": {"job_poll_interval": "0.05"}},
        )
        (mappings / "accounts.yaml").write_text(ACCOUNTS, encoding="utf-8")
        db_url = f"sqlite:///{tmp_path / 't.db'}"

        def sync(at: datetime) -> int:
            site.set_clock(at)
            app = build_app(mappings, db_url, clock=FixedClock(at))
            try:
                report = app.service.run_cycle()
                assert report.failed == 0
                return report.queued
            finally:
                app.close()

        sync(START + timedelta(minutes=10))
        first = {t: (sorted(site.account.tickets[t].tags), _notes(site, t)) for t in ids}
        sync(START + timedelta(minutes=20))  # a re-run: a new worker, the same month
        sync(START + timedelta(hours=2))
        again = {t: (sorted(site.account.tickets[t].tags), _notes(site, t)) for t in ids}

    within, past, ceiling = ids[:2], ids[2], ids[3]
    for ticket_id in within:
        assert "allowance_over" not in first[ticket_id][0] and first[ticket_id][1] == []
    assert "allowance_over" in first[past][0] and "allowance_over_ceiling" not in first[past][0]
    assert {"allowance_over", "allowance_over_ceiling"} <= set(first[ceiling][0])
    (note,) = first[past][1]
    assert "past the allowance of 2 tickets that Hooli's contract (2026) includes for 2026-03" in note
    # the allowance and the ceiling notes, sent in one update, arrive as one internal comment
    (both,) = first[ceiling][1]
    assert both.count("past the allowance of 2 tickets") == 1
    assert both.count("past the allowance ceiling of 3 tickets") == 1
    assert again == first  # nothing repeated
