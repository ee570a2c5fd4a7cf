"""Note and notification texts of escalation steps and arrival routing: the step's template
filled with the ticket's values as of the crossing (or arrival), never as of `now`, so the same
crossing always renders the same text. Unknown placeholders are left as written.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Final

from connector.domain.formatting import human, iso
from connector.domain.model import Ticket
from connector.domain.plan_settings import PlanSettings
from connector.domain.policy import (
    DEFAULT_NOTIFY_TEXT,
    ActionKind,
    EscalationChain,
    EscalationLevel,
    EscalationStep,
    Metric,
    Tier,
)
from connector.domain.results import Crossing, SlaClock

# Note durations are targets and threshold offsets of the policy: a small set.
_human = lru_cache(maxsize=1024)(human)

# Enum `.value` is a Python-level property; this table answers the same in a dict lookup.
_METRIC_VALUE: Final = {m: m.value for m in Metric}
_ADD_NOTE: Final = ActionKind.ADD_NOTE


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
    return note_text(step, ticket, tier, chain, severity, clock, crossing, level_name, iso(clock.due_at))


def note_text(
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


def notification_text(
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
    text = note_text(
        template, ticket, tier, chain, severity, clock, crossing, level_name, due, ticket.url or ""
    )
    channel = settings.channels.get(step.value or "")
    if channel is not None and channel.include_notes:
        notes = [
            note_text(s, ticket, tier, chain, severity, clock, crossing, level_name, due, ticket.url or "")
            for s in level.steps
            if s.kind is _ADD_NOTE
        ]
        text = "\n\n".join([text, *notes])
    return text.strip()


def arrival_values(ticket: Ticket, tier: Tier, chain: EscalationChain, severity: str, level: str) -> _Safe:
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


def arrival_message(
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
    values = arrival_values(ticket, tier, chain, severity, level_name)
    text = template.format_map(values)
    channel = settings.channels.get(step.value or "")
    if channel is not None and channel.include_notes:
        notes = [(s.value or "").format_map(values) for s in level.steps if s.kind is _ADD_NOTE]
        text = "\n\n".join([text, *notes])
    return text.strip()
