"""CPU cost of accounts: evaluating tickets with the shipped accounts.yaml against the same
mappings without it, and the allowance pass over a month of one account's tickets.

Run: ``.venv/bin/python bench/accounts.py``. Figures are CPU time (``time.process_time``), best of
several rounds, so other load on a shared machine distorts them less; wall time is not reported.
"""

from __future__ import annotations

import dataclasses
import random
import resource
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from connector.domain.accounts import account_index
from connector.domain.contracts import TicketUse, allowance_for_month
from connector.domain.engine import evaluate
from connector.domain.model import Event, EventKind, Organization, Status, Ticket
from connector.mappings import load_policy

MAPPINGS = Path(__file__).resolve().parents[1] / "mappings"
TICKETS = 3_000
NOW = datetime(2026, 8, 20, 12, tzinfo=UTC)
ORGS = [
    ("zendesk-main", Organization("361", "Initech", external_id="crm-2001", tags=frozenset({"priority"}))),
    ("jira-main", Organization("4", "Initech")),
    ("zendesk-main", Organization("362", "Hooli", external_id="crm-3001", tags=frozenset({"standard"}))),
    ("jira-main", Organization("7", "Wayne Enterprises")),
]


def _tickets() -> list[tuple[Ticket, list[Event]]]:
    rng = random.Random(7)
    made = []
    for n in range(TICKETS):
        connection, org = ORGS[n % len(ORGS)]
        created = NOW - timedelta(minutes=rng.randrange(60 * 24 * 20))
        events = [
            Event(id="c", at=created, kind=EventKind.CREATED),
            Event(
                id="r", at=created + timedelta(minutes=rng.randrange(600)), kind=EventKind.PUBLIC_AGENT_REPLY
            ),
        ]
        ticket = Ticket(
            connection, str(n), created, events[-1].at, Status.OPEN, subject="Export fails", organization=org
        )
        made.append((ticket, events))
    return made


def cpu(call: Callable[[], object], rounds: int = 5) -> float:
    best = float("inf")
    for _ in range(rounds):
        started = time.process_time()
        call()
        best = min(best, time.process_time() - started)
    return best


def main() -> None:
    with_accounts = load_policy(MAPPINGS)
    without = dataclasses.replace(with_accounts, accounts={})
    tickets = _tickets()
    for name, policy in (("without accounts", without), ("with accounts", with_accounts)):
        seconds = cpu(lambda p=policy: [evaluate(t, e, p, NOW) for t, e in tickets])  # type: ignore[misc]
        print(
            f"evaluate {TICKETS} tickets, {name}: {seconds * 1000:.0f} ms CPU ({seconds / TICKETS * 1e6:.0f} us/ticket)"
        )
    index = account_index(with_accounts)
    seconds = cpu(lambda: [index.key_for_ticket(t) for t, _ in tickets])
    print(f"account lookup of {TICKETS} tickets: {seconds * 1000:.1f} ms CPU")
    contract = with_accounts.accounts["initech"].contracts[-1]
    uses = [TicketUse(f"zendesk-main:{n}", NOW - timedelta(minutes=n), Decimal(1)) for n in range(20_000)]
    seconds = cpu(lambda: allowance_for_month(contract, uses))
    print(f"allowance of a month with {len(uses)} tickets: {seconds * 1000:.1f} ms CPU")
    print(f"peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
