"""The allowance pass of a sync cycle: tickets past their account's monthly allowance (or ceiling)
get a tag and an internal note, queued once through the outbox (`connector.domain.allowance_plan`).

For each account whose contract in force this month has an allowance, the tickets created this
month (in the time zone of the account's calendar) on its connections are read from the store,
counted in arrival order (`connector.domain.contracts.allowance_for_month`), and the actions of
those past the allowance are queued with keys fixed by account, month and ticket: a re-run, a
replay after a crash or a second worker finds them queued and adds nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, tzinfo

import sqlalchemy as sa

from connector.domain.accounts import Account, account_index
from connector.domain.allowance_plan import over_allowance_actions, tracked_hours
from connector.domain.contracts import (
    TicketUse,
    allowance_for_month,
    month_start,
    next_month,
    terms_for_month,
)
from connector.domain.model import Ticket
from connector.domain.policy import Policy
from connector.store import codec
from connector.store.repository import Store
from connector.store.tables import tickets


def account_zone(policy: Policy, account: Account) -> tzinfo:
    """The time zone an account's months are counted in: its calendar's, else its tier's."""
    name = account.calendar
    if name is None and account.tier is not None and account.tier in policy.tiers:
        name = policy.tiers[account.tier].calendar
    calendar = policy.calendars.get(name or "")
    return calendar.timezone if calendar is not None else UTC


def _created_between(
    store: Store, connections: Iterable[str], start: datetime, end: datetime
) -> list[Ticket]:
    query = sa.select(tickets.c.data).where(
        tickets.c.connection.in_(sorted(set(connections))),
        tickets.c.created_at >= start,
        tickets.c.created_at < end,
    )
    with store.reading() as db:
        return [codec.decode_ticket(row.data) for row in db.execute(query)]


def queue_over_allowance(store: Store, policy: Policy, now: datetime) -> int:
    """Queue the over-allowance tags and notes of the current month; returns how many new
    actions were queued (0 when everything was queued before)."""
    index = account_index(policy)
    queued = 0
    # accounts on the same connections and month boundaries read (and decode) the month's tickets
    # once per pass, not once each
    read: dict[tuple[frozenset[str], datetime, datetime], list[Ticket]] = {}
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
        window = (connections, start, end)
        if window not in read:
            read[window] = _created_between(store, connections, start, end)
        mine = {t.key: t for t in read[window] if index.for_ticket(t) is account}
        use = allowance_for_month(
            contract, [TicketUse(t.key, t.created_at, tracked_hours(policy, t)) for t in mine.values()]
        )
        if use is None or not (use.over_allowance_keys or use.over_ceiling_keys):
            continue
        actions = over_allowance_actions(policy, account, month, contract, use, mine)
        queued += store.enqueue_once(actions, now=now, policy_version=policy.version)
    return queued
