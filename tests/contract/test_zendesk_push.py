"""Push contract: the adapter writes through real zenpy to the emulator, with injected faults."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime

import pytest

from connector.domain.policy import ActionKind
from connector.domain.results import Action
from connector.emulation.base import FaultRule
from connector.ports import Outcome
from plugins.zendesk import RetryPolicy
from plugins.zendesk.emulator import seed_volume
from plugins.zendesk.testing import FAST_RETRY, Harness, running_emulator
from plugins.zendesk.translate import marker_line

pytestmark = pytest.mark.contract

AGENT_TAG = "agent_keep"


@pytest.fixture
def harness() -> Iterator[Harness]:
    with running_emulator() as h:
        seed_volume(h.app, 260, clock=h.app.clock, info=h.info)
        now = int(h.app.clock.now().timestamp())
        for ticket in h.account.tickets.values():  # an agent's tag and a stale tierdesk tag on every ticket
            h.account.update_ticket(
                ticket.id, {"additional_tags": [AGENT_TAG, "sla_warning"]}, h.info.agents[0], now
            )
        h.advance(120)
        yield h


def _basis(h: Harness, ticket_id: str) -> datetime:
    from datetime import UTC

    return datetime.fromtimestamp(h.account.tickets[int(ticket_id)].updated_at, UTC)


def _plan(h: Harness, ticket_ids: list[str]) -> list[Action]:
    actions: list[Action] = []
    for tid in ticket_ids:
        basis = _basis(h, tid)
        common = {"connection": "zd", "ticket_id": tid, "basis": basis}
        actions += [
            Action(
                key=f"{tid}:tags", kind=ActionKind.ADD_TAGS, values=("tier_enterprise", "sev_high"), **common
            ),
            Action(key=f"{tid}:untag", kind=ActionKind.REMOVE_TAGS, values=("sla_warning",), **common),
            Action(
                key=f"{tid}:due",
                kind=ActionKind.SET_FIELD,
                field="sla_due",
                value=f"2026-03-05T1{int(tid) % 10}:30:00+00:00",
                **common,
            ),
            _note(tid),
        ]
    return actions


def _note(tid: str) -> Action:
    """An escalation step's note: planned without a basis, as the engine plans them."""
    return Action(
        key=f"{tid}:note",
        connection="zd",
        ticket_id=tid,
        kind=ActionKind.ADD_NOTE,
        value=f"First response at risk on #{tid}",
        marker=f"m-{tid}",
    )


def _still_needed(h: Harness, action: Action) -> bool:
    """What a re-plan after a conflict would still send (the test's stand-in for the engine)."""
    ticket = h.account.tickets[int(action.ticket_id)]
    if action.kind == ActionKind.ADD_TAGS:
        return not set(action.values) <= set(ticket.tags)
    if action.kind == ActionKind.REMOVE_TAGS:
        return bool(set(action.values) & set(ticket.tags))
    if action.kind == ActionKind.SET_FIELD:
        return ticket.custom_fields.get(int(h.info.fields["sla_due"])) != action.value.replace("+00:00", "Z")
    return True


@pytest.mark.slow
def test_push_1000_actions_with_30_percent_failures_applies_each_exactly_once(harness: Harness) -> None:
    h = harness
    tickets = [str(t) for t in sorted(h.account.tickets)[:250]]
    planned = _plan(h, tickets)
    assert len(planned) == 1000
    writes = r"/api/v2/(tickets/update_many|job_statuses|tickets/\d+/comments)"
    h.app.faults.set_rules(
        [
            FaultRule(path=writes, method="PUT", status=409, rate=0.06),
            FaultRule(path=writes, status=429, retry_after=3, rate=0.08),
            FaultRule(path=writes, status=429, rate=0.06),  # plain-text body, no Retry-After
            FaultRule(path=writes, status=500, rate=0.07),
            FaultRule(path=writes, timeout_s=0.6, rate=0.06),
        ]
    )
    hd = h.connect(retry=replace(FAST_RETRY, request_timeout=0.3))
    outstanding = {a.key: a for a in planned}
    uncertain: set[str] = set()
    final: dict[str, Outcome] = {}
    for _round in range(40):  # sync cycles: up to 100 outstanding actions each, oldest first
        if not outstanding:
            break
        cycle = list(outstanding.values())[:100]
        results = hd.push(cycle, frozenset(uncertain))
        assert [r.key for r in results] == [a.key for a in cycle]
        for result in results:
            action = outstanding[result.key]
            if result.outcome in (Outcome.APPLIED, Outcome.ALREADY_APPLIED):
                final[result.key] = result.outcome
                del outstanding[result.key]
                uncertain.discard(result.key)
            elif result.outcome == Outcome.FAILED:
                pytest.fail(f"{result.key} failed: {result.message}")
            elif result.outcome == Outcome.RETRY:
                if result.uncertain:
                    uncertain.add(result.key)
            elif result.outcome == Outcome.CONFLICT:
                if _still_needed(h, action):  # re-read and re-plan against the new state
                    outstanding[result.key] = replace(action, basis=_basis(h, action.ticket_id))
                else:
                    final[result.key] = Outcome.APPLIED
                    del outstanding[result.key]
        # the next cycle comes a pull interval later: a submit the client gave up on (stalled, or
        # an ordinary answer slower than 0.3 s on a loaded machine) has been processed by then
        h.inflight.wait_idle()
        h.advance(30)
    h.app.faults.clear()
    assert not outstanding, f"{len(outstanding)} actions never landed"
    calls = [r for r in h.app.log.records() if re.search(writes, r.path)]
    failed = [r for r in calls if r.fault]
    assert len(failed) >= 4 and len(failed) / len(calls) > 0.15, (len(failed), len(calls))
    statuses = {r.status for r in failed}
    assert 429 in statuses and statuses & {409, 500}

    sla_due = int(h.info.fields["sla_due"])
    for tid in tickets:
        ticket = h.account.tickets[int(tid)]
        assert {"tier_enterprise", "sev_high", AGENT_TAG, "imported"} <= set(ticket.tags)
        assert "sla_warning" not in ticket.tags
        assert ticket.custom_fields[sla_due] == f"2026-03-05T1{int(tid) % 10}:30:00Z"
        notes = [c for c in ticket.comments if marker_line(f"m-{tid}") in c.body]
        assert len(notes) == 1, f"ticket {tid}: note posted {len(notes)} times"
        assert notes[0].public is False
        assert notes[0].author_id == h.info.integration_user


def test_other_4xx_fail_only_their_actions_and_the_batch_continues(harness: Harness) -> None:
    h = harness
    ok, bad_group = "1", "2"
    actions = [
        Action(key="ok", connection="zd", ticket_id=ok, kind=ActionKind.ADD_TAGS, values=("tier_standard",)),
        Action(
            key="no-field", connection="zd", ticket_id=ok, kind=ActionKind.SET_FIELD, field="nope", value="x"
        ),
        Action(
            key="bad-group",
            connection="zd",
            ticket_id=bad_group,
            kind=ActionKind.ASSIGN_GROUP,
            value="999999",
        ),
        Action(key="gone", connection="zd", ticket_id="987654", kind=ActionKind.ADD_TAGS, values=("x",)),
        Action(
            key="prop", connection="zd", ticket_id=ok, kind=ActionKind.SET_PROPERTY, field="sla", value="{}"
        ),
    ]
    results = {r.key: r for r in h.connect().push(actions)}
    assert results["ok"].outcome == Outcome.APPLIED
    assert results["prop"].outcome == Outcome.APPLIED
    assert results["no-field"].outcome == Outcome.FAILED and "nope" in results["no-field"].message
    assert results["bad-group"].outcome == Outcome.FAILED
    assert results["bad-group"].message.startswith("Zendesk rejected group 999999 (Group: is invalid); fix:")
    assert results["gone"].outcome == Outcome.FAILED and "RecordNotFound" in results["gone"].message
    assert "tier_standard" in h.account.tickets[1].tags


def test_an_agent_edit_after_planning_answers_conflict_and_changes_nothing(harness: Harness) -> None:
    h = harness
    basis = _basis(h, "3")
    h.advance(5)
    before = h.account.tickets[3].priority
    h.account.update_ticket(
        3,
        {"comment": {"body": "customer called", "public": False}},
        h.info.agents[0],
        int(h.app.clock.now().timestamp()),
    )
    action = Action(
        key="p", connection="zd", ticket_id="3", kind=ActionKind.SET_PRIORITY, value="urgent", basis=basis
    )
    (result,) = h.connect().push([action])
    assert result.outcome == Outcome.CONFLICT
    assert h.account.tickets[3].priority == before


def test_priority_is_never_lowered_within_one_push_and_tags_are_never_replaced(harness: Harness) -> None:
    h = harness
    actions = [
        Action(key="a", connection="zd", ticket_id="4", kind=ActionKind.SET_PRIORITY, value="urgent"),
        Action(key="b", connection="zd", ticket_id="4", kind=ActionKind.SET_PRIORITY, value="high"),
        Action(key="c", connection="zd", ticket_id="4", kind=ActionKind.ADD_TAGS, values=("tier_priority",)),
    ]
    assert {r.outcome for r in h.connect().push(actions)} == {Outcome.APPLIED}
    ticket = h.account.tickets[4]
    assert ticket.priority == "urgent"
    assert {AGENT_TAG, "tier_priority", "imported"} <= set(ticket.tags)


def test_retry_after_is_honoured_by_the_one_retry_layer_not_by_zenpy(harness: Harness) -> None:
    h = harness
    h.app.faults.set_rules([FaultRule(path="/api/v2/tickets/update_many", status=429, retry_after=7)])
    hd = h.connect()
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        h.app.faults.clear()  # the limit is over once we waited
        h.sleep(seconds)

    hd._sleep = sleep
    started = time.monotonic()
    (result,) = hd.push(
        [Action(key="t", connection="zd", ticket_id="5", kind=ActionKind.ADD_TAGS, values=("tier_standard",))]
    )
    assert result.outcome == Outcome.APPLIED
    assert waits[0] == 7.0  # exactly Retry-After, no jitter
    assert time.monotonic() - started < 5  # zenpy did not sleep the 7 seconds itself
    puts = [r for r in h.app.log.records() if r.path.endswith("update_many.json")]
    assert [r.status for r in puts] == [429, 200]


def test_retries_are_bounded_and_end_in_retry(harness: Harness) -> None:
    h = harness
    h.app.faults.set_rules([FaultRule(path="/api/v2/tickets/update_many", status=429)])  # no Retry-After
    policy = RetryPolicy(
        max_attempts=4, base_wait=1.0, max_wait=8.0, max_total_wait=60.0, job_poll_interval=1.0
    )
    hd = h.connect(retry=policy)
    before = hd.api_calls
    results = hd.push(
        [Action(key="t", connection="zd", ticket_id="6", kind=ActionKind.ADD_TAGS, values=("x",))]
    )
    assert [r.outcome for r in results] == [Outcome.RETRY]
    assert not results[0].uncertain  # a 429 was not processed
    assert hd.api_calls - before == 4 + 1  # users/me, then 4 attempts


def test_a_5xx_on_the_submit_is_not_resent_in_the_push_and_the_next_push_reads_the_ticket_back_once(
    harness: Harness,
) -> None:
    h = harness
    h.app.faults.set_rules([FaultRule(path="/api/v2/tickets/update_many", status=503)])
    hd = h.connect()
    common = {"connection": "zd", "ticket_id": "6", "basis": _basis(h, "6")}
    planned = [
        Action(key="t", kind=ActionKind.ADD_TAGS, values=("x",), **common),
        Action(key="n", kind=ActionKind.ADD_NOTE, value="hi", marker="mk6", **common),
    ]
    before = hd.api_calls
    results = hd.push(planned)
    assert [(r.outcome, r.uncertain) for r in results] == [(Outcome.RETRY, True), (Outcome.RETRY, True)]
    assert hd.api_calls - before == 1 + 1  # users/me, then the one attempt: it may have been processed
    h.app.faults.clear()
    h.app.log.clear()
    again = hd.push(planned, frozenset({"t", "n"}))
    assert [r.outcome for r in again] == [Outcome.APPLIED, Outcome.APPLIED]
    # the ticket read back (unchanged since planning: the note cannot be there), one submit, its polls
    paths = [r.path for r in h.app.log.records()]
    assert paths.count("/api/v2/tickets/show_many.json") == 1
    assert not [p for p in paths if "/comments" in p or "/audits" in p]
    assert sum(marker_line("mk6") in c.body for c in h.account.tickets[6].comments) == 1


def test_a_note_whose_send_was_in_doubt_is_found_by_its_marker_not_posted_again(harness: Harness) -> None:
    """An escalation note carries no basis (the engine plans none for escalation steps), so a
    doubtful send is settled by the note's marker in the ticket's comments."""
    h = harness
    tid = str(sorted(h.account.tickets)[0])
    note = _note(tid)
    hd = h.connect(retry=replace(FAST_RETRY, request_timeout=0.3))
    h.app.faults.set_rules([FaultRule(path=r"update_many", timeout_s=0.6, times=1)])
    (first,) = hd.push([note])
    assert first.outcome == Outcome.RETRY and first.uncertain
    h.inflight.wait_idle()  # the stalled send is processed after the client gave up
    h.advance(30)

    (again,) = hd.push([note], frozenset({note.key}))

    assert again.outcome == Outcome.ALREADY_APPLIED, again.message
    notes = [c for c in h.account.tickets[int(tid)].comments if marker_line(f"m-{tid}") in c.body]
    assert len(notes) == 1
