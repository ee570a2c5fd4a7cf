"""The emulator's Jira Cloud admin webhooks (System > WebHooks, with a secret).

A registered target (`POST /_emulator/webhooks`, see `connector.emulation.webhooks`) gets
`jira:issue_created` for every new issue and `jira:issue_updated` for every edit, transition or
comment (`issue_event_type_name` `issue_commented` with the comment, else `issue_generic` with the
changelog), signed `X-Hub-Signature: sha256=<hex>` and named by `X-Atlassian-Webhook-Identifier`.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from connector.emulation.base import EmulatorApp, SimClock
from connector.emulation.webhooks import WebhookSender
from plugins.jira.emulator.model import Issue, JiraSite
from plugins.jira.webhook import DELIVERY_HEADER, SIGNATURE_HEADER, sign


class JiraWebhooks:
    """Turns the site's issue changes into signed admin-webhook deliveries."""

    def __init__(self, site: JiraSite, clock: SimClock, base_url: str = "http://127.0.0.1") -> None:
        self.site = site
        self.clock = clock
        self.base_url = base_url
        self.sender = WebhookSender(self._headers)
        site.observers.append(self.issue_changed)

    def _headers(self, secret: str, body: bytes) -> Mapping[str, str]:
        # unique within the site, as Jira's: a restarted emulator never repeats one
        return {DELIVERY_HEADER: str(uuid.uuid4()), SIGNATURE_HEADER: sign(secret, body)}

    def _issue(self, issue: Issue) -> dict[str, Any]:
        status = self.site.statuses.get(issue.status_id)
        return {
            "id": str(issue.id),
            "key": issue.key,
            "self": f"{self.base_url}/rest/api/2/issue/{issue.id}",
            "fields": {
                "summary": issue.summary,
                "status": {"id": issue.status_id, "name": status.name if status else issue.status_id},
                "project": {"key": issue.project.key},
                "updated": issue.updated_ms,
            },
        }

    def issue_changed(self, issue: Issue, created: bool) -> None:
        """Called by the site (under its lock) after an issue was created or changed."""
        if not self.sender.active:
            return
        now_ms = int(self.clock.now().timestamp() * 1000)
        payload: dict[str, Any] = {"timestamp": now_ms, "issue": self._issue(issue)}
        comment = issue.comments[-1] if issue.comments else None
        history = issue.histories[-1] if issue.histories else None
        if created:
            payload.update(webhookEvent="jira:issue_created", issue_event_type_name="issue_created")
            author = issue.reporter
        elif (
            comment is not None
            and comment.created_ms >= issue.updated_ms
            and (history is None or history.created_ms < issue.updated_ms)
        ):
            payload.update(
                webhookEvent="jira:issue_updated",
                issue_event_type_name="issue_commented",
                comment={
                    "id": str(comment.id),
                    "author": {"accountId": comment.author},
                    "body": comment.body,
                },
            )
            author = comment.author
        else:
            payload.update(webhookEvent="jira:issue_updated", issue_event_type_name="issue_generic")
            if history is not None:
                payload["changelog"] = {"id": str(history.id), "items": history.items}
            author = history.author if history is not None else None
        payload["user"] = {"accountId": author}
        self.sender.emit(str(payload["webhookEvent"]), str(issue.id), payload, author=author)


def install(app: EmulatorApp, site: JiraSite) -> JiraWebhooks:
    webhooks = JiraWebhooks(site, app.clock)
    app.controls["webhooks"] = webhooks.sender.control
    return webhooks
