"""What people type to name a ticket, resolved to a stored (connection, ticket id).

Accepted: a Zendesk ticket id (`4711`), a Jira issue key or id (`SUP-5`, `10005`), either with
its connection (`jira-main:SUP-5`). An id stored under several connections needs the connection.
"""

from __future__ import annotations

from collections.abc import Sequence

from connector.store.repository import Store


class TicketNotResolved(ValueError):
    """The reference names no stored ticket, or several; the message says what to do."""


def resolve_ticket(
    store: Store, connections: Sequence[str], reference: str, connection: str | None = None
) -> tuple[str, str]:
    """The (connection, ticket id) `reference` names among `connections`, restricted to
    `connection` when given. Raises `TicketNotResolved` with a one-line message."""
    prefix, sep, rest = reference.partition(":")
    if sep and prefix in connections:
        if connection is not None and connection != prefix:
            raise TicketNotResolved(f"ticket {reference!r} names connection {prefix!r}, not {connection!r}")
        connection, reference = prefix, rest
    if connection is not None and connection not in connections:
        raise TicketNotResolved(
            f"no connection {connection!r} in the mappings; known: {', '.join(sorted(connections))}"
        )
    wanted = [connection] if connection is not None else list(connections)
    found = [(c, t) for c, t in store.find_tickets(reference) if c in wanted]
    if not found:
        raise TicketNotResolved(
            f"ticket {reference!r} is not in the store ({', '.join(wanted)}); "
            "check the id or key, or run `tierdesk sync --once` first"
        )
    if len(found) > 1:
        where = ", ".join(f"{c}:{t}" for c, t in found)
        raise TicketNotResolved(
            f"ticket {reference!r} is ambiguous ({where}); pass --connection NAME or CONNECTION:ID"
        )
    return found[0]
