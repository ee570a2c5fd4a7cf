"""`tierdesk explain` and `tierdesk plan`: the engine's reasoning, printed for people."""

from __future__ import annotations

from datetime import datetime, timedelta

from rich.console import Console

from connector.domain.engine import evaluate
from connector.domain.formatting import human, iso
from connector.domain.model import Ticket
from connector.domain.people_view import as_people_left_it
from connector.domain.policy import Metric, Policy
from connector.domain.record import PolicyHistory, SettledOutcome
from connector.domain.results import Evaluation
from connector.ola_clocks import ticket_ola_holds
from connector.policy_versions import running_history, with_pending_edit
from connector.report.fit_table import print_table
from connector.report.levels import action_detail, level_rows
from connector.report.ola import explain_rows
from connector.report.preview import preview_edit, render_preview
from connector.report.status_history import status_rows
from connector.store.repository import Store


def _describe_rule(kind: str, decision_rule: str | None, source: str, unmatched: bool, value: str) -> str:
    if decision_rule is None:
        flag = " (no rule matched: default, flagged tier_unmatched)" if unmatched and kind == "tier" else ""
        return f"{value} — default{flag}"
    return f"{value} — rule {decision_rule!r} at {source}"


def render_explain(
    console: Console, store: Store, policy: Policy, now: datetime, ticket: tuple[str, str]
) -> bool:
    """Print why the stored ticket (connection, id) has its tier, severity and due times; False
    if it is no longer stored."""
    loaded = store.load_tickets(ticket[0], [ticket[1]]).get(ticket[1])
    if loaded is None:
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
    # An account's calendar wins over its tier's: the clocks count on it.
    calendar_name = result.tier.calendar or tier.calendar
    overridden = (
        "" if calendar_name == tier.calendar else f" (the account's; tier {tier.name} uses {tier.calendar})"
    )
    console.print(f"calendar: {calendar_name}{overridden}; escalation chain: {tier.escalation or '-'}")
    if (calendar := running.calendars.get(calendar_name)) is not None:
        today = now.astimezone(calendar.timezone).date()
        ahead = calendar.holidays_between(today, today + timedelta(days=60))
        if ahead:
            console.print(f"holidays in the next 60 days: {', '.join(d.isoformat() for d in ahead)}")
    chain = running.chains.get(tier.escalation or "")
    if chain is not None:
        print_table(console, "escalation levels", ("level", "fires", "metrics", "actions"), level_rows(chain))
    settled = {o.key: o for o in (*loaded.settled, *result.decided)}
    _clock_table(console, result, history, settled)
    if rows := status_rows(loaded.events, tier):
        print_table(console, "status history", ("at", "helpdesk status", "counts as", "pauses"), rows)
    if holds := ticket_ola_holds(t, loaded.events, running, now):
        print_table(
            console,
            "group ownership (OLA)",
            ("group", "from", "until", "held", "target", "within", "record"),
            explain_rows(holds, store.ola_holds_of(t.connection, t.id)),
        )
    _conditions_table(console, result, calendar_name)
    if result.crossings:
        print_table(
            console,
            "thresholds crossed",
            ("metric", "cycle", "threshold", "at", "escalation level"),
            [
                (
                    c.metric.value,
                    str(c.cycle),
                    c.threshold,
                    iso(c.at),
                    "-" if c.level is None else str(c.level + 1),
                )
                for c in result.crossings
            ],
        )
    statuses = store.outbox_statuses([a.key for a in result.actions])
    print_table(
        console,
        "write-back",
        ("action", "detail", "why", "outbox"),
        [
            (
                a.kind.value,
                action_detail(a),
                a.reason,
                statuses.get(a.key, "not queued yet"),
            )
            for a in result.actions
        ],
    )
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
    rows = [
        (
            activation.version + (" (running)" if index == len(history) - 1 else ""),
            iso(activation.effective_from),
            f"{activation.apply_to.value} clocks",
            iso(activation.seen_at) or "not yet",
        )
        for index, activation in enumerate(history)
    ]
    print_table(
        console,
        "policy versions (newest last; targets of a clock come from the version it runs on)",
        ("version", "effective from", "applies to", "first run"),
        rows,
    )


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
    print_table(
        console,
        "earlier escalation steps",
        ("crossing", "action", "outbox", "why"),
        [
            (action.crossing or action.reason, action.kind.value, status, why or "")
            for action, status, why in rows
        ],
    )


def _clock_table(
    console: Console,
    result: Evaluation,
    history: PolicyHistory,
    settled: dict[tuple[Metric, datetime], SettledOutcome],
) -> None:
    columns = (
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
    )
    rows = []
    for c in result.clocks:
        spans = "; ".join(f"{iso(s.start)}..{iso(s.end) if s.end else 'now'}" for s in c.paused_spans) or "-"
        outcome = settled.get((c.metric, c.started_at))
        version = outcome.policy_version if outcome else history.for_cycle(c.started_at).version
        rows.append(
            (
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
        )
    print_table(console, "SLA clocks", columns, rows)


def _conditions_table(console: Console, result: Evaluation, calendar: str) -> None:
    """The clocks a per-metric calendar, a field target or a manual exemption / pause shaped, and how."""
    rows = [
        (c.metric.value, str(c.cycle), c.calendar, c.condition or "-")
        for c in result.clocks
        if c.condition or c.calendar != calendar
    ]
    if rows:
        print_table(
            console,
            f"clock conditions (other clocks count on {calendar})",
            ("metric", "cycle", "calendar", "condition"),
            rows,
        )


def render_plan(
    console: Console, store: Store, policy: Policy, now: datetime, only: tuple[str, str] | None
) -> int:
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
    refs = [only] if only is not None else [(t.connection, t.id) for t in store.iter_open_tickets()]
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
            detail = action_detail(a)
            console.print(f"  {a.kind.value:<15} {detail}  # {a.reason}", highlight=False, markup=False)
    console.print(
        f"{changed} of {total} tickets would change (policy {history.current.version}, as of {iso(now)}); "
        "nothing was pushed"
    )
    return changed
