"""How `explain` and `plan` describe escalation levels and their steps: routing on arrival,
thresholds, after-breach repeats and notifications (by channel name, never by URL)."""

from __future__ import annotations

from connector.domain.formatting import human
from connector.domain.policy import ActionKind, EscalationChain, EscalationLevel, EscalationStep
from connector.domain.results import Action


def action_detail(action: Action) -> str:
    """One line for an outbox action; a notification shows its channel, recipients and the start
    of its text."""
    if action.kind is ActionKind.NOTIFY:
        to = f" to {', '.join(action.values)}" if action.values else ""
        text = (action.value or "").strip().splitlines()
        first = text[0] if text else ""
        return f"{action.field}{to}: {first[:80]}"
    return ", ".join(action.values) or (
        f"{action.field}={action.value}" if action.field else (action.value or "")
    )


def level_trigger(level: EscalationLevel) -> str:
    if level.on_arrival:
        return "on arrival (once per ticket and tier)"
    if level.after is not None:
        trigger = f"{human(level.after)} after the breach"
        if level.repeat is not None:
            trigger += f", then every {human(level.repeat)} (at most {level.times} times)"
        return trigger
    return level.threshold.label


def step_text(step: EscalationStep) -> str:
    if step.kind is ActionKind.NOTIFY:
        return f"notify {step.value}" + (f" to {', '.join(step.values)}" if step.values else "")
    if step.kind is ActionKind.ADD_NOTE:
        return "internal note"
    return f"{step.kind.value} {step.value or ', '.join(step.values)}".strip()


def level_rows(chain: EscalationChain) -> list[tuple[str, str, str, str]]:
    """(level, fires, metrics, actions) for every level of the chain."""
    return [
        (
            level.name or f"L{index + 1}",
            level_trigger(level),
            "-" if level.on_arrival else ", ".join(sorted(m.value for m in level.metrics or ())) or "all",
            "; ".join(step_text(step) for step in level.steps),
        )
        for index, level in enumerate(chain.levels)
    ]
