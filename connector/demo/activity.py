"""Simulated agents and customers: what happens in the helpdesks while the demo day runs.

They use the vendors' public REST APIs over HTTP, as people's browsers and the customer portal
would; tierdesk sees their effects only through its normal pull.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field

import requests

SUBJECTS = (
    "Checkout page is down for all users",
    "Cannot export monthly report",
    "SSO login loops back to the sign-in page",
    "Webhook deliveries delayed by an hour",
    "Invoice shows the wrong VAT rate",
    "API returns 502 on bulk endpoints",
    "Question about user roles",
    "Data export contains another customer's records",
)


@dataclass
class ZendeskActivity:
    base_url: str
    agents: Sequence[int]
    customers: Sequence[int]
    ticket_ids: list[int]
    rng: random.Random
    email: str = "agent@tierdesk.example"
    session: requests.Session = field(default_factory=requests.Session)

    def __post_init__(self) -> None:
        self.session.auth = (f"{self.email}/token", "demo")

    def _call(self, method: str, path: str, body: object) -> dict[str, object] | None:
        response = self.session.request(method, self.base_url + path, json=body, timeout=10)
        if response.status_code >= 400:
            return None
        return response.json() if response.content else None

    def new_ticket(self) -> None:
        subject = self.rng.choice(SUBJECTS)
        body = {
            "ticket": {
                "subject": subject,
                "comment": {"body": f"{subject}. Please help."},
                "requester_id": self.rng.choice(self.customers),
            }
        }
        created = self._call("POST", "/api/v2/tickets.json", body)
        if created and isinstance(created.get("ticket"), dict):
            self.ticket_ids.append(int(created["ticket"]["id"]))  # type: ignore[index]

    def agent_reply(self) -> None:
        if not self.ticket_ids:
            return
        ticket_id = self.rng.choice(self.ticket_ids[-120:])
        status = self.rng.choice(["open", "open", "pending", "solved"])
        body = {
            "ticket": {
                "status": status,
                "comment": {
                    "body": "Update from support: we are on it.",
                    "public": True,
                    "author_id": self.rng.choice(self.agents),
                },
            }
        }
        self._call("PUT", f"/api/v2/tickets/{ticket_id}.json", body)

    def step(self) -> None:
        roll = self.rng.random()
        if roll < 0.45:
            self.new_ticket()
        elif roll < 0.9:
            self.agent_reply()


@dataclass
class JiraActivity:
    base_url: str
    project: str
    customers: Sequence[str]  # e-mails
    agents: Sequence[str]  # e-mails
    issue_keys: list[str]
    rng: random.Random
    session: requests.Session = field(default_factory=requests.Session)

    def _call(self, method: str, path: str, body: object, email: str) -> dict[str, object] | None:
        response = self.session.request(
            method, self.base_url + path, json=body, auth=(email, "demo"), timeout=10
        )
        if response.status_code >= 400:
            return None
        return response.json() if response.content else None

    def new_issue(self) -> None:
        body = {
            "fields": {
                "project": {"key": self.project},
                "issuetype": {"name": "Service Request"},
                "summary": self.rng.choice(SUBJECTS),
            }
        }
        created = self._call("POST", "/rest/api/2/issue", body, self.rng.choice(self.customers))
        if created and "key" in created:
            self.issue_keys.append(str(created["key"]))

    def agent_comment(self) -> None:
        if not self.issue_keys:
            return
        key = self.rng.choice(self.issue_keys[-120:])
        self._call(
            "POST",
            f"/rest/api/2/issue/{key}/comment",
            {"body": "Support update: investigating."},
            self.rng.choice(self.agents),
        )

    def step(self) -> None:
        roll = self.rng.random()
        if roll < 0.4:
            self.new_issue()
        elif roll < 0.85:
            self.agent_comment()
