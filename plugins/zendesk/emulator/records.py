"""Records of the emulated Zendesk account (users, organizations, groups, ticket fields, tickets
with their audits and comments, metric events, bulk jobs) and the vendor errors the emulator
answers with. Times are whole epoch seconds, as Zendesk reports them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

STATUSES = ("new", "open", "pending", "hold", "solved", "closed")
PRIORITIES = ("low", "normal", "high", "urgent")
TICKET_TYPES = ("problem", "incident", "question", "task")

ACCOUNT_ID = 18525119
FIRST_USER_ID = 36_000_000_001
FIRST_ORG_ID = 37_000_000_001
FIRST_GROUP_ID = 38_000_000_001
FIRST_FIELD_ID = 39_000_000_001
FIRST_OPTION_ID = 39_500_000_001
FIRST_EVENT_ID = 40_000_000_001  # audits, audit events and comments share one id space
FIRST_METRIC_EVENT_ID = 45_000_000_001
BRAND_ID = 36_000_000_000 - 11
TICKET_FORM_ID = 36_000_000_000 - 22
CUSTOM_STATUS_IDS = {status: 36_000_000_000 - 100 + i for i, status in enumerate(STATUSES)}


class ApiError(Exception):
    """A vendor error: HTTP status plus the JSON body Zendesk sends for it."""

    def __init__(self, status: int, body: Mapping[str, Any]) -> None:
        super().__init__(f"{status} {body}")
        self.status = status
        self.body = dict(body)


def not_found() -> ApiError:
    return ApiError(404, {"error": "RecordNotFound", "description": "Not found"})


def invalid(description: str, **entry: Any) -> ApiError:
    """422 RecordInvalid for one validation error; `entry` adds keys to its `details.base` item
    (`error`, `ticket_field_id`, `ticket_field_type` as in the recorded body)."""
    return invalid_record([{"description": description, **entry}])


def invalid_value(description: str, **entry: Any) -> ApiError:
    """A rejected value (`Assignee: is invalid`), flagged `InvalidValue` as real responses are."""
    return invalid(description, error="InvalidValue", **entry)


def invalid_record(entries: Sequence[Mapping[str, Any]]) -> ApiError:
    """422 RecordInvalid listing every validation error of one request under `details.base`."""
    return ApiError(
        422,
        {
            "error": "RecordInvalid",
            "description": "Record validation errors",
            "details": {"base": [dict(e) for e in entries]},
        },
    )


def validation_entries(error: ApiError) -> list[dict[str, Any]]:
    """The `details` items of a 422 (every key: `base` here, a field name in some real bodies)."""
    details = error.body.get("details")
    if not isinstance(details, Mapping):
        return []
    return [
        dict(e)
        for items in details.values()
        if isinstance(items, list)
        for e in items
        if isinstance(e, Mapping)
    ]


def job_failure(ticket_id: int, error: ApiError) -> dict[str, Any]:
    """One failed ticket of a bulk job, shaped as real job results are (`status: "Failed"`,
    `details` the validation messages rather than the generic description)."""
    messages = [str(e.get("description")) for e in validation_entries(error) if e.get("description")]
    return {
        "id": ticket_id,
        "action": "update",
        "success": False,
        "status": "Failed",
        "error": str(error.body.get("error")),
        "details": "; ".join(messages) or str(error.body.get("description")),
    }


def too_many_values() -> ApiError:
    # The double space is what Zendesk sends (recorded).
    return ApiError(
        400,
        {
            "error": "TooManyValues",
            "description": "Parameter  cannot specify more than 100 values",
            "max_count": 100,
        },
    )


CONFLICT_DESCRIPTION = (
    "Safe Update prevented the update due to outdated ticket data. "
    "Please fetch the latest ticket data and try again."
)


@dataclass
class User:
    id: int
    name: str
    email: str | None
    role: str  # end-user | agent | admin
    created_at: int
    updated_at: int
    organization_id: int | None = None
    external_id: str | None = None
    tags: list[str] = field(default_factory=list)
    default_group_id: int | None = None
    time_zone: str = "America/New_York"


@dataclass
class Organization:
    id: int
    name: str
    created_at: int
    updated_at: int
    external_id: str | None = None
    tags: list[str] = field(default_factory=list)
    domain_names: list[str] = field(default_factory=list)
    details: str | None = None
    notes: str | None = None
    group_id: int | None = None
    organization_fields: dict[str, Any] = field(default_factory=dict)


@dataclass
class Group:
    id: int
    name: str
    created_at: int
    updated_at: int
    description: str = ""
    is_public: bool = True
    default: bool = False


@dataclass
class TicketField:
    id: int
    type: str  # text | textarea | tagger | multiselect | date | integer | decimal | checkbox | regexp
    title: str
    created_at: int
    updated_at: int
    description: str = ""
    active: bool = True
    required: bool = False
    tag: str | None = None
    key: str | None = None
    position: int = 0
    # tagger/multiselect options: {"id", "name", "raw_name", "value", "default"}
    options: list[dict[str, Any]] = field(default_factory=list)

    def option_values(self) -> set[str]:
        return {str(o["value"]) for o in self.options}


@dataclass
class Comment:
    id: int
    audit_id: int
    author_id: int
    body: str
    html_body: str
    public: bool
    created_at: int
    via_channel: str = "api"


@dataclass
class Audit:
    id: int
    ticket_id: int
    author_id: int
    created_at: int
    via_channel: str
    # audit-style events: {"id", "type": Comment|Create|Change|..., "field_name", "value", "previous_value"}
    events: list[dict[str, Any]]
    comment: Comment | None = None
    custom_metadata: dict[str, Any] = field(default_factory=dict)


@dataclass
class Ticket:
    id: int
    created_at: int
    updated_at: int
    generated_timestamp: int
    subject: str
    description: str
    status: str
    requester_id: int
    submitter_id: int
    custom_status_id: int | None = None
    priority: str | None = None
    type: str | None = None
    assignee_id: int | None = None
    organization_id: int | None = None
    group_id: int | None = None
    external_id: str | None = None
    tags: list[str] = field(default_factory=list)
    custom_fields: dict[int, Any] = field(default_factory=dict)
    follower_ids: list[int] = field(default_factory=list)
    collaborator_ids: list[int] = field(default_factory=list)
    due_at: int | None = None
    is_public: bool = True
    via_channel: str = "api"
    deleted: bool = False
    audits: list[Audit] = field(default_factory=list)
    comments: list[Comment] = field(default_factory=list)


@dataclass
class MetricEvent:
    id: int
    ticket_id: int
    metric: str
    instance_id: int
    type: str
    time: int
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Job:
    id: str
    job_type: str
    total: int
    results: list[dict[str, Any]]
    created_at: int
    polls: int = 0
    action_verb: str = "Updating"
