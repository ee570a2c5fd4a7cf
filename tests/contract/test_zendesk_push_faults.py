"""Zendesk push under faults: conflicts re-read only what changed, sends of unknown outcome are
settled with one batched read-back, notes are neither lost nor posted twice."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from connector.domain.policy import ActionKind
from connector.domain.results import Action
from connector.emulation.base import FaultRule
from connector.ports import Outcome
from plugins.zendesk.emulator import seed_volume
from plugins.zendesk.push import MAX_MARKER_READS
from plugins.zendesk.testing import FAST_RETRY, Harness, running_emulator
from plugins.zendesk.translate import marker_line

pytestmark = pytest.mark.contract
UPDATE_MANY = "/api/v2/tickets/update_many"


@pytest.fixture
def h() -> Iterator[Harness]:
    with running_emulator() as harness:
        seed_volume(harness.app, 40, clock=harness.app.clock, info=harness.info)
        harness.advance(120)
        yield harness


def _basis(h: Harness, ticket_id: int) -> datetime:
    return datetime.fromtimestamp(h.account.tickets[ticket_id].updated_at, UTC)


def _plan(h: Harness, ticket_ids: list[int], *, tags: bool = True) -> list[Action]:
    actions: list[Action] = []
    for tid in ticket_ids:
        basis = _basis(h, tid)
        if tags:
            actions.append(
                Action(
                    key=f"{tid}:tags",
                    connection="zd",
                    ticket_id=str(tid),
                    kind=ActionKind.ADD_TAGS,
                    values=("tier_enterprise",),
                    basis=basis,
                )
            )
        actions.append(
            Action(
                key=f"{tid}:note",
                connection="zd",
                ticket_id=str(tid),
                kind=ActionKind.ADD_NOTE,
                value=f"At risk: #{tid}",
                marker=f"m-{tid}",
                basis=basis,
            )
        )
    return actions


def _agent_edits(h: Harness, ticket_id: int) -> None:
    h.advance(5)
    now = int(h.app.clock.now().timestamp())
    h.account.update_ticket(
        ticket_id, {"comment": {"body": "called", "public": False}}, h.info.agents[0], now
    )


def _paths(h: Harness, pattern: str) -> list[str]:
    return [r.path for r in h.app.log.records() if re.search(pattern, r.path)]


def _notes(h: Harness, ticket_id: int) -> int:
    return sum(marker_line(f"m-{ticket_id}") in c.body for c in h.account.tickets[ticket_id].comments)


def test_a_409_on_one_ticket_of_a_batch_answers_conflict_for_that_ticket_only(h: Harness) -> None:
    tickets = sorted(h.account.tickets)[:5]
    planned = _plan(h, tickets)
    _agent_edits(h, tickets[2])
    hd = h.connect()
    hd.me()
    h.app.log.clear()
    results = {r.key: r.outcome for r in hd.push(planned)}
    conflicted = {key.split(":")[0] for key, outcome in results.items() if outcome == Outcome.CONFLICT}
    assert conflicted == {str(tickets[2])}
    assert all(results[a.key] == Outcome.APPLIED for a in planned if a.ticket_id != str(tickets[2]))
    assert not _paths(h, r"/audits|/comments|/tickets/show_many")  # nothing re-read in the push
    # what the sync re-reads after the push: the conflicted ticket alone
    assert len(hd.fetch(sorted(conflicted))) == 1


def test_a_409_on_the_whole_submit_rereads_the_batch_once_and_resends_the_unchanged_tickets(
    h: Harness,
) -> None:
    tickets = sorted(h.account.tickets)[:5]
    planned = _plan(h, tickets)
    _agent_edits(h, tickets[2])
    hd = h.connect()
    hd.me()
    h.app.log.clear()
    h.app.faults.set_rules([FaultRule(path=UPDATE_MANY, method="PUT", status=409, times=1)])
    results = {r.key: r.outcome for r in hd.push(planned)}
    conflicted = {key.split(":")[0] for key, outcome in results.items() if outcome == Outcome.CONFLICT}
    assert conflicted == {str(tickets[2])}
    assert all(results[a.key] == Outcome.APPLIED for a in planned if a.ticket_id != str(tickets[2]))
    assert len(_paths(h, r"/tickets/show_many")) == 1  # the 409 names no ticket: one batched re-read
    assert not _paths(h, r"/audits|/comments")
    assert [_notes(h, t) for t in tickets] == [1, 1, 0, 1, 1]


def test_an_uncertain_batch_is_settled_with_one_read_back_and_no_note_is_lost_or_posted_twice(
    h: Harness,
) -> None:
    tickets = sorted(h.account.tickets)[:30]
    planned = _plan(h, tickets)
    hd = h.connect(retry=replace(FAST_RETRY, request_timeout=0.3))
    hd.me()
    h.app.faults.set_rules([FaultRule(path=UPDATE_MANY, method="PUT", timeout_s=0.6, times=1)])
    first = hd.push(planned)
    assert {(r.outcome, r.uncertain) for r in first} == {(Outcome.RETRY, True)}
    assert len(_paths(h, UPDATE_MANY)) <= 1  # not re-sent within the push
    h.inflight.wait_idle()  # the stalled submit is processed after the client gave up
    h.app.faults.clear()
    h.app.log.clear()
    h.advance(30)
    second = hd.push(planned, frozenset(a.key for a in planned))
    assert {r.outcome for r in second} == {Outcome.ALREADY_APPLIED}
    # the tickets show the tags that travelled with each note: the update (and its note) landed
    assert _paths(h, r"^/api/v2/") == ["/api/v2/tickets/show_many.json"]
    assert [_notes(h, t) for t in tickets] == [1] * 30


def test_a_stalled_submit_that_lands_after_the_resend_is_refused_and_the_note_is_posted_once(
    h: Harness,
) -> None:
    tickets = sorted(h.account.tickets)[:10]
    planned = _plan(h, tickets)
    hd = h.connect(retry=replace(FAST_RETRY, request_timeout=0.3))
    hd.me()
    h.app.faults.set_rules([FaultRule(path=UPDATE_MANY, method="PUT", timeout_s=1.5, times=1)])
    first = hd.push(planned)
    assert {r.outcome for r in first} == {Outcome.RETRY}
    h.advance(30)
    # the stalled submit is still being held: the read-back sees nothing changed and re-sends all
    second = {r.key: r.outcome for r in hd.push(planned, frozenset(a.key for a in planned))}
    assert set(second.values()) == {Outcome.APPLIED}
    h.inflight.wait_idle()  # now the stalled submit is processed: its stamp is stale, Zendesk refuses it
    assert [_notes(h, t) for t in tickets] == [1] * 10


def test_notes_only_the_comments_can_settle_are_searched_for_a_bounded_number_of_tickets_per_push(
    h: Harness,
) -> None:
    tickets = sorted(h.account.tickets)[:30]
    planned = _plan(h, tickets, tags=False)  # nothing but the note: only the comments can tell
    hd = h.connect(retry=replace(FAST_RETRY, request_timeout=0.3))
    hd.me()
    h.app.faults.set_rules([FaultRule(path=UPDATE_MANY, method="PUT", timeout_s=0.6, times=1)])
    assert {r.outcome for r in hd.push(planned)} == {Outcome.RETRY}
    h.inflight.wait_idle()
    h.app.faults.clear()
    outstanding = {a.key: a for a in planned}
    reads: list[int] = []
    for _cycle in range(3):
        if not outstanding:
            break
        h.app.log.clear()
        results = hd.push(list(outstanding.values()), frozenset(outstanding))
        reads.append(len(_paths(h, r"/comments")))
        for r in results:
            if r.outcome == Outcome.ALREADY_APPLIED:
                del outstanding[r.key]
            else:
                assert r.outcome == Outcome.RETRY and r.uncertain
    assert not outstanding
    assert reads == [MAX_MARKER_READS, 30 - MAX_MARKER_READS]
    assert [_notes(h, t) for t in tickets] == [1] * 30
