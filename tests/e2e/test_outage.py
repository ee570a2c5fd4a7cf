"""The helpdesk down for an hour, then back: the worker keeps planning escalations from the clocks
it stores, and once the helpdesk answers again the backlog drains, every note lands exactly once
and the clocks and due fields are what an undisturbed worker has.

Two copies of one Zendesk account (emulator, same seed) run the worker's own jobs (`pull_job`,
`drain_job`, as APScheduler calls them) every five simulated minutes through the same afternoon.
In one copy every API path answers 503 for an hour. Nobody touches the tickets during that hour,
so whatever the undisturbed copy wrote, the other must end up with too, only later. Time is a
`FixedClock` moved by the test; the adapters' retry waits pass no time.
"""

from __future__ import annotations

import copy
import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from connector.bootstrap import App, build_app
from connector.clock import FixedClock
from connector.domain.engine import evaluate
from connector.domain.policy import Metric
from connector.domain.results import ClockState
from connector.policy_holder import PolicyHolder
from connector.report.report import build_report
from connector.retry import HelpdeskError
from connector.scheduler import Worker
from plugins.zendesk import connect
from plugins.zendesk.testing import FAST_RETRY
from tests.e2e.support import (
    CONNECTION,
    ZendeskSite,
    customer_of,
    note_markers,
    open_ticket,
    outbox_entries,
    seed_tickets,
    ticket_state,
    write_mappings,
    zendesk_emulator,
)

pytestmark = pytest.mark.e2e

START = datetime(2026, 3, 4, 10, 0, tzinfo=UTC)  # a Wednesday, 11:00 in Berlin
TICK = timedelta(minutes=5)
DOWN_FROM = START + timedelta(minutes=30)
UP_AGAIN = DOWN_FROM + timedelta(hours=1)
END = UP_AGAIN + timedelta(minutes=15)


@dataclass
class Copy:
    site: ZendeskSite
    app: App
    worker: Worker
    clock: FixedClock
    db_url: str
    failed_pulls: int = 0
    queued_while_down: Counter[str] = field(default_factory=Counter)


def _customers_write(site: ZendeskSite, at: datetime, count: int = 70) -> None:
    """Customers follow up on `count` open tickets: next-response clocks that run into the outage."""
    rng = random.Random(7)
    when = int((at - timedelta(seconds=90)).timestamp())
    for ticket_id in rng.sample(sorted(site.info.ticket_ids), count):
        ticket = site.account.tickets[ticket_id]
        if ticket.status not in ("solved", "closed"):
            change = {"comment": {"body": "Any news?", "public": True}, "status": "open"}
            site.account.update_ticket(ticket_id, change, ticket.requester_id, when)


def _open(site: ZendeskSite, tmp: Path) -> Copy:
    mappings = write_mappings(tmp / "mappings", {"zendesk": site.connection()})
    clock = FixedClock(START)
    (config,) = PolicyHolder(mappings).policy.connections
    helpdesk = connect(config, retry=FAST_RETRY, sleep=lambda _seconds: None)
    db_url = f"sqlite:///{tmp / 't.db'}"
    app = build_app(mappings, db_url, clock=clock, helpdesks={CONNECTION: helpdesk})
    return Copy(site=site, app=app, worker=Worker(app), clock=clock, db_url=db_url)


def _tick(copy: Copy, at: datetime) -> None:
    """What the scheduler runs in five minutes: a pull job and a drain job, a job's failure logged
    and the next job run as usual."""
    copy.clock.set(at)
    copy.site.set_clock(at)
    try:
        copy.worker.pull_job(CONNECTION)
    except HelpdeskError:
        copy.failed_pulls += 1
    copy.worker.drain_job()


def _afternoon(copy: Copy, *, outage: bool) -> None:
    at = START
    _tick(copy, at)
    _customers_write(copy.site, at + TICK)
    while at < END:
        at += TICK
        if outage and at == DOWN_FROM:
            copy.site.faults({"path": r"^/api/v2/", "status": 503})
        if outage and at == UP_AGAIN:
            copy.queued_while_down = Counter(
                e.kind for e in outbox_entries(copy.db_url) if e.status == "pending"
            )
            copy.site.faults()
        _tick(copy, at)


def _clocks(app: App) -> dict[str, Any]:
    """Every stored clock, without the instant of the evaluation that wrote it."""
    found: dict[str, Any] = {}
    for ticket in app.store.iter_open_tickets():
        found[ticket.key] = [
            (c.metric.value, c.cycle, c.state.value, c.started_at, c.due_at, c.breached_at, c.stopped_at)
            for c in app.store.load_clocks(ticket.connection, ticket.id)
        ]
    return found


def test_an_hour_of_503s_then_the_backlog_drains_with_every_note_once_and_clocks_right(
    tmp_path: Path,
) -> None:
    (tmp_path / "steady").mkdir()
    (tmp_path / "outage").mkdir()
    with zendesk_emulator(START) as steady_site, zendesk_emulator(START) as outage_site:
        for site in (steady_site, outage_site):
            seed_tickets(site, 150, START - timedelta(minutes=10))
        steady, outage = _open(steady_site, tmp_path / "steady"), _open(outage_site, tmp_path / "outage")
        try:
            _afternoon(steady, outage=False)
            _afternoon(outage, outage=True)

            steady_notes, outage_notes = note_markers(steady_site.account), note_markers(outage_site.account)
            steady_view = ticket_state(steady_site.account, steady_site.info.fields)
            outage_view = ticket_state(outage_site.account, outage_site.info.fields)
            steady_clocks, outage_clocks = _clocks(steady.app), _clocks(outage.app)
            rejected = sum(1 for r in outage_site.app.log.records() if r.status == 503)

            # what the helpdesk shows matches a fresh evaluation of each ticket at the end, on the
            # record the store keeps (the outcomes it settled)
            policy = outage.app.policies.policy
            fields = {int(v): k for k, v in outage_site.info.fields.items()}
            stale: list[str] = []
            for ticket in outage.app.store.iter_open_tickets():
                loaded = outage.app.store.load_ticket(ticket.connection, ticket.id)
                assert loaded is not None
                settled = outage.app.store.settled_outcomes(ticket.connection, ticket.id)
                wanted = evaluate(loaded[0], loaded[1], policy, END, settled=settled).desired_fields
                shown = {
                    fields[fid]: value
                    for fid, value in outage_site.account.tickets[int(ticket.id)].custom_fields.items()
                    if fid in fields and fields[fid] in wanted
                }
                if {k: v for k, v in wanted.items() if v or k in shown} != shown:
                    stale.append(ticket.key)
        finally:
            steady.app.close()
            outage.app.close()

    print(
        f"\noutage: {outage.failed_pulls} failed pulls, {rejected} requests answered 503, queued while down "
        f"{dict(outage.queued_while_down)}; {len(outage_notes)} notes, {len(outage_clocks)} open tickets"
    )
    # the outage was real and the worker kept planning through it
    down_ticks = int((UP_AGAIN - DOWN_FROM) / TICK)
    assert outage.failed_pulls == down_ticks
    assert rejected >= 2 * down_ticks
    assert outage.queued_while_down["add_note"] >= 5

    # the backlog drained
    statuses = Counter(e.status for e in outbox_entries(outage.db_url))
    assert statuses["pending"] == statuses["sending"] == statuses["failed"] == 0

    # every note exactly once, the same notes as without the outage
    assert [key for key, count in outage_notes.items() if count > 1] == []
    assert len(steady_notes) >= 10
    assert set(outage_notes) == set(steady_notes)

    # the clocks, the due fields, tags and escalations are what the undisturbed worker has
    assert outage_clocks == steady_clocks
    assert outage_view == steady_view
    assert stale == []


def test_sync_once_with_one_helpdesk_down_still_plans_what_came_due_and_serves_the_other(
    tmp_path: Path,
) -> None:
    """`tierdesk sync --once` (a cycle) while one of two helpdesks answers 503: the other is pulled
    and pushed, the deadlines that came due are planned from the stored clocks, and the cycle
    still fails visibly for the helpdesk that is down."""
    with zendesk_emulator(START) as down, zendesk_emulator(START) as up:
        for site in (down, up):
            seed_tickets(site, 80, START - timedelta(minutes=10))
            _customers_write(site, START, count=40)
            site.set_clock(START)
        mappings = write_mappings(tmp_path / "mappings", {"zendesk": down.connection()})
        yaml = YAML()
        doc = yaml.load((mappings / "connections.yaml").read_text(encoding="utf-8"))
        second = copy.deepcopy(doc["connections"][0])
        second.update(up.connection(), name="zendesk-second")
        doc["connections"].append(second)
        with (mappings / "connections.yaml").open("w", encoding="utf-8") as out:
            yaml.dump(doc, out)
        clock = FixedClock(START)
        policies = PolicyHolder(mappings)
        helpdesks = {
            config.name: connect(config, retry=FAST_RETRY, sleep=lambda _seconds: None)
            for config in policies.policy.connections
        }
        app = build_app(mappings, f"sqlite:///{tmp_path / 't.db'}", clock=clock, helpdesks=helpdesks)
        try:
            app.service.run_cycle()
            later = START + timedelta(hours=1)
            clock.set(later)
            for site in (down, up):
                site.set_clock(later)
            down.faults({"path": r"^/api/v2/", "status": 503})
            with pytest.raises(HelpdeskError):
                app.service.run_cycle()
            queued = Counter(
                (e.connection, e.kind)
                for e in outbox_entries(f"sqlite:///{tmp_path / 't.db'}")
                if e.status == "pending"
            )
            up_pulled = up.app.log.count("GET", r"/incremental/tickets/cursor")
        finally:
            app.close()

    assert queued[(CONNECTION, "add_note")] >= 1  # planned for the helpdesk that is down, sent later
    assert up_pulled == 2 and queued[("zendesk-second", "add_note")] == 0  # the other one was served


def test_a_reply_made_during_the_outage_withdraws_the_breach_planned_from_stale_data(tmp_path: Path) -> None:
    """While tierdesk cannot pull, an agent answers an enterprise outage ticket in time. The worker,
    still seeing it unanswered, plans the breach escalation from its stored clock; once the pull
    catches up the breach never happened, so it must not reach the ticket. The 50% warning, which
    did come due before the reply, still lands."""
    created = START - timedelta(minutes=5)  # critical, first response 15m: 50% at START+2.5m, breach +10m
    with zendesk_emulator(created) as site:
        site.unlimited()
        ticket_id = open_ticket(site, customer_of(site))
        copy_ = _open(site, tmp_path)
        try:
            _tick(copy_, START)
            copy_.site.faults({"path": r"^/api/v2/", "status": 503})
            replied = START + timedelta(minutes=3)  # after the 50% warning, before 75% and the breach
            change = {"comment": {"body": "On it.", "public": True}, "status": "open"}
            site.account.update_ticket(ticket_id, change, site.info.agents[0], int(replied.timestamp()))
            at = START
            while at < START + timedelta(minutes=30):
                at += TICK
                _tick(copy_, at)
            planned_while_down = {e.key: e for e in outbox_entries(copy_.db_url) if e.escalation}
            copy_.site.faults()
            while at < START + timedelta(minutes=45):
                at += TICK
                _tick(copy_, at)
            after = {e.key: e for e in outbox_entries(copy_.db_url) if e.escalation}
        finally:
            copy_.app.close()
        ticket = site.account.tickets[ticket_id]
        bodies = [c.body for c in ticket.comments]
        group = ticket.group_id

    # the worker did plan the breach escalation (note, duty managers) from its stale view
    assert {"add_note", "assign_group"} <= {
        e.kind for e in planned_while_down.values() if e.status == "pending"
    }
    assert [b for b in bodies if "half of the first response target" in b]  # the warning that came due
    assert not [b for b in bodies if "breached" in b]
    assert group != site.info.groups["Escalations"]
    withdrawn = [e for e in after.values() if e.kind in ("assign_group", "set_priority")]
    assert withdrawn and all(e.status == "withdrawn" for e in withdrawn)
    assert {e.reason for e in withdrawn} == {
        "withdrawn: first response was met at 2026-03-04T10:03:00Z, before it reached breach"
    }


def test_a_ticket_opened_breached_and_answered_late_during_the_outage_is_recorded_breached(
    tmp_path: Path,
) -> None:
    """Everything happens while tierdesk cannot read the helpdesk: an enterprise outage ticket is
    opened, its 15-minute first response breaches, an agent answers half an hour late. Once the
    helpdesk answers again the breach is on the record (settled, `sla_breached`, the report's
    breaches and Acme's credit), and no escalation is sent for a clock that has long stopped."""
    with zendesk_emulator(START) as site:
        site.unlimited()
        requester = customer_of(site)
        run = _open(site, tmp_path)
        try:
            _tick(run, START)
            run.site.faults({"path": r"^/api/v2/", "status": 503})
            opened = START + timedelta(minutes=10)
            ticket, _ = site.account.create_ticket(
                {
                    "subject": "Checkout is down",
                    "requester_id": requester,
                    "comment": {"body": "Nobody can pay."},
                },
                requester,
                int(opened.timestamp()),
            )
            ticket_id = ticket.id
            answered = opened + timedelta(minutes=45)
            change = {"comment": {"body": "Fixed, sorry for the wait.", "public": True}, "status": "open"}
            site.account.update_ticket(ticket_id, change, site.info.agents[0], int(answered.timestamp()))
            at = START
            while at < UP_AGAIN:
                at += TICK
                _tick(run, at)
            run.site.faults()
            for _ in range(2):
                at += TICK
                _tick(run, at)
            settled = run.app.store.settled_outcomes(CONNECTION, str(ticket_id))
            report = build_report(run.app.store, run.app.policies.policy, start=START, end=at, now=at)
        finally:
            run.app.close()
        shown = site.account.tickets[ticket_id]

    first_response = [o for o in settled if o.metric is Metric.FIRST_RESPONSE]
    assert [(o.state, o.breached_at, o.stopped_at) for o in first_response] == [
        (ClockState.BREACHED, opened + timedelta(minutes=15), answered)
    ]
    assert "sla_breached" in shown.tags
    # no first-response warning or breach note: that clock stopped before tierdesk could see it
    assert [c.body for c in shown.comments if "first response" in c.body] == []
    assert [(b.ticket, b.metric) for b in report.breaches] == [
        (f"{CONNECTION}:{ticket_id}", Metric.FIRST_RESPONSE)
    ]
    assert [(c.organization, c.breaches) for c in report.service_credits] == [("Acme Corp", 1)]
