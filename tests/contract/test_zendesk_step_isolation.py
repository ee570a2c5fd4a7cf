"""Push contract: one step Zendesk rejects must not sink the ticket's whole update. Real zenpy over
HTTP against the emulator, which rejects an invalid update whole, as Zendesk does."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from connector.domain.policy import ActionKind, ConnectionConfig
from connector.domain.results import Action
from connector.emulation.base import FaultRule
from connector.ports import ActionResult, Outcome
from plugins.zendesk import ZendeskHelpdesk, connect
from plugins.zendesk.emulator import seed_volume
from plugins.zendesk.testing import FAST_RETRY, Harness, running_emulator
from plugins.zendesk.translate import marker_line

pytestmark = pytest.mark.contract

UNKNOWN = "987654321"
UPDATE_MANY = "/api/v2/tickets/update_many"


@pytest.fixture
def h() -> Iterator[Harness]:
    with running_emulator() as harness:
        seed_volume(harness.app, 8, clock=harness.app.clock, info=harness.info)
        harness.advance(120)
        yield harness


def _connect(h: Harness, **aliases: str) -> ZendeskHelpdesk:
    """The adapter with the connection's escalation aliases (named in the fix of a failed step)."""
    defaults = {"duty-managers": str(h.info.groups["Escalations"]), "sla-watcher": str(h.info.agents[0])}
    config = ConnectionConfig(
        name="zd", kind="zendesk", url=h.url, fields=dict(h.info.fields), aliases={**defaults, **aliases}
    )
    helpdesk = connect(config, retry=FAST_RETRY, sleep=h.sleep)
    helpdesk.me()  # the start-up read, out of the way of call counts
    return helpdesk


def _breach(
    h: Harness, ticket: int, *, group: str, followers: str, assignee: str | None = None
) -> list[Action]:
    """A breach escalation (note, priority raise, reassignment, followers) with the state diff
    planned beside it (a tag and the SLA-due field, planned against the ticket's `updated_at`)."""
    tid = str(ticket)
    basis = datetime.fromtimestamp(h.account.tickets[ticket].updated_at, UTC)
    at = datetime.fromtimestamp(h.account.tickets[ticket].updated_at + 60, UTC)
    step = {"connection": "zd", "ticket_id": tid, "at": at}
    diff = {"connection": "zd", "ticket_id": tid, "basis": basis}
    actions = [
        Action(
            key=f"{tid}:note",
            kind=ActionKind.ADD_NOTE,
            value="First response breached",
            marker=f"td-{tid}",
            **step,
        ),
        Action(key=f"{tid}:priority", kind=ActionKind.SET_PRIORITY, value="urgent", **step),
        Action(key=f"{tid}:group", kind=ActionKind.ASSIGN_GROUP, value=group, **step),
        Action(key=f"{tid}:followers", kind=ActionKind.ADD_FOLLOWERS, values=(followers,), **step),
        Action(key=f"{tid}:tags", kind=ActionKind.ADD_TAGS, values=("sla_breached",), **diff),
        Action(
            key=f"{tid}:due", kind=ActionKind.SET_FIELD, field="sla_due", value="2026-03-05T10:00:00Z", **diff
        ),
    ]
    if assignee is not None:
        actions.append(Action(key=f"{tid}:assignee", kind=ActionKind.ASSIGN_ASSIGNEE, value=assignee, **step))
    return actions


def _by_key(results: list[ActionResult]) -> dict[str, ActionResult]:
    return {r.key: r for r in results}


def _assert_landed(h: Harness, ticket: int, *, group: int | None = None) -> None:
    """The note (once), the priority raise, the tag and the field are on the ticket."""
    t = h.account.tickets[ticket]
    notes = [c for c in t.comments if marker_line(f"td-{ticket}") in c.body]
    assert len(notes) == 1 and notes[0].public is False
    assert t.priority == "urgent"
    assert "sla_breached" in t.tags
    assert t.custom_fields[int(h.info.fields["sla_due"])] == "2026-03-05T10:00:00Z"
    if group is not None:
        assert t.group_id == group


def test_an_unknown_follower_fails_alone_with_the_fix_and_the_note_priority_and_group_land(
    h: Harness,
) -> None:
    escalations = h.info.groups["Escalations"]
    helpdesk = _connect(h, **{"sla-watcher": UNKNOWN})
    results = _by_key(helpdesk.push(_breach(h, 1, group=str(escalations), followers=UNKNOWN)))

    assert results["1:followers"] == ActionResult(
        "1:followers",
        Outcome.FAILED,
        f"Zendesk rejected follower {UNKNOWN} (Follower: is invalid); fix: point the alias `sla-watcher` in "
        "connections.yaml `aliases` (connection `zd`) at an existing agent user id, then run `tierdesk check`",
    )
    assert {k: r.outcome for k, r in results.items() if k != "1:followers"} == dict.fromkeys(
        ["1:note", "1:priority", "1:group", "1:tags", "1:due"], Outcome.APPLIED
    )
    _assert_landed(h, 1, group=escalations)
    assert int(UNKNOWN) not in h.account.tickets[1].follower_ids


def test_an_unknown_group_fails_alone_and_the_followers_are_added(h: Harness) -> None:
    agent = h.info.agents[1]
    helpdesk = _connect(h, **{"duty-managers": UNKNOWN})
    before = h.account.tickets[2].group_id
    results = _by_key(helpdesk.push(_breach(h, 2, group=UNKNOWN, followers=str(agent))))

    assert results["2:group"].outcome == Outcome.FAILED
    assert results["2:group"].message == (
        f"Zendesk rejected group {UNKNOWN} (Group: is invalid); fix: point the alias `duty-managers` in "
        "connections.yaml `aliases` (connection `zd`) at an existing group id, then run `tierdesk check`"
    )
    assert [k for k, r in results.items() if r.outcome != Outcome.APPLIED] == ["2:group"]
    _assert_landed(h, 2, group=before)
    assert agent in h.account.tickets[2].follower_ids


def test_an_assignee_zendesk_refuses_fails_alone_with_a_fix_naming_no_alias(h: Harness) -> None:
    customer = str(h.info.customers[0])  # an end user: Zendesk assigns tickets to agents only
    helpdesk = _connect(h)
    escalations = h.info.groups["Escalations"]
    actions = _breach(h, 3, group=str(escalations), followers=str(h.info.agents[0]), assignee=customer)
    results = _by_key(helpdesk.push(actions))

    assert results["3:assignee"].message == (
        f"Zendesk rejected assignee {customer} (Assignee: is invalid); fix: name an existing agent user id in "
        "escalations.yaml, or an alias from connections.yaml `aliases` (connection `zd`) that points at one, "
        "then run `tierdesk check`"
    )
    assert [k for k, r in results.items() if r.outcome != Outcome.APPLIED] == ["3:assignee"]
    _assert_landed(h, 3, group=escalations)
    assert h.account.tickets[3].assignee_id != int(customer)


def test_isolating_rejected_steps_costs_one_more_update_many_and_its_polls_for_all_tickets(
    h: Harness,
) -> None:
    helpdesk = _connect(h)
    group, agent = str(h.info.groups["Escalations"]), str(h.info.agents[0])
    clean = [a for t in (1, 2, 3) for a in _breach(h, t, group=group, followers=agent)]
    before = helpdesk.api_calls
    assert {r.outcome for r in helpdesk.push(clean)} == {Outcome.APPLIED}
    clean_calls = helpdesk.api_calls - before

    h.app.log.clear()
    bad = [
        *_breach(h, 4, group=group, followers=UNKNOWN),
        *_breach(h, 5, group=UNKNOWN, followers=agent),
        *_breach(h, 6, group=group, followers=agent, assignee=UNKNOWN),
    ]
    before = helpdesk.api_calls
    results = _by_key(helpdesk.push(bad))
    extra = helpdesk.api_calls - before - clean_calls

    assert sorted(k for k, r in results.items() if r.outcome == Outcome.FAILED) == [
        "4:followers",
        "5:group",
        "6:assignee",
    ]
    assert clean_calls == 3  # one Update Many, two job-status polls
    assert extra == 3  # the three re-sent tickets share one more Update Many and its two polls
    assert h.app.log.count("PUT", UPDATE_MANY) == 2
    for ticket in (4, 5, 6):
        _assert_landed(h, ticket)


def _seats_field(h: Harness) -> str:
    h.account.create_field({"type": "integer", "title": "Affected seats"}, int(h.app.clock.now().timestamp()))
    return str(max(h.account.fields))


def _with_seats(h: Harness, ticket: int, seats_field: str) -> tuple[ZendeskHelpdesk, list[Action]]:
    config = ConnectionConfig(
        name="zd", kind="zendesk", url=h.url, fields={**h.info.fields, "seats": seats_field}, aliases={}
    )
    helpdesk = connect(config, retry=FAST_RETRY, sleep=h.sleep)
    helpdesk.me()
    basis = datetime.fromtimestamp(h.account.tickets[ticket].updated_at, UTC)
    seats = Action(
        key=f"{ticket}:seats",
        connection="zd",
        ticket_id=str(ticket),
        kind=ActionKind.SET_FIELD,
        field="seats",
        value="many",
        basis=basis,
    )
    group, agent = str(h.info.groups["Escalations"]), str(h.info.agents[0])
    return helpdesk, [*_breach(h, ticket, group=group, followers=agent), seats]


def test_a_rejection_naming_a_custom_field_by_its_title_fails_only_that_field(h: Harness) -> None:
    seats = _seats_field(h)
    helpdesk, actions = _with_seats(h, 7, seats)
    before = helpdesk.api_calls
    results = _by_key(helpdesk.push(actions))

    assert results["7:seats"].message == (
        f"Zendesk rejected field seats (id {seats}) value 'many' (Affected seats: is invalid); fix: point "
        "`fields.seats` in connections.yaml (connection `zd`) at the Zendesk field meant, one that accepts "
        "this value, then run `tierdesk check`"
    )
    assert [k for k, r in results.items() if r.outcome != Outcome.APPLIED] == ["7:seats"]
    _assert_landed(h, 7, group=h.info.groups["Escalations"])
    assert helpdesk.api_calls - before == 3 + 1 + 3  # two rounds and one read of the field titles


def test_a_message_naming_no_known_step_sends_the_risky_steps_one_by_one_after_the_note(h: Harness) -> None:
    seats = _seats_field(h)
    helpdesk, actions = _with_seats(h, 8, seats)
    h.app.faults.set_rules([FaultRule(path="/api/v2/ticket_fields", status=403)])  # titles unreadable
    results = _by_key(helpdesk.push(actions))

    assert results["8:seats"].outcome == Outcome.FAILED
    assert results["8:seats"].message.startswith(
        f"Zendesk rejected field seats (id {seats}) value 'many' sent on its own (Affected seats: is invalid); "
        "if that is about it, fix: point `fields.seats`"
    )
    assert [k for k, r in results.items() if r.outcome != Outcome.APPLIED] == ["8:seats"]
    _assert_landed(h, 8, group=h.info.groups["Escalations"])
    # the whole update, the note and tag, then each of the five risky steps on its own
    assert h.app.log.count("PUT", UPDATE_MANY) == 1 + 1 + 5


def test_a_ticket_that_refuses_any_update_fails_every_step_with_zendesks_message(h: Harness) -> None:
    now = int(h.app.clock.now().timestamp())
    h.account.update_ticket(4, {"status": "closed"}, h.info.agents[0], now)
    helpdesk = _connect(h)
    group, agent = str(h.info.groups["Escalations"]), str(h.info.agents[0])
    results = helpdesk.push(_breach(h, 4, group=group, followers=agent))

    assert {r.outcome for r in results} == {Outcome.FAILED}
    assert {r.message for r in results} == {
        "Zendesk rejected the update of ticket 4 even with only its notes and tags (Status: closed prevents "
        "ticket update); the ticket itself refuses it (e.g. closed, or a required field), no mapping names it"
    }
    assert h.app.log.count("PUT", UPDATE_MANY) == 2  # the whole update, then the note and tag alone


def test_a_422_on_the_submit_is_pinned_on_its_ticket_by_halving_the_batch(h: Harness) -> None:
    body = {  # the shape of a real 422 naming the assignee (zenpy issue #628)
        "error": "RecordInvalid",
        "description": "Record validation errors",
        "details": {"assignee": [{"description": "Assignee: is invalid", "error": "InvalidValue"}]},
    }
    h.app.faults.set_rules(
        [FaultRule(path=UPDATE_MANY, method="PUT", status=422, body=json.dumps(body), times=2)]
    )
    helpdesk = _connect(h)
    group, agent = str(h.info.groups["Escalations"]), str(h.info.agents[0])
    actions = [
        *_breach(h, 5, group=group, followers=agent, assignee=agent),
        *_breach(h, 6, group=group, followers=agent),
    ]
    results = _by_key(helpdesk.push(actions))

    assert results["5:assignee"].message.startswith(
        f"Zendesk rejected assignee {agent} (Assignee: is invalid)"
    )
    assert [k for k, r in results.items() if r.outcome != Outcome.APPLIED] == ["5:assignee"]
    for ticket in (5, 6):
        _assert_landed(h, ticket, group=h.info.groups["Escalations"])
    # both tickets (422), each alone (the first one 422 again), the first one without its assignee
    assert h.app.log.count("PUT", UPDATE_MANY) == 1 + 2 + 1


def test_a_re_sent_update_still_answers_conflict_after_an_agent_edit(h: Harness) -> None:
    helpdesk = _connect(h, **{"sla-watcher": UNKNOWN})
    agent = h.info.agents[0]
    edited: list[bool] = []

    def agent_edits_while_the_job_runs(seconds: float) -> None:
        if not edited:  # between the rejected first send and its re-send
            h.advance(5)
            h.account.update_ticket(
                1,
                {"comment": {"body": "on the phone", "public": False}},
                agent,
                int(h.app.clock.now().timestamp()),
            )
            edited.append(True)
        h.sleep(seconds)

    helpdesk._sleep = agent_edits_while_the_job_runs
    results = _by_key(
        helpdesk.push(_breach(h, 1, group=str(h.info.groups["Escalations"]), followers=UNKNOWN))
    )

    assert results["1:followers"].outcome == Outcome.FAILED
    assert {k: r.outcome for k, r in results.items() if k != "1:followers"} == dict.fromkeys(
        ["1:note", "1:priority", "1:group", "1:tags", "1:due"], Outcome.CONFLICT
    )
    assert "sla_breached" not in h.account.tickets[1].tags
