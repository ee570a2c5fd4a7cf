"""Plain state write-backs (managed tags, priority, due fields) are sent on an old view without a
re-read; the helpdesk's conditional update is what guards them.

Two enterprise outage tickets are pulled and planned; their write-backs are pushed a minute later,
when the stored view is far older than `verify_within`. Nothing claims that a threshold happened,
so nothing is re-read before the update: the untouched ticket gets its due fields from the first
send. On the ticket an agent answered in between, Zendesk's safe update (`updated_stamp`) refuses
the old plan: that ticket alone is re-read, planned again, and ends with the due field of the fresh
view (the next periodic update, no longer the first response).

Real parts: the Zendesk emulator over HTTP, the zenpy-based adapter, the SQLite store and the
example mappings. Escalation steps on an old view are still re-read first
(`test_verify_before_escalating`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs

import pytest

from connector.bootstrap import App, build_app
from connector.clock import FixedClock
from tests.e2e.support import (
    CONNECTION,
    ZendeskSite,
    customer_of,
    open_ticket,
    ticket_state,
    write_mappings,
    zendesk_emulator,
)

pytestmark = pytest.mark.e2e

START = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)  # a Wednesday
PUSHED = START + timedelta(seconds=60)  # the view is a minute old when the push starts


@dataclass
class Synced:
    site: ZendeskSite
    app: App
    clock: FixedClock
    tickets: list[int]

    def at(self, instant: datetime) -> None:
        self.clock.set(instant)
        self.site.set_clock(instant)

    def due_fields(self) -> dict[int, dict[str, str]]:
        state = ticket_state(self.site.account, self.site.connection()["fields"])
        return {t: dict(state[t][4]) for t in self.tickets}


@contextmanager
def pulled_not_pushed(tmp: Path) -> Iterator[Synced]:
    """Two tickets opened five minutes before the first sync, pulled and planned at START."""
    with zendesk_emulator(START - timedelta(hours=1)) as site:
        site.unlimited()
        mappings = write_mappings(
            tmp / "mappings", {"zendesk": site.connection()}, options={"zendesk": {"job_poll_interval": "0"}}
        )
        clock = FixedClock(START)
        app = build_app(mappings, f"sqlite:///{tmp / 't.db'}", clock=clock)
        try:
            site.set_clock(START - timedelta(minutes=5))
            tickets = [open_ticket(site, customer_of(site, email=f"c{n}@acme.example")) for n in range(2)]
            run = Synced(site, app, clock, tickets)
            run.at(START)
            report = app.service.pull(CONNECTION)
            assert (report.pulled, report.queued > 0) == (2, True)
            yield run
        finally:
            app.close()


def test_state_write_backs_planned_a_minute_ago_are_sent_without_a_re_read(tmp_path: Path) -> None:
    with pulled_not_pushed(tmp_path) as run:
        run.at(PUSHED)
        mark = len(run.site.app.log.records())
        report = run.app.service.push(CONNECTION)
        requests = [(r.method, r.path) for r in run.site.app.log.records()[mark:]]
        due = run.due_fields()

    assert report.verified == 0
    assert ("GET", "/api/v2/tickets/show_many.json") not in requests
    assert requests[0] == ("PUT", "/api/v2/tickets/update_many.json")
    assert (report.conflicts, report.failed, report.retried) == (0, 0, 0)
    # critical enterprise: first response 15 minutes from the opening comment
    assert {t: (f["sla_due"], f["sla_state"]) for t, f in due.items()} == {
        t: ("2026-03-04T12:10:00Z", "running") for t in run.tickets
    }


def test_a_ticket_changed_since_its_plan_is_refused_re_read_alone_and_planned_again(tmp_path: Path) -> None:
    with pulled_not_pushed(tmp_path) as run:
        answered, untouched = run.tickets
        run.at(START + timedelta(seconds=30))
        reply = {"comment": {"body": "Looking into it.", "public": True}}
        run.site.account.update_ticket(
            answered, reply, run.site.info.agents[0], int(run.clock.now().timestamp())
        )
        run.at(PUSHED)
        mark = len(run.site.app.log.records())
        report = run.app.service.push(CONNECTION)
        reads = [
            r.query for r in run.site.app.log.records()[mark:] if r.path == "/api/v2/tickets/show_many.json"
        ]
        due = run.due_fields()

    assert report.conflicts > 0
    # the refused ticket alone is re-read, once
    assert [parse_qs(q)["ids"] for q in reads] == [[str(answered)]]
    # the fresh view: first response met at 12:00:30, the next periodic update is due an hour later
    assert due[answered]["sla_due"] == "2026-03-04T13:00:30Z"
    assert due[untouched]["sla_due"] == "2026-03-04T12:10:00Z"
