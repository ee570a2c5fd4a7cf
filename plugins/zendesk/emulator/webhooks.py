"""The emulator's Zendesk webhooks: an event webhook subscribed to ticket events.

A registered target (`POST /_emulator/webhooks`, see `connector.emulation.webhooks`) gets a signed
`zen:event-type:ticket.created`, `...ticket.comment_added` or `...ticket.status_changed` event
for every ticket created through the Tickets API and every update that adds a comment or changes
the status. Ticket imports fire nothing (Zendesk runs no triggers or webhooks for them). Headers as
Zendesk sends them: `X-Zendesk-Webhook-Id`, `X-Zendesk-Webhook-Invocation-Id`,
`X-Zendesk-Webhook-Signature` and `X-Zendesk-Webhook-Signature-Timestamp`.
"""

from __future__ import annotations

import itertools
import secrets
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from connector.emulation.base import EmulatorApp, SimClock
from connector.emulation.webhooks import WebhookSender
from plugins.zendesk.emulator.records import Audit, Ticket
from plugins.zendesk.emulator.store import Account
from plugins.zendesk.webhook import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign

WEBHOOK_ID = "01HTIERDESKEMULATOR000000"
EVENT_VERSION = "2022-11-06"


def _iso(epoch: int | datetime) -> str:
    instant = epoch if isinstance(epoch, datetime) else datetime.fromtimestamp(epoch, UTC)
    return instant.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


class ZendeskWebhooks:
    """Turns the account's ticket changes into signed event deliveries."""

    def __init__(self, account: Account, clock: SimClock) -> None:
        self.clock = clock
        # a sequence like Zendesk's, from a random start: a restarted emulator never repeats one
        self._invocations = itertools.count(secrets.randbelow(10**12) + 10**9)
        self.sender = WebhookSender(self._headers)
        account.observers.append(self.ticket_changed)

    def _headers(self, secret: str, body: bytes) -> Mapping[str, str]:
        timestamp = _iso(self.clock.now())
        return {
            "X-Zendesk-Webhook-Id": WEBHOOK_ID,
            "X-Zendesk-Webhook-Invocation-Id": str(next(self._invocations)),
            SIGNATURE_HEADER: sign(secret, timestamp, body),
            TIMESTAMP_HEADER: timestamp,
        }

    def ticket_changed(self, ticket: Ticket, audit: Audit) -> None:
        """Called by the account (under its lock) after a ticket was created or updated."""
        if not self.sender.active:
            return
        if ticket.audits and ticket.audits[0] is audit:
            kind, event = "ticket.created", {"meta": {"sequence": {"id": str(audit.id)}}}
        elif audit.comment is not None:
            comment = audit.comment
            kind = "ticket.comment_added"
            event = {
                "comment": {
                    "id": str(comment.id),
                    "body": comment.body,
                    "is_public": comment.public,
                    "author": {"id": str(comment.author_id)},
                }
            }
        else:
            change = next((e for e in audit.events if e.get("field_name") == "status"), None)
            if change is None:
                return
            kind = "ticket.status_changed"
            event = {
                "current": str(change["value"]).upper(),
                "previous": str(change["previous_value"]).upper(),
            }
        payload: dict[str, Any] = {
            "account_id": 1,
            "detail": {
                "id": str(ticket.id),
                "status": ticket.status.upper(),
                "subject": ticket.subject,
                "requester_id": str(ticket.requester_id),
                "assignee_id": str(ticket.assignee_id) if ticket.assignee_id is not None else None,
                "created_at": _iso(ticket.created_at),
                "updated_at": _iso(ticket.updated_at),
                "actor_id": str(audit.author_id),
            },
            "event": event,
            "id": f"{ticket.id}-{audit.id}",
            "subject": f"zen:ticket:{ticket.id}",
            "time": _iso(self.clock.now()),
            "type": f"zen:event-type:{kind}",
            "zendesk_event_version": EVENT_VERSION,
        }
        self.sender.emit(kind, str(ticket.id), payload, author=str(audit.author_id))


def install(app: EmulatorApp, account: Account) -> ZendeskWebhooks:
    webhooks = ZendeskWebhooks(account, app.clock)
    app.controls["webhooks"] = webhooks.sender.control
    return webhooks
