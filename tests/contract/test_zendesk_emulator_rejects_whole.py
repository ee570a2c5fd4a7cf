"""Emulator contract: Zendesk validates a ticket update as a whole. A rejected update (Update Ticket
422, or a failed ticket of an Update Many job) leaves the ticket, its tags, fields, followers,
audits and `updated_at` exactly as they were, and names every invalid part."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from plugins.zendesk.emulator import seed_volume
from plugins.zendesk.emulator.records import Ticket
from plugins.zendesk.testing import Harness, running_emulator

pytestmark = pytest.mark.contract

UNKNOWN_ID = 987_654_321


@pytest.fixture
def h() -> Iterator[Harness]:
    with running_emulator() as harness:
        seed_volume(harness.app, 6, clock=harness.app.clock, info=harness.info)
        harness.advance(120)
        yield harness


@pytest.fixture
def http() -> requests.Session:
    session = requests.Session()
    session.auth = ("tierdesk@example.com/token", "emulator")
    return session


def _snapshot(ticket: Ticket) -> dict[str, Any]:
    """Everything of a ticket an update could change (audits and comments by id)."""
    state = {k: copy.deepcopy(v) for k, v in vars(ticket).items() if k not in ("audits", "comments")}
    state["audits"] = [a.id for a in ticket.audits]
    state["comments"] = [c.id for c in ticket.comments]
    return state


def _good_changes(h: Harness) -> dict[str, Any]:
    """Valid tags, priority, group, custom field and an internal note."""
    return {
        "additional_tags": ["sla_breached"],
        "remove_tags": ["imported"],
        "priority": "urgent",
        "group_id": h.info.groups["Escalations"],
        "custom_fields": [{"id": int(h.info.fields["sla_due"]), "value": "2026-03-05T10:00:00Z"}],
        "comment": {"body": "Breached", "public": False},
    }


def _job_results(h: Harness, http: requests.Session, tickets: list[dict[str, Any]]) -> list[dict[str, Any]]:
    put = http.put(h.url + "/api/v2/tickets/update_many.json", json={"tickets": tickets})
    assert put.status_code == 200, put.text
    job_id = put.json()["job_status"]["id"]
    for _ in range(3):
        job = http.get(f"{h.url}/api/v2/job_statuses/{job_id}.json").json()["job_status"]
        if job["status"] == "completed":
            results: list[dict[str, Any]] = job["results"]
            return results
    raise AssertionError("job did not complete")


def test_update_ticket_with_an_invalid_follower_is_rejected_whole_with_the_recorded_422_shape(
    h: Harness, http: requests.Session
) -> None:
    ticket = h.account.tickets[1]
    before = _snapshot(ticket)
    h.advance(60)
    body = {**_good_changes(h), "followers": [{"user_id": UNKNOWN_ID, "action": "put"}]}
    response = http.put(f"{h.url}/api/v2/tickets/1.json", json={"ticket": body})
    assert response.status_code == 422
    assert response.json() == {
        "error": "RecordInvalid",
        "description": "Record validation errors",
        "details": {"base": [{"description": "Follower: is invalid", "error": "InvalidValue"}]},
    }
    assert _snapshot(ticket) == before


def test_a_failed_ticket_of_update_many_changes_nothing_and_its_result_names_the_invalid_part(
    h: Harness, http: requests.Session
) -> None:
    before = _snapshot(h.account.tickets[2])
    h.advance(60)
    bad_follower = {"id": 2, **_good_changes(h), "followers": [{"user_id": UNKNOWN_ID, "action": "put"}]}
    good = {"id": 3, **_good_changes(h)}
    failed, updated = _job_results(h, http, [bad_follower, good])
    assert failed == {
        "id": 2,
        "action": "update",
        "success": False,
        "status": "Failed",
        "error": "RecordInvalid",
        "details": "Follower: is invalid",
    }
    assert updated == {"action": "update", "status": "Updated", "success": True, "id": 3}
    assert _snapshot(h.account.tickets[2]) == before
    assert h.account.tickets[3].priority == "urgent" and "sla_breached" in h.account.tickets[3].tags


def test_every_invalid_part_of_an_update_is_reported_at_once(h: Harness, http: requests.Session) -> None:
    customer = h.info.customers[0]
    before = _snapshot(h.account.tickets[4])
    body = {
        "id": 4,
        **_good_changes(h),
        "status": "waiting",
        "group_id": UNKNOWN_ID,
        "assignee_id": customer,  # an end user cannot be assigned a ticket
        "followers": [{"user_id": h.info.agents[0], "action": "put"}, {"user_id": UNKNOWN_ID}],
        "comment": {"body": "note", "public": False, "author_id": UNKNOWN_ID},
    }
    [result] = _job_results(h, http, [body])
    assert result["details"] == (
        "Status: waiting is not valid; Group: is invalid; Assignee: is invalid; "
        "Follower: is invalid; Author: is invalid"
    )
    assert _snapshot(h.account.tickets[4]) == before


def test_an_invalid_custom_field_value_names_the_field_and_leaves_the_other_fields_alone(
    h: Harness, http: requests.Session
) -> None:
    created = http.post(
        h.url + "/api/v2/ticket_fields.json",
        json={"ticket_field": {"type": "integer", "title": "Affected seats"}},
    ).json()["ticket_field"]
    before = _snapshot(h.account.tickets[5])
    body = {
        **_good_changes(h),
        "custom_fields": [
            {"id": int(h.info.fields["sla_due"]), "value": "2026-03-05T10:00:00Z"},
            {"id": created["id"], "value": "many"},
        ],
    }
    response = http.put(f"{h.url}/api/v2/tickets/5.json", json={"ticket": body})
    assert response.status_code == 422
    assert response.json()["details"]["base"] == [
        {
            "description": "Affected seats: is invalid",
            "error": "InvalidValue",
            "ticket_field_id": created["id"],
            "ticket_field_type": "FieldInteger",
        }
    ]
    assert _snapshot(h.account.tickets[5]) == before
