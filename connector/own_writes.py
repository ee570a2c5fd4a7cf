"""Tickets whose only change since their last evaluation is tierdesk's own write-back.

Every write-back (tags, SLA fields, priority, group or assignee, internal notes) moves the ticket's
`updated_at`, so the next incremental export brings the ticket back. Evaluating it again would
decide what the last evaluation decided: the rules read the ticket as people left it, and the
write-back is what that evaluation asked for. On a first sync this is every ticket a second time.

A pulled ticket counts as tierdesk's own change only when all of these hold, else it is evaluated:
  - it is stored and its last evaluation is under the running policy version;
  - every event the store does not know yet is by the integration user (`Event.by_tierdesk`: the
    helpdesk names the author, Zendesk's `updater_id` / audit `author_id`, Jira's changelog
    author);
  - the snapshot equals the stored one except `updated_at` and the attributes tierdesk writes
    (tags, custom fields, priority, group, assignee), and each of those that differs is named by
    one of those events of tierdesk's.
An agent's or customer's change, alone or right after tierdesk's, brings an event of theirs (or an
attribute no event of tierdesk's explains), and the ticket is evaluated.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import replace

from connector.domain.model import TAGS_FIELD, Event, EventKind, Ticket
from connector.ports import LoadedTicket, TicketRecord
from connector.store.pull import PageBasis
from connector.store.repository import Store

_ATTRIBUTES = ("group_id", "assignee_id")  # ticket attributes tierdesk writes as FIELD_CHANGE


def only_own_change(stored: LoadedTicket, record: TicketRecord) -> bool:
    """True when `record` differs from `stored` only by tierdesk's own write-back."""
    own = _own_new_events({event.id for event in stored.events}, record)
    return bool(own) and _explained(stored.ticket, record.ticket, own)


def _own_new_events(known: Collection[str], record: TicketRecord) -> list[Event]:
    """The events of `record` not in `known`, if there are some and tierdesk wrote them all
    (else none: the change is someone else's, or there is none)."""
    new = [event for event in record.events if event.id not in known]
    return new if new and all(event.by_tierdesk for event in new) else []


def _explained(before: Ticket, after: Ticket, own: Sequence[Event]) -> bool:
    fields = {e.field for e in own if e.kind is EventKind.FIELD_CHANGE and e.field is not None}
    # what tierdesk may have written, put back to the stored values: the rest must be equal
    unwritten = replace(
        after,
        updated_at=before.updated_at,
        tags=before.tags,
        fields=before.fields,
        priority=before.priority,
        group_id=before.group_id,
        assignee_id=before.assignee_id,
    )
    if unwritten != before:
        return False
    if after.tags != before.tags and TAGS_FIELD not in fields:
        return False
    if after.priority != before.priority and not any(e.kind is EventKind.PRIORITY_CHANGE for e in own):
        return False
    if any(getattr(after, name) != getattr(before, name) and name not in fields for name in _ATTRIBUTES):
        return False
    changed = {
        k for k in before.fields.keys() | after.fields.keys() if before.fields.get(k) != after.fields.get(k)
    }
    named = changed & fields
    # a custom field shows under its id and its logical name; events name it by the logical one
    return all(
        key in named or any(after.fields.get(key) == after.fields.get(name) for name in named)
        for key in changed
    )


def own_write_backs(
    store: Store, connection: str, records: Iterable[TicketRecord], version: str, basis: PageBasis
) -> set[str]:
    """Ids of pulled tickets (call before storing them) whose only change is tierdesk's own
    write-back and whose stored evaluation is under `version` (see the module docstring).
    `basis`: the page's `Store.page_basis`.

    Works from the stored event ids and evaluated versions of the basis, and reads the stored
    snapshots only of tickets whose new events are all tierdesk's: a ticket someone else changed
    costs no snapshot or event decoding."""
    by_id = {record.ticket.id: record for record in records if record.events}
    current = [tid for tid in by_id if basis.evaluated.get(tid) == version]
    own = {
        tid: events
        for tid in current
        if (events := _own_new_events(basis.event_ids.get(tid, ()), by_id[tid]))
    }
    if not own:
        return set()
    stored = store.snapshots(connection, list(own))
    return {tid for tid, ticket in stored.items() if _explained(ticket, by_id[tid].ticket, own[tid])}
