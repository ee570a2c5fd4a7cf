"""Group holds of a stored ticket measured with the running policy's OLAs: the glue between the
pure `connector.domain.group_clocks` and the connection a ticket belongs to (its aliases and its
group field)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from connector.domain.group_clocks import GROUP_FIELDS, OlaHold, ola_holds
from connector.domain.model import Event, Ticket
from connector.domain.policy import Policy


def ticket_ola_holds(ticket: Ticket, events: Sequence[Event], policy: Policy, now: datetime) -> list[OlaHold]:
    """Every hold of the ticket by a group with an OLA, up to `now`."""
    if not policy.olas:
        return []
    config = next((c for c in policy.connections if c.name == ticket.connection), None)
    aliases = dict(config.aliases) if config is not None else {}
    group_field = config.fields.get("group") if config is not None else None
    fields = GROUP_FIELDS | {group_field} if group_field else GROUP_FIELDS
    return ola_holds(ticket, events, policy.olas, policy.calendars, aliases, now, frozenset(fields))


def ended_holds(
    connection: str, ticket: Ticket, events: Sequence[Event], policy: Policy, now: datetime
) -> list[tuple[str, str, OlaHold]]:
    """The holds that ended, ready to settle: (connection, ticket id, hold)."""
    return [(connection, ticket.id, h) for h in ticket_ola_holds(ticket, events, policy, now) if h.settled]
