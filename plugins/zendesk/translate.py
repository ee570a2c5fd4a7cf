"""Pure translation between Zendesk JSON and tierdesk's domain: no I/O, no clock, no zenpy.

Reading: `ticket_from_json`, `organization_from_json`, `events_from_ticket_event` (one entry of the
ticket events export) and `events_from_audit` (one audit of the audits API) read vendor records
through typed accessors (`plugins.zendesk.accessors`); a record that does not have the expected
shape raises `MalformedRecord` naming the failing path (`tickets[].custom_fields[2].id`), which
the client turns into a `SkippedRecord`. Custom statuses: `custom_status_map`.

Writing: the internal note's body with its marker line (`note_body`, `markers_in`); the Update
Many entry itself is built in `plugins.zendesk.update`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from connector.domain.model import Event, EventKind, Organization, Priority, Status, Ticket
from plugins.zendesk.accessors import (
    MalformedRecord,
    field_of,
    field_value,
    opt_int,
    opt_str,
    req_int,
    req_str,
    req_time,
    str_list,
)

STATUS_MAP: Mapping[str, Status] = {
    "new": Status.NEW,
    "open": Status.OPEN,
    "pending": Status.PENDING,
    "hold": Status.ON_HOLD,
    "solved": Status.SOLVED,
    "closed": Status.CLOSED,
}
PRIORITY_MAP: Mapping[str, Priority] = {
    "low": Priority.LOW,
    "normal": Priority.NORMAL,
    "high": Priority.HIGH,
    "urgent": Priority.URGENT,
}
AGENT_ROLES = frozenset({"agent", "admin"})

# An internal note ends with this line; Zendesk keeps a comment's plain `body` verbatim (HTML
# comments in `html_body` are sanitised away), so the marker survives and is searchable.
MARKER_PREFIX = "tierdesk-ref:"
_MARKER_LINE = re.compile(r"\[" + re.escape(MARKER_PREFIX) + r"([A-Za-z0-9_.:\-]+)\]")


# ----------------------------------------------------------------------------- vendor -> domain
@dataclass(frozen=True)
class ReadContext:
    """How one connection reads Zendesk: field ids to logical names, status/priority overrides."""

    connection: str
    field_names: Mapping[str, str] = field(default_factory=dict)  # field id -> logical name
    status_map: Mapping[str, Status] = field(default_factory=dict)
    priority_map: Mapping[str, Priority] = field(default_factory=dict)
    # custom status id -> (agent label, canonical status), see `custom_status_map`
    custom_statuses: Mapping[str, tuple[str, Status]] = field(default_factory=dict)

    def status(self, raw: str, path: str) -> Status:
        found = self.status_map.get(raw.lower()) or STATUS_MAP.get(raw.lower())
        if found is None:
            raise MalformedRecord(path, f"unknown status {raw!r}")
        return found

    def custom_status(self, raw: Any) -> tuple[str, Status] | None:
        """The label and canonical status of a `custom_status_id`; None when unknown (the ticket's
        `status` then decides)."""
        return self.custom_statuses.get(str(raw)) if raw is not None else None

    def priority(self, raw: str | None, path: str) -> Priority | None:
        if raw is None or raw == "":
            return None
        found = self.priority_map.get(raw.lower()) or PRIORITY_MAP.get(raw.lower())
        if found is None:
            raise MalformedRecord(path, f"unknown priority {raw!r}")
        return found


def custom_status_map(
    raw_statuses: Sequence[Any], status_map: Mapping[str, Status]
) -> dict[str, tuple[str, Status]]:
    """Each custom status (`/api/v2/custom_statuses`) by id: its agent label and the canonical
    status it means. `status_map` may name a custom status by id or by agent label (any case);
    one it does not name means what its `status_category` means (`status_map` on the category
    name first, e.g. `hold: open`, then the standard meaning)."""
    lowered = {key.strip().lower(): value for key, value in status_map.items()}
    out: dict[str, tuple[str, Status]] = {}
    for i, raw in enumerate(raw_statuses):
        path = f"custom_statuses[{i}]"
        status_id = str(req_int(raw, "id", path))
        label = opt_str(raw, "agent_label", path) or status_id
        category = req_str(raw, "status_category", path)
        meaning = (
            lowered.get(status_id)
            or lowered.get(label.lower())
            or lowered.get(category.lower())
            or STATUS_MAP.get(category.lower())
        )
        if meaning is None:
            raise MalformedRecord(f"{path}.status_category", f"unknown status category {category!r}")
        out[status_id] = (label, meaning)
    return out


def organization_from_json(raw: Mapping[str, Any], path: str = "organization") -> Organization:
    fields_raw = raw.get("organization_fields") or {}
    if not isinstance(fields_raw, Mapping):
        raise MalformedRecord(f"{path}.organization_fields", "expected an object")
    fields = {str(k): v for k, v in ((k, field_value(v)) for k, v in fields_raw.items()) if v is not None}
    external = raw.get("external_id")
    return Organization(
        id=str(req_int(raw, "id", path)),
        name=req_str(raw, "name", path),
        external_id=str(external) if external is not None else None,
        tags=frozenset(t.lower() for t in str_list(raw, "tags", path)),
        fields=fields,
    )


def _ticket_status(raw: Mapping[str, Any], mapping: ReadContext, path: str) -> Status:
    status = mapping.status(req_str(raw, "status", path), f"{path}.status")
    custom = mapping.custom_status(raw.get("custom_status_id"))
    # A closed ticket keeps its solved custom status: closed stays closed.
    return custom[1] if custom is not None and status is not Status.CLOSED else status


def agent_url(api_url: str | None, ticket_id: int) -> str | None:
    """The agent-interface link of a ticket, from its API `url`."""
    if not api_url or "/api/v2/" not in api_url:
        return None
    return f"{api_url.split('/api/v2/', 1)[0]}/agent/tickets/{ticket_id}"


def is_deleted(raw: Mapping[str, Any]) -> bool:
    return isinstance(raw, Mapping) and bool(raw.get("status") == "deleted")


def ticket_from_json(
    raw: Mapping[str, Any],
    mapping: ReadContext,
    *,
    organization: Organization | None = None,
    requester_email: str | None = None,
    path: str = "ticket",
) -> Ticket:
    """A ticket of the export, show or show_many APIs as a domain `Ticket`.

    Custom field values are stored under the raw field id and, when the connection names the
    field, under its logical name too."""
    ticket_id = req_int(raw, "id", path)
    fields: dict[str, str] = {}
    customs = raw.get("custom_fields") or []
    if not isinstance(customs, list):
        raise MalformedRecord(f"{path}.custom_fields", "expected a list")
    for i, cf in enumerate(customs):
        cpath = f"{path}.custom_fields[{i}]"
        fid = req_int(cf, "id", cpath)
        value = field_value(cf.get("value"))
        if value is None or value == "":
            continue
        fields[str(fid)] = value
        logical = mapping.field_names.get(str(fid))
        if logical:
            fields[logical] = value
    ticket_type = opt_str(raw, "type", path)
    if ticket_type:
        fields.setdefault("type", ticket_type)
    return Ticket(
        connection=mapping.connection,
        id=str(ticket_id),
        created_at=req_time(raw, "created_at", path),
        updated_at=req_time(raw, "updated_at", path),
        status=_ticket_status(raw, mapping, path),
        subject=opt_str(raw, "subject", path) or "",
        description=opt_str(raw, "description", path) or "",
        priority=mapping.priority(opt_str(raw, "priority", path), f"{path}.priority"),
        requester_id=_id_str(opt_int(raw, "requester_id", path)),
        requester_email=requester_email,
        organization=organization,
        tags=frozenset(t.lower() for t in str_list(raw, "tags", path)),
        fields=fields,
        brand=_id_str(opt_int(raw, "brand_id", path)),
        group_id=_id_str(opt_int(raw, "group_id", path)),
        assignee_id=_id_str(opt_int(raw, "assignee_id", path)),
        follower_ids=frozenset(str(f) for f in (raw.get("follower_ids") or [])),
        url=agent_url(opt_str(raw, "url", path), ticket_id),
    )


def _id_str(value: int | None) -> str | None:
    return str(value) if value is not None else None


@dataclass(frozen=True)
class People:
    """What translation needs to know about users: roles by user id and the integration user."""

    roles: Mapping[str, str] = field(default_factory=dict)  # user id -> end-user | agent | admin
    me: str | None = None
    requester_id: str | None = None

    def is_agent(self, user_id: str | None) -> bool:
        if user_id is None:
            return False
        role = self.roles.get(user_id)
        if role is not None:
            return role in AGENT_ROLES
        return user_id != self.requester_id  # unknown users: only the requester counts as a customer


_META_KEYS = frozenset(
    {
        "id",
        "via",
        "via_reference_id",
        "event_type",
        "type",
        "previous_value",
        "added_tags",
        "removed_tags",
        "audit_id",
        "created_at",
        "attachments",
    }
)


def _child_change(child: Mapping[str, Any], path: str) -> tuple[str, Any]:
    """(field, value) of a Create/Change child event in either shape: audits carry
    `field_name`/`value`, the ticket events export names the field as the key."""
    if "field_name" in child:
        return str(child["field_name"]), child.get("value")
    names = [k for k in child if k not in _META_KEYS]
    if not names and "type" in child and "event_type" in child:
        names = ["type"]  # the ticket type field, next to the export's own event_type
    if len(names) != 1:
        raise MalformedRecord(path, f"cannot tell which field changed among {sorted(names)}")
    return names[0], child[names[0]]


def _events_from_children(
    *,
    audit_id: int,
    at: datetime,
    updater: str | None,
    children: Sequence[Any],
    mapping: ReadContext,
    people: People,
    path: str,
) -> list[Event]:
    events: list[Event] = []
    by_me = updater is not None and updater == people.me
    created_status: Status | None = None
    # The audit that created the ticket carries its Create events and the comment it was opened
    # with: an agent's opening comment (a logged phone call) is no reply to the customer.
    is_create = any(
        isinstance(child, Mapping) and (child.get("event_type") or child.get("type")) == "Create"
        for child in children
    )
    # A known custom status is more precise than the status category changed beside it.
    custom_change = _custom_status_change(children, mapping)
    for i, child in enumerate(children):
        cpath = f"{path}[{i}]"
        if type(child) is not dict and not isinstance(child, Mapping):
            raise MalformedRecord(cpath, "expected an object")
        kind = child.get("event_type") or child.get("type")
        if kind is None and len([k for k in child if k not in _META_KEYS]) == 1:
            kind = "Change"  # older export entries carry only the changed field
        child_id = child.get("id", i)
        event_id = f"{audit_id}:{child_id}"
        if kind == "Comment":
            public = child.get("public", child.get("comment_public"))
            if not isinstance(public, bool):
                raise MalformedRecord(f"{cpath}.public", f"expected a boolean, got {public!r}")
            author_raw = child.get("author_id", updater)
            author = str(author_raw) if author_raw is not None else None
            if not public:
                kind_out = EventKind.INTERNAL_NOTE
            elif people.is_agent(author):
                kind_out = EventKind.PUBLIC_AGENT_REPLY
            else:
                kind_out = EventKind.PUBLIC_CUSTOMER_COMMENT
            comment_at = req_time(child, "created_at", cpath) if "created_at" in child else at
            events.append(
                Event(
                    id=event_id,
                    at=comment_at,
                    kind=kind_out,
                    author_id=author,
                    by_tierdesk=author is not None and author == people.me,
                    opening=is_create,
                )
            )
        elif kind in ("Create", "Change"):
            name, value = _child_change(child, cpath)
            if kind == "Create":
                if name == "status" and isinstance(value, str) and created_status is None:
                    created_status = mapping.status(value, f"{cpath}.{name}")
                elif name == "custom_status_id" and (custom := mapping.custom_status(value)) is not None:
                    created_status = custom[1]
                continue
            if name == "custom_status_id" and (custom := mapping.custom_status(value)) is not None:
                before = mapping.custom_status(child.get("previous_value"))
                events.append(
                    Event(
                        id=event_id,
                        at=at,
                        kind=EventKind.STATUS_CHANGE,
                        status=custom[1],
                        value=custom[0],
                        author_id=updater,
                        by_tierdesk=by_me,
                        previous=before[0] if before is not None else _previous(child),
                    )
                )
            elif name == "status" and custom_change:
                continue
            elif name == "status":
                if not isinstance(value, str):
                    raise MalformedRecord(f"{cpath}.status", f"expected a status, got {value!r}")
                status = mapping.status(value, f"{cpath}.status")
                events.append(
                    Event(
                        id=event_id,
                        at=at,
                        kind=EventKind.STATUS_CHANGE,
                        status=status,
                        value=value,
                        author_id=updater,
                        by_tierdesk=by_me,
                        previous=_previous(child),
                    )
                )
            elif name == "priority":
                priority = mapping.priority(value if isinstance(value, str) else None, f"{cpath}.priority")
                previous = _previous(child)
                if previous:
                    before = mapping.priority(previous, f"{cpath}.previous_value")
                    previous = before.value if before else ""
                events.append(
                    Event(
                        id=event_id,
                        at=at,
                        kind=EventKind.PRIORITY_CHANGE,
                        value=priority.value if priority else None,
                        author_id=updater,
                        by_tierdesk=by_me,
                        previous=previous,
                    )
                )
            elif name.isdigit() or name in ("group_id", "assignee_id", "tags"):
                events.append(
                    Event(
                        id=event_id,
                        at=at,
                        kind=EventKind.FIELD_CHANGE,
                        field=mapping.field_names.get(name, name) if name.isdigit() else name,
                        value=field_value(value),
                        author_id=updater,
                        by_tierdesk=by_me,
                        previous=_previous(child),
                    )
                )
    if is_create:
        events.insert(
            0,
            Event(
                id=f"{audit_id}:created",
                at=at,
                kind=EventKind.CREATED,
                status=created_status,
                author_id=updater,
                by_tierdesk=by_me,
            ),
        )
    return events


def _custom_status_change(children: Sequence[Any], mapping: ReadContext) -> bool:
    for child in children:
        if not isinstance(child, Mapping) or (child.get("event_type") or child.get("type")) != "Change":
            continue
        value = child.get("value") if child.get("field_name") == "custom_status_id" else None
        value = child.get("custom_status_id", value)
        if mapping.custom_status(value) is not None:
            return True
    return False


def _previous(child: Mapping[str, Any]) -> str | None:
    """A Change event's `previous_value` as the domain stores it: `""` for none, None when the
    record does not say."""
    if "previous_value" not in child:
        return None
    return field_value(child["previous_value"]) or ""


def events_from_ticket_event(
    raw: Mapping[str, Any], mapping: ReadContext, people: People, path: str = "ticket_events[]"
) -> list[Event]:
    """Domain events of one entry of the ticket events export (`include=comment_events`)."""
    audit_id = req_int(raw, "id", path)
    at = req_time(raw, "created_at", path) if "created_at" in raw else req_time(raw, "timestamp", path)
    updater = opt_int(raw, "updater_id", path)
    children = field_of(raw, "child_events", path)
    if not isinstance(children, list):
        raise MalformedRecord(f"{path}.child_events", "expected a list")
    return _events_from_children(
        audit_id=audit_id,
        at=at,
        updater=_id_str(updater),
        children=children,
        mapping=mapping,
        people=people,
        path=f"{path}.child_events",
    )


def events_from_audit(
    raw: Mapping[str, Any], mapping: ReadContext, people: People, path: str = "audits[]"
) -> list[Event]:
    """Domain events of one audit of the ticket audits API."""
    audit_id = req_int(raw, "id", path)
    at = req_time(raw, "created_at", path)
    author = opt_int(raw, "author_id", path)
    children = field_of(raw, "events", path)
    if not isinstance(children, list):
        raise MalformedRecord(f"{path}.events", "expected a list")
    return _events_from_children(
        audit_id=audit_id,
        at=at,
        updater=_id_str(author),
        children=children,
        mapping=mapping,
        people=people,
        path=f"{path}.events",
    )


def comment_authors(raw_events: Iterable[Mapping[str, Any]]) -> set[str]:
    """User ids that authored comments or updates in ticket-events or audit records."""
    ids: set[str] = set()
    for raw in raw_events:
        updater = raw.get("updater_id", raw.get("author_id"))
        if isinstance(updater, int) and updater > 0:
            ids.add(str(updater))
        for child in raw.get("child_events", raw.get("events", [])) or []:
            if isinstance(child, Mapping) and isinstance(child.get("author_id"), int):
                ids.add(str(child["author_id"]))
    return ids


# ----------------------------------------------------------------------------- domain -> vendor
def marker_line(marker: str) -> str:
    return f"[{MARKER_PREFIX}{marker}]"


def note_body(body: str, marker: str | None) -> str:
    """The internal note as sent: the body, then the marker on its own last line."""
    if not marker:
        return body
    return f"{body.rstrip()}\n\n{marker_line(marker)}"


def markers_in(text: str) -> set[str]:
    return set(_MARKER_LINE.findall(text or ""))
