"""Pure translation on recorded Zendesk objects (no emulator)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from connector.domain.model import EventKind, Priority, Status
from connector.domain.policy import ActionKind
from connector.domain.results import Action
from plugins.zendesk.translate import (
    MalformedRecord,
    People,
    ReadContext,
    events_from_audit,
    events_from_ticket_event,
    markers_in,
    note_body,
    organization_from_json,
    ticket_from_json,
)
from plugins.zendesk.update import TicketUpdate, normalise_iso

FIXTURES = Path(__file__).parent / "zendesk_fixtures"
RECORDED: dict[str, Any] = json.loads((FIXTURES / "recorded_exchanges.json").read_text())
AIRBYTE: dict[str, Any] = json.loads((FIXTURES / "airbyte_records.json").read_text())
CTX = ReadContext(connection="zd", field_names={"360000000001": "tier"})


def test_recorded_export_ticket_becomes_a_domain_ticket() -> None:
    raw = RECORDED["cursor_export"]["body"]["tickets"][0]
    ticket = ticket_from_json(raw, CTX)
    assert ticket.id == str(raw["id"]) and ticket.status == Status.NEW
    assert ticket.created_at == datetime(2023, 9, 18, 15, 57, 42, tzinfo=UTC)
    assert ticket.requester_id == str(raw["requester_id"]) and ticket.brand == str(raw["brand_id"])
    assert ticket.url == f"https://z3n-jteitelbaum.zendesk.com/agent/tickets/{raw['id']}"


def test_real_airbyte_ticket_with_custom_fields_and_logical_names() -> None:
    raw = dict(AIRBYTE["tickets"])
    raw["custom_fields"] = [
        *raw.get("custom_fields", []),
        {"id": 360000000001, "value": "enterprise"},
        {"id": 360000000002, "value": ["a", "b"]},
        {"id": 360000000003, "value": True},
    ]
    ticket = ticket_from_json(raw, CTX)
    assert ticket.fields["tier"] == "enterprise" and ticket.fields["360000000001"] == "enterprise"
    assert ticket.fields["360000000002"] == "a,b" and ticket.fields["360000000003"] == "true"
    assert ticket.priority in (None, *Priority)


def test_malformed_records_name_the_failing_path() -> None:
    raw = dict(RECORDED["cursor_export"]["body"]["tickets"][0])
    del raw["created_at"]
    with pytest.raises(MalformedRecord) as missing:
        ticket_from_json(raw, CTX, path="tickets[3]")
    assert missing.value.path == "tickets[3].created_at"
    raw = dict(RECORDED["cursor_export"]["body"]["tickets"][0], custom_fields=[{"id": "x", "value": 1}])
    with pytest.raises(MalformedRecord) as bad_id:
        ticket_from_json(raw, CTX)
    assert bad_id.value.path == "ticket.custom_fields[0].id"
    with pytest.raises(MalformedRecord, match="unknown status"):
        ticket_from_json(dict(RECORDED["cursor_export"]["body"]["tickets"][0], status="weird"), CTX)


def test_recorded_organization() -> None:
    raw = RECORDED["organizations_show_many"]["body"]["organizations"][0]
    org = organization_from_json(raw)
    assert org.id == str(raw["id"]) and org.name == raw["name"] and org.external_id is None
    airbyte = organization_from_json(AIRBYTE["organizations"])
    assert airbyte.name == AIRBYTE["organizations"]["name"]


def test_recorded_audit_gives_created_then_comments_by_role() -> None:
    audit = RECORDED["ticket_audits"]["body"]["audits"][0]
    customer = str(audit["events"][0]["author_id"])
    people = People(roles={customer: "end-user"}, me=None, requester_id=customer)
    events = events_from_audit(audit, CTX, people)
    assert [e.kind for e in events][:2] == [EventKind.CREATED, EventKind.PUBLIC_CUSTOMER_COMMENT]
    assert events[0].status == Status.OPEN and events[0].id == f"{audit['id']}:created"
    change = RECORDED["ticket_audits"]["body"]["audits"][1]
    kinds = {e.kind: e for e in events_from_audit(change, CTX, People(me=str(change["author_id"])))}
    assert kinds[EventKind.PRIORITY_CHANGE].value == "normal" and kinds[EventKind.PRIORITY_CHANGE].by_tierdesk


def test_recorded_creation_audit_marks_its_comment_as_the_opening_one() -> None:
    opening_audit, change = RECORDED["ticket_audits"]["body"]["audits"][:2]
    customer = str(opening_audit["events"][0]["author_id"])
    people = People(roles={customer: "end-user"}, requester_id=customer)
    reply_audit = dict(opening_audit, id=1, events=opening_audit["events"][:1])  # the comment alone

    opened = [e for e in events_from_audit(opening_audit, CTX, people) if e.kind != EventKind.CREATED]
    later = events_from_audit(reply_audit, CTX, people)

    assert [(e.kind, e.opening) for e in opened] == [(EventKind.PUBLIC_CUSTOMER_COMMENT, True)]
    assert [(e.kind, e.opening) for e in later] == [(EventKind.PUBLIC_CUSTOMER_COMMENT, False)]
    (priority,) = [e for e in events_from_audit(change, CTX, people) if e.kind == EventKind.PRIORITY_CHANGE]
    assert (priority.value, priority.previous) == ("normal", "")  # recorded: set where there was none


def test_agent_created_ticket_opens_with_the_agent_s_comment() -> None:
    agent, customer = "900", "901"
    audit = {
        "id": 70,
        "created_at": "2026-03-04T12:00:00Z",
        "author_id": int(agent),
        "events": [
            {"id": 71, "type": "Comment", "author_id": int(agent), "public": True, "body": "Caller says..."},
            {"id": 72, "type": "Create", "field_name": "status", "value": "open"},
            {"id": 73, "type": "Create", "field_name": "priority", "value": "normal"},
        ],
    }
    people = People(roles={agent: "agent", customer: "end-user"}, requester_id=customer)

    events = events_from_audit(audit, CTX, people)

    assert [(e.kind, e.opening) for e in events] == [
        (EventKind.CREATED, None),
        (EventKind.PUBLIC_AGENT_REPLY, True),
    ]


def test_changes_carry_the_value_they_replaced_in_audits_and_in_the_export() -> None:
    audit = {
        "id": 80,
        "created_at": "2026-03-04T12:00:00Z",
        "author_id": 5,
        "events": [
            {
                "id": 81,
                "type": "Change",
                "field_name": "priority",
                "value": "urgent",
                "previous_value": "normal",
            },
            {"id": 82, "type": "Change", "field_name": "tags", "value": ["a", "b"], "previous_value": ["a"]},
            {
                "id": 83,
                "type": "Change",
                "field_name": "360000000001",
                "value": "gold",
                "previous_value": None,
            },
        ],
    }
    export = {
        "id": 90,
        "ticket_id": 1,
        "timestamp": 1700000000,
        "updater_id": 5,
        "child_events": [
            {
                "id": 91,
                "via": "Web form",
                "priority": "high",
                "previous_value": "low",
                "event_type": "Change",
            },
            {
                "id": 92,
                "via": "Web form",
                "tags": ["vip", "sla_at_risk"],
                "added_tags": ["sla_at_risk"],
                "removed_tags": [],
                "previous_value": ["vip"],
                "event_type": "Change",
            },
        ],
    }

    from_audit = events_from_audit(audit, CTX, People(me="5"))
    from_export = events_from_ticket_event(export, CTX, People(me="5"))

    assert [(e.kind, e.field, e.value, e.previous, e.by_tierdesk) for e in from_audit] == [
        (EventKind.PRIORITY_CHANGE, None, "urgent", "normal", True),
        (EventKind.FIELD_CHANGE, "tags", "a,b", "a", True),
        (EventKind.FIELD_CHANGE, "tier", "gold", "", True),
    ]
    assert [(e.field, e.value, e.previous) for e in from_export] == [
        (None, "high", "low"),
        ("tags", "vip,sla_at_risk", "vip"),
    ]


def test_ticket_events_export_entries_in_both_recorded_shapes() -> None:
    spec = json.loads((FIXTURES / "spec_ticket_event.json").read_text())
    (event,) = events_from_ticket_event(spec, CTX, People())
    assert event.kind == EventKind.STATUS_CHANGE and event.status == Status.SOLVED
    with_comment = {
        "id": 9,
        "ticket_id": 1,
        "timestamp": 1700000000,
        "updater_id": 5,
        "child_events": [
            {
                "id": 10,
                "via": "Web form",
                "via_reference_id": None,
                "type": "Comment",
                "author_id": 5,
                "body": "x",
                "public": False,
                "event_type": "Comment",
                "created_at": "2023-11-14T22:13:20Z",
            },
            {
                "id": 11,
                "via": "Web form",
                "via_reference_id": None,
                "status": "pending",
                "previous_value": "open",
                "event_type": "Change",
            },
            {
                "id": 12,
                "via": "Web form",
                "via_reference_id": None,
                "type": None,
                "event_type": "Change",
                "previous_value": "question",
            },
        ],
    }
    events = events_from_ticket_event(with_comment, CTX, People(roles={"5": "agent"}, me="5"))
    assert [(e.kind, e.by_tierdesk) for e in events] == [
        (EventKind.INTERNAL_NOTE, True),
        (EventKind.STATUS_CHANGE, True),
    ]
    assert events[1].status == Status.PENDING


def _action(key: str, kind: ActionKind, **kw: Any) -> Action:
    return Action(key=key, connection="zd", ticket_id="7", kind=kind, **kw)


def test_one_ticket_update_merges_actions_without_replacing_tags() -> None:
    basis = datetime(2026, 3, 4, 15, 0, 5, tzinfo=UTC)
    update = TicketUpdate.build(
        7,
        [
            _action("t", ActionKind.ADD_TAGS, values=("Tier_Enterprise", "sev_high"), basis=basis),
            _action("r", ActionKind.REMOVE_TAGS, values=("sla_warning",), basis=basis),
            _action("p1", ActionKind.SET_PRIORITY, value="high", basis=basis),
            _action("p2", ActionKind.SET_PRIORITY, value="urgent", basis=basis),
            _action(
                "f", ActionKind.SET_FIELD, field="sla_due", value="2026-03-05T12:30:00+02:00", basis=basis
            ),
            _action("g", ActionKind.ASSIGN_GROUP, value="42", basis=basis),
            _action("n1", ActionKind.ADD_NOTE, value="At risk", marker="k1", basis=basis),
            _action("n2", ActionKind.ADD_NOTE, value="Breached", marker="k2", basis=basis),
            _action("x", ActionKind.SET_FIELD, field="unknown", value="1"),
            _action("prop", ActionKind.SET_PROPERTY, field="sla", value="{}"),
        ],
        {"sla_due": "900"},
        author_id=5,
    )
    payload = update.payload
    assert "tags" not in payload
    assert payload["additional_tags"] == ["tier_enterprise", "sev_high"] and payload["remove_tags"] == [
        "sla_warning"
    ]
    assert payload["priority"] == "urgent" and payload["group_id"] == 42
    assert payload["custom_fields"] == [{"id": 900, "value": "2026-03-05T10:30:00Z"}]
    assert payload["comment"]["public"] is False and payload["comment"]["author_id"] == 5
    assert markers_in(payload["comment"]["body"]) == {"k1", "k2"}
    assert payload["safe_update"] is True and payload["updated_stamp"] == "2026-03-04T15:00:05Z"
    assert set(update.failed) == {"x"} and update.applied_without_call == ["prop"]
    assert update.note_keys == ["n1", "n2"]


def test_note_marker_line_and_iso_normalisation() -> None:
    body = note_body("SLA breached on #7", "abc-1")
    assert body.endswith("[tierdesk-ref:abc-1]") and markers_in(body) == {"abc-1"}
    assert markers_in("no marker here") == set()
    assert normalise_iso("2026-03-05T10:30:00+00:00") == "2026-03-05T10:30:00Z"
    assert normalise_iso("breached") == "breached" and normalise_iso("2026-03-05") == "2026-03-05"
