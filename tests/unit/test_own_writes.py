"""`connector.own_writes.only_own_change`: what counts as tierdesk's own write-back only."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from connector.domain.model import Event, EventKind, Priority, Status, Ticket
from connector.own_writes import only_own_change
from connector.ports import LoadedTicket, TicketRecord

T0 = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)
T1 = T0 + timedelta(minutes=1)
BASE = Ticket(
    connection="zd",
    id="1",
    created_at=T0 - timedelta(hours=1),
    updated_at=T0,
    status=Status.OPEN,
    subject="Checkout is down",
    tags=frozenset({"agent_keep"}),
    fields={"39000000002": "", "sla_due": ""},
)
OPENED = Event(id="10:created", at=T0 - timedelta(hours=1), kind=EventKind.CREATED, author_id="7")
STORED = LoadedTicket(ticket=BASE, events=(OPENED,), seen_at=T0, settled=())
DUE = "2026-03-04T13:00:00+00:00"
WRITTEN = replace(
    BASE,
    updated_at=T1,
    tags=BASE.tags | {"tier_enterprise"},
    fields={"39000000002": DUE, "sla_due": DUE},
    priority=Priority.URGENT,
)


def own(
    n: int, kind: EventKind = EventKind.FIELD_CHANGE, field: str | None = None, by_me: bool = True
) -> Event:
    return Event(
        id=f"20:{n}", at=T1, kind=kind, field=field, author_id="99" if by_me else "7", by_tierdesk=by_me
    )


OWN_EVENTS = (
    own(0, field="tags"),
    own(1, field="sla_due"),
    own(2, EventKind.PRIORITY_CHANGE),
    own(3, EventKind.INTERNAL_NOTE),
)


def test_tags_fields_priority_and_a_note_written_by_tierdesk_are_its_own_change() -> None:
    assert only_own_change(STORED, TicketRecord(WRITTEN, (OPENED, *OWN_EVENTS)))


def test_an_event_by_anyone_else_among_the_new_ones_is_not() -> None:
    reply = Event(id="21:0", at=T1, kind=EventKind.PUBLIC_AGENT_REPLY, author_id="7")
    assert not only_own_change(STORED, TicketRecord(WRITTEN, (*OWN_EVENTS, reply)))


def test_no_new_event_at_all_is_not_own() -> None:
    assert not only_own_change(STORED, TicketRecord(replace(BASE, updated_at=T1), (OPENED,)))


def test_a_changed_attribute_no_event_of_tierdesk_names_is_not_own() -> None:
    status = replace(WRITTEN, status=Status.PENDING)  # e.g. a change whose event was not read
    assert not only_own_change(STORED, TicketRecord(status, OWN_EVENTS))
    other_field = replace(WRITTEN, fields={**WRITTEN.fields, "39000000007": "emea", "region": "emea"})
    assert not only_own_change(STORED, TicketRecord(other_field, OWN_EVENTS))
    priority_without_event = (own(0, field="tags"), own(1, field="sla_due"))
    assert not only_own_change(STORED, TicketRecord(WRITTEN, priority_without_event))


def test_an_assignee_set_by_tierdesk_is_own_when_its_event_names_it() -> None:
    assigned = replace(BASE, updated_at=T1, assignee_id="5")
    assert only_own_change(STORED, TicketRecord(assigned, (own(0, field="assignee_id"),)))
    assert not only_own_change(STORED, TicketRecord(assigned, (own(0, field="group_id"),)))
