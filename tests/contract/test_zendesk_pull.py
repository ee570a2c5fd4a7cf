"""Pull contract: the real zenpy-based adapter against the emulator over HTTP."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterator

import pytest

from connector.domain.model import EventKind, Status
from connector.ports import PullPage
from plugins.zendesk.emulator import seed_volume
from plugins.zendesk.testing import Harness, running_emulator

pytestmark = pytest.mark.contract


@pytest.fixture
def harness() -> Iterator[Harness]:
    with running_emulator() as h:
        yield h


def _comment_ids(h: Harness) -> dict[str, set[str]]:
    """Expected comment event ids per ticket, from the emulator's own data."""
    out: dict[str, set[str]] = defaultdict(set)
    for ticket in h.account.tickets.values():
        for comment in ticket.comments:
            out[str(ticket.id)].add(f"{comment.audit_id}:{comment.id}")
    return out


@pytest.mark.slow
def test_pull_5000_tickets_with_a_restart_sees_every_ticket_and_comment_once(harness: Harness) -> None:
    h = harness
    seed_volume(h.app, 5000, clock=h.app.clock, info=h.info)
    h.advance(120)
    first = h.connect()
    pages: list[PullPage] = []
    for page in first.pull(None):
        pages.append(page)
        if len(pages) == 2:
            break
    assert not pages[-1].done
    stored_cursor = pages[-1].cursor
    assert stored_cursor is not None

    # updates land while the worker is down: an agent reply, a status change, a system touch
    h.advance(5)
    changed = {"17": "pending", "4321": "solved"}
    account = h.account
    agent = h.info.agents[0]
    for tid, status in changed.items():
        account.update_ticket(
            int(tid),
            {"status": status, "comment": {"body": "agent update", "author_id": agent}},
            agent,
            int(h.app.clock.now().timestamp()),
        )
    h.advance(61)

    second = h.connect()  # a new process: nothing but the stored cursor survives
    for page in second.pull(stored_cursor):
        pages.append(page)
    assert pages[-1].done

    seen: Counter[str] = Counter()
    versions: dict[str, set[str]] = defaultdict(set)
    events: dict[str, set[str]] = defaultdict(set)
    for page in pages:
        for record in page.records:
            seen[record.ticket.id] += 1
            versions[record.ticket.id].add(record.ticket.updated_at.isoformat())
            events[record.ticket.id] |= {e.id for e in record.events}
    assert len(seen) == 5000
    # a ticket comes back only when it changed, or as a boundary repeat of the same version
    for tid in seen:
        if tid not in changed:
            assert len(versions[tid]) == 1, tid
    boundary_repeats = sum(n - 1 for tid, n in seen.items() if tid not in changed)
    assert boundary_repeats <= 50
    final = {r.ticket.id: r.ticket for p in pages for r in p.records}
    for tid, status in changed.items():
        assert final[tid].status == (Status.PENDING if status == "pending" else Status.SOLVED)
    expected = _comment_ids(h)
    missing = {tid: ids - events[tid] for tid, ids in expected.items() if ids - events[tid]}
    assert not missing, f"comments never delivered: {list(missing.items())[:3]}"
    assert first.api_calls + second.api_calls < 80


def test_pull_translates_comment_authors_status_changes_and_own_changes(harness: Harness) -> None:
    h = harness
    account = h.account
    now = int(h.app.clock.now().timestamp())
    customer = (
        h.info.customers[0]
        if h.info.customers
        else account.create_user({"name": "Cora Customer", "email": "cora@acme.example"}, now).id
    )
    agent = h.info.agents[1]
    me = h.info.integration_user
    assert me is not None
    ticket, _ = account.create_ticket(
        {"subject": "Broken", "requester_id": customer, "comment": {"body": "help", "author_id": customer}},
        customer,
        now,
    )
    account.update_ticket(
        ticket.id,
        {"comment": {"body": "on it", "author_id": agent, "public": True}, "status": "open"},
        agent,
        now + 60,
    )
    account.update_ticket(ticket.id, {"comment": {"body": "internal", "public": False}}, agent, now + 120)
    account.update_ticket(
        ticket.id, {"comment": {"body": "thanks?", "author_id": customer}}, customer, now + 180
    )
    account.update_ticket(
        ticket.id, {"priority": "high", "additional_tags": ["tier_priority"]}, me, now + 240
    )
    h.advance(400)

    records = [r for page in h.connect().pull(None) for r in page.records if r.ticket.id == str(ticket.id)]
    assert len(records) == 1
    kinds = [(e.kind, e.by_tierdesk) for e in records[0].events]
    assert kinds[:2] == [(EventKind.CREATED, False), (EventKind.PUBLIC_CUSTOMER_COMMENT, False)]
    assert (EventKind.PUBLIC_AGENT_REPLY, False) in kinds
    assert (EventKind.STATUS_CHANGE, False) in kinds
    assert (EventKind.INTERNAL_NOTE, False) in kinds
    assert kinds.count((EventKind.PUBLIC_CUSTOMER_COMMENT, False)) == 2
    assert (EventKind.PRIORITY_CHANGE, True) in kinds
    assert records[0].ticket.organization is None or records[0].ticket.organization.name


def test_pull_resumes_from_the_last_cursor_without_rereading(harness: Harness) -> None:
    h = harness
    seed_volume(h.app, 150, clock=h.app.clock, info=h.info)
    h.advance(120)
    pages = list(h.connect().pull(None))
    assert sum(len(p.records) for p in pages) == 150
    again = list(h.connect().pull(pages[-1].cursor))
    assert sum(len(p.records) for p in again) == 0
    assert again[-1].done


def test_deleted_and_malformed_tickets_are_skipped_not_fatal(harness: Harness) -> None:
    h = harness
    seed_volume(h.app, 20, clock=h.app.clock, info=h.info)
    h.account.delete_ticket(5, int(h.app.clock.now().timestamp()))
    h.advance(120)
    pages = list(h.connect().pull(None))
    skipped = [s for p in pages for s in p.skipped]
    assert ("5", "deleted") in [(s.ticket_id, s.reason) for s in skipped]
    assert sum(len(p.records) for p in pages) == 19

    # a page whose second ticket lacks its created_at
    base = h.connect()
    raw = base.session.get(f"{h.url}/api/v2/incremental/tickets/cursor.json", params={"start_time": 0}).json()
    del raw["tickets"][1]["created_at"]
    raw["tickets"][2]["custom_fields"] = [{"id": "not-a-number", "value": "x"}]
    h.app.faults.set_rules([])
    from connector.emulation.base import FaultRule

    h.app.faults.set_rules([FaultRule(path=r"/incremental/tickets/cursor", status=200, body=json.dumps(raw))])
    page = next(iter(h.connect().pull(None)))
    h.app.faults.clear()
    reasons = {s.ticket_id: s.reason for s in page.skipped}
    assert reasons[str(raw["tickets"][1]["id"])].startswith("malformed: tickets[1].created_at")
    assert "custom_fields[0].id" in reasons[str(raw["tickets"][2]["id"])]
    assert len(page.records) == len(raw["tickets"]) - 3  # two malformed, one deleted
