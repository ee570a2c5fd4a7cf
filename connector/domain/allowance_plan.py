"""Write-back of allowance overuse: a tag and an internal note on each ticket past its account's
monthly allowance (and on each past the ceiling), once.

The actions' keys are fixed by account, month, ticket and what is written, so however often the
allowance pass runs (a re-run, a crash and replay, several workers) the outbox holds each action at
most once: a key already there is not queued again. The tags are outside the families tierdesk
re-derives from the clocks (`tier_`, `sev_`, `sla_`), so no later plan removes them.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Protocol

from connector.domain.accounts import Account
from connector.domain.contracts import Contract, MonthAllowance
from connector.domain.formatting import action_key, tag_name
from connector.domain.model import Ticket
from connector.domain.policy import ActionKind, Policy
from connector.domain.results import Action

TIME_SPENT_FIELD = "time_spent"  # logical field: seconds tracked on the ticket
OVER_ALLOWANCE_TAG = "allowance_over"
OVER_CEILING_TAG = "allowance_over_ceiling"


class TicketRef(Protocol):
    """Which ticket an action goes to (a `Ticket`, or just its connection and id)."""

    @property
    def connection(self) -> str: ...

    @property
    def id(self) -> str: ...


def over_allowance_actions(
    policy: Policy,
    account: Account,
    month: str,
    contract: Contract,
    use: MonthAllowance,
    tickets: Mapping[str, TicketRef],
) -> list[Action]:
    """The tag (and, when the write-back writes notes, the internal note) for each ticket of
    `use.over_allowance_keys` / `use.over_ceiling_keys` that `tickets` holds (by key)."""
    prefix = policy.writeback.tag_prefix
    actions: list[Action] = []
    for keys, tag, what in (
        (use.over_allowance_keys, OVER_ALLOWANCE_TAG, "allowance"),
        (use.over_ceiling_keys, OVER_CEILING_TAG, "ceiling"),
    ):
        for key in keys:
            ticket = tickets.get(key)
            if ticket is None:
                continue
            base = ("allowance", account.id, month, key, what)
            actions.append(
                Action(
                    key=action_key(*base, "tag"),
                    connection=ticket.connection,
                    ticket_id=ticket.id,
                    kind=ActionKind.ADD_TAGS,
                    values=(tag_name(prefix + tag),),
                    reason=f"over the {what} of account {account.id} in {month}",
                )
            )
            if not policy.writeback.notes:
                continue
            note_key = action_key(*base, "note")
            actions.append(
                Action(
                    key=note_key,
                    connection=ticket.connection,
                    ticket_id=ticket.id,
                    kind=ActionKind.ADD_NOTE,
                    value=_note(account, month, contract, use, what),
                    marker=f"td-{note_key[:16]}",
                    reason=f"over the {what} of account {account.id} in {month}",
                )
            )
    return actions


def _note(account: Account, month: str, contract: Contract, use: MonthAllowance, what: str) -> str:
    terms = contract.allowance
    assert terms is not None
    if what == "ceiling":
        limit = (
            f"the allowance ceiling of {terms.ceiling_tickets} tickets"
            if terms.ceiling_tickets
            else "the allowance ceiling"
        )
    else:
        parts = []
        if terms.tickets is not None:
            parts.append(f"{terms.tickets} tickets")
        if terms.hours is not None:
            parts.append(f"{terms.hours:g} tracked hours")
        limit = f"the allowance of {' / '.join(parts)}"
    return (
        f"This ticket is past {limit} that {account.name}'s contract ({contract.name}) includes "
        f"for {month}: {use.tickets} tickets so far this month. Overuse may be billed under the "
        f"contract; terms at {contract.source or account.source}."
    )


def tracked_hours(policy: Policy, ticket: Ticket) -> Decimal | None:
    """Hours tracked on the ticket when its connection maps the logical field `time_spent`
    (seconds, e.g. the Zendesk Time Tracking app's "Total time spent (sec)" field); None where the
    connection has no time tracking (the allowance is then counted in tickets only)."""
    return tracked_hours_in(policy, ticket.connection, ticket.fields)


def tracked_hours_in(policy: Policy, connection: str, fields: Mapping[str, str]) -> Decimal | None:
    """`tracked_hours` of a ticket of `connection` with these field values."""
    config = next((c for c in policy.connections if c.name == connection), None)
    field_id = None if config is None else config.fields.get(TIME_SPENT_FIELD)
    if field_id is None:
        return None
    raw = fields.get(field_id)
    if raw is None or raw == "":
        return Decimal(0)
    try:
        return Decimal(raw) / Decimal(3600)
    except InvalidOperation:
        return None
