"""Group ownership clocks (OLAs): how long each group held a ticket, on the group's calendar,
against the group's target, beside the customer's SLA.

A group *holds* a ticket from the moment the ticket is assigned to it until it is assigned to
another group (or none), or until the ticket is solved; a reopened ticket is held again by the
group it is assigned to. Each hold is measured on its own: three hours with Tier 2, back to Tier 1,
then two more hours with Tier 2 are two Tier 2 holds of 3 h and 2 h, each against Tier 2's target.

The group history comes from the ticket's events: `FIELD_CHANGE` of the group field (Zendesk's
`group_id` in audits, Jira's mapped `group` field in the changelog); the group a ticket was created
with is the first change's previous value, or the ticket's group when it never changed.

A hold that has ended is *settled*: the store records it once with the target in force then
(`connector.store`), and later edits of targets or calendars never change it. Pure: `now` is
passed in.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from connector.domain.calendar import BusinessCalendar
from connector.domain.model import Event, EventKind, Ticket

GROUP_FIELDS = frozenset({"group_id", "group"})  # Zendesk's field, Jira's logical name


@dataclass(frozen=True, slots=True)
class Ola:
    """A group's own target: at most `target` of business time on `calendar` per hold."""

    name: str  # the group as the mappings name it: a connection alias or a group id
    target: timedelta
    calendar: str  # a calendar of the policy
    source: str = ""  # file:line


@dataclass(frozen=True, slots=True)
class GroupHold:
    """One span of a group holding a ticket; `ended_at` None while it still holds it."""

    group_id: str
    started_at: datetime
    ended_at: datetime | None


@dataclass(frozen=True, slots=True)
class OlaHold:
    """A hold of a group with an OLA, measured: `held` is business time on the OLA's calendar."""

    ola: str
    group_id: str
    started_at: datetime
    ended_at: datetime | None
    held: timedelta
    target: timedelta

    @property
    def within_target(self) -> bool:
        return self.held <= self.target

    @property
    def settled(self) -> bool:
        return self.ended_at is not None


def group_holds(
    ticket: Ticket, events: Sequence[Event], group_fields: frozenset[str] = GROUP_FIELDS
) -> list[GroupHold]:
    """Every hold of the ticket, oldest first, from its group and status changes."""
    ordered = sorted(events, key=lambda e: e.at)
    changes = [e for e in ordered if e.kind is EventKind.FIELD_CHANGE and e.field in group_fields]
    group = (changes[0].previous or None) if changes else ticket.group_id
    created = next((e for e in ordered if e.kind is EventKind.CREATED), None)
    active = not (created is not None and created.status is not None and created.status.is_done)
    holds: list[GroupHold] = []
    since: datetime | None = ticket.created_at if group and active else None

    def close(at: datetime) -> None:
        nonlocal since
        if since is not None and group:
            holds.append(GroupHold(group, since, at))
        since = None

    for event in ordered:
        if event.at < ticket.created_at:
            continue
        if event.kind is EventKind.FIELD_CHANGE and event.field in group_fields:
            new_group = event.value or None
            if new_group == group:
                continue
            close(event.at)
            group = new_group
            if active and group:
                since = event.at
        elif event.kind is EventKind.STATUS_CHANGE and event.status is not None:
            done = event.status.is_done
            if done and active:
                close(event.at)
                active = False
            elif not done and not active:
                active = True
                since = event.at if group else None
    if since is not None and group:
        holds.append(GroupHold(group, since, None))
    return holds


def ola_holds(
    ticket: Ticket,
    events: Sequence[Event],
    olas: Mapping[str, Ola],
    calendars: Mapping[str, BusinessCalendar],
    aliases: Mapping[str, str],
    now: datetime,
    group_fields: frozenset[str] = GROUP_FIELDS,
) -> list[OlaHold]:
    """The holds of groups that have an OLA, measured up to `now` for a hold still running.
    `aliases` is the ticket's connection's (an OLA named by alias means that alias's group id)."""
    by_group: dict[str, Ola] = {}
    for named in olas.values():
        group_id = aliases.get(named.name, named.name)
        if group_id and group_id != "-":
            by_group[group_id] = named
    if not by_group:
        return []
    measured = []
    for hold in group_holds(ticket, events, group_fields):
        ola = by_group.get(hold.group_id)
        if ola is None:
            continue
        calendar = calendars.get(ola.calendar) or BusinessCalendar.twenty_four_seven()
        end = hold.ended_at or max(now, hold.started_at)
        measured.append(
            OlaHold(
                ola.name,
                hold.group_id,
                hold.started_at,
                hold.ended_at,
                calendar.elapsed(hold.started_at, end),
                ola.target,
            )
        )
    return measured
