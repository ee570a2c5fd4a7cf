"""The allowance pass of a sync cycle: tickets past their account's monthly allowance (or ceiling)
get a tag and an internal note, queued once through the outbox (`connector.domain.allowance_plan`).

For each account whose contract in force this month has an allowance, the tickets created this
month (in the time zone of the account's calendar) on its connections are read from the store,
counted in arrival order (`connector.domain.contracts.allowance_for_month`), and the actions of
those past the allowance are queued with keys fixed by account, month and ticket: a re-run, a
replay after a crash or a second worker finds them queued and adds nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo

import sqlalchemy as sa

from connector.domain.accounts import Account, account_index
from connector.domain.allowance_plan import over_allowance_actions, tracked_hours_in
from connector.domain.contracts import (
    Contract,
    TicketUse,
    allowance_for_month,
    month_start,
    next_month,
    terms_for_month,
)
from connector.domain.model import Organization
from connector.domain.policy import Policy
from connector.store import codec
from connector.store.repository import Store
from connector.store.tables import tickets

STREAM_ROWS = 1000  # rows fetched and decoded at a time


def account_zone(policy: Policy, account: Account) -> tzinfo:
    """The time zone an account's months are counted in: its calendar's, else its tier's."""
    name = account.calendar
    if name is None and account.tier is not None and account.tier in policy.tiers:
        name = policy.tiers[account.tier].calendar
    calendar = policy.calendars.get(name or "")
    return calendar.timezone if calendar is not None else UTC


@dataclass(frozen=True, slots=True)
class _Counted:
    """What the pass keeps of a ticket it counted: where it is, and its use of the month."""

    connection: str
    id: str
    use: TicketUse


@dataclass(frozen=True, slots=True)
class _MonthTicket:
    """The parts of a stored ticket the pass reads: whose it is and the time tracked on it."""

    connection: str
    id: str
    created_at: datetime
    organization: Organization | None
    requester_email: str | None
    fields: Mapping[str, str]

    @property
    def key(self) -> str:
        return f"{self.connection}:{self.id}"


def _created_between(
    store: Store, connections: Iterable[str], start: datetime, end: datetime
) -> Iterator[_MonthTicket]:
    """The tickets created in [start, end) on these connections, read 1,000 rows at a time and
    only in the parts the pass needs (extracted from the snapshot document by the database): a
    month of a large account is 100,000 tickets, and the pass runs every few minutes."""
    data = tickets.c.data
    query = sa.select(
        tickets.c.connection,
        tickets.c.ticket_id,
        tickets.c.created_at,
        data["organization"].label("organization"),
        data["requester_email"].as_string().label("requester_email"),
        data["fields"].label("fields"),
    ).where(
        tickets.c.connection.in_(sorted(set(connections))),
        tickets.c.created_at >= start,
        tickets.c.created_at < end,
    )
    with store.reading() as db:
        for row in db.execution_options(yield_per=STREAM_ROWS).execute(query):
            org = row.organization
            yield _MonthTicket(
                connection=row.connection,
                id=row.ticket_id,
                created_at=row.created_at,
                organization=codec.decode_organization(org) if isinstance(org, dict) else None,
                requester_email=row.requester_email,
                fields=row.fields if isinstance(row.fields, dict) else {},
            )


def queue_over_allowance(store: Store, policy: Policy, now: datetime) -> int:
    """Queue the over-allowance tags and notes of the current month; returns how many new
    actions were queued (0 when everything was queued before)."""
    index = account_index(policy)
    # accounts with an allowance this month, grouped by the window their tickets are read in:
    # accounts on the same connections and month boundaries share one read of the month
    windows: dict[tuple[frozenset[str], datetime, datetime], list[tuple[Account, str, Contract]]] = {}
    for account in policy.accounts.values():
        if not account.contracts:
            continue
        zone = account_zone(policy, account)
        local = now.astimezone(zone)
        month = local.strftime("%Y-%m")
        contract = terms_for_month(account.contracts, month)
        if contract is None or contract.allowance is None:
            continue
        first = month_start(month)
        start = datetime(first.year, first.month, 1, tzinfo=zone)
        following = next_month(first)
        end = datetime(following.year, following.month, 1, tzinfo=zone)
        connections = frozenset(link.connection for link in account.organizations)
        windows.setdefault((connections, start, end), []).append((account, month, contract))
    queued = 0
    for (connections, start, end), accounts in windows.items():
        counted: dict[str, dict[str, _Counted]] = {account.id: {} for account, _, _ in accounts}
        for ticket in _created_between(store, connections, start, end):
            owner = index.for_organization(ticket.connection, ticket.organization, ticket.requester_email)
            if owner is not None and owner.id in counted:
                counted[owner.id][ticket.key] = _Counted(
                    ticket.connection,
                    ticket.id,
                    TicketUse(
                        ticket.key,
                        ticket.created_at,
                        tracked_hours_in(policy, ticket.connection, ticket.fields),
                    ),
                )
        for account, month, contract in accounts:
            mine = counted[account.id]
            use = allowance_for_month(contract, [c.use for c in mine.values()])
            if use is None or not (use.over_allowance_keys or use.over_ceiling_keys):
                continue
            actions = over_allowance_actions(policy, account, month, contract, use, mine)
            queued += store.enqueue_once(actions, now=now, policy_version=policy.version)
    return queued
