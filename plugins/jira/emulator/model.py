"""In-memory Jira site: users, projects, workflow, fields, issues, JSM organizations.

Values are stored in a neutral internal form (timestamps as epoch milliseconds, options by id, users
by accountId, rich text as ADF) and rendered per request for REST v2 or v3 and the caller's time zone
by `render.py`. Issues are indexed by id, key and `(updated, project key, number, id)`, so the hot
path of an incremental pull (`updated >= X ORDER BY updated`) is a bisect, not a scan.
"""

from __future__ import annotations

import bisect
import hashlib
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

CUSTOM_TYPE_PREFIX = "com.atlassian.jira.plugin.system.customfieldtypes:"
ORGANIZATIONS_TYPE = "com.atlassian.servicedesk:sd-customer-organizations"
PARTICIPANTS_TYPE = "com.atlassian.servicedesk:sd-request-participants"

# custom field type -> (schema.type, schema.items)
CUSTOM_FIELD_TYPES: dict[str, tuple[str, str | None]] = {
    CUSTOM_TYPE_PREFIX + "datetime": ("datetime", None),
    CUSTOM_TYPE_PREFIX + "datepicker": ("date", None),
    CUSTOM_TYPE_PREFIX + "select": ("option", None),
    CUSTOM_TYPE_PREFIX + "radiobuttons": ("option", None),
    CUSTOM_TYPE_PREFIX + "multiselect": ("array", "option"),
    CUSTOM_TYPE_PREFIX + "textfield": ("string", None),
    CUSTOM_TYPE_PREFIX + "textarea": ("string", None),
    CUSTOM_TYPE_PREFIX + "float": ("number", None),
    CUSTOM_TYPE_PREFIX + "userpicker": ("user", None),
    CUSTOM_TYPE_PREFIX + "multiuserpicker": ("array", "user"),
    CUSTOM_TYPE_PREFIX + "grouppicker": ("group", None),
    CUSTOM_TYPE_PREFIX + "labels": ("array", "string"),
    ORGANIZATIONS_TYPE: ("array", "sd-customerorganization"),
    PARTICIPANTS_TYPE: ("array", "user"),
}

STATUS_CATEGORIES: dict[str, tuple[int, str, str]] = {
    "new": (2, "To Do", "blue-gray"),
    "indeterminate": (4, "In Progress", "yellow"),
    "done": (3, "Done", "green"),
}


@dataclass
class User:
    account_id: str
    display_name: str
    email: str
    account_type: str  # atlassian | customer | app
    time_zone: str
    active: bool = True
    locale: str = "en_US"


@dataclass(frozen=True)
class StatusDef:
    id: str
    name: str
    category: str  # new | indeterminate | done


@dataclass(frozen=True)
class TransitionDef:
    id: str
    name: str
    to_status: str


@dataclass(frozen=True)
class PriorityDef:
    id: str
    name: str
    color: str


@dataclass(frozen=True)
class NamedDef:
    id: str
    name: str
    description: str = ""


@dataclass
class FieldDef:
    id: str
    name: str
    custom: bool
    type: str  # schema.type
    items: str | None = None
    custom_type: str | None = None
    system: str | None = None
    navigable: bool = True
    orderable: bool = True
    searchable: bool = True
    context_id: str = ""
    options: dict[str, str] = field(default_factory=dict)  # option id -> value

    @property
    def custom_id(self) -> int | None:
        return int(self.id.removeprefix("customfield_")) if self.custom else None

    @property
    def clause_names(self) -> list[str]:
        if self.custom:
            return [f"cf[{self.custom_id}]", self.name]
        return [self.id]

    def option_by_value(self, value: str) -> str | None:
        for option_id, option_value in self.options.items():
            if option_value == value:
                return option_id
        return None


@dataclass
class Project:
    id: int
    key: str
    name: str
    type_key: str  # service_desk | software | business
    lead: str
    servicedesk_id: int | None = None
    next_number: int = 1


@dataclass
class Comment:
    id: int
    issue_id: int
    author: str
    body: dict[str, Any]  # ADF
    created_ms: int
    updated_ms: int
    properties: dict[str, Any] = field(default_factory=dict)
    visibility: dict[str, Any] | None = None

    @property
    def internal(self) -> bool:
        value = self.properties.get("sd.public.comment")
        return isinstance(value, dict) and value.get("internal") is True


@dataclass
class History:
    id: int
    author: str | None
    created_ms: int
    items: list[dict[str, Any]]


@dataclass
class Issue:
    id: int
    project: Project
    number: int
    issuetype: str
    summary: str
    description: dict[str, Any] | None
    status_id: str
    priority_id: str | None
    reporter: str | None
    creator: str | None
    assignee: str | None
    created_ms: int
    updated_ms: int
    status_changed_ms: int
    labels: list[str] = field(default_factory=list)
    resolution: str | None = None
    resolution_ms: int | None = None
    custom: dict[str, Any] = field(default_factory=dict)
    comments: list[Comment] = field(default_factory=list)
    histories: list[History] = field(default_factory=list)
    properties: dict[str, Any] = field(default_factory=dict)
    watchers: list[str] = field(default_factory=list)

    @property
    def key(self) -> str:
        return f"{self.project.key}-{self.number}"

    def index_key(self) -> tuple[int, str, int, int]:
        return (self.updated_ms, self.project.key, self.number, self.id)


@dataclass
class Organization:
    id: int
    name: str
    members: list[str] = field(default_factory=list)


def text_to_adf(text: str) -> dict[str, Any]:
    """Plain (v2) text as the ADF document the site stores."""
    paragraphs = [
        {"type": "paragraph", "content": [{"type": "text", "text": block}]}
        if block
        else {"type": "paragraph"}
        for block in text.replace("\r\n", "\n").split("\n\n")
    ]
    return {"type": "doc", "version": 1, "content": paragraphs}


def adf_to_text(node: Any) -> str:
    """Text of a stored ADF document, paragraphs separated by blank lines (how v2 shows it)."""
    if node is None:
        return ""
    if isinstance(node, str):
        return node
    blocks: list[str] = []

    def inline(item: Any) -> str:
        if not isinstance(item, dict):
            return ""
        if item.get("type") == "text":
            return str(item.get("text", ""))
        if item.get("type") == "hardBreak":
            return "\n"
        attrs = item.get("attrs") or {}
        if item.get("type") in ("mention", "emoji", "status"):
            return str(attrs.get("text", ""))
        return "".join(inline(child) for child in item.get("content") or [])

    for block in node.get("content") or [] if isinstance(node, dict) else []:
        blocks.append(inline(block))
    return "\n\n".join(blocks)


def account_id_for(email: str, account_type: str) -> str:
    """Deterministic account ids shaped like Atlassian's (24 hex digits; `qm:` for JSM customers)."""
    digest = hashlib.sha256(email.lower().encode()).hexdigest()
    if account_type == "customer":
        return f"qm:{uuid.UUID(digest[:32])}:{uuid.UUID(digest[32:64])}"
    return digest[:24]


class JiraSite:
    """The whole site's data plus its indexes. Callers hold `lock` around reads and writes."""

    def __init__(self, default_time_zone: str = "America/Los_Angeles") -> None:
        self.lock = threading.RLock()
        self.default_time_zone = default_time_zone
        self.users: dict[str, User] = {}
        self.users_by_email: dict[str, str] = {}
        self.projects: dict[int, Project] = {}
        self.projects_by_key: dict[str, int] = {}
        self.fields: dict[str, FieldDef] = {}
        self.issues: dict[int, Issue] = {}
        self.issues_by_key: dict[str, int] = {}
        self.updated_index: list[tuple[int, str, int, int]] = []
        self.comments: dict[int, Comment] = {}
        self.organizations: dict[int, Organization] = {}
        self.statuses: dict[str, StatusDef] = {}
        self.transitions: list[TransitionDef] = []
        self.priorities: list[PriorityDef] = []
        self.issuetypes: list[NamedDef] = []
        self.resolutions: list[NamedDef] = []
        # called under the lock after an issue is created (True) or changed (False): webhooks
        self.observers: list[Callable[[Issue, bool], None]] = []
        self._next = {
            "project": 10000,
            "issue": 10000,
            "comment": 10000,
            "history": 10000,
            "org": 1,
            "field": 10049,
            "option": 10100,
            "context": 10200,
            "servicedesk": 1,
        }
        self._install_defaults()

    def next_id(self, kind: str) -> int:
        self._next[kind] += 1
        return self._next[kind]

    # -- defaults -------------------------------------------------------------------------------

    def _install_defaults(self) -> None:
        for status in (
            StatusDef("10001", "Waiting for support", "new"),
            StatusDef("10002", "Waiting for customer", "indeterminate"),
            StatusDef("3", "In Progress", "indeterminate"),
            StatusDef("10003", "Escalated", "indeterminate"),
            StatusDef("10004", "Pending", "indeterminate"),
            StatusDef("5", "Resolved", "done"),
            StatusDef("6", "Closed", "done"),
            StatusDef("10005", "Canceled", "done"),
        ):
            self.statuses[status.id] = status
        self.transitions = [
            TransitionDef("11", "Respond to customer", "10002"),
            TransitionDef("21", "Start progress", "3"),
            TransitionDef("31", "Escalate", "10003"),
            TransitionDef("41", "Mark as pending", "10004"),
            TransitionDef("51", "Resolve this issue", "5"),
            TransitionDef("61", "Close", "6"),
            TransitionDef("71", "Cancel request", "10005"),
            TransitionDef("81", "Back to support", "10001"),
        ]
        self.priorities = [
            PriorityDef("1", "Highest", "#d04437"),
            PriorityDef("2", "High", "#f15C75"),
            PriorityDef("3", "Medium", "#f79232"),
            PriorityDef("4", "Low", "#707070"),
            PriorityDef("5", "Lowest", "#999999"),
        ]
        self.issuetypes = [
            NamedDef("10001", "Task", "A small, distinct piece of work."),
            NamedDef("10002", "Service Request", "Created by Jira Service Management."),
            NamedDef("10003", "Incident", "For system outages or incidents."),
        ]
        self.resolutions = [
            NamedDef("10000", "Done", "Work has been completed on this issue."),
            NamedDef("10001", "Won't Do", "This issue won't be actioned."),
            NamedDef("10002", "Duplicate", "The problem is a duplicate of an existing issue."),
        ]
        system = [
            ("summary", "Summary", "string"),
            ("description", "Description", "string"),
            ("status", "Status", "status"),
            ("priority", "Priority", "priority"),
            ("labels", "Labels", "array"),
            ("reporter", "Reporter", "user"),
            ("creator", "Creator", "user"),
            ("assignee", "Assignee", "user"),
            ("created", "Created", "datetime"),
            ("updated", "Updated", "datetime"),
            ("project", "Project", "project"),
            ("issuetype", "Issue Type", "issuetype"),
            ("resolution", "Resolution", "resolution"),
            ("resolutiondate", "Resolved", "datetime"),
            ("statuscategorychangedate", "Status Category Changed", "datetime"),
            ("comment", "Comment", "comments-page"),
            ("watches", "Watchers", "watches"),
        ]
        for field_id, name, kind in system:
            self.fields[field_id] = FieldDef(
                id=field_id,
                name=name,
                custom=False,
                type=kind,
                items="string" if field_id == "labels" else None,
                system=field_id,
                navigable=field_id != "comment",
            )
        self.add_field("Request participants", PARTICIPANTS_TYPE, field_id="customfield_10001")
        self.add_field("Organizations", ORGANIZATIONS_TYPE, field_id="customfield_10002")

    # -- users ----------------------------------------------------------------------------------

    def add_user(
        self, email: str, display_name: str, account_type: str, time_zone: str | None = None
    ) -> User:
        existing = self.users_by_email.get(email.lower())
        if existing:
            return self.users[existing]
        user = User(
            account_id=account_id_for(email, account_type),
            display_name=display_name,
            email=email,
            account_type=account_type,
            time_zone=time_zone or self.default_time_zone,
        )
        self.users[user.account_id] = user
        self.users_by_email[email.lower()] = user.account_id
        return user

    def user_by_email(self, email: str) -> User | None:
        account = self.users_by_email.get(email.lower())
        return self.users.get(account) if account else None

    # -- fields ---------------------------------------------------------------------------------

    def add_field(self, name: str, custom_type: str, field_id: str | None = None) -> FieldDef:
        if custom_type not in CUSTOM_FIELD_TYPES:
            raise ValueError(f"unsupported custom field type {custom_type!r}")
        kind, items = CUSTOM_FIELD_TYPES[custom_type]
        new_id = field_id or f"customfield_{self.next_id('field')}"
        definition = FieldDef(
            id=new_id,
            name=name,
            custom=True,
            type=kind,
            items=items,
            custom_type=custom_type,
            context_id=str(self.next_id("context")),
        )
        self.fields[new_id] = definition
        return definition

    def add_option(self, definition: FieldDef, value: str) -> str:
        existing = definition.option_by_value(value)
        if existing:
            return existing
        option_id = str(self.next_id("option"))
        definition.options[option_id] = value
        return option_id

    def field_by_clause(self, name: str) -> FieldDef | None:
        lowered = name.strip().lower()
        if lowered in self.fields:
            return self.fields[lowered]
        if lowered.startswith("cf[") and lowered.endswith("]"):
            return self.fields.get(f"customfield_{lowered[3:-1]}")
        for definition in self.fields.values():
            if definition.custom and definition.name.lower() == lowered:
                return definition
        return None

    # -- workflow lookups -------------------------------------------------------------------------

    def status_by_name_or_id(self, value: str) -> StatusDef | None:
        if value in self.statuses:
            return self.statuses[value]
        lowered = value.lower()
        return next((s for s in self.statuses.values() if s.name.lower() == lowered), None)

    def priority_by_name_or_id(self, value: str) -> PriorityDef | None:
        lowered = value.lower()
        return next((p for p in self.priorities if p.id == value or p.name.lower() == lowered), None)

    def issuetype_by_name_or_id(self, value: str) -> NamedDef | None:
        lowered = value.lower()
        return next((t for t in self.issuetypes if t.id == value or t.name.lower() == lowered), None)

    def resolution_by_name_or_id(self, value: str) -> NamedDef | None:
        lowered = value.lower()
        return next((r for r in self.resolutions if r.id == value or r.name.lower() == lowered), None)

    def project_by_ref(self, value: str) -> Project | None:
        if value.isdigit() and int(value) in self.projects:
            return self.projects[int(value)]
        by_key = self.projects_by_key.get(value.upper())
        if by_key is not None:
            return self.projects[by_key]
        lowered = value.lower()
        return next((p for p in self.projects.values() if p.name.lower() == lowered), None)

    # -- projects and issues --------------------------------------------------------------------

    def add_project(self, key: str, name: str, type_key: str, lead: str) -> Project:
        project = Project(
            id=self.next_id("project"), key=key.upper(), name=name, type_key=type_key, lead=lead
        )
        if type_key == "service_desk":
            project.servicedesk_id = self.next_id("servicedesk")
        self.projects[project.id] = project
        self.projects_by_key[project.key] = project.id
        return project

    def issue_by_ref(self, ref: str) -> Issue | None:
        if ref.isdigit():
            return self.issues.get(int(ref))
        issue_id = self.issues_by_key.get(ref.upper())
        return self.issues.get(issue_id) if issue_id is not None else None

    def insert_issue(self, issue: Issue) -> None:
        self.issues[issue.id] = issue
        self.issues_by_key[issue.key] = issue.id
        bisect.insort(self.updated_index, issue.index_key())
        for observe in self.observers:
            observe(issue, True)

    def touch(self, issue: Issue, now_ms: int) -> None:
        """Move `updated` (never backwards) and keep the updated index in step."""
        old = issue.index_key()
        position = bisect.bisect_left(self.updated_index, old)
        if position < len(self.updated_index) and self.updated_index[position] == old:
            del self.updated_index[position]
        issue.updated_ms = max(issue.updated_ms, now_ms)
        bisect.insort(self.updated_index, issue.index_key())
        for observe in self.observers:
            observe(issue, False)

    def delete_issue(self, issue: Issue) -> None:
        old = issue.index_key()
        position = bisect.bisect_left(self.updated_index, old)
        if position < len(self.updated_index) and self.updated_index[position] == old:
            del self.updated_index[position]
        for comment in issue.comments:
            self.comments.pop(comment.id, None)
        self.issues.pop(issue.id, None)
        self.issues_by_key.pop(issue.key, None)

    def organizations_of(self, account_id: str) -> list[Organization]:
        return [org for org in self.organizations.values() if account_id in org.members]
