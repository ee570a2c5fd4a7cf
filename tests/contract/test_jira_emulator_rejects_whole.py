"""Emulator contract: Jira Cloud checks every field of an edit before applying any, so a rejected
edit (400), assignment or watcher leaves the issue exactly as it was."""

from __future__ import annotations

import copy
import logging
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from plugins.jira.emulator import create_field, create_issues, create_project
from plugins.jira.emulator.model import Issue
from plugins.jira.emulator.seed import DATETIME_FIELD, SELECT_FIELD
from plugins.jira.testing import Harness, running_emulator

pytestmark = pytest.mark.contract


@pytest.fixture
def h() -> Iterator[Harness]:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    with running_emulator() as harness:
        create_project(harness.transport, "SUP", "Support")
        yield harness


def _snapshot(issue: Issue) -> dict[str, Any]:
    return {k: copy.deepcopy(v) for k, v in vars(issue).items() if k != "project"}


def _issue(h: Harness) -> Issue:
    created = create_issues(
        h.transport, "SUP", 1, extra_fields=lambda n: {"labels": ["agent_label"], "priority": {"name": "Low"}}
    )[0]
    h.advance(60)
    return h.jira.site.issues[int(created["id"])]


def _send(h: Harness, method: str, path: str, body: Any) -> requests.Response:
    return requests.request(
        method, f"{h.url}/rest/api/3/{path}", json=body, auth=("bot@example.com", "t"), timeout=5
    )


def test_an_edit_with_one_invalid_field_changes_no_field_and_names_every_invalid_one(h: Harness) -> None:
    due = create_field(h.transport, "SLA due", DATETIME_FIELD)
    tier = create_field(h.transport, "Tier", SELECT_FIELD, ("Standard", "Enterprise"))
    issue = _issue(h)
    before = _snapshot(issue)
    response = _send(
        h,
        "PUT",
        f"issue/{issue.id}",
        {
            "update": {"labels": [{"add": "sla_breached"}, {"remove": "agent_label"}]},
            "fields": {
                "priority": {"name": "Highest"},
                due: "2026-03-05T10:00:00.000+0000",
                tier: {"value": "Platinum"},
                "assignee": {"accountId": "nobody"},
            },
        },
    )
    assert response.status_code == 400
    assert response.json() == {
        "errorMessages": [],
        "errors": {tier: "Option value 'Platinum' is not valid", "assignee": "User 'nobody' does not exist."},
    }
    assert _snapshot(issue) == before


def test_an_impossible_date_is_a_400_naming_the_field_not_a_server_error(h: Harness) -> None:
    due = create_field(h.transport, "SLA due", DATETIME_FIELD)
    issue = _issue(h)
    before = _snapshot(issue)
    response = _send(
        h, "PUT", f"issue/{issue.id}", {"fields": {due: "2026-13-45T10:00:00.000+0000", "labels": ["x"]}}
    )
    assert response.status_code == 400
    assert list(response.json()["errors"]) == [due]
    assert _snapshot(issue) == before


def test_assigning_or_watching_an_unknown_account_changes_nothing(h: Harness) -> None:
    issue = _issue(h)
    before = _snapshot(issue)
    assign = _send(h, "PUT", f"issue/{issue.key}/assignee", {"accountId": "nobody"})
    watch = _send(h, "POST", f"issue/{issue.key}/watchers", "nobody")
    assert (assign.status_code, watch.status_code) == (400, 400)
    assert _snapshot(issue) == before
