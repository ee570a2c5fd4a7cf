"""Zendesk webhooks as tierdesk receives them (`connector.webhooks`).

Zendesk signs every request of a webhook that has a signing secret: `X-Zendesk-Webhook-Signature`
is base64(HMAC-SHA256(secret, timestamp + body)), the timestamp being the value of
`X-Zendesk-Webhook-Signature-Timestamp` (ISO 8601, e.g. `2026-12-03T10:41:07Z`), concatenated with
the raw body without a separator. `X-Zendesk-Webhook-Invocation-Id` (with `X-Zendesk-Webhook-Id`)
names the invocation, the same on every attempt Zendesk makes to deliver it: a second attempt of
an accepted invocation is a replay even when it was signed again.

The ticket is read from the payload of either kind of webhook:
- an event webhook (`zen:event-type:ticket.comment_added`, `...ticket.status_changed`,
  `...ticket.created`, ...): `detail.id`, or the `subject` `zen:ticket:<id>`;
- a trigger or automation webhook: the JSON body the admin writes, which names the ticket as
  `ticket_id` (`{"ticket_id": "{{ticket.id}}"}`, see the README) or `ticket.id`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from connector.webhooks import VerifiedDelivery, bad_signature, digest_matches, json_payload, unsigned

SIGNATURE_HEADER = "X-Zendesk-Webhook-Signature"
TIMESTAMP_HEADER = "X-Zendesk-Webhook-Signature-Timestamp"
WEBHOOK_ID_HEADER = "X-Zendesk-Webhook-Id"
INVOCATION_HEADER = "X-Zendesk-Webhook-Invocation-Id"


def sign(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + body, hashlib.sha256)
    return base64.b64encode(mac.digest()).decode()


def _ticket_ids(payload: Any) -> tuple[str, ...]:
    if not isinstance(payload, Mapping):
        return ()
    detail = payload.get("detail")
    candidates: list[Any] = []
    if isinstance(detail, Mapping):
        candidates.append(detail.get("id"))
    subject = payload.get("subject")
    if isinstance(subject, str) and subject.startswith("zen:ticket:"):
        candidates.append(subject.removeprefix("zen:ticket:"))
    candidates.append(payload.get("ticket_id"))
    ticket = payload.get("ticket")
    if isinstance(ticket, Mapping):
        candidates.append(ticket.get("id"))
    for candidate in candidates:
        text = str(candidate).strip() if isinstance(candidate, str | int) else ""
        if text.isdigit():
            return (str(int(text)),)
    return ()


class ZendeskWebhook:
    """`connector.webhooks.WebhookFormat` for Zendesk."""

    def verify(self, headers: Mapping[str, str], body: bytes, secret: str) -> VerifiedDelivery:
        signature = headers.get(SIGNATURE_HEADER.lower(), "")
        timestamp = headers.get(TIMESTAMP_HEADER.lower(), "")
        if not signature or not timestamp:
            raise unsigned(f"no {SIGNATURE_HEADER} / {TIMESTAMP_HEADER} header")
        if not digest_matches(sign(secret, timestamp, body).encode(), signature.strip()):
            raise bad_signature(f"{SIGNATURE_HEADER} does not match the body signed with the secret")
        try:
            signed_at = datetime.fromisoformat(timestamp.strip().replace("Z", "+00:00"))
        except ValueError:
            raise bad_signature(f"{TIMESTAMP_HEADER} is not an ISO 8601 instant") from None
        if signed_at.tzinfo is None:
            raise bad_signature(f"{TIMESTAMP_HEADER} has no time zone")
        payload = json_payload(body)
        event = str(payload.get("type") or "trigger") if isinstance(payload, Mapping) else "unknown"
        invocation = headers.get(INVOCATION_HEADER.lower(), "").strip()
        webhook = headers.get(WEBHOOK_ID_HEADER.lower(), "").strip()
        return VerifiedDelivery(
            signed_at=signed_at,
            replay_key=f"zendesk:{signature.strip()}",
            event=event,
            ticket_ids=_ticket_ids(payload),
            delivery_id=f"zendesk:{webhook}:{invocation}" if invocation else None,
        )
