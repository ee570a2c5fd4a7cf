"""`tierdesk explain` and `tierdesk plan`: the engine's reasoning, printed for people."""

from __future__ import annotations

from datetime import datetime

from rich.console import Console
from rich.table import Table

from connector.domain.engine import evaluate
from connector.domain.model import Ticket
from connector.domain.people_view import as_people_left_it
from connector.domain.plan import human, iso
from connector.domain.policy import Policy
from connector.domain.results import Evaluation
from connector.store.repository import Store, split_ticket_key


def resolve_ticket(store: Store, policy: Policy, ticket: str) -> tuple[str, str] | None:
    if ":" in ticket:
        return split_ticket_key(ticket)
    for connection in policy.connections:
        if store.load_ticket(connection.name, ticket) is not None:
            return connection.name, ticket
    return None


def _describe_rule(kind: str, decision_rule: str | None, source: str, unmatched: bool, value: str) -> str:
    if decision_rule is None:
        flag = " (no rule matched: default, flagged tier_unmatched)" if unmatched and kind == "tier" else ""
        return f"{value} — default{flag}"
    return f"{value} — rule {decision_rule!r} at {source}"


def render_explain(console: Console, store: Store, policy: Policy, now: datetime, ticket: str) -> bool:
    found = resolve_ticket(store, policy, ticket)
    loaded = store.load_ticket(*found) if found else None
    if found is None or loaded is None:
        console.print(f"[red]ticket {ticket!r} is not in the store[/red]; run `tierdesk sync --once` first")
        return False
    t, events = loaded
    result = evaluate(t, events, policy, now)
    console.print(f"[bold]{t.key}[/bold]  {t.subject!r}  status={t.status.value}  priority={t.priority}")
    console.print(f"as of {iso(now)}, policy version {policy.version}")
    _own_writes(console, t, as_people_left_it(t, events, policy))
    tier = policy.tiers[result.tier.value]
    console.print(
        "tier:     "
        + _describe_rule(
            "tier", result.tier.rule, result.tier.source, result.tier.unmatched, f"{tier.label} ({tier.name})"
        )
    )
    console.print(
        "severity: "
        + _describe_rule(
            "severity", result.severity.rule, result.severity.source, False, result.severity.value
        )
    )
    console.print(f"calendar: {tier.calendar}; escalation chain: {tier.escalation or '-'}")
    _clock_table(console, result)
    if result.crossings:
        crossings = Table(title="thresholds crossed", show_lines=False)
        for column in ("metric", "cycle", "threshold", "at", "escalation level"):
            crossings.add_column(column)
        for c in result.crossings:
            crossings.add_row(
                c.metric.value,
                str(c.cycle),
                c.threshold,
                iso(c.at),
                "-" if c.level is None else str(c.level + 1),
            )
        console.print(crossings)
    statuses = store.outbox_statuses([a.key for a in result.actions])
    actions = Table(title="write-back")
    for column in ("action", "detail", "why", "outbox"):
        actions.add_column(column)
    for a in result.actions:
        detail = ", ".join(a.values) or (f"{a.field}={a.value}" if a.field else (a.value or ""))
        actions.add_row(a.kind.value, detail[:80], a.reason, statuses.get(a.key, "not queued yet"))
    console.print(actions)
    if result.next_deadline:
        console.print(f"next threshold at {iso(result.next_deadline)}")
    return True


def _own_writes(console: Console, shown: Ticket, seen: Ticket) -> None:
    """Say where the rules read the ticket otherwise than it shows: tierdesk's own writes."""
    if seen.priority != shown.priority:
        read = seen.priority.value if seen.priority else "none"
        console.print(
            f"rules read priority {read}, the last one a person set (the ticket shows "
            f"{shown.priority}; tierdesk's own writes never feed the rules)"
        )
    if seen.tags != shown.tags:
        console.print(f"rules did not read tierdesk's tags: {', '.join(sorted(shown.tags - seen.tags))}")
    if seen.fields != shown.fields:
        fields = ", ".join(sorted(set(shown.fields) - set(seen.fields)))
        console.print(f"rules did not read the fields tierdesk writes: {fields}")


def _clock_table(console: Console, result: Evaluation) -> None:
    table = Table(title="SLA clocks")
    for column in (
        "metric",
        "cycle",
        "state",
        "target",
        "elapsed (business)",
        "started",
        "due / breached",
        "stopped",
        "paused spans",
    ):
        table.add_column(column)
    for c in result.clocks:
        spans = "; ".join(f"{iso(s.start)}..{iso(s.end) if s.end else 'now'}" for s in c.paused_spans) or "-"
        table.add_row(
            c.metric.value,
            str(c.cycle),
            c.state.value,
            human(c.target),
            human(c.elapsed),
            iso(c.started_at),
            iso(c.breached_at or c.due_at) or "-",
            iso(c.stopped_at) or "-",
            spans,
        )
    console.print(table)


def render_plan(console: Console, store: Store, policy: Policy, now: datetime, only: str | None) -> None:
    """Evaluate stored open tickets (or one) with `policy` and print the actions not yet queued."""
    if only is not None:
        found = resolve_ticket(store, policy, only)
        tickets = [store.load_ticket(*found)] if found else []
    else:
        tickets = [store.load_ticket(t.connection, t.id) for t in store.iter_open_tickets()]
    total = changed = 0
    for loaded in tickets:
        if loaded is None:
            continue
        ticket, events = loaded
        total += 1
        result = evaluate(ticket, events, policy, now)
        known = store.outbox_statuses([a.key for a in result.actions])
        new = [a for a in result.actions if a.key not in known and not a.superseded]
        if not new:
            continue
        changed += 1
        console.print(f"[bold]{ticket.key}[/bold] tier={result.tier.value} severity={result.severity.value}")
        for a in new:
            detail = ", ".join(a.values) or (f"{a.field}={a.value}" if a.field else (a.value or ""))
            console.print(
                f"  {a.kind.value:<15} {detail[:70]:<70}  # {a.reason}", highlight=False, markup=False
            )
    console.print(
        f"{changed} of {total} tickets would change (policy {policy.version}, as of {iso(now)}); "
        "nothing was pushed"
    )
