"""In-memory Zendesk Support account: users, organizations, groups, ticket fields, tickets with
their audits and comments, job statuses and the incremental-export indexes.

Everything is keyed by integer ids in dicts; the exports read from sorted indexes
(`(generated_timestamp, id)` for tickets, `(timestamp, id)` for ticket events and metric events)
so a page costs O(log n + page), never a scan of the account. Times are whole epoch seconds, as
Zendesk reports them. The HTTP layer (`app.py`) renders these records as the vendor's JSON.

Simplifications, each documented in plugins/zendesk/README.md: bulk jobs apply their changes when
they are submitted (only the reported status moves over polls); comments are stored as sent;
no triggers, automations, SLA policies or business rules run.
"""

from __future__ import annotations

import bisect
import hashlib
import threading
from collections.abc import Iterable, Mapping
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


def invalid(description: str, details: Mapping[str, Any] | None = None) -> ApiError:
    body: dict[str, Any] = {"error": "RecordInvalid", "description": "Record validation errors"}
    body["details"] = dict(details) if details else {"base": [{"description": description}]}
    return ApiError(422, body)


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


class SortedIndex:
    """Keys kept sorted for range reads; values in a dict beside them."""

    def __init__(self) -> None:
        self.keys: list[tuple[int, int]] = []

    def add(self, key: tuple[int, int]) -> None:
        if not self.keys or key > self.keys[-1]:
            self.keys.append(key)
        else:
            bisect.insort(self.keys, key)

    def remove(self, key: tuple[int, int]) -> None:
        i = bisect.bisect_left(self.keys, key)
        if i < len(self.keys) and self.keys[i] == key:
            del self.keys[i]

    def after(self, key: tuple[int, int]) -> int:
        """Position of the first key strictly greater than `key`."""
        return bisect.bisect_right(self.keys, key)

    def upto(self, key: tuple[int, int]) -> int:
        """Position after the last key <= `key`."""
        return bisect.bisect_right(self.keys, key)


def _text_to_html(body: str) -> str:
    paragraphs = [p for p in body.split("\n\n")]
    inner = "".join(f'<p dir="auto">{_escape(p).replace(chr(10), "<br>")}</p>' for p in paragraphs)
    return f'<div class="zd-comment" dir="auto">{inner}</div>'


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _as_tag_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [t for t in value.replace(",", " ").split() if t]
    if isinstance(value, Iterable):
        return [str(t).strip() for t in value if str(t).strip()]
    raise invalid(f"tags must be a list, not {type(value).__name__}")


class Account:
    """The whole account. Thread-safe: every public method takes the account lock."""

    def __init__(self, now: int) -> None:
        self.lock = threading.RLock()
        self.users: dict[int, User] = {}
        self.users_by_email: dict[str, int] = {}
        self.organizations: dict[int, Organization] = {}
        self.groups: dict[int, Group] = {}
        self.fields: dict[int, TicketField] = {}
        self.tickets: dict[int, Ticket] = {}
        self.jobs: dict[str, Job] = {}
        self.ticket_index = SortedIndex()  # (generated_timestamp, ticket id)
        self.event_index = SortedIndex()  # (timestamp, audit id)
        self.audits_by_id: dict[int, Audit] = {}
        self.metric_index = SortedIndex()  # (time, metric event id)
        self.metric_events: dict[int, MetricEvent] = {}
        self._next_user = FIRST_USER_ID
        self._next_org = FIRST_ORG_ID
        self._next_group = FIRST_GROUP_ID
        self._next_field = FIRST_FIELD_ID
        self._next_option = FIRST_OPTION_ID
        self._next_event = FIRST_EVENT_ID
        self._next_metric = FIRST_METRIC_EVENT_ID
        self._next_ticket = 1
        self._job_counter = 0
        self._metrics_by_ticket: dict[int, list[MetricEvent]] = {}
        admin = self.create_user(
            {"name": "Tierdesk Admin", "email": "admin@example.com", "role": "admin"}, now
        )
        self.owner_id = admin.id

    # ---------------------------------------------------------------- ids
    def _event_id(self) -> int:
        self._next_event += 1
        return self._next_event

    # ---------------------------------------------------------------- users / orgs / groups / fields
    def create_user(self, raw: Mapping[str, Any], now: int) -> User:
        with self.lock:
            if not raw.get("name"):
                raise invalid("Name: is too short (minimum one character)")
            email = raw.get("email")
            if email and str(email).lower() in self.users_by_email:
                raise invalid(f"Email: {email} is already being used by another user")
            role = str(raw.get("role") or "end-user")
            if role not in ("end-user", "agent", "admin"):
                raise invalid(f"Role: {role} is not valid")
            org_id = raw.get("organization_id")
            if org_id is not None and int(org_id) not in self.organizations:
                raise invalid("Organization: is invalid")
            user = User(
                id=self._next_user,
                name=str(raw["name"]),
                email=str(email) if email else None,
                role=role,
                created_at=now,
                updated_at=now,
                organization_id=int(org_id) if org_id is not None else None,
                external_id=raw.get("external_id"),
                tags=_as_tag_list(raw.get("tags")),
                default_group_id=raw.get("default_group_id"),
            )
            self._next_user += 1
            self.users[user.id] = user
            if user.email:
                self.users_by_email[user.email.lower()] = user.id
            return user

    def user_by_email(self, email: str) -> User | None:
        with self.lock:
            uid = self.users_by_email.get(email.lower())
            return self.users.get(uid) if uid is not None else None

    def create_organization(self, raw: Mapping[str, Any], now: int) -> Organization:
        with self.lock:
            name = raw.get("name")
            if not name:
                raise invalid("Name: cannot be blank")
            if any(o.name.lower() == str(name).lower() for o in self.organizations.values()):
                raise invalid("Name: has already been taken")
            org = Organization(
                id=self._next_org,
                name=str(name),
                created_at=now,
                updated_at=now,
                external_id=raw.get("external_id"),
                tags=_as_tag_list(raw.get("tags")),
                domain_names=list(raw.get("domain_names") or []),
                details=raw.get("details"),
                notes=raw.get("notes"),
                group_id=raw.get("group_id"),
                organization_fields=dict(raw.get("organization_fields") or {}),
            )
            self._next_org += 1
            self.organizations[org.id] = org
            return org

    def create_group(self, raw: Mapping[str, Any], now: int) -> Group:
        with self.lock:
            if not raw.get("name"):
                raise invalid("Name: cannot be blank")
            group = Group(
                id=self._next_group,
                name=str(raw["name"]),
                created_at=now,
                updated_at=now,
                description=str(raw.get("description") or ""),
                is_public=bool(raw.get("is_public", True)),
            )
            self._next_group += 1
            self.groups[group.id] = group
            return group

    def create_field(self, raw: Mapping[str, Any], now: int) -> TicketField:
        with self.lock:
            kind = raw.get("type")
            title = raw.get("title")
            if not kind or not title:
                raise invalid("Type and title are required")
            options = []
            for i, opt in enumerate(raw.get("custom_field_options") or []):
                options.append(
                    {
                        "id": self._next_option,
                        "name": str(opt.get("name")),
                        "raw_name": str(opt.get("name")),
                        "value": str(opt.get("value")),
                        "default": bool(opt.get("default", False)) and i == 0,
                    }
                )
                self._next_option += 1
            if kind in ("tagger", "multiselect") and not options:
                raise invalid("Field options: must have at least one option")
            tfield = TicketField(
                id=self._next_field,
                type=str(kind),
                title=str(title),
                created_at=now,
                updated_at=now,
                description=str(raw.get("description") or ""),
                active=bool(raw.get("active", True)),
                required=bool(raw.get("required", False)),
                tag=raw.get("tag"),
                key=raw.get("key"),
                position=len(self.fields) + 1,
                options=options,
            )
            self._next_field += 1
            self.fields[tfield.id] = tfield
            return tfield

    # ---------------------------------------------------------------- tickets
    def _check_user(self, user_id: Any, what: str) -> int:
        try:
            uid = int(user_id)
        except (TypeError, ValueError):
            raise invalid(f"{what}: is invalid") from None
        if uid not in self.users:
            raise invalid(f"{what}: is invalid")
        return uid

    def _resolve_requester(self, raw: Mapping[str, Any], author_id: int, now: int) -> int:
        if raw.get("requester_id") is not None:
            return self._check_user(raw["requester_id"], "Requester")
        requester = raw.get("requester")
        if isinstance(requester, Mapping) and requester.get("email"):
            existing = self.user_by_email(str(requester["email"]))
            if existing is not None:
                return existing.id
            return self.create_user(
                {"name": requester.get("name") or requester["email"], "email": requester["email"]}, now
            ).id
        return author_id

    def create_ticket(
        self, raw: Mapping[str, Any], author_id: int, now: int, *, imported: bool = False
    ) -> tuple[Ticket, Audit]:
        """Create a ticket (Create Ticket or Ticket Import). Imports keep the given `created_at`,
        their comments' times and authors; their `generated_timestamp` is the import time."""
        with self.lock:
            requester_id = self._resolve_requester(raw, author_id, now)
            created = _epoch(raw.get("created_at"), now) if imported else now
            comments_raw: list[Mapping[str, Any]]
            if imported:
                comments_raw = list(raw.get("comments") or [])
                if not comments_raw and raw.get("description"):
                    comments_raw = [{"body": raw["description"], "author_id": requester_id}]
            else:
                comment = raw.get("comment")
                if not isinstance(comment, Mapping) or not (comment.get("body") or comment.get("html_body")):
                    if raw.get("description"):
                        comment = {"body": raw["description"]}
                    else:
                        raise invalid("Description: cannot be blank")
                comments_raw = [comment]
            status = str(raw.get("status") or ("open" if raw.get("assignee_id") else "new"))
            if status not in STATUSES:
                raise invalid(f"Status: {status} is not valid")
            priority = raw.get("priority")
            if priority is not None and priority not in PRIORITIES:
                raise invalid(f"Priority: {priority} is not valid")
            org_id = raw.get("organization_id")
            if org_id is None:
                org_id = self.users[requester_id].organization_id
            elif int(org_id) not in self.organizations:
                raise invalid("Organization: is invalid")
            first = comments_raw[0] if comments_raw else {"body": raw.get("subject") or ""}
            ticket = Ticket(
                id=self._next_ticket,
                created_at=created,
                updated_at=created,
                generated_timestamp=now,
                subject=str(raw.get("subject") or str(first.get("body") or "")[:80]),
                description=str(first.get("body") or first.get("html_body") or ""),
                status=status,
                requester_id=requester_id,
                submitter_id=author_id if not imported else requester_id,
                priority=priority,
                type=raw.get("type"),
                assignee_id=self._check_user(raw["assignee_id"], "Assignee")
                if raw.get("assignee_id")
                else None,
                organization_id=int(org_id) if org_id is not None else None,
                group_id=self._check_group(raw.get("group_id")),
                external_id=raw.get("external_id"),
                is_public=bool(first.get("public", True)),
            )
            self._next_ticket += 1
            ticket.tags = []
            self._add_tags(ticket, _as_tag_list(raw.get("tags")))
            for cf in raw.get("custom_fields") or []:
                self._set_custom_field(ticket, cf, [])
            self.tickets[ticket.id] = ticket
            create_events: list[dict[str, Any]] = []
            audit = self._new_audit(
                ticket, author_id if not imported else requester_id, created, create_events
            )
            for name in (
                "subject",
                "requester_id",
                "priority",
                "type",
                "status",
                "organization_id",
                "group_id",
                "assignee_id",
            ):
                value = getattr(ticket, name)
                create_events.append(
                    {
                        "id": self._event_id(),
                        "type": "Create",
                        "field_name": name,
                        "value": str(value) if isinstance(value, int) else value,
                    }
                )
            if ticket.tags:
                create_events.append(
                    {
                        "id": self._event_id(),
                        "type": "Create",
                        "field_name": "tags",
                        "value": list(ticket.tags),
                    }
                )
            for fid, value in ticket.custom_fields.items():
                create_events.append(
                    {"id": self._event_id(), "type": "Create", "field_name": str(fid), "value": value}
                )
            self._metric(ticket.id, "reply_time", "activate", created)
            self._metric(ticket.id, "resolution_time", "activate", created)
            self._metric(ticket.id, "requester_wait_time", "activate", created)
            for i, craw in enumerate(comments_raw):
                c_author = int(craw.get("author_id") or (requester_id if imported else author_id))
                c_at = _epoch(craw.get("created_at"), created) if imported else created
                if i == 0:
                    self._add_comment(ticket, audit, craw, c_author, c_at)
                    continue
                follow = self._new_audit(ticket, c_author, c_at, [])
                self._add_comment(ticket, follow, craw, c_author, c_at)
                self._index_audit(follow)
                ticket.updated_at = max(ticket.updated_at, c_at)
            if imported and raw.get("updated_at"):
                ticket.updated_at = max(ticket.updated_at, _epoch(raw["updated_at"], created))
            if status in ("solved", "closed"):
                self._metric(ticket.id, "resolution_time", "fulfill", ticket.updated_at)
            self._index_audit(audit)
            self.ticket_index.add((ticket.generated_timestamp, ticket.id))
            return ticket, audit

    def _check_group(self, group_id: Any) -> int | None:
        if group_id is None:
            return None
        try:
            gid = int(group_id)
        except (TypeError, ValueError):
            raise invalid("Group: is invalid") from None
        if gid not in self.groups:
            raise invalid("Group: is invalid")
        return gid

    def _new_audit(self, ticket: Ticket, author_id: int, at: int, events: list[dict[str, Any]]) -> Audit:
        audit = Audit(
            id=self._event_id(),
            ticket_id=ticket.id,
            author_id=author_id,
            created_at=at,
            via_channel="api",
            events=events,
        )
        ticket.audits.append(audit)
        self.audits_by_id[audit.id] = audit
        return audit

    def _index_audit(self, audit: Audit) -> None:
        self.event_index.add((audit.created_at, audit.id))

    def _add_comment(
        self, ticket: Ticket, audit: Audit, raw: Mapping[str, Any], author_id: int, at: int
    ) -> None:
        if author_id not in self.users:
            raise invalid("Author: is invalid")
        body = raw.get("body")
        html = raw.get("html_body")
        if body is None and html is None:
            raise invalid("Comment: body cannot be blank")
        text = str(body) if body is not None else _strip_html(str(html))
        public = raw.get("public")
        public = ticket.is_public if public is None else bool(public)
        comment = Comment(
            id=self._event_id(),
            audit_id=audit.id,
            author_id=author_id,
            body=text,
            html_body=str(html) if html is not None else _text_to_html(text),
            public=public,
            created_at=at,
        )
        ticket.comments.append(comment)
        audit.comment = comment
        audit.events.insert(0, {"id": comment.id, "type": "Comment"})
        author = self.users[author_id]
        if public and author.role != "end-user":
            self._metric(ticket.id, "reply_time", "fulfill", at, once=True)
            self._metric(ticket.id, "periodic_update_time", "fulfill", at)

    def _metric(self, ticket_id: int, metric: str, kind: str, at: int, *, once: bool = False) -> None:
        if once and any(
            e.ticket_id == ticket_id and e.metric == metric and e.type == kind
            for e in self._ticket_metrics(ticket_id)
        ):
            return
        self._next_metric += 1
        event = MetricEvent(
            id=self._next_metric, ticket_id=ticket_id, metric=metric, instance_id=1, type=kind, time=at
        )
        self.metric_events[event.id] = event
        self.metric_index.add((at, event.id))
        self._metrics_by_ticket.setdefault(ticket_id, []).append(event)

    def _ticket_metrics(self, ticket_id: int) -> list[MetricEvent]:
        return self._metrics_by_ticket.get(ticket_id, [])

    def _add_tags(self, ticket: Ticket, tags: Iterable[str]) -> list[str]:
        added = []
        for raw in tags:
            tag = raw.lower()
            if tag and tag not in ticket.tags:
                ticket.tags.append(tag)
                added.append(tag)
        return added

    def _remove_tags(self, ticket: Ticket, tags: Iterable[str]) -> list[str]:
        removed = []
        for raw in tags:
            tag = raw.lower()
            if tag in ticket.tags:
                ticket.tags.remove(tag)
                removed.append(tag)
        return removed

    def _set_custom_field(self, ticket: Ticket, raw: Any, events: list[dict[str, Any]]) -> None:
        if not isinstance(raw, Mapping) or "id" not in raw:
            raise invalid("Custom fields: each entry needs an id")
        try:
            fid = int(raw["id"])
        except (TypeError, ValueError):
            raise invalid("Custom fields: id is invalid") from None
        tfield = self.fields.get(fid)
        if tfield is None:
            return  # unknown field ids are ignored, as Zendesk does
        value = raw.get("value")
        if tfield.type == "tagger":
            if value is not None and str(value) not in tfield.option_values():
                return  # unknown dropdown values are silently dropped
        elif tfield.type == "multiselect":
            values = value if isinstance(value, list) else ([] if value is None else [value])
            value = [str(v) for v in values if str(v) in tfield.option_values()]
        elif tfield.type == "date" and value:
            value = str(value)[:10]  # date fields keep the date only
        elif tfield.type == "checkbox":
            value = bool(value)
        elif value is not None and not isinstance(value, str | int | float | bool):
            raise invalid(f"{tfield.title}: is invalid")
        elif value is not None:
            value = str(value)
        previous = ticket.custom_fields.get(fid)
        if previous == value:
            return
        # dropdown values are tags too: swap the option tags like Zendesk does
        if tfield.type in ("tagger", "multiselect"):
            old = previous if isinstance(previous, list) else ([previous] if previous else [])
            new = value if isinstance(value, list) else ([value] if value else [])
            self._remove_tags(ticket, [v for v in old if v not in new])
            self._add_tags(ticket, new)
        ticket.custom_fields[fid] = value
        events.append(
            {
                "id": self._event_id(),
                "type": "Change",
                "field_name": str(fid),
                "value": value,
                "previous_value": previous,
            }
        )

    def update_ticket(
        self, ticket_id: int, raw: Mapping[str, Any], author_id: int, now: int
    ) -> tuple[Ticket, Audit | None]:
        """Apply one ticket update (Update Ticket or one entry of Update Many). Raises ApiError."""
        with self.lock:
            ticket = self.tickets.get(ticket_id)
            if ticket is None or ticket.deleted:
                raise not_found()
            if ticket.status == "closed":
                raise invalid("Status: closed prevents ticket update")
            if "updated_stamp" in raw and "safe_update" in raw:
                stamp = _epoch(raw.get("updated_stamp"), None)
                if stamp is None or ticket.updated_at > stamp:
                    raise ApiError(409, {"error": "UpdateConflict", "description": CONFLICT_DESCRIPTION})
            events: list[dict[str, Any]] = []

            def change(name: str, new: Any) -> None:
                old = getattr(ticket, name)
                if old != new:
                    setattr(ticket, name, new)
                    events.append(
                        {
                            "id": self._event_id(),
                            "type": "Change",
                            "field_name": name,
                            "value": str(new) if isinstance(new, int) and not isinstance(new, bool) else new,
                            "previous_value": str(old)
                            if isinstance(old, int) and not isinstance(old, bool)
                            else old,
                        }
                    )

            if "status" in raw:
                status = raw["status"]
                if status not in STATUSES:
                    raise invalid(f"Status: {status} is not valid")
                change("status", status)
            if "priority" in raw:
                priority = raw["priority"]
                if priority is not None and priority not in PRIORITIES:
                    raise invalid(f"Priority: {priority} is not valid")
                change("priority", priority)
            if "type" in raw:
                if raw["type"] is not None and raw["type"] not in TICKET_TYPES:
                    raise invalid(f"Type: {raw['type']} is not valid")
                change("type", raw["type"])
            if raw.get("subject"):
                change("subject", str(raw["subject"]))
            if "group_id" in raw:
                change("group_id", self._check_group(raw["group_id"]))
            if "assignee_id" in raw:
                change(
                    "assignee_id",
                    self._check_user(raw["assignee_id"], "Assignee")
                    if raw["assignee_id"] is not None
                    else None,
                )
            if "requester_id" in raw:
                change("requester_id", self._check_user(raw["requester_id"], "Requester"))
            if "organization_id" in raw:
                org = raw["organization_id"]
                if org is not None and int(org) not in self.organizations:
                    raise invalid("Organization: is invalid")
                change("organization_id", int(org) if org is not None else None)
            if "external_id" in raw:
                change("external_id", raw["external_id"])
            before_tags = list(ticket.tags)
            if "tags" in raw:
                ticket.tags = []
                self._add_tags(ticket, _as_tag_list(raw["tags"]))
            if "additional_tags" in raw:
                self._add_tags(ticket, _as_tag_list(raw["additional_tags"]))
            if "remove_tags" in raw:
                self._remove_tags(ticket, _as_tag_list(raw["remove_tags"]))
            for cf in raw.get("custom_fields") or []:
                self._set_custom_field(ticket, cf, events)
            if ticket.tags != before_tags and set(ticket.tags) != set(before_tags):
                events.append(
                    {
                        "id": self._event_id(),
                        "type": "Change",
                        "field_name": "tags",
                        "value": list(ticket.tags),
                        "previous_value": before_tags,
                    }
                )
            for follower in raw.get("followers") or []:
                uid = self._check_user(follower.get("user_id"), "Follower")
                if follower.get("action", "put") == "delete":
                    if uid in ticket.follower_ids:
                        ticket.follower_ids.remove(uid)
                        events.append(
                            {
                                "id": self._event_id(),
                                "type": "FollowerChange",
                                "previous_followers": [],
                                "current_followers": list(ticket.follower_ids),
                            }
                        )
                elif uid not in ticket.follower_ids:
                    ticket.follower_ids.append(uid)
                    events.append(
                        {
                            "id": self._event_id(),
                            "type": "FollowerChange",
                            "previous_followers": [],
                            "current_followers": list(ticket.follower_ids),
                        }
                    )
            raw_comment = raw.get("comment")
            comment: Mapping[str, Any] = raw_comment if isinstance(raw_comment, Mapping) else {}
            has_comment = bool(comment.get("body") or comment.get("html_body"))
            if not events and not has_comment:
                return ticket, None  # nothing changed: no audit, updated_at stays
            c_author = author_id
            if has_comment and comment.get("author_id") is not None:
                c_author = self._check_user(comment["author_id"], "Author")
            audit = self._new_audit(ticket, author_id, now, events)
            if has_comment:
                self._add_comment(ticket, audit, comment, c_author, now)
            for ev in events:
                if ev.get("field_name") == "status":
                    if ev["value"] == "solved":
                        self._metric(ticket.id, "resolution_time", "fulfill", now)
                    elif ev["previous_value"] in ("solved",):
                        self._metric(ticket.id, "resolution_time", "activate", now)
                    if ev["value"] in ("pending", "hold"):
                        self._metric(ticket.id, "pausable_update_time", "pause", now)
            metadata = raw.get("metadata")
            if isinstance(metadata, Mapping):
                audit.custom_metadata = dict(metadata)
            if ticket.status == "new" and ticket.assignee_id is not None and "status" not in raw:
                change("status", "open")  # assigning a new ticket opens it
            self._touch(ticket, now, event=True)
            self._index_audit(audit)
            return ticket, audit

    def _touch(self, ticket: Ticket, now: int, *, event: bool) -> None:
        """Record a change: `updated_at` moves only for event-generating changes, the export's
        `generated_timestamp` for every change (system updates included)."""
        self.ticket_index.remove((ticket.generated_timestamp, ticket.id))
        if event:
            ticket.updated_at = now
        ticket.generated_timestamp = max(now, ticket.generated_timestamp)
        self.ticket_index.add((ticket.generated_timestamp, ticket.id))

    def system_touch(self, ticket_id: int, now: int) -> None:
        """A system update (no ticket event): only `generated_timestamp` moves."""
        with self.lock:
            ticket = self.tickets.get(ticket_id)
            if ticket is None:
                raise not_found()
            self._touch(ticket, now, event=False)

    def delete_ticket(self, ticket_id: int, now: int) -> None:
        with self.lock:
            ticket = self.tickets.get(ticket_id)
            if ticket is None or ticket.deleted:
                raise not_found()
            ticket.deleted = True
            self._touch(ticket, now, event=True)

    def set_tags(self, ticket_id: int, tags: Any, mode: str, author_id: int, now: int) -> Ticket:
        """Tags endpoints: mode add (PUT), set (POST), remove (DELETE)."""
        key = {"add": "additional_tags", "set": "tags", "remove": "remove_tags"}[mode]
        ticket, _ = self.update_ticket(ticket_id, {key: _as_tag_list(tags)}, author_id, now)
        return ticket

    # ---------------------------------------------------------------- jobs
    def new_job(self, job_type: str, results: list[dict[str, Any]], now: int, verb: str) -> Job:
        with self.lock:
            self._job_counter += 1
            digest = hashlib.md5(f"{job_type}:{self._job_counter}:{now}".encode(), usedforsecurity=False)
            job = Job(
                id=f"V3-{digest.hexdigest()}",
                job_type=job_type,
                total=len(results),
                results=results,
                created_at=now,
                action_verb=verb,
            )
            self.jobs[job.id] = job
            return job

    def poll_job(self, job_id: str) -> Job:
        with self.lock:
            job = self.jobs.get(job_id)
            if job is None:
                raise not_found()
            job.polls += 1
            return job

    # ---------------------------------------------------------------- exports
    def tickets_after(self, key: tuple[int, int], cutoff: int, limit: int) -> tuple[list[Ticket], bool]:
        """Tickets with (generated_timestamp, id) > key and generated_timestamp <= cutoff, in order;
        the flag says whether more remain."""
        with self.lock:
            start = self.ticket_index.after(key)
            end = self.ticket_index.upto((cutoff, 2**62))
            keys = self.ticket_index.keys[start : min(end, start + limit)]
            return [self.tickets[tid] for _, tid in keys], start + limit < end

    def tickets_time_page(
        self, start_time: int, cutoff: int, per_page: int
    ) -> tuple[list[Ticket], int, bool]:
        """Time-based ticket export page, modelled on the recordings: fill to `per_page`, then finish
        the current second unless the hard cap of 1000 cuts it (then the next page starts at the
        same second and repeats its tickets). Returns (tickets, end_time, end_of_stream)."""
        with self.lock:
            keys = self.ticket_index.keys
            start = bisect.bisect_left(keys, (start_time, -1))
            end = self.ticket_index.upto((cutoff, 2**62))
            return _time_page(keys, start, end, per_page, start_time, lambda k: self.tickets[k[1]])

    def events_time_page(self, start_time: int, cutoff: int, per_page: int) -> tuple[list[Audit], int, bool]:
        with self.lock:
            keys = self.event_index.keys
            start = bisect.bisect_left(keys, (start_time, -1))
            end = self.event_index.upto((cutoff, 2**62))
            return _time_page(keys, start, end, per_page, start_time, lambda k: self.audits_by_id[k[1]])

    def metric_events_page(
        self, start_time: int, cutoff: int, per_page: int
    ) -> tuple[list[MetricEvent], int, bool]:
        with self.lock:
            keys = self.metric_index.keys
            start = bisect.bisect_left(keys, (start_time, -1))
            end = self.metric_index.upto((cutoff, 2**62))
            return _time_page(keys, start, end, per_page, start_time, lambda k: self.metric_events[k[1]])


HARD_CAP = 1000


def _time_page(
    keys: list[tuple[int, int]], start: int, end: int, per_page: int, start_time: int, load: Any
) -> tuple[list[Any], int, bool]:
    items: list[Any] = []
    i = start
    last_ts: int | None = None
    cut = False
    while i < end:
        ts = keys[i][0]
        if len(items) >= per_page and ts != last_ts:
            break
        if len(items) >= HARD_CAP and ts != keys[start][0]:
            cut = True  # the next page starts at this same second and repeats it
            break
        items.append(load(keys[i]))
        last_ts = ts
        i += 1
    end_of_stream = i >= end
    if last_ts is None:
        return [], start_time, True
    if end_of_stream or cut:
        return items, last_ts, end_of_stream
    return items, last_ts + 1, False


def _strip_html(html: str) -> str:
    out = []
    inside = False
    for ch in html:
        if ch == "<":
            inside = True
        elif ch == ">":
            inside = False
        elif not inside:
            out.append(ch)
    return "".join(out)


def _epoch(value: Any, default: int | None) -> Any:
    """Parse an ISO 8601 instant or epoch number to whole epoch seconds (`default` when absent)."""
    from datetime import UTC, datetime

    if value is None or value == "":
        return default
    if isinstance(value, int | float):
        return int(value)
    text = str(value).strip()
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise invalid(f"{text!r} is not a valid time") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return int(parsed.timestamp())
