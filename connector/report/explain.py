"""`tierdesk explain` and `tierdesk plan`: the engine's reasoning, printed for people."""

from __future__ import annotations

from datetime import datetime

from rich.console import Console
from rich.table import Table

from connector.domain.engine import evaluate
from connector.domain.model import Ticket
from connector.domain.people_view import as_people_left_it
from connector.domain.plan import human, iso
from connector.domain.policy import Metric, Policy
from connector.domain.record import PolicyHistory, SettledOutcome
from connector.domain.results import Evaluation
from connector.policy_versions import running_history, with_pending_edit
from connector.report.preview import preview_edit, render_preview
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
    loaded = store.load_tickets(found[0], [found[1]]).get(found[1]) if found else None
    if found is None or loaded is None:
        console.print(f"[red]ticket {ticket!r} is not in the store[/red]; run `tierdesk sync --once` first")
        return False
    history, pending = running_history(store, policy, now)
    t = loaded.ticket
    result = evaluate(t, loaded.events, history, now, settled=loaded.settled, observed_at=loaded.seen_at)
    running = history.current
    console.print(f"[bold]{t.key}[/bold]  {t.subject!r}  status={t.status.value}  priority={t.priority}")
    console.print(
        f"as of {iso(now)}, running policy version {running.version}; the helpdesk last showed this "
        f"ticket at {iso(loaded.seen_at)}"
    )
    if pending:
        console.print(
            f"[yellow]the mappings (version {policy.version}) are not running yet[/yellow]: this is what the "
            "running version does; `tierdesk plan` previews the edit"
        )
    _versions_table(console, history)
    _own_writes(console, t, as_people_left_it(t, loaded.events, running))
    tier = running.tiers[result.tier.value]
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
    settled = {o.key: o for o in (*loaded.settled, *result.decided)}
    _clock_table(console, result, history, settled)
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
    _escalation_history(console, store, t.connection, t.id, {a.key for a in result.actions})
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


def _versions_table(console: Console, history: PolicyHistory) -> None:
    table = Table(title="policy versions (newest last; targets of a clock come from the version it runs on)")
    for column in ("version", "effective from", "applies to", "first run"):
        table.add_column(column)
    for index, activation in enumerate(history):
        running = " (running)" if index == len(history) - 1 else ""
        table.add_row(
            activation.version + running,
            iso(activation.effective_from),
            f"{activation.apply_to.value} clocks",
            iso(activation.seen_at) or "not yet",
        )
    console.print(table)


def _escalation_history(
    console: Console, store: Store, connection: str, ticket_id: str, planned: set[str]
) -> None:
    """Escalation steps queued earlier and no longer planned: sent, failed, skipped or withdrawn."""
    rows = [
        (a, status, why)
        for a, status, why in store.ticket_outbox(connection, ticket_id)
        if a.at and a.key not in planned
    ]
    if not rows:
        return
    table = Table(title="earlier escalation steps")
    for column in ("crossing", "action", "outbox", "why"):
        table.add_column(column)
    for action, status, why in rows:
        table.add_row(action.crossing or action.reason, action.kind.value, status, why or "")
    console.print(table)


def _clock_table(
    console: Console,
    result: Evaluation,
    history: PolicyHistory,
    settled: dict[tuple[Metric, datetime], SettledOutcome],
) -> None:
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
        "version",
        "record",
    ):
        table.add_column(column)
    for c in result.clocks:
        spans = "; ".join(f"{iso(s.start)}..{iso(s.end) if s.end else 'now'}" for s in c.paused_spans) or "-"
        outcome = settled.get((c.metric, c.started_at))
        version = outcome.policy_version if outcome else history.for_cycle(c.started_at).version
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
            version,
            f"settled: {outcome.reason}" if outcome else "open",
        )
    console.print(table)


def render_plan(console: Console, store: Store, policy: Policy, now: datetime, only: str | None) -> int:
    """Evaluate stored open tickets (or one) as a worker would and print the actions not yet
    queued; returns how many tickets would change. When the mappings are an edit the workers do
    not run yet, first show which clocks and credits the edit would change
    (`connector.report.preview`), then plan with the edit applied."""
    history, pending = running_history(store, policy, now)
    if pending:
        edited = with_pending_edit(history, policy, now)
        effective = edited.activations[-1]
        render_preview(
            console,
            preview_edit(store, history, edited, now),
            policy.version,
            history.current.version,
            iso(effective.effective_from)
            + ("" if policy.effective_from else " (when a worker first runs it)"),
            effective.apply_to.value,
        )
        history = edited
    if only is not None:
        found = resolve_ticket(store, policy, only)
        refs = [found] if found else []
    else:
        refs = [(t.connection, t.id) for t in store.iter_open_tickets()]
    total = changed = 0
    for connection, ticket_id in refs:
        loaded = store.load_tickets(connection, [ticket_id]).get(ticket_id)
        if loaded is None:
            continue
        ticket = loaded.ticket
        total += 1
        result = evaluate(
            ticket, loaded.events, history, now, settled=loaded.settled, observed_at=loaded.seen_at
        )
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
        f"{changed} of {total} tickets would change (policy {history.current.version}, as of {iso(now)}); "
        "nothing was pushed"
    )
    return changed
