"""The write-back plan: the minimal diff between what agents should see and what the helpdesk
shows, plus the escalation steps of thresholds crossed (`escalation_plan`), each with a
deterministic idempotency key.

Key rules (they make "fires once per clock cycle" and "never duplicated" hold across restarts):
- escalation steps: hash(ticket, metric, cycle, threshold, level, step). The same crossing always
  yields the same key, so the outbox's unique key turns a re-evaluation into a no-op.
- state diffs (tags, priority, fields, panel property): hash(ticket, kind, value, basis) where
  basis is the ticket's `updated_at`: while the helpdesk shows the same ticket the same diff is the
  same action; once anything changed, a fresh diff gets a fresh key.

Keys, note texts and the panel JSON are byte-for-byte what earlier versions produced, so an outbox
written before an upgrade still recognises every action after it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Final

from connector.domain.clocks import ClockRecord
from connector.domain.escalation_plan import arrival_actions, escalation_actions
from connector.domain.formatting import iso_us, joined_key
from connector.domain.model import Event, Priority, Ticket
from connector.domain.plan_settings import MANAGED_FAMILIES, PlanSettings
from connector.domain.policy import ActionKind, EscalationChain, Metric, Policy, Tier
from connector.domain.results import Action, ClockState, Crossing, Decision, SlaClock, new_action
from connector.domain.timeline import DONE, Timeline, to_us

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_US: Final = timedelta(microseconds=1)

# Enum `.value` is a Python-level property; these tables answer the same in a dict lookup.
_METRIC_VALUE: Final = {m: m.value for m in Metric}
_STATE_VALUE: Final = {s: s.value for s in ClockState}
_KIND_VALUE: Final = {k: k.value for k in ActionKind}
_BREACHED: Final = ClockState.BREACHED
_RUNNING: Final = ClockState.RUNNING
_PAUSED: Final = ClockState.PAUSED
_ADD_TAGS: Final = ActionKind.ADD_TAGS
_REMOVE_TAGS: Final = ActionKind.REMOVE_TAGS
_SET_PRIORITY: Final = ActionKind.SET_PRIORITY
_SET_FIELD: Final = ActionKind.SET_FIELD
_SET_PROPERTY: Final = ActionKind.SET_PROPERTY


@dataclass(frozen=True, slots=True)
class Plan:
    actions: tuple[Action, ...]
    desired_tags: frozenset[str]
    desired_fields: Mapping[str, str]


def record_of(clock: SlaClock, crossings: Sequence[Crossing]) -> ClockRecord:
    return (
        clock,
        tuple(crossings),
        [to_us(c.at) for c in crossings],
        None if clock.due_at is None else to_us(clock.due_at),
        None if clock.stopped_at is None else to_us(clock.stopped_at),
        None,
    )


def _instant(text: str) -> datetime | None:
    candidate = text.strip()
    if not candidate[:1].isdigit():
        return None  # every ISO 8601 timestamp starts with its year; skips a costly ValueError
    candidate = candidate.replace("Z", "+00:00")
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
    shown_at = _instant(shown)
    if shown_at is not None:
        desired_at = _instant(desired)
        if desired_at is not None:
            return shown_at == desired_at
    return shown.strip().casefold() == desired.strip().casefold()


def managed_tag(tag: str, prefix: str) -> bool:
    """Tags tierdesk owns and may remove: `<prefix>tier_*`, `<prefix>sev_*`, `<prefix>sla_*`."""
    return tag.startswith(tuple(prefix + family for family in MANAGED_FAMILIES))


def sla_state(clocks: Sequence[SlaClock], warned: bool) -> str:
    return _sla_state(
        any(c.state is ClockState.BREACHED and c.stopped_at is None for c in clocks),
        warned,
        any(c.state is ClockState.RUNNING and c.stopped_at is None for c in clocks),
        any(c.state is ClockState.PAUSED and c.stopped_at is None for c in clocks),
        any(c.state is ClockState.BREACHED for c in clocks),
        bool(clocks),
    )


def _sla_state(
    active_breached: bool,
    warned: bool,
    active_running: bool,
    active_paused: bool,
    breached: bool,
    any_clock: bool,
) -> str:
    if active_breached:
        return "breached"
    if warned:
        return "warning"
    if active_running:
        return "running"
    if active_paused:
        return "paused"
    if breached:
        return "breached"
    return "met" if any_clock else "none"


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
    actions, desired_tags, desired_fields = plan(
        ticket,
        timeline.priority_changes,
        PlanSettings(policy, tier, severity_decision.value, ticket.connection),
        tier,
        chain,
        tier_decision,
        severity_decision,
        [record_of(clock, crossings) for clock, crossings in details],
    )
    return Plan(actions, desired_tags, desired_fields)


def plan(
    ticket: Ticket,
    priority_changes: Sequence[Event],
    settings: PlanSettings,
    tier: Tier,
    chain: EscalationChain | None,
    tier_decision: Decision,
    severity_decision: Decision,
    records: Sequence[ClockRecord],
) -> tuple[tuple[Action, ...], frozenset[str], dict[str, str]]:
    """:func:`plan_writeback` on the engine's clock records: (actions, desired tags, fields)."""
    severity = severity_decision.value
    # One pass over the clocks for every question the plan asks of them. Escalations fire only for
    # clocks still counting or paused; a stopped clock's past crossings are history (shown by
    # explain and reports), not a reason to notify now.
    live: list[ClockRecord] = []
    breached = live_breached = live_running = live_paused = crossed_warning = False
    next_due: int | None = None
    for record in records:
        clock, crossings, _, due, stop, _ = record
        state = clock.state
        if state is _BREACHED:
            breached = True
        if stop is None:
            live.append(record)
            if state is _BREACHED:
                live_breached = True
            elif state is _RUNNING:
                live_running = True
            elif state is _PAUSED:
                live_paused = True
            if not crossed_warning:
                for crossing in crossings:
                    if not crossing.is_breach:
                        crossed_warning = True
                        break
            if due is not None and (next_due is None or due < next_due):
                next_due = due
    warned = crossed_warning and not live_breached

    desired = set(settings.tags)
    if tier_decision.unmatched:
        desired.add(settings.unmatched_tag)
    if warned:
        desired.add(settings.warning_tag)
    if breached:
        desired.add(settings.breached_tag)

    ticket_key = ticket.key
    connection = ticket.connection
    ticket_id = ticket.id
    actions: list[Action] = []
    escalation_tags: set[str] = set()
    if chain is not None:
        for record in live:
            if record[1]:
                escalation_actions(
                    actions, escalation_tags, ticket, ticket_key, settings, tier, chain, severity, record
                )

    if chain is not None and ticket.status not in DONE:
        arrival_actions(actions, escalation_tags, ticket, settings, tier, chain, severity)

    basis = ticket.updated_at
    basis_text = iso_us((basis - _EPOCH) // _ONE_US)

    def state_action(
        kind: ActionKind, value: str | None, values: tuple[str, ...], field: str | None, reason: str
    ) -> Action:
        # action_key(ticket, kind, field, value, values, basis)
        key = joined_key(
            f"{ticket_key}\x1f{_KIND_VALUE[kind]}\x1f{field or ''}\x1f{value or ''}\x1f"
            f"{','.join(values)}\x1f{basis_text}"
        )
        return new_action(key, connection, ticket_id, kind, value, values, field, None, reason, False, basis)

    tags = ticket.tags
    to_add = tuple(sorted(desired - tags))
    if to_add:
        actions.append(state_action(_ADD_TAGS, None, to_add, None, "tier/severity/SLA state tags"))
    if tags:
        managed = settings.managed
        to_remove = tuple(
            sorted(t for t in tags if t.startswith(managed) and t not in desired and t not in escalation_tags)
        )
        if to_remove:
            actions.append(state_action(_REMOVE_TAGS, None, to_remove, None, "tags no longer true"))

    wanted = settings.priority
    if wanted is not None and _should_raise(ticket, priority_changes, wanted, settings.priority_mode):
        actions.append(state_action(_SET_PRIORITY, wanted.value, (), None, settings.priority_reason))

    desired_fields: dict[str, str] = {}
    for name in settings.fields:
        if name == "tier":
            desired_fields[name] = tier.name
        elif name == "sla_due":
            desired_fields[name] = "" if next_due is None else iso_us(next_due)
        else:
            desired_fields[name] = _sla_state(
                live_breached, warned, live_running, live_paused, breached, bool(records)
            )
    shown = ticket.fields
    for name in settings.fields_sorted:
        value = desired_fields[name]
        if not same_field_value(shown.get(name, ""), value):
            # action_key(ticket, kind, field, value, values, basis)
            key = joined_key(f"{ticket_key}\x1fset_field\x1f{name}\x1f{value}\x1f\x1f{basis_text}")
            reason = f"{name} is {value!r}"
            actions.append(
                new_action(
                    key, connection, ticket_id, _SET_FIELD, value, (), name, None, reason, False, basis
                )
            )

    panel = _panel(records, settings.panel_tail)
    actions.append(
        new_action(
            joined_key(f"{ticket_key}\x1f{_KIND_VALUE[_SET_PROPERTY]}\x1f{panel}"),
            connection,
            ticket_id,
            _SET_PROPERTY,
            panel,
            (),
            "tierdesk",
            None,
            "issue panel data",
            False,
            basis,
        )
    )
    return tuple(actions), frozenset(desired), desired_fields


def _should_raise(ticket: Ticket, priority_changes: Sequence[Event], wanted: Priority, mode: str) -> bool:
    if ticket.priority is not None and ticket.priority.rank >= wanted.rank:
        return False
    if mode == "enforce":
        return True
    # raise_only: once an agent changed the priority after tierdesk last set it, the agent wins.
    ours = [e.at for e in priority_changes if e.by_tierdesk]
    if not ours:
        return True
    return not any(not e.by_tierdesk and e.at >= ours[-1] for e in priority_changes)


@lru_cache(maxsize=1024)
def _json_string(text: str) -> str:
    return json.dumps(text)


def _panel(records: Sequence[ClockRecord], tail: str) -> str:
    """Issue-panel JSON: stable while nothing changes (due instants, not elapsed time), so it is
    pushed only when a due time, state or decision changes.

    Written out by hand, byte-for-byte what ``json.dumps(..., sort_keys=True,
    separators=(",", ":"))`` gives (keys in sorted order, names escaped by json itself): the panel
    is rebuilt on every evaluation, and json.dumps of nested dicts cost more than the rest of the
    plan. `tail` closes the clock list and holds the severity and tier (`PlanSettings`).
    """
    clocks = []
    for clock, _, _, due, stop, _ in records:
        if stop is None or clock.state is _BREACHED:
            clocks.append(
                f'{{"calendar":{_json_string(clock.calendar)},"cycle":{clock.cycle},'
                f'"due":"{"" if due is None else iso_us(due)}","metric":"{_METRIC_VALUE[clock.metric]}",'
                f'"state":"{_STATE_VALUE[clock.state]}","stopped":"{"" if stop is None else iso_us(stop)}",'
                f'"target_seconds":{int(clock.target.total_seconds())}}}'
            )
    return f'{{"clocks":[{",".join(clocks)}{tail}'
