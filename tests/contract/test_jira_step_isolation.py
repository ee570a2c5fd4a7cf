"""Push contract: one step Jira rejects must not sink the issue's other steps. Real `jira` client
over HTTP against the emulator, which checks every field of an edit before applying any."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest

from connector.domain.model import Priority
from connector.domain.policy import ActionKind
from connector.domain.results import Action
from connector.ports import ActionResult, Outcome
from plugins.jira.client import JiraHelpdesk
from plugins.jira.emulator import create_field, create_issues, create_project
from plugins.jira.emulator.seed import DATETIME_FIELD, SELECT_FIELD
from plugins.jira.testing import FAST_RETRY, Harness, running_emulator

pytestmark = pytest.mark.contract
EDIT = r"^/rest/api/3/issue/\d+$"


@pytest.fixture
def h() -> Iterator[Harness]:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    with running_emulator() as harness:
        create_project(harness.transport, "SUP", "Support")
        yield harness


def _agent(h: Harness, name: str) -> str:
    created = h.transport.call("POST", "/rest/api/3/user", {"emailAddress": f"{name}@tierdesk.example"})
    return str(created["accountId"])


def _fields(h: Harness) -> dict[str, str]:
    return {
        "sla_due": create_field(h.transport, "SLA due", DATETIME_FIELD),
        "tier": create_field(h.transport, "Tier", SELECT_FIELD, ("Standard", "Enterprise")),
    }


def _issue(h: Harness) -> str:
    return str(
        create_issues(h.transport, "SUP", 1, extra_fields=lambda n: {"priority": {"name": "Low"}})[0]["id"]
    )


def _connect(h: Harness, fields: dict[str, str], **overrides: object) -> JiraHelpdesk:
    helpdesk = h.connect(retry=FAST_RETRY, fields=fields, **overrides)
    helpdesk.fetch([])  # start-up reads out of the way
    return helpdesk


def _breach(
    issue: str, *, assignee: str, watchers: tuple[str, ...], tier: str = "enterprise"
) -> list[Action]:
    def step(name: str, kind: ActionKind, **kw: object) -> Action:
        return Action(key=f"{issue}:{name}", connection="jira", ticket_id=issue, kind=kind, **kw)  # type: ignore[arg-type]

    return [
        step("note", ActionKind.ADD_NOTE, value="First response breached", marker=f"td-{issue}"),
        step("priority", ActionKind.SET_PRIORITY, value="urgent"),
        step("assignee", ActionKind.ASSIGN_ASSIGNEE, value=assignee),
        step("watchers", ActionKind.ADD_FOLLOWERS, values=watchers),
        step("labels", ActionKind.ADD_TAGS, values=("sla_breached",)),
        step("due", ActionKind.SET_FIELD, field="sla_due", value="2026-03-02T17:30:00+00:00"),
        step("tier", ActionKind.SET_FIELD, field="tier", value=tier),
    ]


def _by_key(results: list[ActionResult]) -> dict[str, ActionResult]:
    return {r.key: r for r in results}


def _not_applied(results: dict[str, ActionResult]) -> list[str]:
    return sorted(k.split(":")[1] for k, r in results.items() if r.outcome != Outcome.APPLIED)


def _assert_note_once(h: Harness, issue: str) -> None:
    comments = h.jira.site.issues[int(issue)].comments
    assert [c.properties.get("tierdesk", {}).get("marker") for c in comments] == [f"td-{issue}"]
    assert comments[0].internal


def test_an_unknown_assignee_fails_alone_with_the_fix_and_the_rest_of_the_edit_lands(h: Harness) -> None:
    fields, issue, watcher = _fields(h), _issue(h), _agent(h, "ada")
    helpdesk = _connect(h, fields, aliases={"duty-manager": "nobody", "sla-watcher": watcher})
    h.app.log.clear()
    results = _by_key(helpdesk.push(_breach(issue, assignee="nobody", watchers=(watcher,))))

    assert results[f"{issue}:assignee"] == ActionResult(
        f"{issue}:assignee",
        Outcome.FAILED,
        "Jira rejected assignee nobody (HTTP 400 User 'nobody' does not exist.); fix: point the alias "
        "`duty-manager` in connections.yaml `aliases` (connection `jira`) at an existing Atlassian account id, "
        "then run `tierdesk check`",
    )
    assert _not_applied(results) == ["assignee"]
    stored = h.jira.site.issues[int(issue)]
    assert stored.priority_id == "1" and stored.labels == ["sla_breached"] and stored.watchers == [watcher]
    assert stored.custom[fields["sla_due"]] == 1772472600000 and stored.assignee is None
    _assert_note_once(h, issue)
    assert h.app.log.count("PUT", EDIT) == 2  # the edit, then the edit without the assignee


def test_an_unknown_watcher_fails_naming_it_and_the_other_watcher_is_added(h: Harness) -> None:
    fields, issue, watcher, assignee = _fields(h), _issue(h), _agent(h, "ada"), _agent(h, "bob")
    helpdesk = _connect(h, fields, aliases={"sla-watcher": "ghost"})
    results = _by_key(helpdesk.push(_breach(issue, assignee=assignee, watchers=(watcher, "ghost"))))

    assert results[f"{issue}:watchers"].message == (
        'Jira rejected watcher ghost (HTTP 400 The user "ghost" does not have permission to view this issue.); '
        "fix: point the alias `sla-watcher` in connections.yaml `aliases` (connection `jira`) at an existing "
        f"Atlassian account id, then run `tierdesk check` (added: {watcher})"
    )
    assert _not_applied(results) == ["watchers"]
    stored = h.jira.site.issues[int(issue)]
    assert stored.watchers == [watcher] and stored.assignee == assignee and stored.priority_id == "1"
    _assert_note_once(h, issue)


def test_a_priority_or_option_jira_does_not_have_fails_alone_with_the_mapping_to_fix(h: Harness) -> None:
    fields, issue, assignee = _fields(h), _issue(h), _agent(h, "ada")
    helpdesk = _connect(h, fields, priority_map={"Blocker": Priority.URGENT})
    results = _by_key(helpdesk.push(_breach(issue, assignee=assignee, watchers=(assignee,), tier="Platinum")))

    assert results[f"{issue}:priority"].message == (
        'Jira rejected priority urgent (HTTP 400 The priority selected is invalid: {"name": "Blocker"}); '
        "fix: map tierdesk priority `urgent` to an existing Jira priority under `priority_map` in "
        "connections.yaml (connection `jira`) (it was sent as `Blocker`), then run `tierdesk check`"
    )
    assert results[f"{issue}:tier"].message == (
        f"Jira rejected field tier ({fields['tier']}) value 'Platinum' (HTTP 400 Option value 'Platinum' is not "
        f"valid); fix: point `fields.tier` ({fields['tier']}) in connections.yaml (connection `jira`) at a field "
        "on the issue's edit screen that takes this value (an existing option of a select field), then run "
        "`tierdesk check`"
    )
    assert _not_applied(results) == ["priority", "tier"]
    stored = h.jira.site.issues[int(issue)]
    assert stored.priority_id != "1" and stored.assignee == assignee and stored.labels == ["sla_breached"]
    _assert_note_once(h, issue)


def test_a_400_naming_no_field_sends_the_steps_one_by_one_and_fails_only_the_rejected_one(h: Harness) -> None:
    fields, issue, assignee = _fields(h), _issue(h), _agent(h, "ada")
    helpdesk = _connect(h, fields)
    body = {"errorMessages": ["The issue is being moved; try again."], "errors": {}}
    # the whole edit and the first step sent alone (the priority) are refused without a field
    h.faults({"path": EDIT, "method": "PUT", "status": 400, "body": json.dumps(body), "times": 2})
    h.app.log.clear()
    results = _by_key(helpdesk.push(_breach(issue, assignee=assignee, watchers=(assignee,))))

    assert results[f"{issue}:priority"].message.startswith(
        "Jira rejected priority urgent sent on its own (HTTP 400 The issue is being moved; try again.); "
        "if that is about it, fix: map tierdesk priority `urgent`"
    )
    assert _not_applied(results) == ["priority"]
    stored = h.jira.site.issues[int(issue)]
    assert stored.assignee == assignee and stored.labels == ["sla_breached"] and stored.priority_id != "1"
    assert stored.custom[fields["sla_due"]] == 1772472600000
    _assert_note_once(h, issue)
    assert h.app.log.count("PUT", EDIT) == 1 + 5  # the edit, then its five steps one by one
