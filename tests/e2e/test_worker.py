"""The scheduled worker (APScheduler) end to end: between two pulls an hour apart, the deadline job
wakes at the instant a threshold is crossed and its note lands in the helpdesk within seconds.

Time is a `ScaledClock` (30 simulated seconds per real second) that the Zendesk emulator follows,
so the worker's real scheduler fires jobs at simulated instants, as in the demo.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from connector.bootstrap import build_app
from connector.clock import ScaledClock
from connector.scheduler import Worker
from plugins.zendesk.translate import markers_in
from tests.e2e.support import customer_of, open_ticket, write_mappings, zendesk_emulator

pytestmark = pytest.mark.e2e

SPEED = 30.0  # slow enough that a loaded CI machine keeps a simulated minute above a real second
TARGET = timedelta(minutes=15)  # enterprise, critical: first response (mappings/tiers.yaml)


def _notes(site_account: object, ticket_id: int) -> list[tuple[datetime, str]]:
    ticket = site_account.tickets[ticket_id]  # type: ignore[attr-defined]
    return [
        (datetime.fromtimestamp(c.created_at, UTC), c.body) for c in ticket.comments if markers_in(c.body)
    ]


def test_the_deadline_job_posts_each_warning_within_seconds_of_its_threshold(tmp_path: Path) -> None:
    start = datetime.now(UTC).replace(microsecond=0)
    with zendesk_emulator(start) as site:
        mappings = write_mappings(
            tmp_path / "mappings",
            {"zendesk": {**site.connection(), "pull_interval": "1h"}},
            options={"zendesk": {"job_poll_interval": "0.1"}},
        )
        clock = ScaledClock(start, SPEED)
        app = build_app(mappings, f"sqlite:///{tmp_path / 't.db'}", clock=clock)
        worker = Worker(app, drain_interval=3600.0)  # neither pull nor drain runs again within the test

        # an Acme (enterprise) outage, opened 4.5 simulated minutes ago: its 50% first-response
        # warning comes due 3 simulated minutes (6 real seconds) from now, 75% 3.75 minutes later
        created = clock.now() - timedelta(minutes=4, seconds=30)
        site.set_clock(created)
        ticket_id = open_ticket(site, customer_of(site))
        site.app.clock.follow(clock.now)
        thresholds = [created + TARGET * 0.5, created + TARGET * 0.75]
        try:
            worker.start()
            deadline = time.monotonic() + 45
            while len(_notes(site.account, ticket_id)) < 2 and time.monotonic() < deadline:
                time.sleep(0.05)  # bounded wait for the worker to reach the state
        finally:
            worker.shutdown()
            app.close()
        notes = _notes(site.account, ticket_id)
        pulls = site.app.log.count("GET", r"/incremental/tickets/cursor")

    late = [
        (posted - threshold).total_seconds()
        for (posted, _), threshold in zip(notes, thresholds, strict=False)
    ]
    print(f"\nworker: notes landed {late} simulated seconds after their thresholds")
    assert pulls == 1  # only the start-up pull ran: the notes came from the deadline job
    assert [("half" in body, "at risk" in body) for _, body in notes] == [(True, False), (False, True)]
    for (posted, _), threshold in zip(notes, thresholds, strict=True):
        assert threshold <= posted <= threshold + timedelta(seconds=60)  # within a simulated minute
