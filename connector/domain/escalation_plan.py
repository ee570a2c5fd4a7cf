"""Escalation steps and arrival routing of the write-back plan: the steps of the escalation
levels a clock's crossings reached, the notifications among them, and the steps of the chain's
on-arrival levels.

Key rules (they make "fires once per clock cycle" and "never duplicated" hold across restarts):
- escalation steps: hash(ticket, metric, cycle, threshold, level, step). The same crossing always
  yields the same key, so the outbox's unique key turns a re-evaluation into a no-op.
- notifications: hash(ticket, metric, cycle, threshold, "notify", channel, recipients).
- arrival steps: hash(ticket, "arrival", tier, level, step): once per ticket and tier.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Final

from connector.domain.clocks import ClockRecord
from connector.domain.formatting import iso_us, joined_key
from connector.domain.messages import arrival_message, arrival_values, note_text, notification_text
from connector.domain.model import Priority, Ticket
from connector.domain.plan_settings import PlanSettings
from connector.domain.policy import ActionKind, EscalationChain, EscalationStep, Metric, Tier
from connector.domain.results import Action, Crossing, arrival_ref, new_action

# Enum `.value` is a Python-level property; this table answers the same in a dict lookup.
_METRIC_VALUE: Final = {m: m.value for m in Metric}
_ADD_TAGS: Final = ActionKind.ADD_TAGS
_SET_PRIORITY: Final = ActionKind.SET_PRIORITY
_ADD_NOTE: Final = ActionKind.ADD_NOTE
_ADD_FOLLOWERS: Final = ActionKind.ADD_FOLLOWERS
_NOTIFY: Final = ActionKind.NOTIFY
_ASSIGN_KINDS: Final = (ActionKind.ASSIGN_GROUP, ActionKind.ASSIGN_ASSIGNEE)

SKIP_ALIAS = "-"


def _resolve(aliases: Mapping[str, str], value: str | None) -> str | None:
    return aliases.get(value, value) if value is not None else None


def escalation_actions(
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
                        joined_key(
                            f"{key_prefix}{crossing.threshold}\x1fnotify\x1f{step.value}\x1f{','.join(recipients)}"
                        ),
                        step,
                        recipients,
                        notification_text(
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
            key = joined_key(f"{key_prefix}{crossing.threshold}\x1f{level_index}\x1f{step_index}")
            if kind is _ADD_TAGS:
                added_tags.update(values)
            elif kind is _ADD_NOTE:
                level_name = level.name or f"L{level_index + 1}"
                due_text = "" if due is None else iso_us(due)
                value = note_text(step, ticket, tier, chain, severity, clock, crossing, level_name, due_text)
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


def arrival_actions(
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
            key = joined_key(f"{ticket_key}\x1farrival\x1f{tier.name}\x1f{level_index}\x1f{step_index}")
            level_name = level.name or f"L{level_index + 1}"
            if kind is _NOTIFY:
                message = arrival_message(step, level, ticket, tier, chain, severity, level_name, settings)
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
                    arrival_values(ticket, tier, chain, severity, level_name)
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
