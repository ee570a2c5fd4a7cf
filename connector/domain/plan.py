"""The write-back plan: the minimal diff between what agents should see and what the helpdesk
shows, plus the escalation steps of thresholds crossed, each with a deterministic idempotency key.

Key rules (they make "fires once per clock cycle" and "never duplicated" hold across restarts):
- escalation steps: hash(ticket, metric, cycle, threshold, level, step). The same crossing always
  yields the same key, so the outbox's unique key turns a re-evaluation into a no-op.
- state diffs (tags, priority, fields, panel property): hash(ticket, kind, value, basis) where
  basis is the ticket's `updated_at`: while the helpdesk shows the same ticket the same diff is the
  same action; once anything changed, a fresh diff gets a fresh key.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from connector.domain.model import Priority, Ticket
from connector.domain.policy import (
    ActionKind,
    ConnectionConfig,
    EscalationChain,
    EscalationStep,
    Policy,
    Tier,
)
from connector.domain.results import Action, ClockState, Crossing, Decision, SlaClock
from connector.domain.timeline import Timeline

_TAG_UNSAFE = re.compile(r"[^a-z0-9_:\-/]+")


def tag_name(raw: str) -> str:
    """Helpdesk-safe tag: lower case, spaces and punctuation folded to `_` (Zendesk and Jira labels
    allow no spaces)."""
    return _TAG_UNSAFE.sub("_", raw.strip().casefold()).strip("_")


def action_key(*parts: object) -> str:
    return hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).hexdigest()[:32]


def iso(at: datetime | None) -> str:
    """Full ISO 8601 timestamp in UTC to the second, `Z` suffix; empty for None."""
    if at is None:
        return ""
    return at.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def human(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    parts = [f"{days}d" if days else "", f"{hours}h" if hours else "", f"{minutes}m" if minutes else ""]
    text = "".join(parts) or f"{seconds}s"
    return sign + text


@dataclass(frozen=True, slots=True)
class Plan:
    actions: tuple[Action, ...]
    desired_tags: frozenset[str]
    desired_fields: Mapping[str, str]


def _instant(text: str) -> datetime | None:
    candidate = text.strip().replace("Z", "+00:00")
    if len(candidate) >= 5 and candidate[-5] in "+-" and candidate[-3] != ":":
        candidate = candidate[:-2] + ":" + candidate[-2:]  # Jira writes offsets as -0800
    try:
        parsed = datetime.fromisoformat(candidate)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def same_field_value(shown: str, desired: str) -> bool:
    """Whether the helpdesk already shows `desired`: instants compare as instants whatever their
    format (`...Z` vs Jira's `.000-0800`), other values case-insensitively (select options)."""
    if shown == desired:
        return True
    shown_at, desired_at = _instant(shown), _instant(desired)
    if shown_at is not None and desired_at is not None:
        return shown_at == desired_at
    return shown.strip().casefold() == desired.strip().casefold()


def managed_tag(tag: str, prefix: str) -> bool:
    """Tags tierdesk owns and may remove: `<prefix>tier_*`, `<prefix>sev_*`, `<prefix>sla_*`."""
    return any(tag.startswith(prefix + family) for family in ("tier_", "sev_", "sla_"))


def sla_state(clocks: Sequence[SlaClock], warned: bool) -> str:
    active = [c for c in clocks if c.stopped_at is None]
    if any(c.state is ClockState.BREACHED for c in active):
        return "breached"
    if warned:
        return "warning"
    if any(c.state is ClockState.RUNNING for c in active):
        return "running"
    if any(c.state is ClockState.PAUSED for c in active):
        return "paused"
    if any(c.state is ClockState.BREACHED for c in clocks):
        return "breached"
    return "met" if clocks else "none"


def plan_writeback(
    *,
    ticket: Ticket,
    timeline: Timeline,
    policy: Policy,
    tier: Tier,
    chain: EscalationChain | None,
    tier_decision: Decision,
    severity_decision: Decision,
    details: Sequence[tuple[SlaClock, Sequence[Crossing]]],
    now: datetime,
) -> Plan:
    wb = policy.writeback
    prefix = wb.tag_prefix
    clocks = [clock for clock, _ in details]
    # Escalations fire only for clocks still counting or paused; a stopped clock's past crossings
    # are history (shown by explain and reports), not a reason to notify now.
    live = [(clock, crossings) for clock, crossings in details if clock.stopped_at is None]
    warned = any(not c.is_breach for _, crossings in live for c in crossings) and not any(
        clock.state is ClockState.BREACHED for clock, _ in live
    )

    desired: set[str] = {
        tag_name(f"{prefix}tier_{tier.name}"),
        tag_name(f"{prefix}sev_{severity_decision.value}"),
    }
    if tier_decision.unmatched:
        desired.add(tag_name(f"{prefix}tier_unmatched"))
    if warned:
        desired.add(tag_name(f"{prefix}sla_warning"))
    if any(c.state is ClockState.BREACHED for c in clocks):
        desired.add(tag_name(f"{prefix}sla_breached"))

    actions: list[Action] = []
    escalation_tags: set[str] = set()
    if chain is not None:
        for clock, crossings in live:
            actions.extend(
                _escalation_actions(
                    ticket, policy, tier, chain, severity_decision.value, clock, crossings, now
                )
            )
        escalation_tags = {t for a in actions if a.kind is ActionKind.ADD_TAGS for t in a.values}
    basis = ticket.updated_at

    def state_action(
        kind: ActionKind,
        *,
        value: str | None = None,
        values: tuple[str, ...] = (),
        field: str | None = None,
        reason: str,
    ) -> Action:
        return Action(
            key=action_key(ticket.key, kind.value, field or "", value or "", ",".join(values), iso(basis)),
            connection=ticket.connection,
            ticket_id=ticket.id,
            kind=kind,
            value=value,
            values=values,
            field=field,
            reason=reason,
            basis=basis,
        )

    to_add = tuple(sorted(desired - ticket.tags))
    to_remove = tuple(
        sorted(
            t for t in ticket.tags if managed_tag(t, prefix) and t not in desired and t not in escalation_tags
        )
    )
    if to_add:
        actions.append(
            state_action(ActionKind.ADD_TAGS, values=to_add, reason="tier/severity/SLA state tags")
        )
    if to_remove:
        actions.append(state_action(ActionKind.REMOVE_TAGS, values=to_remove, reason="tags no longer true"))

    wanted_priority = wb.severity_priority.get(severity_decision.value)
    if wanted_priority is not None and _should_raise(ticket, timeline, wanted_priority, wb.priority_mode):
        actions.append(
            state_action(
                ActionKind.SET_PRIORITY,
                value=wanted_priority.value,
                reason=f"severity {severity_decision.value} maps to priority {wanted_priority.value}",
            )
        )

    fields = _desired_fields(tier, clocks, warned)
    mapped = _connection_fields(policy, ticket.connection)
    desired_fields = {k: v for k, v in fields.items() if k in wb.fields and (mapped is None or k in mapped)}
    for name, value in sorted(desired_fields.items()):
        if not same_field_value(ticket.fields.get(name, ""), value):
            actions.append(
                state_action(ActionKind.SET_FIELD, field=name, value=value, reason=f"{name} is {value!r}")
            )

    panel = _panel(tier, severity_decision.value, clocks)
    actions.append(
        Action(
            key=action_key(ticket.key, ActionKind.SET_PROPERTY.value, panel),
            connection=ticket.connection,
            ticket_id=ticket.id,
            kind=ActionKind.SET_PROPERTY,
            field="tierdesk",
            value=panel,
            reason="issue panel data",
            basis=basis,
        )
    )
    return Plan(tuple(actions), frozenset(desired), desired_fields)


def _connection(policy: Policy, name: str) -> ConnectionConfig | None:
    for conn in policy.connections:
        if conn.name == name:
            return conn
    return None


def _connection_fields(policy: Policy, connection: str) -> frozenset[str] | None:
    conn = _connection(policy, connection)
    return frozenset(conn.fields) if conn is not None else None


SKIP_ALIAS = "-"


def _resolve(aliases: Mapping[str, str], value: str | None) -> str | None:
    return aliases.get(value, value) if value is not None else None


def _should_raise(ticket: Ticket, timeline: Timeline, wanted: Priority, mode: str) -> bool:
    if ticket.priority is not None and ticket.priority.rank >= wanted.rank:
        return False
    if mode == "enforce":
        return True
    # raise_only: once an agent changed the priority after tierdesk last set it, the agent wins.
    ours = [e.at for e in timeline.priority_changes if e.by_tierdesk]
    if not ours:
        return True
    return not any(not e.by_tierdesk and e.at >= ours[-1] for e in timeline.priority_changes)


def _desired_fields(tier: Tier, clocks: Sequence[SlaClock], warned: bool) -> dict[str, str]:
    active_due = [c.due_at for c in clocks if c.stopped_at is None and c.due_at is not None]
    return {
        "tier": tier.name,
        "sla_due": iso(min(active_due)) if active_due else "",
        "sla_state": sla_state(clocks, warned),
    }


def _panel(tier: Tier, severity: str, clocks: Sequence[SlaClock]) -> str:
    """Issue-panel JSON: stable while nothing changes (due instants, not elapsed time), so it is
    pushed only when a due time, state or decision changes."""
    body = {
        "tier": tier.name,
        "tier_label": tier.label,
        "severity": severity,
        "clocks": [
            {
                "metric": c.metric.value,
                "cycle": c.cycle,
                "state": c.state.value if c.state is not ClockState.RUNNING else "running",
                "target_seconds": int(c.target.total_seconds()),
                "due": iso(c.due_at),
                "stopped": iso(c.stopped_at),
                "calendar": c.calendar,
            }
            for c in clocks
            if c.stopped_at is None or c.state is ClockState.BREACHED
        ],
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":"))


def _escalation_actions(
    ticket: Ticket,
    policy: Policy,
    tier: Tier,
    chain: EscalationChain,
    severity: str,
    clock: SlaClock,
    crossings: Sequence[Crossing],
    now: datetime,
) -> list[Action]:
    crossed = [c for c in crossings if c.level is not None]
    if not crossed:
        return []
    conn = _connection(policy, ticket.connection)
    aliases: Mapping[str, str] = conn.aliases if conn is not None else {}
    latest = max(crossed, key=lambda c: (c.at, c.is_breach))
    actions: list[Action] = []
    for crossing in crossed:
        assert crossing.level is not None
        level = chain.levels[crossing.level]
        level_name = level.name or f"L{crossing.level + 1}"
        for step_index, step in enumerate(level.steps):
            key = action_key(
                ticket.key, clock.metric.value, clock.cycle, crossing.threshold, crossing.level, step_index
            )
            reason = f"{clock.metric.value} reached {crossing.threshold} at {iso(crossing.at)}"
            value, marker = step.value, None
            if step.kind in (ActionKind.ASSIGN_GROUP, ActionKind.ASSIGN_ASSIGNEE):
                value = _resolve(aliases, value)
            values = tuple(v for v in (_resolve(aliases, v) or v for v in step.values) if v != SKIP_ALIAS)
            if value == SKIP_ALIAS or (step.kind is ActionKind.ADD_FOLLOWERS and not values):
                continue  # this helpdesk has no equivalent (e.g. group assignment in Jira)
            if step.kind is ActionKind.ADD_NOTE:
                if not policy.writeback.notes:
                    continue
                value = render_note(step, ticket, tier, chain, severity, clock, crossing, level_name)
                marker = f"td-{key[:16]}"
            elif step.kind is ActionKind.SET_PRIORITY:
                wanted = Priority(step.value) if step.value else Priority.URGENT
                if ticket.priority is not None and ticket.priority.rank >= wanted.rank:
                    continue
                value = wanted.value
            actions.append(
                Action(
                    key=key,
                    connection=ticket.connection,
                    ticket_id=ticket.id,
                    kind=step.kind,
                    value=value,
                    values=values,
                    marker=marker,
                    reason=reason,
                    superseded=step.kind is ActionKind.ADD_NOTE and crossing is not latest,
                    at=crossing.at,
                )
            )
    return actions


class _Safe(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def render_note(
    step: EscalationStep,
    ticket: Ticket,
    tier: Tier,
    chain: EscalationChain,
    severity: str,
    clock: SlaClock,
    crossing: Crossing,
    level_name: str,
) -> str:
    """Fill a note template with values as of the crossing (not `now`), so the same crossing always
    renders the same text."""
    threshold_elapsed = clock.target if crossing.is_breach else crossing.offset
    values = _Safe(
        ticket=ticket.id,
        tier=tier.label,
        severity=severity,
        metric=clock.metric.value.replace("_", " "),
        threshold=crossing.threshold,
        target=human(clock.target),
        elapsed=human(threshold_elapsed),
        remaining=human(clock.target - threshold_elapsed),
        due=iso(clock.due_at),
        playbook=chain.playbook or "",
        level=level_name,
        calendar=clock.calendar,
    )
    return (step.value or "").format_map(values)
