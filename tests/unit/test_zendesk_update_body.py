"""The Update Many body tierdesk sends is the one zenpy builds from `Ticket` objects."""

from __future__ import annotations

import json
from typing import Any

import orjson
from zenpy.lib.api_objects import Ticket as ZTicket
from zenpy.lib.util import dict_clean, json_encode_for_zendesk

from plugins.zendesk.client import update_many_body

# every key plugins/zendesk/update.py can put into a ticket's payload
PAYLOADS: list[dict[str, Any]] = [
    {
        "id": 101,
        "additional_tags": ["tier_enterprise", "sla_breached"],
        "remove_tags": ["sla_at_risk"],
        "priority": "urgent",
        "custom_fields": [
            {"id": 360001, "value": "2026-03-04T15:00:00Z"},
            {"id": 360002, "value": "enterprise"},
        ],
        "followers": [{"user_id": 7, "action": "put"}],
        "comment": {
            "body": "First reply is 30 minutes late.\n\n---\n\n<!-- td:ab12 -->",
            "public": False,
            "author_id": 9,
        },
        "group_id": 360010,
        "assignee_id": 360020,
        "safe_update": True,
        "updated_stamp": "2026-03-04T14:59:58Z",
    },
    {"id": 102, "priority": "low"},
    {
        "id": 103,
        "comment": {"body": "Ünïcode — note", "public": False},
        "custom_fields": [{"id": 1, "value": None}],
    },
]


def _zenpy_body(payloads: list[dict[str, Any]]) -> dict[str, Any]:
    """What `zenpy.tickets.update([Ticket(**p) ...])` puts on the wire (CRUDRequest.put ->
    BaseApi._serialize)."""
    tickets = [ZTicket(**p) for p in payloads]
    serialized = json.loads(
        json.dumps(tickets, default=json_encode_for_zendesk), object_pairs_hook=dict_clean
    )
    return {"tickets": serialized}


def test_update_many_body_equals_what_zenpy_would_send() -> None:
    assert orjson.loads(update_many_body(PAYLOADS)) == _zenpy_body(PAYLOADS)


def test_update_many_body_keeps_payload_order_and_every_ticket() -> None:
    sent = orjson.loads(update_many_body(PAYLOADS))["tickets"]
    assert [t["id"] for t in sent] == [101, 102, 103]
