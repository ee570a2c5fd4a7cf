"""Pure translation of Jira JSON: recorded v3 comments, issues, changelogs, ADF and edit planning."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from connector.domain.model import TAGS_FIELD, EventKind, Priority, Status
from connector.domain.policy import ActionKind
from connector.domain.results import Action
from plugins.jira.translate import (
    EditContext,
    FieldInfo,
    IssueContext,
    MalformedRecord,
    adf_to_text,
    canonical_priority,
    canonical_status,
    comment_event,
    comment_markers,
    format_jira_datetime,
    issue_to_record,
    jira_field_value,
    note_body,
    parse_jira_datetime,
    plan_issue_edit,
    text_to_adf,
)

FIXTURES = Path(__file__).parent / "jira_fixtures"
RECORDED = json.loads((FIXTURES / "issue_comments.json").read_text())["comments"]
CONTEXT = IssueContext(
    connection="jira",
    browse_url="https://example.atlassian.net",
    organizations_field="customfield_10002",
    integration_account_id="bot-1",
    status_categories={"10002": "indeterminate", "5": "done"},
    field_aliases={"tier": "customfield_10050"},
)


def _issue(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "summary": "Cannot log in",
        "description": text_to_adf("It fails.\n\nSince Monday."),
        "status": {"id": "10001", "name": "Waiting for support", "statusCategory": {"key": "new"}},
        "priority": {"id": "2", "name": "High"},
        "labels": ["vip"],
        "reporter": {"accountId": "cust-1", "accountType": "customer", "emailAddress": "alex@globex.example"},
        "creator": {"accountId": "cust-1", "accountType": "customer"},
        "assignee": None,
        "created": "2026-03-02T09:00:00.000+0100",
        "updated": "2026-03-02T10:30:00.250+0100",
        "project": {"key": "SUP"},
        "customfield_10002": [{"id": "3", "name": "Globex Corporation", "_links": {}}],
        "customfield_10050": {"value": "Enterprise", "id": "10101"},
        "comment": {"comments": [], "total": 0, "maxResults": 0, "startAt": 0},
    }
    base.update(fields)
    return {"id": "10042", "key": "SUP-42", "fields": base, "changelog": {"histories": [], "total": 0}}


def test_recorded_comments_translate_to_public_agent_replies() -> None:
    events = [comment_event(c, CONTEXT, reporter_id="someone-else") for c in RECORDED]
    assert [e.kind for e in events] == [EventKind.PUBLIC_AGENT_REPLY] * len(RECORDED)
    assert events[0].id == "jira:comment:10755"
    assert events[0].at == datetime(2022, 5, 17, 11, 6, 55, 76000, tzinfo=UTC)
    assert events[0].author_id == "5fc9e78d2730d800760becc4"


def test_recorded_comment_by_the_reporter_is_the_customers() -> None:
    event = comment_event(RECORDED[0], CONTEXT, reporter_id="5fc9e78d2730d800760becc4")
    assert event.kind == EventKind.PUBLIC_CUSTOMER_COMMENT


def test_recorded_comment_marked_not_public_is_an_internal_note() -> None:
    internal = dict(RECORDED[1], jsdPublic=False)
    assert comment_event(internal, CONTEXT, reporter_id=None).kind == EventKind.INTERNAL_NOTE


def test_comment_by_the_integration_user_is_flagged_as_tierdesks() -> None:
    ours = dict(RECORDED[0], author=dict(RECORDED[0]["author"], accountId="bot-1"), jsdPublic=False)
    assert comment_event(ours, CONTEXT, reporter_id=None).by_tierdesk is True


def test_recorded_adf_bodies_read_as_text() -> None:
    assert adf_to_text(RECORDED[0]["body"]) == "Closed"
    assert adf_to_text(RECORDED[1]["body"]).startswith("Lorem ipsum dolor sit amet")


def test_adf_round_trip_keeps_paragraphs_and_line_breaks() -> None:
    text = "First line\nsecond line\n\nNew paragraph"
    document = text_to_adf(text)
    assert document["type"] == "doc" and document["version"] == 1
    assert adf_to_text(document) == text


def test_adf_mentions_and_cards_keep_their_text() -> None:
    document = {
        "type": "doc",
        "version": 1,
        "content": [
            {
                "type": "paragraph",
                "content": [
                    {"type": "mention", "attrs": {"id": "x", "text": "@Ada"}},
                    {"type": "text", "text": " see "},
                    {"type": "inlineCard", "attrs": {"url": "https://status.example"}},
                ],
            },
            {
                "type": "bulletList",
                "content": [
                    {
                        "type": "listItem",
                        "content": [{"type": "paragraph", "content": [{"type": "text", "text": "item"}]}],
                    }
                ],
            },
        ],
    }
    assert adf_to_text(document) == "@Ada see https://status.example\n\nitem"


def test_jira_timestamps_parse_with_compact_offsets_and_format_in_utc() -> None:
    parsed = parse_jira_datetime("2022-05-17T04:06:55.076-0700")
    assert parsed == datetime(2022, 5, 17, 11, 6, 55, 76000, tzinfo=UTC)
    assert format_jira_datetime(parsed) == "2022-05-17T11:06:55.076+0000"
    with pytest.raises(ValueError):
        parse_jira_datetime("2022-05-17T04:06:55")


@pytest.mark.parametrize(
    ("name", "category", "expected"),
    [
        ("Waiting for customer", "indeterminate", Status.PENDING),
        ("Waiting for support", "new", Status.OPEN),
        ("In Progress", "indeterminate", Status.OPEN),
        ("Resolved", "done", Status.SOLVED),
        ("Closed", "done", Status.CLOSED),
        ("Triage", "new", Status.NEW),
        ("Awaiting deploy", "indeterminate", Status.OPEN),
        ("Shipped", "done", Status.SOLVED),
    ],
)
def test_status_defaults_by_name_then_category(name: str, category: str, expected: Status) -> None:
    assert canonical_status(name, category, {}) == expected


def test_status_map_of_the_connection_wins_case_insensitively() -> None:
    assert (
        canonical_status("Awaiting Deploy", "indeterminate", {"awaiting deploy": Status.ON_HOLD})
        == Status.ON_HOLD
    )


def test_priority_defaults_and_connection_map() -> None:
    assert canonical_priority("Highest", {}) == Priority.URGENT
    assert canonical_priority("Medium", {}) == Priority.NORMAL
    assert canonical_priority("Lowest", {}) == Priority.LOW
    assert canonical_priority("P1", {"P1": Priority.URGENT}) == Priority.URGENT
    assert canonical_priority("P9", {}) is None


def test_issue_becomes_ticket_with_organization_fields_and_url() -> None:
    record = issue_to_record(_issue(), CONTEXT)
    ticket = record.ticket
    assert ticket.id == "10042"
    assert ticket.status == Status.OPEN
    assert ticket.priority == Priority.HIGH
    assert ticket.organization is not None and ticket.organization.name == "Globex Corporation"
    assert ticket.tags == frozenset({"vip"})
    assert ticket.fields["tier"] == "Enterprise"
    assert ticket.fields["customfield_10050"] == "Enterprise"
    assert ticket.fields["key"] == "SUP-42"
    assert ticket.brand == "SUP"
    assert ticket.description == "It fails.\n\nSince Monday."
    assert ticket.url == "https://example.atlassian.net/browse/SUP-42"
    assert ticket.updated_at == datetime(2026, 3, 2, 9, 30, 0, 250000, tzinfo=UTC)
    assert [e.kind for e in record.events] == [EventKind.CREATED]


def test_changelog_items_become_status_priority_and_field_events() -> None:
    issue = _issue()
    issue["changelog"] = {
        "total": 1,
        "histories": [
            {
                "id": "500",
                "author": {"accountId": "bot-1"},
                "created": "2026-03-02T10:00:00.000+0100",
                "items": [
                    {
                        "field": "status",
                        "fieldId": "status",
                        "to": "10002",
                        "toString": "Waiting for customer",
                    },
                    {
                        "field": "priority",
                        "fieldId": "priority",
                        "from": "2",
                        "fromString": "High",
                        "to": "1",
                        "toString": "Highest",
                    },
                    {
                        "field": "labels",
                        "fieldId": "labels",
                        "fromString": "vip",
                        "toString": "vip tier_enterprise",
                    },
                ],
            }
        ],
    }
    events = issue_to_record(issue, CONTEXT).events
    by_id = {e.id: e for e in events}
    assert by_id["jira:history:500:0"].kind == EventKind.STATUS_CHANGE
    assert by_id["jira:history:500:0"].status == Status.PENDING
    assert by_id["jira:history:500:1"].kind == EventKind.PRIORITY_CHANGE
    assert (by_id["jira:history:500:1"].value, by_id["jira:history:500:1"].previous) == ("urgent", "high")
    labels = by_id["jira:history:500:2"]
    assert (labels.kind, labels.field) == (EventKind.FIELD_CHANGE, TAGS_FIELD)  # labels are the tags
    assert (labels.value, labels.previous) == ("vip,tier_enterprise", "vip")
    assert all(e.by_tierdesk for e in events if e.id.startswith("jira:history"))


def test_a_change_from_an_empty_field_replaced_nothing() -> None:
    issue = _issue()
    issue["changelog"] = {
        "total": 1,
        "histories": [
            {
                "id": "501",
                "author": {"accountId": "agent-1"},
                "created": "2026-03-02T10:00:00.000+0100",
                "items": [
                    {"field": "priority", "fieldId": "priority", "fromString": None, "toString": "High"},
                    {"field": "labels", "fieldId": "labels", "fromString": None, "toString": "vip"},
                ],
            }
        ],
    }
    changes = [e for e in issue_to_record(issue, CONTEXT).events if e.id.startswith("jira:history")]
    assert [(e.value, e.previous, e.by_tierdesk) for e in changes] == [
        ("high", "", False),
        ("vip", "", False),
    ]


def test_request_an_agent_raised_for_a_customer_opens_with_its_description_not_a_comment() -> None:
    """JSM "raise on behalf of": the agent is the creator, the customer the reporter; what the
    phone call was about is the description. The agent's first comment is a reply."""
    reply = dict(
        RECORDED[0],
        author={"accountId": "agent-1", "accountType": "atlassian"},
        created="2026-03-02T09:20:00.000+0100",
    )
    issue = _issue(
        creator={"accountId": "agent-1", "accountType": "atlassian"},
        comment={"comments": [reply], "total": 1, "maxResults": 1, "startAt": 0},
    )

    record = issue_to_record(issue, CONTEXT)

    assert record.ticket.requester_id == "cust-1"
    assert [(e.kind, e.author_id, e.opening) for e in record.events] == [
        (EventKind.CREATED, "agent-1", None),
        (EventKind.PUBLIC_AGENT_REPLY, "agent-1", False),
    ]


def test_reporter_organization_is_the_fallback_when_the_field_is_empty() -> None:
    from connector.domain.model import Organization

    context = IssueContext(
        connection="jira",
        browse_url="https://x",
        organizations_field="customfield_10002",
        organizations_by_account={"cust-1": Organization(id="7", name="Initech")},
    )
    ticket = issue_to_record(_issue(customfield_10002=[]), context).ticket
    assert ticket.organization == Organization(id="7", name="Initech")


@pytest.mark.parametrize(
    ("mutate", "path"),
    [
        (lambda i: i["fields"].pop("status"), "fields.status.name"),
        (lambda i: i["fields"].update(updated="yesterday"), "fields.updated"),
        (lambda i: i["fields"].update(labels="vip"), "fields.labels"),
        (lambda i: i["fields"].update(reporter="cust-1"), "fields.reporter.accountId"),
        (lambda i: i.update(changelog={"histories": [{"id": "1", "items": []}]}), "changelog[0].created"),
    ],
)
def test_malformed_issue_names_the_failing_path(mutate: Any, path: str) -> None:
    issue = _issue()
    mutate(issue)
    with pytest.raises(MalformedRecord) as raised:
        issue_to_record(issue, CONTEXT)
    assert raised.value.path == path


def _action(key: str, kind: ActionKind, **kw: Any) -> Action:
    return Action(key=key, connection="jira", ticket_id="10042", kind=kind, **kw)


EDIT = EditContext(
    field_aliases={"sla_due": "customfield_10051", "tier": "customfield_10050", "group": "customfield_10060"},
    field_info={
        "customfield_10051": FieldInfo("customfield_10051", "SLA due", "datetime"),
        "customfield_10050": FieldInfo(
            "customfield_10050", "Tier", "option", options={"enterprise": "Enterprise"}
        ),
    },
)


def test_all_changes_of_an_issue_fold_into_one_edit_with_label_add_remove_only() -> None:
    actions = [
        _action("k1", ActionKind.ADD_TAGS, values=("tier_enterprise", "sev_1")),
        _action("k2", ActionKind.REMOVE_TAGS, values=("sla_warning",)),
        _action("k3", ActionKind.SET_FIELD, field="sla_due", value="2026-03-02T17:30:00+01:00"),
        _action("k4", ActionKind.SET_FIELD, field="tier", value="enterprise"),
        _action("k5", ActionKind.SET_PRIORITY, value="urgent"),
        _action("k6", ActionKind.ASSIGN_ASSIGNEE, value="agent-1"),
        _action("k7", ActionKind.SET_PROPERTY, field="tierdesk", value='{"tier": "enterprise"}'),
        _action("k8", ActionKind.ADD_NOTE, value="Breach soon", marker="m1"),
        _action("k9", ActionKind.ASSIGN_GROUP, value="tier-2"),
    ]
    edit = plan_issue_edit("10042", actions, EDIT)
    assert edit.body() == {
        "fields": {
            "customfield_10051": "2026-03-02T16:30:00.000+0000",
            "customfield_10050": {"value": "Enterprise"},
            "assignee": {"accountId": "agent-1"},
            "customfield_10060": {"name": "tier-2"},
            "priority": {"name": "Highest"},
        },
        "update": {"labels": [{"add": "sev_1"}, {"remove": "sla_warning"}, {"add": "tier_enterprise"}]},
        "properties": [{"key": "tierdesk", "value": {"tier": "enterprise"}}],
    }
    assert [a.key for a in edit.notes] == ["k8"]
    assert set(edit.parts) == {"k1", "k2", "k3", "k4", "k5", "k6", "k7", "k9"}
    assert edit.settled == {}


def test_priority_is_never_lowered() -> None:
    context = EditContext(field_aliases={}, field_info={}, current_priority=Priority.URGENT)
    edit = plan_issue_edit("1", [_action("p", ActionKind.SET_PRIORITY, value="high")], context)
    assert "priority" not in edit.body().get("fields", {})
    assert edit.settled["p"][0] == "already_applied"


def test_unmapped_field_and_bad_timestamp_fail_alone() -> None:
    actions = [
        _action("a", ActionKind.SET_FIELD, field="unknown_logical", value="x"),
        _action("b", ActionKind.SET_FIELD, field="sla_due", value="tomorrow"),
        _action("c", ActionKind.ADD_TAGS, values=("tier_standard",)),
    ]
    edit = plan_issue_edit("1", actions, EDIT)
    assert edit.settled["a"][0] == "failed" and "not mapped" in edit.settled["a"][1]
    assert edit.settled["b"][0] == "failed"
    assert edit.body() == {"update": {"labels": [{"add": "tier_standard"}]}}


def test_group_assignment_without_a_group_field_fails_with_advice() -> None:
    edit = plan_issue_edit("1", [_action("g", ActionKind.ASSIGN_GROUP, value="ops")], EditContext({}, {}))
    assert edit.settled["g"][0] == "failed" and "group picker" in edit.settled["g"][1]


def test_field_values_take_the_jira_shape_of_their_type() -> None:
    assert jira_field_value("3.5", FieldInfo("f", "n", "number")) == 3.5
    assert jira_field_value("2026-03-02T10:00:00Z", FieldInfo("f", "n", "date")) == "2026-03-02"
    assert jira_field_value("a,b", FieldInfo("f", "n", "array", items="string")) == ["a", "b"]
    assert jira_field_value("", FieldInfo("f", "n", "datetime")) is None
    textarea = FieldInfo(
        "f", "n", "string", custom="com.atlassian.jira.plugin.system.customfieldtypes:textarea"
    )
    assert jira_field_value("hi", textarea, adf=True)["type"] == "doc"
    assert jira_field_value("hi", textarea, adf=False) == "hi"


def test_note_body_is_internal_and_carries_the_marker_as_a_comment_property() -> None:
    body = note_body("Breach soon", "m-1", "3")
    assert body["body"]["type"] == "doc"
    assert {"key": "sd.public.comment", "value": {"internal": True}} in body["properties"]
    assert {"key": "tierdesk", "value": {"marker": "m-1"}} in body["properties"]
    stored = [dict(RECORDED[0], properties=body["properties"]), RECORDED[1]]
    assert comment_markers(stored) == {"m-1"}


def test_date_items_read_their_iso_value_not_the_display_string_and_options_keep_their_text() -> None:
    """Jira Cloud writes a date picker's ISO date in `from`/`to` and the display format
    (`6/Mar/26`) in the strings; a date-time likewise. An option's `to` is its id, so its
    text stays the value."""
    issue = _issue()
    issue["changelog"] = {
        "total": 1,
        "histories": [
            {
                "id": "502",
                "author": {"accountId": "agent-1"},
                "created": "2026-03-02T10:00:00.000+0100",
                "items": [
                    {
                        "field": "Agreed date",
                        "fieldtype": "custom",
                        "fieldId": "customfield_10070",
                        "from": "2026-03-05",
                        "fromString": "5/Mar/26",
                        "to": "2026-03-06",
                        "toString": "6/Mar/26",
                    },
                    {
                        "field": "Due",
                        "fieldtype": "custom",
                        "fieldId": "customfield_10071",
                        "from": None,
                        "fromString": None,
                        "to": "2026-03-06T14:00:00.000+0000",
                        "toString": "06/Mar/26 2:00 PM",
                    },
                    {
                        "field": "Agreed hours",
                        "fieldtype": "custom",
                        "fieldId": "customfield_10072",
                        "from": None,
                        "fromString": "2",
                        "to": None,
                        "toString": "5.5",
                    },
                    {
                        "field": "Tier",
                        "fieldtype": "custom",
                        "fieldId": "customfield_10050",
                        "from": "10100",
                        "fromString": "Priority",
                        "to": "10101",
                        "toString": "Enterprise",
                    },
                ],
            }
        ],
    }
    changes = [e for e in issue_to_record(issue, CONTEXT).events if e.id.startswith("jira:history")]
    assert [(e.field, e.value, e.previous) for e in changes] == [
        ("customfield_10070", "2026-03-06", "2026-03-05"),
        ("customfield_10071", "2026-03-06T14:00:00.000+0000", ""),
        ("customfield_10072", "5.5", "2"),
        ("customfield_10050", "Enterprise", "Priority"),
    ]
