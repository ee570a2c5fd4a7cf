"""Domain objects <-> JSON documents, for the store's `data` / `payload` columns.

Datetimes are ISO 8601 with their offset, durations are seconds, frozensets are sorted lists,
enums are stored by value. Decoding refuses naive datetimes, so a document written by hand or by
an older version cannot smuggle one into the domain.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from connector.domain.model import Event, EventKind, Organization, Priority, Status, Ticket
from connector.domain.policy import ActionKind, Metric
from connector.domain.results import Action, ClockState, SlaClock, Span

Document = dict[str, Any]


def encode_instant(value: datetime) -> str:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"naive datetime {value.isoformat()} cannot be stored; pass an aware instant")
    return value.isoformat()


def decode_instant(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        raise ValueError(f"stored instant {text!r} has no UTC offset")
    return value


def _optional_instant(value: datetime | None) -> str | None:
    return None if value is None else encode_instant(value)


def _decode_optional_instant(text: str | None) -> datetime | None:
    return None if text is None else decode_instant(text)


def _sorted(values: Iterable[str]) -> list[str]:
    return sorted(values)


def _string_map(values: Mapping[str, str]) -> dict[str, str]:
    return {str(name): str(value) for name, value in sorted(values.items())}


def encode_organization(org: Organization) -> Document:
    return {
        "id": org.id,
        "name": org.name,
        "external_id": org.external_id,
        "tags": _sorted(org.tags),
        "fields": _string_map(org.fields),
    }


def decode_organization(doc: Mapping[str, Any]) -> Organization:
    return Organization(
        id=doc["id"],
        name=doc["name"],
        external_id=doc.get("external_id"),
        tags=frozenset(doc.get("tags", ())),
        fields=dict(doc.get("fields", {})),
    )


def encode_ticket(ticket: Ticket) -> Document:
    return {
        "connection": ticket.connection,
        "id": ticket.id,
        "created_at": encode_instant(ticket.created_at),
        "updated_at": encode_instant(ticket.updated_at),
        "status": ticket.status.value,
        "subject": ticket.subject,
        "description": ticket.description,
        "priority": None if ticket.priority is None else ticket.priority.value,
        "requester_id": ticket.requester_id,
        "requester_email": ticket.requester_email,
        "organization": None if ticket.organization is None else encode_organization(ticket.organization),
        "tags": _sorted(ticket.tags),
        "fields": _string_map(ticket.fields),
        "brand": ticket.brand,
        "group_id": ticket.group_id,
        "assignee_id": ticket.assignee_id,
        "follower_ids": _sorted(ticket.follower_ids),
        "url": ticket.url,
    }


def decode_ticket(doc: Mapping[str, Any]) -> Ticket:
    priority = doc.get("priority")
    organization = doc.get("organization")
    return Ticket(
        connection=doc["connection"],
        id=doc["id"],
        created_at=decode_instant(doc["created_at"]),
        updated_at=decode_instant(doc["updated_at"]),
        status=Status(doc["status"]),
        subject=doc.get("subject", ""),
        description=doc.get("description", ""),
        priority=None if priority is None else Priority(priority),
        requester_id=doc.get("requester_id"),
        requester_email=doc.get("requester_email"),
        organization=None if organization is None else decode_organization(organization),
        tags=frozenset(doc.get("tags", ())),
        fields=dict(doc.get("fields", {})),
        brand=doc.get("brand"),
        group_id=doc.get("group_id"),
        assignee_id=doc.get("assignee_id"),
        follower_ids=frozenset(doc.get("follower_ids", ())),
        url=doc.get("url"),
    )


def encode_event(event: Event) -> Document:
    return {
        "id": event.id,
        "at": encode_instant(event.at),
        "kind": event.kind.value,
        "status": None if event.status is None else event.status.value,
        "field": event.field,
        "value": event.value,
        "author_id": event.author_id,
        "by_tierdesk": event.by_tierdesk,
        "previous": event.previous,
        "opening": event.opening,
    }


def decode_event(doc: Mapping[str, Any]) -> Event:
    status = doc.get("status")
    return Event(
        id=doc["id"],
        at=decode_instant(doc["at"]),
        kind=EventKind(doc["kind"]),
        status=None if status is None else Status(status),
        field=doc.get("field"),
        value=doc.get("value"),
        author_id=doc.get("author_id"),
        by_tierdesk=bool(doc.get("by_tierdesk", False)),
        # absent from events stored before these were recorded: None means "not known"
        previous=doc.get("previous"),
        opening=doc.get("opening"),
    )


def encode_action(action: Action) -> Document:
    return {
        "key": action.key,
        "connection": action.connection,
        "ticket_id": action.ticket_id,
        "kind": action.kind.value,
        "value": action.value,
        "values": list(action.values),
        "field": action.field,
        "marker": action.marker,
        "reason": action.reason,
        "superseded": action.superseded,
        "basis": _optional_instant(action.basis),
        "at": _optional_instant(action.at),
        "crossing": action.crossing,
    }


def decode_action(doc: Mapping[str, Any]) -> Action:
    return Action(
        key=doc["key"],
        connection=doc["connection"],
        ticket_id=doc["ticket_id"],
        kind=ActionKind(doc["kind"]),
        value=doc.get("value"),
        values=tuple(doc.get("values", ())),
        field=doc.get("field"),
        marker=doc.get("marker"),
        reason=doc.get("reason", ""),
        superseded=bool(doc.get("superseded", False)),
        basis=_decode_optional_instant(doc.get("basis")),
        at=_decode_optional_instant(doc.get("at")),
        crossing=doc.get("crossing"),
    )


def encode_duration(value: timedelta) -> float:
    return value.total_seconds()


def decode_duration(seconds: float) -> timedelta:
    return timedelta(seconds=seconds)


def encode_span(span: Span) -> Document:
    return {"start": encode_instant(span.start), "end": _optional_instant(span.end)}


def decode_span(doc: Mapping[str, Any]) -> Span:
    return Span(start=decode_instant(doc["start"]), end=_decode_optional_instant(doc.get("end")))


def encode_clock(clock: SlaClock) -> Document:
    return {
        "metric": clock.metric.value,
        "cycle": clock.cycle,
        "started_at": encode_instant(clock.started_at),
        "stopped_at": _optional_instant(clock.stopped_at),
        "target": encode_duration(clock.target),
        "elapsed": encode_duration(clock.elapsed),
        "paused_spans": [encode_span(span) for span in clock.paused_spans],
        "due_at": _optional_instant(clock.due_at),
        "breached_at": _optional_instant(clock.breached_at),
        "state": clock.state.value,
        "calendar": clock.calendar,
        **({"condition": clock.condition} if clock.condition else {}),
    }


def decode_clock(doc: Mapping[str, Any]) -> SlaClock:
    return SlaClock(
        metric=Metric(doc["metric"]),
        cycle=int(doc["cycle"]),
        started_at=decode_instant(doc["started_at"]),
        stopped_at=_decode_optional_instant(doc.get("stopped_at")),
        target=decode_duration(doc["target"]),
        elapsed=decode_duration(doc["elapsed"]),
        paused_spans=tuple(decode_span(span) for span in doc.get("paused_spans", ())),
        due_at=_decode_optional_instant(doc.get("due_at")),
        breached_at=_decode_optional_instant(doc.get("breached_at")),
        state=ClockState(doc["state"]),
        calendar=doc["calendar"],
        condition=doc.get("condition", ""),
    )
