"""Pure translation between Jira Cloud JSON and tierdesk's helpdesk-neutral model.

No I/O, no clock reads. Issue JSON (v2 or v3, with `expand=changelog` and the `comment` field) becomes
a `TicketRecord`; a ticket's planned `Action`s become one issue edit payload. Vendor records are read
through typed accessors that name the failing path (`fields.status.name`), so a malformed record is
reported precisely and skipped instead of stopping a pull.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from connector.domain.model import TAGS_FIELD, Event, EventKind, Organization, Priority, Status, Ticket
from connector.domain.policy import ActionKind
from connector.domain.results import Action
from connector.ports import TicketRecord

JsonObj = Mapping[str, Any]
_T = TypeVar("_T")

# Comment properties tierdesk writes on its notes. `sd.public.comment` with `internal: true` is how
# Jira Service Management marks an agent-only ("internal") comment; the `tierdesk` property carries
# the idempotency marker, invisible to agents and customers, readable with `expand=properties`.
JSM_PUBLIC_PROPERTY = "sd.public.comment"
MARKER_PROPERTY = "tierdesk"
ORGANIZATIONS_FIELD_TYPE = "com.atlassian.servicedesk:sd-customer-organizations"


class MalformedRecord(ValueError):
    """A vendor record lacks a required value or has one of the wrong type; `path` names it."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem


# --------------------------------------------------------------------------------------------------
# Typed accessors


def _walk(obj: Any, path: str) -> Any:
    """The value at a dotted path; None when any step is absent or null (required-ness is the
    caller's business), MalformedRecord when a step is present but not an object."""
    current = obj
    for part in path.split("."):
        if current is None:
            return None
        if not isinstance(current, Mapping):
            raise MalformedRecord(path, f"expected an object before '{part}'")
        current = current.get(part)
    return current


def req_str(obj: JsonObj, path: str) -> str:
    value = _walk(obj, path)
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise MalformedRecord(path, f"expected a string, got {type(value).__name__}")
    return str(value)


def opt_str(obj: JsonObj, path: str) -> str | None:
    value = _walk(obj, path)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise MalformedRecord(path, f"expected a string, got {type(value).__name__}")
    return str(value)


def opt_obj(obj: JsonObj, path: str) -> JsonObj | None:
    value = _walk(obj, path)
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise MalformedRecord(path, f"expected an object, got {type(value).__name__}")
    return value


def opt_list(obj: JsonObj, path: str) -> list[Any]:
    value = _walk(obj, path)
    if value is None:
        return []
    if not isinstance(value, list):
        raise MalformedRecord(path, f"expected a list, got {type(value).__name__}")
    return value


def req_datetime(obj: JsonObj, path: str) -> datetime:
    raw = req_str(obj, path)
    try:
        return parse_jira_datetime(raw)
    except ValueError as exc:
        raise MalformedRecord(path, f"not a Jira timestamp: {raw!r}") from exc


# --------------------------------------------------------------------------------------------------
# Time


def parse_jira_datetime(raw: str) -> datetime:
    """Parse Jira's `2024-01-02T03:04:05.678+0100` (also `Z` and `+01:00`) into an aware datetime."""
    text = raw.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    elif len(text) >= 5 and text[-5] in "+-" and text[-4:].isdigit():
        text = f"{text[:-2]}:{text[-2:]}"
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        raise ValueError(f"timestamp without offset: {raw!r}")
    return parsed


def format_jira_datetime(moment: datetime) -> str:
    """Jira's datetime field format, in UTC: `2024-01-02T03:04:05.000+0000`."""
    if moment.tzinfo is None:
        raise ValueError("format_jira_datetime needs a timezone-aware datetime")
    utc = moment.astimezone(UTC)
    return f"{utc:%Y-%m-%dT%H:%M:%S}.{utc.microsecond // 1000:03d}+0000"


def epoch_ms(moment: datetime) -> int:
    if moment.tzinfo is None:
        raise ValueError("epoch_ms needs a timezone-aware datetime")
    return int(moment.timestamp() * 1000)


# --------------------------------------------------------------------------------------------------
# Atlassian Document Format


def text_to_adf(text: str) -> dict[str, Any]:
    """Plain text as an ADF document: blank lines separate paragraphs, single newlines break lines."""
    paragraphs: list[dict[str, Any]] = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        content: list[dict[str, Any]] = []
        for index, line in enumerate(block.split("\n")):
            if index:
                content.append({"type": "hardBreak"})
            if line:
                content.append({"type": "text", "text": line})
        paragraphs.append({"type": "paragraph", "content": content} if content else {"type": "paragraph"})
    return {"type": "doc", "version": 1, "content": paragraphs}


_BLOCK_NODES = frozenset(
    {
        "paragraph",
        "heading",
        "blockquote",
        "codeBlock",
        "listItem",
        "panel",
        "rule",
        "tableRow",
        "mediaSingle",
        "mediaGroup",
        "expand",
        "nestedExpand",
        "decisionItem",
        "taskItem",
    }
)


def adf_to_text(node: Any) -> str:
    """The readable text of an ADF document (or a v2 plain string, returned unchanged)."""
    if node is None:
        return ""
    if isinstance(node, str):
        return node
    blocks: list[str] = []
    current: list[str] = []

    def flush() -> None:
        if current:
            blocks.append("".join(current).strip("\n"))
            current.clear()

    def visit(item: Any) -> None:
        if not isinstance(item, Mapping):
            return
        kind = item.get("type")
        raw_attrs = item.get("attrs")
        attrs: Mapping[str, Any] = raw_attrs if isinstance(raw_attrs, Mapping) else {}
        if kind == "text":
            current.append(str(item.get("text", "")))
        elif kind == "hardBreak":
            current.append("\n")
        elif kind == "mention":
            current.append(str(attrs.get("text") or "@" + str(attrs.get("id", ""))))
        elif kind == "emoji":
            current.append(str(attrs.get("text") or attrs.get("shortName", "")))
        elif kind in ("inlineCard", "blockCard"):
            current.append(str(attrs.get("url", "")))
        elif kind == "date":
            current.append(str(attrs.get("timestamp", "")))
        elif kind == "status":
            current.append(str(attrs.get("text", "")))
        children = item.get("content")
        if isinstance(children, list):
            if kind in _BLOCK_NODES:
                flush()
            for child in children:
                visit(child)
            if kind in _BLOCK_NODES:
                flush()

    visit(node)
    flush()
    return "\n\n".join(block for block in blocks if block)


def is_adf(value: Any) -> bool:
    return (
        isinstance(value, Mapping) and value.get("type") == "doc" and isinstance(value.get("content"), list)
    )


# --------------------------------------------------------------------------------------------------
# Status and priority

_STATUS_BY_NAME: Mapping[str, Status] = {
    "new": Status.NEW,
    "to do": Status.NEW,
    "backlog": Status.NEW,
    "open": Status.OPEN,
    "reopened": Status.OPEN,
    "waiting for support": Status.OPEN,
    "in progress": Status.OPEN,
    "work in progress": Status.OPEN,
    "escalated": Status.OPEN,
    "waiting for customer": Status.PENDING,
    "pending": Status.PENDING,
    "waiting for approval": Status.ON_HOLD,
    "waiting for third party": Status.ON_HOLD,
    "waiting for vendor": Status.ON_HOLD,
    "on hold": Status.ON_HOLD,
    "resolved": Status.SOLVED,
    "done": Status.SOLVED,
    "completed": Status.SOLVED,
    "closed": Status.CLOSED,
    "canceled": Status.CLOSED,
    "cancelled": Status.CLOSED,
    "declined": Status.CLOSED,
}

_STATUS_BY_CATEGORY: Mapping[str, Status] = {
    "new": Status.NEW,
    "indeterminate": Status.OPEN,
    "done": Status.SOLVED,
}

_PRIORITY_BY_NAME: Mapping[str, Priority] = {
    "highest": Priority.URGENT,
    "blocker": Priority.URGENT,
    "critical": Priority.URGENT,
    "urgent": Priority.URGENT,
    "high": Priority.HIGH,
    "major": Priority.HIGH,
    "medium": Priority.NORMAL,
    "normal": Priority.NORMAL,
    "low": Priority.LOW,
    "minor": Priority.LOW,
    "lowest": Priority.LOW,
    "trivial": Priority.LOW,
}

_DEFAULT_JIRA_PRIORITY: Mapping[Priority, str] = {
    Priority.URGENT: "Highest",
    Priority.HIGH: "High",
    Priority.NORMAL: "Medium",
    Priority.LOW: "Low",
}


def canonical_status(name: str, category_key: str | None, status_map: Mapping[str, Status]) -> Status:
    """The connection's `status_map` (lower-case names) first, then well-known names, then the
    status category (To Do -> new, In Progress -> open, Done -> solved)."""
    lowered = name.strip().lower()
    for source in (_lower_keys(status_map), _STATUS_BY_NAME):
        if lowered in source:
            return Status(source[lowered])
    if category_key and category_key in _STATUS_BY_CATEGORY:
        return _STATUS_BY_CATEGORY[category_key]
    return Status.OPEN


def canonical_priority(name: str | None, priority_map: Mapping[str, Priority]) -> Priority | None:
    if not name:
        return None
    lowered = name.strip().lower()
    mapped = _lower_keys(priority_map)
    if lowered in mapped:
        return Priority(mapped[lowered])
    return _PRIORITY_BY_NAME.get(lowered)


def jira_priority_name(priority: Priority, priority_map: Mapping[str, Priority]) -> str:
    """The Jira priority name to write for a canonical priority (first match in the connection's map,
    else Highest/High/Medium/Low)."""
    for vendor_name, canonical in priority_map.items():
        if Priority(canonical) == priority:
            return vendor_name
    return _DEFAULT_JIRA_PRIORITY[priority]


def _lower_keys(mapping: Mapping[str, Any]) -> dict[str, Any]:
    return {key.strip().lower(): value for key, value in mapping.items()}


# --------------------------------------------------------------------------------------------------
# Issue -> TicketRecord


@dataclass(frozen=True, slots=True)
class IssueContext:
    """What translating an issue needs besides the issue itself (all resolved by the client)."""

    connection: str
    browse_url: str  # `https://site.atlassian.net` (issue URLs are `<browse_url>/browse/<key>`)
    status_map: Mapping[str, Status] = field(default_factory=dict)
    priority_map: Mapping[str, Priority] = field(default_factory=dict)
    field_aliases: Mapping[str, str] = field(default_factory=dict)  # logical name -> field id
    organizations_field: str | None = None
    integration_account_id: str | None = None
    status_categories: Mapping[str, str] = field(default_factory=dict)  # status id or lower name -> key
    organizations_by_account: Mapping[str, Organization] = field(default_factory=dict)


def issue_to_record(
    issue: JsonObj,
    context: IssueContext,
    histories: Sequence[JsonObj] | None = None,
    comments: Sequence[JsonObj] | None = None,
) -> TicketRecord:
    """Translate one issue. `histories`/`comments` replace the (possibly truncated) embedded
    `changelog.histories` and `fields.comment.comments` when the client fetched them in full."""
    issue_id = req_str(issue, "id")
    key = req_str(issue, "key")
    fields = opt_obj(issue, "fields")
    if fields is None:
        raise MalformedRecord("fields", "missing (request fields in the search)")
    created = req_datetime(issue, "fields.created")
    updated = req_datetime(issue, "fields.updated")
    status_name = req_str(issue, "fields.status.name")
    status_category = opt_str(issue, "fields.status.statusCategory.key")
    status = canonical_status(status_name, status_category, context.status_map)
    priority = canonical_priority(opt_str(issue, "fields.priority.name"), context.priority_map)
    reporter_id = opt_str(issue, "fields.reporter.accountId")
    labels = frozenset(str(label) for label in opt_list(issue, "fields.labels"))
    project_key = opt_str(issue, "fields.project.key")

    if histories is None:
        histories = [
            _as_obj(h, f"changelog.histories[{i}]")
            for i, h in enumerate(opt_list(issue, "changelog.histories"))
        ]
    if comments is None:
        comments = [
            _as_obj(c, f"fields.comment.comments[{i}]")
            for i, c in enumerate(opt_list(issue, "fields.comment.comments"))
        ]

    organization = _organization(fields, context, reporter_id)
    ticket_fields = _ticket_fields(fields, context)
    if project_key:
        ticket_fields.setdefault("project", project_key)
    ticket_fields.setdefault("key", key)

    ticket = Ticket(
        connection=context.connection,
        id=issue_id,
        created_at=created,
        updated_at=updated,
        status=status,
        subject=opt_str(issue, "fields.summary") or "",
        description=adf_to_text(fields.get("description")),
        priority=priority,
        requester_id=reporter_id,
        requester_email=opt_str(issue, "fields.reporter.emailAddress"),
        organization=organization,
        tags=labels,
        fields=ticket_fields,
        brand=project_key,
        group_id=ticket_fields.get("group"),
        assignee_id=opt_str(issue, "fields.assignee.accountId"),
        follower_ids=_follower_ids(fields, context),
        url=f"{context.browse_url.rstrip('/')}/browse/{key}",
    )
    events = build_events(issue_id, created, fields, histories, comments, context, reporter_id)
    return TicketRecord(ticket=ticket, events=events)


def _as_obj(value: Any, path: str) -> JsonObj:
    if not isinstance(value, Mapping):
        raise MalformedRecord(path, f"expected an object, got {type(value).__name__}")
    return value


def build_events(
    issue_id: str,
    created: datetime,
    fields: JsonObj,
    histories: Sequence[JsonObj],
    comments: Sequence[JsonObj],
    context: IssueContext,
    reporter_id: str | None,
) -> tuple[Event, ...]:
    """Events of one issue in time order: creation, changelog items, comments."""
    creator_id = opt_str(fields, "creator.accountId") or reporter_id
    events: list[Event] = [
        Event(
            id=f"jira:{issue_id}:created",
            at=created,
            kind=EventKind.CREATED,
            author_id=creator_id,
            by_tierdesk=_is_ours(creator_id, context),
        )
    ]
    for index, history in enumerate(histories):
        events.extend(history_events(history, context, f"changelog[{index}]"))
    for index, comment in enumerate(comments):
        events.append(comment_event(comment, context, reporter_id, f"comments[{index}]"))
    events.sort(key=lambda event: (event.at, event.id))
    return tuple(events)


def history_events(history: JsonObj, context: IssueContext, where: str = "history") -> list[Event]:
    history_id = _prefixed(where, lambda: req_str(history, "id"))
    at = _prefixed(where, lambda: req_datetime(history, "created"))
    author_id = _prefixed(where, lambda: opt_str(history, "author.accountId"))
    ours = _is_ours(author_id, context)
    events: list[Event] = []
    for index, item in enumerate(_prefixed(where, lambda: opt_list(history, "items"))):
        item_obj = _as_obj(item, f"{where}.items[{index}]")
        event_id = f"jira:history:{history_id}:{index}"
        field_name = opt_str(item_obj, "field") or ""
        field_id = opt_str(item_obj, "fieldId") or field_name
        to_string = opt_str(item_obj, "toString")
        # changelog items always carry `fromString` (null when the field was empty)
        from_string = (opt_str(item_obj, "fromString") or "") if "fromString" in item_obj else None
        if field_id == "status" or field_name.lower() == "status":
            category = context.status_categories.get(
                opt_str(item_obj, "to") or ""
            ) or context.status_categories.get((to_string or "").lower())
            events.append(
                Event(
                    id=event_id,
                    at=at,
                    kind=EventKind.STATUS_CHANGE,
                    status=canonical_status(to_string or "", category, context.status_map),
                    field="status",
                    value=to_string,
                    author_id=author_id,
                    by_tierdesk=ours,
                    previous=from_string,
                )
            )
            continue
        if field_id == "priority" or field_name.lower() == "priority":
            canonical = canonical_priority(to_string, context.priority_map)
            if canonical is not None:
                before = canonical_priority(from_string, context.priority_map)
                events.append(
                    Event(
                        id=event_id,
                        at=at,
                        kind=EventKind.PRIORITY_CHANGE,
                        field="priority",
                        value=canonical.value,
                        author_id=author_id,
                        by_tierdesk=ours,
                        previous=None if from_string is None else (before.value if before else ""),
                    )
                )
                continue
        if field_id == "labels":
            # labels are the ticket's tags; the changelog lists them separated by spaces
            events.append(
                Event(
                    id=event_id,
                    at=at,
                    kind=EventKind.FIELD_CHANGE,
                    field=TAGS_FIELD,
                    value=",".join((to_string or "").split()),
                    author_id=author_id,
                    by_tierdesk=ours,
                    previous=None if from_string is None else ",".join(from_string.split()),
                )
            )
            continue
        events.append(
            Event(
                id=event_id,
                at=at,
                kind=EventKind.FIELD_CHANGE,
                field=field_id,
                value=_iso_or(opt_str(item_obj, "to"), to_string),
                author_id=author_id,
                by_tierdesk=ours,
                previous=from_string
                if from_string is None
                else _iso_or(opt_str(item_obj, "from"), from_string),
            )
        )
    return events


_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}.*)?$")


def _iso_or(raw: str | None, text: str | None) -> str | None:
    """A date or date-time item's value as the issue's field shows it. Jira Cloud writes the ISO
    value in `from`/`to` and the agent's display format in the strings (`6/Mar/26`), which no
    rule or target could read; other items keep their display string (`to` holds option and
    user ids there)."""
    if raw and _ISO_DATE.match(raw):
        return raw
    return text


def comment_event(
    comment: JsonObj, context: IssueContext, reporter_id: str | None, where: str = "comment"
) -> Event:
    """A comment as an event: `jsdPublic: false` is internal; a public comment is the customer's when
    its author is a JSM customer account or the issue's reporter, else an agent reply.

    No comment opens an issue: what the request was opened with is its description (also when an
    agent raised it on a customer's behalf), so every comment is `opening=False`."""
    comment_id = _prefixed(where, lambda: req_str(comment, "id"))
    at = _prefixed(where, lambda: req_datetime(comment, "created"))
    author_id = _prefixed(where, lambda: opt_str(comment, "author.accountId"))
    account_type = _prefixed(where, lambda: opt_str(comment, "author.accountType"))
    public = comment.get("jsdPublic", True) is not False
    if not public:
        kind = EventKind.INTERNAL_NOTE
    elif account_type == "customer" or (author_id is not None and author_id == reporter_id):
        kind = EventKind.PUBLIC_CUSTOMER_COMMENT
    else:
        kind = EventKind.PUBLIC_AGENT_REPLY
    return Event(
        id=f"jira:comment:{comment_id}",
        at=at,
        kind=kind,
        author_id=author_id,
        by_tierdesk=_is_ours(author_id, context),
        opening=False,
    )


def _prefixed(where: str, read: Callable[[], _T]) -> _T:
    try:
        return read()
    except MalformedRecord as exc:
        raise MalformedRecord(f"{where}.{exc.path}", exc.problem) from exc


def _is_ours(account_id: str | None, context: IssueContext) -> bool:
    return account_id is not None and account_id == context.integration_account_id


def _organization(fields: JsonObj, context: IssueContext, reporter_id: str | None) -> Organization | None:
    if context.organizations_field:
        values = opt_list(fields, context.organizations_field)
        for index, value in enumerate(values):
            org = _as_obj(value, f"fields.{context.organizations_field}[{index}]")
            org_id = opt_str(org, "id")
            name = opt_str(org, "name")
            if org_id is not None:
                return Organization(id=org_id, name=name or org_id)
    if reporter_id is not None:
        return context.organizations_by_account.get(reporter_id)
    return None


def field_value_text(value: Any) -> str | None:
    """A Jira field value as the string rules compare against (options by value, users by
    accountId, lists joined with commas, ADF as text)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    if is_adf(value):
        return adf_to_text(value)
    if isinstance(value, Mapping):
        for key in ("value", "name", "accountId", "key", "id"):
            if value.get(key) is not None:
                text = str(value[key])
                child = value.get("child")
                if key == "value" and isinstance(child, Mapping) and child.get("value"):
                    text = f"{text}/{child['value']}"
                return text
        return None
    if isinstance(value, list):
        parts = [part for part in (field_value_text(item) for item in value) if part]
        return ",".join(parts) if parts else None
    return None


def _ticket_fields(fields: JsonObj, context: IssueContext) -> dict[str, str]:
    result: dict[str, str] = {}
    for field_id, value in fields.items():
        if not field_id.startswith("customfield_"):
            continue
        text = field_value_text(value)
        if text is not None:
            result[field_id] = text
    for well_known in ("issuetype", "resolution", "components"):
        text = field_value_text(fields.get(well_known))
        if text is not None:
            result[well_known] = text
    for logical, field_id in context.field_aliases.items():
        if field_id in result:
            result.setdefault(logical, result[field_id])
        elif field_id in fields:
            text = field_value_text(fields[field_id])
            if text is not None:
                result.setdefault(logical, text)
    return result


def _follower_ids(fields: JsonObj, context: IssueContext) -> frozenset[str]:
    field_id = context.field_aliases.get("followers")
    if not field_id:
        return frozenset()
    ids = set()
    for item in opt_list(fields, field_id):
        if isinstance(item, Mapping) and item.get("accountId"):
            ids.add(str(item["accountId"]))
    return frozenset(ids)


# --------------------------------------------------------------------------------------------------
# Actions -> one edit per issue


@dataclass(frozen=True, slots=True)
class FieldInfo:
    """What the edit builder needs to know about a Jira field (from `GET /field`)."""

    id: str
    name: str
    type: str  # schema.type: string, number, datetime, date, option, array, user, group, ...
    items: str | None = None  # schema.items for arrays
    custom: str | None = None  # schema.custom, e.g. ...customfieldtypes:textarea
    options: Mapping[str, str] = field(default_factory=dict)  # lower-case value -> exact option value


@dataclass(slots=True)
class IssueEdit:
    """The plan for one issue in one push: a single `PUT /issue/{id}` body plus the calls Jira cannot
    fold into it (comments, watchers). `parts` maps each action key included in the PUT to the field
    ids it touches, so a 400 naming a field can be pinned on the right action."""

    issue_id: str
    fields: dict[str, Any] = field(default_factory=dict)
    update: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    properties: list[dict[str, Any]] = field(default_factory=list)
    parts: dict[str, tuple[str, ...]] = field(default_factory=dict)
    notes: list[Action] = field(default_factory=list)
    watchers: list[tuple[Action, tuple[str, ...]]] = field(default_factory=list)
    settled: dict[str, tuple[str, str]] = field(default_factory=dict)  # key -> (outcome, message)

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {}
        if self.fields:
            body["fields"] = self.fields
        if self.update:
            body["update"] = self.update
        if self.properties:
            body["properties"] = self.properties
        return body

    @property
    def has_edit(self) -> bool:
        return bool(self.parts)


@dataclass(frozen=True, slots=True)
class EditContext:
    field_aliases: Mapping[str, str]  # logical name -> field id
    field_info: Mapping[str, FieldInfo]  # field id -> info
    priority_map: Mapping[str, Priority] = field(default_factory=dict)
    current_priority: Priority | None = None  # the issue's priority right before this push
    adf: bool = True  # REST v3: rich-text fields take ADF documents


def plan_issue_edit(issue_id: str, actions: Sequence[Action], context: EditContext) -> IssueEdit:
    """Fold all of one issue's actions into a single edit.

    Labels are only ever added/removed through `update` (never `set`, so an agent's labels survive);
    priority is only raised; several label actions on the same label resolve to the last one.
    `settled` receives actions decided without a call: `already_applied` (priority already as high)
    or `failed` (an unmapped field, an unusable value)."""
    edit = IssueEdit(issue_id=issue_id)
    label_ops: dict[str, tuple[str, str]] = {}  # label -> (op, action key)
    label_keys: list[str] = []
    priority_actions: list[tuple[Priority, Action]] = []
    for action in actions:
        kind = ActionKind(action.kind)
        if kind in (ActionKind.ADD_TAGS, ActionKind.REMOVE_TAGS):
            op = "add" if kind == ActionKind.ADD_TAGS else "remove"
            for label in action.values:
                cleaned = label.strip().replace(" ", "_")
                if cleaned:
                    label_ops[cleaned] = (op, action.key)
            label_keys.append(action.key)
        elif kind == ActionKind.SET_PRIORITY:
            try:
                priority_actions.append((Priority(str(action.value).lower()), action))
            except ValueError:
                edit.settled[action.key] = ("failed", f"unknown priority {action.value!r}")
        elif kind == ActionKind.ASSIGN_ASSIGNEE:
            edit.fields["assignee"] = {"accountId": action.value} if action.value else None
            edit.parts[action.key] = ("assignee",)
        elif kind == ActionKind.ASSIGN_GROUP:
            group_field = context.field_aliases.get("group")
            if not group_field:
                edit.settled[action.key] = (
                    "failed",
                    "Jira issues have no group assignee; "
                    "map a group picker field as `group` in the connection",
                )
                continue
            edit.fields[group_field] = {"name": action.value} if action.value else None
            edit.parts[action.key] = (group_field,)
        elif kind == ActionKind.ADD_FOLLOWERS:
            participants = context.field_aliases.get("followers")
            if participants:
                ops = edit.update.setdefault(participants, [])
                ops.extend({"add": {"accountId": account}} for account in action.values)
                edit.parts[action.key] = (participants,)
            else:
                edit.watchers.append((action, tuple(action.values)))
        elif kind == ActionKind.SET_FIELD:
            _plan_field(edit, action, context)
        elif kind == ActionKind.SET_PROPERTY:
            property_key = action.field or MARKER_PROPERTY
            edit.properties = [p for p in edit.properties if p["key"] != property_key]
            edit.properties.append({"key": property_key, "value": _json_value(action.value)})
            edit.parts[action.key] = (f"property:{property_key}",)
        elif kind == ActionKind.ADD_NOTE:
            edit.notes.append(action)
        else:  # pragma: no cover - ActionKind is closed
            edit.settled[action.key] = ("failed", f"unsupported action {kind}")
    if priority_actions:
        wanted = max((p for p, _ in priority_actions), key=lambda p: p.rank)
        current = context.current_priority
        if current is not None and wanted.rank <= current.rank:
            for _, action in priority_actions:
                edit.settled[action.key] = (
                    "already_applied",
                    f"issue priority is already {current.value}; tierdesk never lowers it",
                )
        else:
            edit.fields["priority"] = {"name": jira_priority_name(wanted, context.priority_map)}
            for _, action in priority_actions:
                edit.parts[action.key] = ("priority",)
    if label_ops:
        edit.update["labels"] = [{op: label} for label, (op, _key) in sorted(label_ops.items())]
    for key in label_keys:
        edit.parts[key] = ("labels",)
    return edit


def _plan_field(edit: IssueEdit, action: Action, context: EditContext) -> None:
    logical = action.field or ""
    field_id = context.field_aliases.get(logical) or (logical if _looks_like_field_id(logical) else None)
    if not field_id:
        edit.settled[action.key] = (
            "failed",
            f"field {logical!r} is not mapped to a Jira field in the connection's `fields`",
        )
        return
    info = context.field_info.get(field_id)
    try:
        value = jira_field_value(action.value, info, adf=context.adf)
    except ValueError as exc:
        edit.settled[action.key] = ("failed", f"{logical} ({field_id}): {exc}")
        return
    edit.fields[field_id] = value
    edit.parts[action.key] = (field_id,)


def _looks_like_field_id(name: str) -> bool:
    return name.startswith("customfield_") or name in ("duedate", "summary", "environment")


def jira_field_value(value: str | None, info: FieldInfo | None, *, adf: bool = True) -> Any:
    """A tierdesk string value in the shape Jira's edit API expects for the field's type."""
    if value is None or value == "":
        return None
    kind = info.type if info else "string"
    if kind == "datetime":
        return format_jira_datetime(_parse_iso(value))
    if kind == "date":
        return _parse_iso(value).date().isoformat() if "T" in value else value
    if kind == "number":
        return float(value)
    if kind == "option":
        exact = info.options.get(value.strip().lower(), value) if info else value
        return {"value": exact}
    if kind == "array" and info is not None and info.items == "option":
        return [
            {"value": info.options.get(v.strip().lower(), v.strip())} for v in value.split(",") if v.strip()
        ]
    if kind == "array" and info is not None and info.items == "string":
        return [v.strip() for v in value.split(",") if v.strip()]
    if kind == "user":
        return {"accountId": value}
    if kind == "group":
        return {"name": value}
    if adf and info is not None and (info.custom or "").endswith(":textarea"):
        return text_to_adf(value)
    return value


def _parse_iso(value: str) -> datetime:
    try:
        parsed = parse_jira_datetime(value)
    except ValueError as exc:
        raise ValueError(f"not an ISO 8601 timestamp with offset: {value!r}") from exc
    return parsed


def _json_value(raw: str | None) -> Any:
    if raw is None:
        return {}
    try:
        return json.loads(raw)
    except ValueError:
        return {"value": raw}


def note_body(text: str, marker: str | None, rest_api_version: str) -> dict[str, Any]:
    """`POST /issue/{id}/comment` body for an internal JSM note carrying tierdesk's marker."""
    properties: list[dict[str, Any]] = [{"key": JSM_PUBLIC_PROPERTY, "value": {"internal": True}}]
    if marker:
        properties.append({"key": MARKER_PROPERTY, "value": {"marker": marker}})
    body: Any = text_to_adf(text) if rest_api_version == "3" else text
    return {"body": body, "properties": properties}


def comment_markers(comments: Iterable[JsonObj]) -> set[str]:
    """Markers of tierdesk notes among comments fetched with `expand=properties`."""
    found: set[str] = set()
    for comment in comments:
        for prop in comment.get("properties") or ():
            if isinstance(prop, Mapping) and prop.get("key") == MARKER_PROPERTY:
                value = prop.get("value")
                if isinstance(value, Mapping) and value.get("marker"):
                    found.add(str(value["marker"]))
    return found
