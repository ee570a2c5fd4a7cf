"""Tier and severity rules read the ticket as people left it, never tierdesk's own writes.

tierdesk raises priorities, adds tags and writes fields; a rule reading those back would feed
tierdesk's output into its input (an escalation raising the priority to urgent would raise the
severity through `priority: urgent`).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from connector.domain.engine import evaluate
from connector.domain.model import Event, EventKind, Priority, Ticket
from connector.domain.people_view import as_people_left_it
from connector.domain.policy import (
    ActionKind,
    Condition,
    ConditionKind,
    ConnectionConfig,
    EscalationChain,
    EscalationLevel,
    EscalationStep,
    Policy,
    Rule,
    Threshold,
)
from connector.domain.results import Evaluation
from tests.unit.engine_helpers import MON_0900_BERLIN, H, M, created, ev, make_policy, ticket

NOW = MON_0900_BERLIN + 2 * H


def rule(name: str, result: str, kind: ConditionKind, *values: str, field: str | None = None) -> Rule:
    return Rule(name, result, (Condition(kind, values=values, field=field),), source=f"triage.yaml:{name}")


def policy_with(*severity_rules: Rule, tier_rules: tuple[Rule, ...] = ()) -> Policy:
    """The helper policy with these severity rules; escalations add the tag `escalated`."""
    chain = EscalationChain(
        "standard",
        (
            EscalationLevel(
                Threshold("75%", percent=75.0), (EscalationStep(ActionKind.ADD_TAGS, values=("escalated",)),)
            ),
        ),
    )
    base = make_policy()
    return replace(
        base,
        severity_rules=severity_rules,
        tier_rules=tier_rules or base.tier_rules,
        chains={"standard": chain},
        connections=(ConnectionConfig("zd", "zendesk", "http://zd", fields={"tier": "360001"}),),
    )


URGENT_IS_CRITICAL = rule("urgent-priority", "critical", ConditionKind.PRIORITY, "urgent")
HIGH_IS_CRITICAL = rule("high-priority", "critical", ConditionKind.PRIORITY, "high")
ESCALATED_IS_CRITICAL = rule("escalated", "critical", ConditionKind.TAG, "escalated")


def priority_change(at: datetime, value: str, previous: str | None, *, ours: bool) -> Event:
    return ev(EventKind.PRIORITY_CHANGE, at, value=value, previous=previous, by_tierdesk=ours)


def tag_change(at: datetime, value: str, previous: str | None, *, ours: bool) -> Event:
    return ev(EventKind.FIELD_CHANGE, at, field="tags", value=value, previous=previous, by_tierdesk=ours)


def severity(result: Evaluation) -> tuple[str, str | None]:
    return result.severity.value, result.severity.rule


def test_priority_tierdesk_raised_does_not_raise_the_severity() -> None:
    t = ticket(priority=Priority.URGENT)
    events = [created(), priority_change(MON_0900_BERLIN + H, "urgent", "normal", ours=True)]

    result = evaluate(t, events, policy_with(URGENT_IS_CRITICAL), NOW)

    assert severity(result) == ("normal", None)
    assert "sev_critical" not in result.desired_tags


def test_priority_a_person_set_after_tierdesk_is_what_rules_read() -> None:
    t = ticket(priority=Priority.URGENT)
    events = [
        created(),
        priority_change(MON_0900_BERLIN + H, "high", "normal", ours=True),
        priority_change(MON_0900_BERLIN + H + 30 * M, "urgent", "high", ours=False),
    ]

    result = evaluate(t, list(reversed(events)), policy_with(URGENT_IS_CRITICAL), NOW)  # any order

    assert severity(result) == ("critical", "urgent-priority")


def test_creation_priority_is_what_rules_read_after_tierdesk_raised_it() -> None:
    t = ticket(priority=Priority.URGENT)
    events = [created(), priority_change(MON_0900_BERLIN + H, "urgent", "high", ours=True)]

    result = evaluate(t, events, policy_with(HIGH_IS_CRITICAL, URGENT_IS_CRITICAL), NOW)

    assert severity(result) == ("critical", "high-priority")


def test_priority_tierdesk_raised_from_one_a_rule_tests_is_read_as_before_the_raise() -> None:
    t = ticket(priority=Priority.NORMAL)  # severity mapping raised it from low
    events = [created(), priority_change(MON_0900_BERLIN + H, "normal", "low", ours=True)]
    low_is_critical = rule("low-priority", "critical", ConditionKind.PRIORITY, "low")

    result = evaluate(t, events, policy_with(low_is_critical), NOW)

    assert severity(result) == ("critical", "low-priority")


def test_tierdesk_priority_change_stored_without_its_previous_value_leaves_rules_no_priority() -> None:
    t = ticket(priority=Priority.URGENT)
    events = [created(), priority_change(MON_0900_BERLIN + H, "urgent", None, ours=True)]

    seen = as_people_left_it(t, events, policy_with(URGENT_IS_CRITICAL))

    assert seen.priority is None


def test_tag_a_tierdesk_escalation_added_is_not_read_by_rules() -> None:
    t = ticket(tags=frozenset({"tier_standard", "escalated"}))
    events = [
        created(),
        tag_change(MON_0900_BERLIN + H, "tier_standard,escalated", "tier_standard", ours=True),
    ]

    result = evaluate(t, events, policy_with(ESCALATED_IS_CRITICAL), NOW)

    assert severity(result) == ("normal", None)


def test_tag_a_person_added_again_after_tierdesk_is_read_by_rules() -> None:
    t = ticket(tags=frozenset({"escalated"}))
    events = [
        created(),
        tag_change(MON_0900_BERLIN + H, "escalated", "", ours=True),
        tag_change(MON_0900_BERLIN + H + 10 * M, "", "escalated", ours=False),
        tag_change(MON_0900_BERLIN + H + 20 * M, "escalated", "", ours=False),
    ]

    result = evaluate(t, events, policy_with(ESCALATED_IS_CRITICAL), NOW)

    assert severity(result) == ("critical", "escalated")


def test_tag_a_person_set_stays_read_when_tierdesk_later_adds_its_own() -> None:
    t = ticket(tags=frozenset({"escalated", "tier_standard"}))
    events = [created(), tag_change(MON_0900_BERLIN + H, "escalated,tier_standard", "escalated", ours=True)]

    result = evaluate(t, events, policy_with(ESCALATED_IS_CRITICAL), NOW)

    assert severity(result) == ("critical", "escalated")


def test_tags_of_tierdesk_families_are_never_read_by_rules() -> None:
    t = ticket(tags=frozenset({"sev_critical"}))  # no event: as if a person had added it

    result = evaluate(
        t, [created()], policy_with(rule("echo", "critical", ConditionKind.TAG, "sev_critical")), NOW
    )

    assert severity(result) == ("normal", None)


def test_tag_change_stored_without_previous_tags_takes_only_escalation_tags_for_tierdesk_s() -> None:
    t = ticket(tags=frozenset({"question", "escalated"}))
    events = [created(), tag_change(MON_0900_BERLIN + H, "question,escalated", None, ours=True)]
    question_is_critical = rule("question", "critical", ConditionKind.TAG, "question")

    seen = as_people_left_it(t, events, policy_with(question_is_critical, ESCALATED_IS_CRITICAL))

    assert seen.tags == {"question"}


def test_fields_tierdesk_writes_are_not_read_by_tier_rules() -> None:
    by_name = rule("tier-field", "enterprise", ConditionKind.FIELD, "enterprise", field="tier")
    by_id = rule("tier-field-id", "enterprise", ConditionKind.FIELD, "enterprise", field="360001")
    for tier_rule, fields in ((by_name, {"tier": "enterprise"}), (by_id, {"360001": "enterprise"})):
        t = ticket(fields={**fields, "region": "emea"})

        result = evaluate(t, [created()], policy_with(tier_rules=(tier_rule,)), NOW)

        assert (result.tier.value, result.tier.rule) == ("standard", None)


def test_ticket_without_tierdesk_writes_is_read_as_it_shows() -> None:
    t: Ticket = ticket(priority=Priority.URGENT, tags=frozenset({"escalated"}), fields={"region": "emea"})
    events = [created(), priority_change(MON_0900_BERLIN + H, "urgent", "normal", ours=False)]
    policy = policy_with(URGENT_IS_CRITICAL, ESCALATED_IS_CRITICAL)

    assert as_people_left_it(t, events, policy) is t
    assert severity(evaluate(t, events, policy, NOW)) == ("critical", "urgent-priority")
