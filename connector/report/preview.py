"""What a pending mappings edit would change, before a worker runs it (`tierdesk plan`).

Every stored open ticket is evaluated twice as of the same instant, each time with its settled
outcomes and the age of its view: on the running policy history, and on that history with the
edit taking effect (its `changes.effective_from`, else now; its `changes.apply_to`). Clocks whose
state, target or due instant would differ are listed, met -> breached first (which settled
outcomes rule out: the count says so), then other transitions, then target and due changes; and the
credited breaches per organization and month they would move.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from rich.console import Console
from rich.table import Table

from connector.domain.engine import evaluate
from connector.domain.formatting import human, iso
from connector.domain.policy import Metric
from connector.domain.record import PolicyHistory
from connector.domain.results import ClockState, Evaluation, SlaClock
from connector.ports import LoadedTicket
from connector.store.repository import Store

_RANKS = {
    (ClockState.MET, ClockState.BREACHED): 0,
    (ClockState.RUNNING, ClockState.BREACHED): 1,
    (ClockState.PAUSED, ClockState.BREACHED): 1,
    (ClockState.BREACHED, ClockState.MET): 2,
    (ClockState.BREACHED, ClockState.RUNNING): 2,
    (ClockState.BREACHED, ClockState.PAUSED): 2,
}


@dataclass(frozen=True, slots=True)
class ClockChange:
    ticket: str
    metric: Metric
    cycle: int
    before: SlaClock | None
    after: SlaClock | None

    @property
    def transition(self) -> str:
        before = self.before.state.value if self.before else "-"
        after = self.after.state.value if self.after else "-"
        return f"{before} -> {after}" if before != after else before

    @property
    def rank(self) -> int:
        if self.before is None or self.after is None:
            return 3
        if self.before.state is not self.after.state:
            return _RANKS.get((self.before.state, self.after.state), 3)
        return 4 if self.before.target != self.after.target else 5


@dataclass(frozen=True, slots=True)
class CreditChange:
    organization: str
    month: str
    tier: str
    before: int  # credited breaches
    after: int


@dataclass(frozen=True, slots=True)
class EditPreview:
    tickets: int
    changes: tuple[ClockChange, ...]
    credits: tuple[CreditChange, ...]

    def count(self, before: ClockState, after: ClockState) -> int:
        return sum(
            1
            for c in self.changes
            if c.before and c.after and (c.before.state, c.after.state) == (before, after)
        )


def _open_tickets(store: Store) -> Iterator[LoadedTicket]:
    batch: list[tuple[str, str]] = []
    for ticket in store.iter_open_tickets():
        batch.append((ticket.connection, ticket.id))
        if len(batch) >= 500:
            yield from _load(store, batch)
            batch = []
    yield from _load(store, batch)


def _load(store: Store, refs: list[tuple[str, str]]) -> Iterator[LoadedTicket]:
    by_connection: dict[str, list[str]] = {}
    for connection, ticket_id in refs:
        by_connection.setdefault(connection, []).append(ticket_id)
    for connection, ids in by_connection.items():
        loaded = store.load_tickets(connection, ids)
        yield from (loaded[i] for i in ids if i in loaded)


def preview_edit(store: Store, running: PolicyHistory, edited: PolicyHistory, now: datetime) -> EditPreview:
    changes: list[ClockChange] = []
    credits_before: Counter[tuple[str, str, str]] = Counter()
    credits_after: Counter[tuple[str, str, str]] = Counter()
    tickets = 0
    for item in _open_tickets(store):
        tickets += 1
        before, after = (
            evaluate(item.ticket, item.events, history, now, settled=item.settled, observed_at=item.seen_at)
            for history in (running, edited)
        )
        changes += _clock_changes(item.ticket.key, before, after)
        if item.ticket.organization is not None:
            _credited(credits_before, item.ticket.organization.name, before, running)
            _credited(credits_after, item.ticket.organization.name, after, edited)
    credit_changes = [
        CreditChange(org, month, tier, credits_before[key], credits_after[key])
        for key in sorted(set(credits_before) | set(credits_after))
        if credits_before[key] != credits_after[key]
        for org, month, tier in [key]
    ]
    changes.sort(key=lambda c: (c.rank, c.ticket, c.metric.value, c.cycle))
    return EditPreview(tickets, tuple(changes), tuple(credit_changes))


def _clock_changes(ticket: str, before: Evaluation, after: Evaluation) -> list[ClockChange]:
    old = {(c.metric, c.started_at): c for c in before.clocks}
    new = {(c.metric, c.started_at): c for c in after.clocks}
    found = []
    for key in sorted(set(old) | set(new), key=lambda k: (k[0].value, k[1])):
        a, b = old.get(key), new.get(key)
        if a is not None and b is not None and (a.state, a.target, a.due_at) == (b.state, b.target, b.due_at):
            continue
        cycle = (b or a).cycle  # type: ignore[union-attr]
        found.append(ClockChange(ticket, key[0], cycle, a, b))
    return found


def _credited(
    counts: Counter[tuple[str, str, str]], organization: str, result: Evaluation, history: PolicyHistory
) -> None:
    tier = history.current.tiers.get(result.tier.value)
    if tier is None or tier.service_credit is None:
        return
    for clock in result.clocks:
        if clock.state is ClockState.BREACHED and clock.metric in tier.service_credit.metrics:
            counts[(organization, clock.started_at.strftime("%Y-%m"), tier.name)] += 1


def render_preview(
    console: Console,
    preview: EditPreview,
    edit_version: str,
    running_version: str,
    effective: str,
    apply_to: str,
) -> None:
    console.print(
        f"[bold]pending edit[/bold]: mappings version {edit_version} (running {running_version}), "
        f"effective from {effective}, applies to {apply_to} clocks"
    )
    to_breach = preview.count(ClockState.RUNNING, ClockState.BREACHED) + preview.count(
        ClockState.PAUSED, ClockState.BREACHED
    )
    console.print(
        f"on {preview.tickets} open tickets: met -> breached "
        f"{preview.count(ClockState.MET, ClockState.BREACHED)} (decided clocks never change), "
        f"running -> breached {to_breach}, {len(preview.changes)} clock changes in all",
        highlight=False,
    )
    if preview.changes:
        table = Table(title="clocks the edit would change")
        for column in ("ticket", "metric", "cycle", "state", "target", "due / breached"):
            table.add_column(column)
        for change in preview.changes:
            before, after = change.before, change.after
            table.add_row(
                change.ticket,
                change.metric.value,
                str(change.cycle),
                change.transition,
                _pair(_target(before), _target(after)),
                _pair(_due(before), _due(after)),
            )
        console.print(table)
    if preview.credits:
        table = Table(title="credited breaches the edit would move (open tickets)")
        for column in ("organization", "month", "tier", "breaches"):
            table.add_column(column)
        for credit in preview.credits:
            table.add_row(
                credit.organization, credit.month, credit.tier, f"{credit.before} -> {credit.after}"
            )
        console.print(table)


def _target(clock: SlaClock | None) -> str:
    return "-" if clock is None else human(clock.target)


def _due(clock: SlaClock | None) -> str:
    return "-" if clock is None else iso(clock.breached_at or clock.due_at) or "-"


def _pair(before: str, after: str) -> str:
    return before if before == after else f"{before} -> {after}"
