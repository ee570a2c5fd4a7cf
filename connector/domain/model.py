"""Helpdesk-neutral tickets and events: what every plugin normalises its vendor records into.

Plugins translate Zendesk tickets/audits and Jira issues/changelogs into these types; the engine
(`connector.domain.engine`) reads nothing else. All datetimes are timezone-aware.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class Status(StrEnum):
    """Canonical ticket status. Plugins map vendor statuses onto these (Jira by status category
    and the connection's status map)."""

    NEW = "new"
    OPEN = "open"
    PENDING = "pending"  # waiting on the customer
    ON_HOLD = "on_hold"  # waiting on a third party
    SOLVED = "solved"
    CLOSED = "closed"

    @property
    def is_done(self) -> bool:
        return self in (Status.SOLVED, Status.CLOSED)


class Priority(StrEnum):
    """Canonical priority, lowest first. Jira priorities are mapped by the connection."""

    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"

    @property
    def rank(self) -> int:
        return _PRIORITY_RANK[self]


_PRIORITY_RANK = {Priority.LOW: 0, Priority.NORMAL: 1, Priority.HIGH: 2, Priority.URGENT: 3}


class EventKind(StrEnum):
    CREATED = "created"
    PUBLIC_AGENT_REPLY = "public_agent_reply"
    PUBLIC_CUSTOMER_COMMENT = "public_customer_comment"
    INTERNAL_NOTE = "internal_note"
    STATUS_CHANGE = "status_change"  # `status` holds the new canonical status
    PRIORITY_CHANGE = "priority_change"  # `value` holds the new canonical priority
    FIELD_CHANGE = "field_change"  # `field` / `value`
    SOLVED = "solved"  # a status change into solved/closed (plugins may emit STATUS_CHANGE instead)
    REOPENED = "reopened"  # a status change out of solved (plugins may emit STATUS_CHANGE instead)


@dataclass(frozen=True, slots=True)
class Event:
    """One thing that happened on a ticket.

    `id` is stable across pulls (vendor audit/comment/changelog id plus an index) so the store can
    de-duplicate. `by_tierdesk` marks changes tierdesk itself pushed (the integration user), so an
    agent's manual priority change can be told apart from ours.

    `previous` is the value a STATUS_CHANGE, PRIORITY_CHANGE or FIELD_CHANGE replaced, `""` when
    there was none, None when the helpdesk did not say (events stored before tierdesk read it).
    A tag change is a FIELD_CHANGE of field `tags` whose `value` and `previous` are the whole tag
    sets (Zendesk tags, Jira labels) joined with commas.

    `opening` marks the comment a ticket was opened with (Zendesk: the comment of the creation
    audit); False is a later comment, None not known (events stored before tierdesk recorded it).
    """

    id: str
    at: datetime
    kind: EventKind
    status: Status | None = None
    field: str | None = None
    value: str | None = None
    author_id: str | None = None
    by_tierdesk: bool = False
    previous: str | None = None
    opening: bool | None = None


TAGS_FIELD = "tags"
"""The `field` of a FIELD_CHANGE that changed the ticket's tags."""


@dataclass(frozen=True, slots=True)
class Organization:
    id: str
    name: str
    external_id: str | None = None
    tags: frozenset[str] = frozenset()
    fields: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Ticket:
    """A ticket's current state as the helpdesk shows it.

    `fields` maps custom field ids (as strings, Zendesk `12345`, Jira `customfield_10042`) and well
    known names to string values; multi-value fields are joined with commas. `brand` is the Zendesk
    brand or the Jira project key.
    """

    connection: str
    id: str
    created_at: datetime
    updated_at: datetime
    status: Status
    subject: str = ""
    description: str = ""
    priority: Priority | None = None
    requester_id: str | None = None
    requester_email: str | None = None
    organization: Organization | None = None
    tags: frozenset[str] = frozenset()
    fields: Mapping[str, str] = field(default_factory=dict)
    brand: str | None = None
    group_id: str | None = None
    assignee_id: str | None = None
    follower_ids: frozenset[str] = frozenset()
    url: str | None = None

    @property
    def key(self) -> str:
        """Globally unique ticket key: `<connection>:<id>`."""
        return f"{self.connection}:{self.id}"
