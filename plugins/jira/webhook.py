"""Jira Cloud webhooks as tierdesk receives them (`connector.webhooks`).

A webhook an admin registers with a secret (System > WebHooks) is signed the WebSub way:
`X-Hub-Signature: sha256=<hex HMAC-SHA256(secret, body)>`. Only the body is signed, so freshness
comes from the body's `timestamp` (milliseconds since the epoch, part of what is signed).
`X-Atlassian-Webhook-Identifier` names the delivery (unique within the site, the same on Jira's
retries) but is not signed: replays are recognised by the signature, which covers the body with
its timestamp, and by the identifier, which catches a retry Jira sent again.

The issue is `issue.id` of `jira:issue_created`, `jira:issue_updated`, `comment_created`,
`comment_updated`, ... payloads (tierdesk keys Jira tickets by issue id).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from connector.webhooks import (
    VerifiedDelivery,
    WebhookRejected,
    bad_signature,
    digest_matches,
    json_payload,
    unsigned,
)

SIGNATURE_HEADER = "X-Hub-Signature"
DELIVERY_HEADER = "X-Atlassian-Webhook-Identifier"


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _ticket_ids(payload: Any) -> tuple[str, ...]:
    issue = payload.get("issue") if isinstance(payload, Mapping) else None
    if isinstance(issue, Mapping):
        issue_id = str(issue.get("id") or "").strip()
        if issue_id.isdigit():
            return (issue_id,)
    return ()


class JiraWebhook:
    """`connector.webhooks.WebhookFormat` for Jira Cloud admin webhooks."""

    def verify(self, headers: Mapping[str, str], body: bytes, secret: str) -> VerifiedDelivery:
        signature = headers.get(SIGNATURE_HEADER.lower(), "").strip()
        if not signature:
            raise unsigned(f"no {SIGNATURE_HEADER} header (register the webhook with a secret)")
        method, _, given = signature.partition("=")
        if method.lower() != "sha256" or not given:
            raise bad_signature(f"{SIGNATURE_HEADER} is not sha256=<hex>")
        if not digest_matches(sign(secret, body).encode(), f"sha256={given.lower()}"):
            raise bad_signature(f"{SIGNATURE_HEADER} does not match the body signed with the secret")
        payload = json_payload(body)
        stamp = payload.get("timestamp") if isinstance(payload, Mapping) else None
        if not isinstance(stamp, int | float) or isinstance(stamp, bool):
            raise WebhookRejected("malformed", 400, "the signed body has no timestamp")
        identifier = headers.get(DELIVERY_HEADER.lower(), "").strip()
        return VerifiedDelivery(
            signed_at=datetime.fromtimestamp(stamp / 1000, UTC),
            replay_key=f"jira:{given.lower()}",
            event=str(payload.get("webhookEvent") or "unknown"),
            ticket_ids=_ticket_ids(payload),
            delivery_id=f"jira:{identifier}" if identifier else None,
        )
