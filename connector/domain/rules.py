"""Tier and severity triage: ordered first-match rules over a ticket's current state."""

from __future__ import annotations

from collections.abc import Sequence

from connector.domain.model import Ticket
from connector.domain.policy import Condition, ConditionKind, Rule
from connector.domain.policy import normalised as _norm
from connector.domain.results import Decision


def _any_equal(candidates: Sequence[str] | frozenset[str], wanted: frozenset[str]) -> bool:
    """True when a candidate equals one of `wanted` (`Condition.wanted`: already normalised)."""
    return any(_norm(c) in wanted for c in candidates)


def _field_values(ticket: Ticket, name: str) -> list[str]:
    raw = ticket.fields.get(name)
    if raw is None and ticket.organization is not None:
        raw = ticket.organization.fields.get(name)
    if raw is None or raw == "":
        return []
    return [part for part in raw.split(",") if part.strip()]


def condition_holds(condition: Condition, ticket: Ticket) -> bool:
    """True when `ticket` satisfies `condition` (values compare case-insensitively, any-of)."""
    kind = condition.kind
    org = ticket.organization
    if kind is ConditionKind.ORGANIZATION_NAME:
        return org is not None and _any_equal([org.name], condition.wanted)
    if kind is ConditionKind.ORGANIZATION_ID:
        return org is not None and _any_equal([org.id], condition.wanted)
    if kind is ConditionKind.ORGANIZATION_EXTERNAL_ID:
        return (
            org is not None
            and org.external_id is not None
            and _any_equal([org.external_id], condition.wanted)
        )
    if kind is ConditionKind.ORGANIZATION_TAG:
        return org is not None and _any_equal(org.tags, condition.wanted)
    if kind is ConditionKind.REQUESTER_DOMAIN:
        email = ticket.requester_email or ""
        domain = email.rpartition("@")[2]
        return bool(domain) and _any_equal([domain], condition.wanted)
    if kind is ConditionKind.FIELD:
        assert condition.field is not None
        return _any_equal(_field_values(ticket, condition.field), condition.wanted)
    if kind is ConditionKind.TAG:
        return _any_equal(ticket.tags, condition.wanted)
    if kind is ConditionKind.PRIORITY:
        return ticket.priority is not None and _any_equal([ticket.priority.value], condition.wanted)
    if kind is ConditionKind.BRAND:
        return ticket.brand is not None and _any_equal([ticket.brand], condition.wanted)
    if kind is ConditionKind.CONNECTION:
        return _any_equal([ticket.connection], condition.wanted)
    if kind is ConditionKind.SUBJECT_REGEX:
        assert condition.pattern is not None
        return condition.pattern.search(ticket.subject) is not None
    if kind is ConditionKind.DESCRIPTION_REGEX:
        assert condition.pattern is not None
        return condition.pattern.search(ticket.description) is not None
    raise ValueError(f"unhandled condition kind {kind}")


def first_match(rules: Sequence[Rule], ticket: Ticket, default: str) -> Decision:
    """The first rule whose conditions all hold decides; otherwise `default`, flagged unmatched."""
    for rule in rules:
        if all(condition_holds(c, ticket) for c in rule.conditions):
            return Decision(value=rule.result, rule=rule.name, source=rule.source, calendar=rule.calendar)
    return Decision(value=default, rule=None, unmatched=True)


def first_match_index(rules: Sequence[Rule], ticket: Ticket) -> int:
    """Index of the first rule whose conditions all hold, or ``len(rules)`` when none does (the
    default applies); the engine maps it onto decisions built once per policy."""
    for index, rule in enumerate(rules):
        if all(condition_holds(c, ticket) for c in rule.conditions):
            return index
    return len(rules)
