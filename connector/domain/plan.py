"""The write-back plan: the minimal diff between what agents should see and what the helpdesk
shows, plus the escalation steps of thresholds crossed, each with a deterministic idempotency key.

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

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Final

from connector.domain.clocks import ClockRecord
from connector.domain.model import Event, Priority, Ticket
from connector.domain.policy import (
    DEFAULT_NOTIFY_TEXT,
    ActionKind,
    ConnectionConfig,
    EscalationChain,
    EscalationLevel,
    EscalationStep,
    Metric,
    NotificationChannel,
    Policy,
    Tier,
)
from connector.domain.results import Action, ClockState, Crossing, Decision, SlaClock, arrival_ref, new_action
from connector.domain.timeline import DONE, Timeline, to_us

_TAG_UNSAFE = re.compile(r"[^a-z0-9_:\-/]+")


def tag_name(raw: str) -> str:
    """Helpdesk-safe tag: lower case, spaces and punctuation folded to `_` (Zendesk and Jira labels
    allow no spaces)."""
    return _TAG_UNSAFE.sub("_", raw.strip().casefold()).strip("_")


_KEY_SEPARATOR: Final = "\x1f"


def action_key(*parts: object) -> str:
    return _key(_KEY_SEPARATOR.join(str(p) for p in parts))


def _key(text: str) -> str:
    """`action_key` of parts already joined with the separator."""
    # == hexdigest()[:32]; hexdigest() alone costs more than the hashing
    return hashlib.sha256(text.encode()).digest()[:16].hex()


_EPOCH_ORDINAL: Final = date(1970, 1, 1).toordinal()
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_US: Final = timedelta(microseconds=1)
_TWO_DIGITS: Final = tuple(f"{n:02d}" for n in range(60))
_DAY_MINUTES: Final = tuple(f"T{h:02d}:{m:02d}:" for h in range(24) for m in range(60))
_DAY_TEXTS: dict[int, str] = {}  # days since the epoch -> "YYYY-MM-DD"


def iso(at: datetime | None) -> str:
    """Full ISO 8601 timestamp in UTC to the second, `Z` suffix; empty for None."""
    return "" if at is None else iso_us(to_us(at))


def iso_us(at_us: int) -> str:
    """:func:`iso` of UTC microseconds since the epoch.

    Formatting from the integer avoids a datetime round trip (astimezone, replace, isoformat cost
    several times more): the date part is memoised (a worker's instants fall on a few hundred
    days), the time of day comes from tables.
    """
    days, seconds = divmod(at_us // 1_000_000, 86_400)
    day = _DAY_TEXTS.get(days)
    if day is None:
        if len(_DAY_TEXTS) >= 4096:
            _DAY_TEXTS.clear()
        day = _DAY_TEXTS[days] = date.fromordinal(days + _EPOCH_ORDINAL).isoformat()
    minutes, seconds = divmod(seconds, 60)
    return f"{day}{_DAY_MINUTES[minutes]}{_TWO_DIGITS[seconds]}Z"


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


# Note durations are targets and threshold offsets of the policy: a small set.
_human = lru_cache(maxsize=1024)(human)

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
_ADD_NOTE: Final = ActionKind.ADD_NOTE
_ADD_FOLLOWERS: Final = ActionKind.ADD_FOLLOWERS
_NOTIFY: Final = ActionKind.NOTIFY
_ASSIGN_KINDS: Final = (ActionKind.ASSIGN_GROUP, ActionKind.ASSIGN_ASSIGNEE)


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


_MANAGED_FAMILIES: Final = ("tier_", "sev_", "sla_")


def managed_tag(tag: str, prefix: str) -> bool:
    """Tags tierdesk owns and may remove: `<prefix>tier_*`, `<prefix>sev_*`, `<prefix>sla_*`."""
    return tag.startswith(tuple(prefix + family for family in _MANAGED_FAMILIES))


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


class PlanSettings:
    """What the plan reads from the policy for one tier, severity and connection, derived once:
    the engine keeps one per combination and policy instead of re-deriving it per ticket."""

    __slots__ = (
        "aliases",
        "breached_tag",
        "channels",
        "fields",
        "fields_sorted",
        "managed",
        "notes",
        "panel_tail",
        "priority",
        "priority_mode",
        "priority_reason",
        "tags",
        "unmatched_tag",
        "warning_tag",
    )

    def __init__(self, policy: Policy, tier: Tier, severity: str, connection: str) -> None:
        wb = policy.writeback
        prefix = wb.tag_prefix
        self.tags = frozenset({tag_name(f"{prefix}tier_{tier.name}"), tag_name(f"{prefix}sev_{severity}")})
        self.unmatched_tag = tag_name(f"{prefix}tier_unmatched")
        self.warning_tag = tag_name(f"{prefix}sla_warning")
        self.breached_tag = tag_name(f"{prefix}sla_breached")
        self.managed = tuple(prefix + family for family in _MANAGED_FAMILIES)
        self.priority = wb.severity_priority.get(severity)
        self.priority_mode = wb.priority_mode
        self.priority_reason = (
            f"severity {severity} maps to priority {self.priority.value}" if self.priority is not None else ""
        )
        conn = _connection(policy, connection)
        self.aliases: Mapping[str, str] = conn.aliases if conn is not None else {}
        mapped = frozenset(conn.fields) if conn is not None else None
        # the fields written, in the order of `Evaluation.desired_fields`
        self.fields: tuple[str, ...] = tuple(
            name
            for name in ("tier", "sla_due", "sla_state")
            if name in wb.fields and (mapped is None or name in mapped)
        )
        self.fields_sorted = tuple(sorted(self.fields))
        self.notes = wb.notes
        self.channels: Mapping[str, NotificationChannel] = policy.channels
        self.panel_tail = (
            f'],"severity":{json.dumps(severity)},"tier":{json.dumps(tier.name)},'
            f'"tier_label":{json.dumps(tier.label)}}}'
        )


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
                _escalation_actions(
                    actions, escalation_tags, ticket, ticket_key, settings, tier, chain, severity, record
                )

    if chain is not None and ticket.status not in DONE:
        _arrival_actions(actions, escalation_tags, ticket, settings, tier, chain, severity)

    basis = ticket.updated_at
    basis_text = iso_us((basis - _EPOCH) // _ONE_US)

    def state_action(
        kind: ActionKind, value: str | None, values: tuple[str, ...], field: str | None, reason: str
    ) -> Action:
        # action_key(ticket, kind, field, value, values, basis)
        key = _key(
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
            key = _key(f"{ticket_key}\x1fset_field\x1f{name}\x1f{value}\x1f\x1f{basis_text}")
            reason = f"{name} is {value!r}"
            actions.append(
                new_action(
                    key, connection, ticket_id, _SET_FIELD, value, (), name, None, reason, False, basis
                )
            )

    panel = _panel(records, settings.panel_tail)
    actions.append(
        new_action(
            _key(f"{ticket_key}\x1f{_KIND_VALUE[_SET_PROPERTY]}\x1f{panel}"),
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


def _connection(policy: Policy, name: str) -> ConnectionConfig | None:
    for conn in policy.connections:
        if conn.name == name:
            return conn
    return None


SKIP_ALIAS = "-"


def _resolve(aliases: Mapping[str, str], value: str | None) -> str | None:
    return aliases.get(value, value) if value is not None else None


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


def _escalation_actions(
    actions: list[Action],
    added_tags: set[str],
    ticket: Ticket,
    ticket_key: str,
    settings: PlanSettings,
    tier: Tier,
    chain: EscalationChain,
    severity: str,
    record: ClockRecord,
) -> None:
    """Append the steps of the escalation levels the clock's crossings reached (and the tags those
    steps add to `added_tags`)."""
    clock, crossings, crossed_at, due, _, _ = record
    # the latest crossing with a level (a breach wins a tie); notes of earlier ones are superseded
    latest: Crossing | None = None
    latest_at = 0
    for crossing, at in zip(crossings, crossed_at, strict=True):
        if crossing.level is not None and (
            latest is None
            or at > latest_at
            or (at == latest_at and crossing.is_breach and not latest.is_breach)
        ):
            latest, latest_at = crossing, at
    if latest is None:
        return
    aliases = settings.aliases
    metric = _METRIC_VALUE[clock.metric]
    key_prefix = f"{ticket_key}\x1f{metric}\x1f{clock.cycle}\x1f"
    for crossing, at in zip(crossings, crossed_at, strict=True):
        level_index = crossing.level
        if level_index is None:
            continue
        level = chain.levels[level_index]
        reason = f"{metric} reached {crossing.threshold} at {iso_us(at)}"
        for step_index, step in enumerate(level.steps):
            kind = step.kind
            value, marker = step.value, None
            if kind in _ASSIGN_KINDS:
                value = _resolve(aliases, value)
            values = (
                tuple(v for v in (_resolve(aliases, v) or v for v in step.values) if v != SKIP_ALIAS)
                if step.values
                else ()
            )
            if value == SKIP_ALIAS or (kind is _ADD_FOLLOWERS and not values):
                continue  # this helpdesk has no equivalent (e.g. group assignment in Jira)
            if kind is _ADD_NOTE and not settings.notes:
                continue
            if kind is _NOTIFY:
                level_name = level.name or f"L{level_index + 1}"
                due_text = "" if due is None else iso_us(due)
                recipients = step.values  # addresses outside the helpdesk: no aliases
                actions.append(
                    _notify_action(
                        # action_key(ticket, metric, cycle, threshold, "notify", channel, recipients)
                        _key(
                            f"{key_prefix}{crossing.threshold}\x1fnotify\x1f{step.value}\x1f{','.join(recipients)}"
                        ),
                        step,
                        recipients,
                        _message(
                            step,
                            level,
                            ticket,
                            tier,
                            chain,
                            severity,
                            clock,
                            crossing,
                            level_name,
                            due_text,
                            settings,
                        ),
                        reason,
                        crossing is not latest,
                        ticket,
                        crossing.at,
                        f"{metric}:{clock.cycle}:{crossing.threshold}",
                    )
                )
                continue
            if kind is _SET_PRIORITY:
                priority = Priority(step.value) if step.value else Priority.URGENT
                if ticket.priority is not None and ticket.priority.rank >= priority.rank:
                    continue
                value = priority.value
            # action_key(ticket, metric, cycle, threshold, level, step)
            key = _key(f"{key_prefix}{crossing.threshold}\x1f{level_index}\x1f{step_index}")
            if kind is _ADD_TAGS:
                added_tags.update(values)
            elif kind is _ADD_NOTE:
                level_name = level.name or f"L{level_index + 1}"
                due_text = "" if due is None else iso_us(due)
                value = _note(step, ticket, tier, chain, severity, clock, crossing, level_name, due_text)
                marker = f"td-{key[:16]}"
            actions.append(
                new_action(
                    key,
                    ticket.connection,
                    ticket.id,
                    kind,
                    value,
                    values,
                    None,
                    marker,
                    reason,
                    kind is _ADD_NOTE and crossing is not latest,
                    None,
                    crossing.at,
                    f"{metric}:{clock.cycle}:{crossing.threshold}",  # crossing_ref
                )
            )


def _notify_action(
    key: str,
    step: EscalationStep,
    recipients: tuple[str, ...],
    message: str,
    reason: str,
    superseded: bool,
    ticket: Ticket,
    at: datetime | None,
    crossing: str | None,
) -> Action:
    """A NOTIFY outbox action: the channel's name (`field`), never its URL, and the message."""
    return new_action(
        key,
        ticket.connection,
        ticket.id,
        _NOTIFY,
        message,
        recipients,
        step.value,
        None,
        reason,
        superseded,
        None,
        at,
        crossing,
    )


def _arrival_actions(
    actions: list[Action],
    added_tags: set[str],
    ticket: Ticket,
    settings: PlanSettings,
    tier: Tier,
    chain: EscalationChain,
    severity: str,
) -> None:
    """Steps of the chain's on-arrival levels, keyed once per ticket and tier: a ticket is routed
    when it first gets the tier, and never again for that tier. Solved and closed tickets are not
    routed."""
    aliases = settings.aliases
    ticket_key = ticket.key
    reason = f"arrived as {tier.name}"
    arrival = arrival_ref(tier.name)  # withdrawn if a fresh read shows another tier
    for level_index, level in enumerate(chain.levels):
        if not level.on_arrival:
            continue
        for step_index, step in enumerate(level.steps):
            kind = step.kind
            value = _resolve(aliases, step.value) if kind in _ASSIGN_KINDS else step.value
            values = tuple(v for v in (_resolve(aliases, v) or v for v in step.values) if v != SKIP_ALIAS)
            if value == SKIP_ALIAS or (kind is _ADD_FOLLOWERS and not values):
                continue
            if kind is _ADD_NOTE and not settings.notes:
                continue
            if kind is _SET_PRIORITY:
                priority = Priority(step.value) if step.value else Priority.URGENT
                if ticket.priority is not None and ticket.priority.rank >= priority.rank:
                    continue
                value = priority.value
            # action_key(ticket, "arrival", tier, level, step)
            key = _key(f"{ticket_key}\x1farrival\x1f{tier.name}\x1f{level_index}\x1f{step_index}")
            level_name = level.name or f"L{level_index + 1}"
            if kind is _NOTIFY:
                message = _arrival_message(step, level, ticket, tier, chain, severity, level_name, settings)
                actions.append(
                    _notify_action(
                        key, step, step.values, message, reason, False, ticket, ticket.created_at, arrival
                    )
                )
                continue
            marker = None
            if kind is _ADD_TAGS:
                added_tags.update(values)
            elif kind is _ADD_NOTE:
                value = (step.value or "").format_map(
                    _arrival_values(ticket, tier, chain, severity, level_name)
                )
                marker = f"td-{key[:16]}"
            # `at` is the ticket's creation, so a backlog met at first sync is not routed again
            actions.append(
                new_action(
                    key,
                    ticket.connection,
                    ticket.id,
                    kind,
                    value,
                    values,
                    None,
                    marker,
                    reason,
                    False,
                    None,
                    ticket.created_at,
                    arrival,
                )
            )


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
    return _note(step, ticket, tier, chain, severity, clock, crossing, level_name, iso(clock.due_at))


def _note(
    step: EscalationStep,
    ticket: Ticket,
    tier: Tier,
    chain: EscalationChain,
    severity: str,
    clock: SlaClock,
    crossing: Crossing,
    level_name: str,
    due: str,
    link: str = "",
) -> str:
    """:func:`render_note` with the due instant already formatted."""
    threshold_elapsed = clock.target if crossing.is_breach else crossing.offset
    values = _Safe(
        ticket=ticket.id,
        tier=tier.label,
        severity=severity,
        metric=_METRIC_VALUE[clock.metric].replace("_", " "),
        threshold=crossing.threshold,
        target=_human(clock.target),
        elapsed=_human(threshold_elapsed),
        remaining=_human(clock.target - threshold_elapsed),
        due=due,
        playbook=chain.playbook or "",
        level=level_name,
        calendar=clock.calendar,
        link=link,
        subject=ticket.subject,
    )
    return (step.value or "").format_map(values)


def _message(
    step: EscalationStep,
    level: EscalationLevel,
    ticket: Ticket,
    tier: Tier,
    chain: EscalationChain,
    severity: str,
    clock: SlaClock,
    crossing: Crossing,
    level_name: str,
    due: str,
    settings: PlanSettings,
) -> str:
    """A notification's text: the step's template (or the default one) filled like a note, plus
    the level's note texts only when the channel allows internal text (`include_notes`)."""
    template = EscalationStep(ActionKind.ADD_NOTE, step.text or DEFAULT_NOTIFY_TEXT)
    text = _note(template, ticket, tier, chain, severity, clock, crossing, level_name, due, ticket.url or "")
    channel = settings.channels.get(step.value or "")
    if channel is not None and channel.include_notes:
        notes = [
            _note(s, ticket, tier, chain, severity, clock, crossing, level_name, due, ticket.url or "")
            for s in level.steps
            if s.kind is _ADD_NOTE
        ]
        text = "\n\n".join([text, *notes])
    return text.strip()


def _arrival_values(ticket: Ticket, tier: Tier, chain: EscalationChain, severity: str, level: str) -> _Safe:
    return _Safe(
        ticket=ticket.id,
        tier=tier.label,
        severity=severity,
        metric="",
        threshold="arrival",
        playbook=chain.playbook or "",
        level=level,
        link=ticket.url or "",
        subject=ticket.subject,
    )


def _arrival_message(
    step: EscalationStep,
    level: EscalationLevel,
    ticket: Ticket,
    tier: Tier,
    chain: EscalationChain,
    severity: str,
    level_name: str,
    settings: PlanSettings,
) -> str:
    template = step.text or "[{tier} {severity}] new ticket {ticket} routed ({level}). {link}"
    values = _arrival_values(ticket, tier, chain, severity, level_name)
    text = template.format_map(values)
    channel = settings.channels.get(step.value or "")
    if channel is not None and channel.include_notes:
        notes = [(s.value or "").format_map(values) for s in level.steps if s.kind is _ADD_NOTE]
        text = "\n\n".join([text, *notes])
    return text.strip()
