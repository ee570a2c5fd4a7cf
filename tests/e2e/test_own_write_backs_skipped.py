"""tierdesk's own write-backs come back in the next incremental export; they are stored, not
evaluated again. A change by anyone else, alone or right after tierdesk's, is evaluated.

Real parts: the Zendesk emulator over HTTP (it names the author of each change, `updater_id` in
the ticket events export, as Zendesk does), the zenpy-based adapter, the SQLite store and the
example mappings.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from connector.bootstrap import App, build_app
from connector.clock import FixedClock
from tests.e2e.support import (
    CONNECTION,
    JiraSite,
    ZendeskSite,
    customer_of,
    jira_emulator,
    open_ticket,
    write_mappings,
    zendesk_emulator,
)

pytestmark = pytest.mark.e2e

START = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)  # a Wednesday, 13:00 in Berlin
STEP = timedelta(minutes=2)  # past the export's one-minute lag


@contextmanager
def synced(tmp_path: Path) -> Iterator[tuple[ZendeskSite, App, FixedClock]]:
    with zendesk_emulator(START - timedelta(hours=1)) as site:
        site.unlimited()
        mappings = write_mappings(
            tmp_path / "mappings",
            {"zendesk": site.connection()},
            options={"zendesk": {"job_poll_interval": "0"}},
        )
        clock = FixedClock(START)
        app = build_app(mappings, f"sqlite:///{tmp_path / 't.db'}", clock=clock)
        try:
            yield site, app, clock
        finally:
            app.close()


def cycle(site: ZendeskSite | JiraSite, app: App, clock: FixedClock, at: datetime) -> tuple[int, int, int]:
    """One worker cycle at `at`: (tickets pulled, tickets evaluated, own write-backs recognised)."""
    clock.set(at)
    site.set_clock(at)
    report = app.service.run_cycle()
    assert report.failed == 0
    return report.pulled, report.evaluated, report.own_write_backs


def test_a_ticket_only_tierdesk_changed_is_stored_but_not_evaluated_again(tmp_path: Path) -> None:
    with synced(tmp_path) as (site, app, clock):
        site.set_clock(START - timedelta(minutes=5))
        tickets = [open_ticket(site, customer_of(site, email=f"c{n}@acme.example")) for n in range(3)]
        pulled, evaluated, _ = cycle(site, app, clock, START)
        assert (pulled, evaluated) == (3, 3)
        written = {t: site.account.tickets[t].updated_at for t in tickets}
        assert all(at == int(START.timestamp()) for at in written.values())  # tierdesk wrote back

        pulled, evaluated, own = cycle(site, app, clock, START + STEP)

        assert (pulled, own, evaluated) == (3, 3, 0)
        # the new snapshot is stored: the next push's basis is the ticket as tierdesk left it
        views = app.store.views(CONNECTION, [str(t) for t in tickets])
        assert {int(t): view[0] for t, view in views.items()} == {
            t: datetime.fromtimestamp(at, UTC) for t, at in written.items()
        }
        # and none of them waits for an evaluation because of it
        waiting = set(app.store.tickets_needing_evaluation(app.policies.policy.version))
        assert waiting.isdisjoint(f"{CONNECTION}:{t}" for t in tickets)


def test_an_agent_change_right_after_tierdesks_write_back_is_evaluated(tmp_path: Path) -> None:
    with synced(tmp_path) as (site, app, clock):
        site.set_clock(START - timedelta(minutes=5))
        mine = open_ticket(site, customer_of(site, email="a@acme.example"))
        theirs = open_ticket(site, customer_of(site, email="b@acme.example"))
        cycle(site, app, clock, START)
        agent = site.info.agents[0]
        # the same second as tierdesk's write-back: the export brings both changes together
        site.account.update_ticket(
            theirs, {"comment": {"body": "Looking now.", "public": True}}, agent, int(START.timestamp())
        )

        pulled, evaluated, own = cycle(site, app, clock, START + STEP)

        assert (pulled, own, evaluated) == (2, 1, 1)
        clocks = {c.metric.value: c for c in app.store.load_clocks(CONNECTION, str(theirs))}
        assert clocks["first_response"].state.value == "met"  # the agent's reply was read
        assert mine != theirs


def test_an_agent_tag_change_after_tierdesks_write_back_is_evaluated(tmp_path: Path) -> None:
    with synced(tmp_path) as (site, app, clock):
        site.set_clock(START - timedelta(minutes=5))
        ticket = open_ticket(site, customer_of(site, email="a@acme.example"))
        cycle(site, app, clock, START)
        cycle(site, app, clock, START + STEP)  # tierdesk's write-back comes back, skipped
        agent = site.info.agents[0]
        at = START + STEP + timedelta(seconds=10)
        site.account.update_ticket(ticket, {"additional_tags": ["vip_escalated"]}, agent, int(at.timestamp()))

        pulled, evaluated, own = cycle(site, app, clock, START + 3 * STEP)

        assert (pulled, own, evaluated) == (1, 0, 1)


@contextmanager
def jira_synced(tmp_path: Path) -> Iterator[tuple[JiraSite, App, FixedClock, Any]]:
    from plugins.jira import SEED_ADMIN_EMAIL
    from plugins.jira.emulator.seed import SEED_TOKEN, InProcessTransport

    with jira_emulator(START - timedelta(minutes=5), 0) as site:
        transport = InProcessTransport(site.app, SEED_ADMIN_EMAIL, SEED_TOKEN)
        mappings = write_mappings(tmp_path / "mappings", {"jira": site.connection()})
        clock = FixedClock(START)
        app = build_app(mappings, f"sqlite:///{tmp_path / 't.db'}", clock=clock, sleep=lambda _s: None)
        try:
            yield site, app, clock, transport
        finally:
            app.close()


def open_issue(site: JiraSite, transport: Any, summary: str) -> str:
    from plugins.jira.emulator.seed import adf

    fields = {
        "project": {"key": site.demo.project},
        "issuetype": {"name": "Service Request"},
        "summary": summary,
        "description": adf("Nobody can pay."),
    }
    key: str = transport.call("POST", "/rest/api/3/issue", {"fields": fields}, as_email="alex@hooli.example")[
        "key"
    ]
    return key


def test_jira_issues_only_tierdesk_changed_are_not_evaluated_again_but_an_agent_reply_is(
    tmp_path: Path,
) -> None:
    from plugins.jira.emulator.seed import adf

    with jira_synced(tmp_path) as (site, app, clock, transport):
        site.set_clock(START - timedelta(minutes=5))
        quiet = open_issue(site, transport, "Checkout is down")
        busy = open_issue(site, transport, "Checkout is down again")
        pulled, evaluated, _ = cycle(site, app, clock, START)
        assert (pulled, evaluated) == (2, 2)
        site.set_clock(START + timedelta(seconds=1))  # right after tierdesk's write-back
        agent = next(iter(site.demo.agents))
        transport.call("POST", f"/rest/api/3/issue/{busy}/comment", {"body": adf("On it.")}, as_email=agent)

        pulled, evaluated, own = cycle(site, app, clock, START + STEP)

        assert (pulled, own, evaluated) == (2, 1, 1)
        assert quiet != busy
