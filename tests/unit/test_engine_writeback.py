"""Write-back plan: tags, priority, fields, escalations and their idempotency keys."""

from __future__ import annotations

from connector.domain.engine import evaluate
from connector.domain.model import EventKind, Priority, Status
from connector.domain.policy import ActionKind
from connector.domain.results import Action, Evaluation
from tests.unit.engine_helpers import (
    MON_0900_BERLIN,
    H,
    M,
    agent,
    chain_with_notes,
    created,
    customer,
    ev,
    make_policy,
    ticket,
)


def of_kind(result: Evaluation, kind: ActionKind) -> list[Action]:
    return [a for a in result.actions if a.kind is kind]


def tags_added(result: Evaluation) -> set[str]:
    return {t for a in of_kind(result, ActionKind.ADD_TAGS) for t in a.values}


def tags_removed(result: Evaluation) -> set[str]:
    return {t for a in of_kind(result, ActionKind.REMOVE_TAGS) for t in a.values}


def test_tier_and_severity_tags_are_added_and_agent_tags_left_alone():
    t = ticket(tags=frozenset({"vip_followup", "billing"}))
    result = evaluate(t, [created()], make_policy(), MON_0900_BERLIN + 10 * M)
    assert tags_added(result) == {"tier_standard", "sev_normal", "tier_unmatched"}
    assert tags_removed(result) == set()


def test_stale_managed_tags_are_removed_but_never_foreign_ones():
    t = ticket(tags=frozenset({"tier_enterprise", "sev_critical", "sla_warning", "customer_tag"}))
    result = evaluate(t, [created()], make_policy(), MON_0900_BERLIN + 10 * M)
    assert tags_removed(result) == {"tier_enterprise", "sev_critical", "sla_warning"}
    assert "customer_tag" not in tags_removed(result)


def test_matching_organization_tag_selects_tier_and_records_the_rule():
    t = ticket(org_tags=frozenset({"Enterprise"}))
    result = evaluate(t, [created()], make_policy(), MON_0900_BERLIN + 10 * M)
    assert result.tier.value == "enterprise"
    assert result.tier.rule == "enterprise orgs"
    assert result.tier.source == "customers.yaml:3"
    assert not result.tier.unmatched


def test_unmatched_customer_gets_default_tier_and_is_flagged():
    result = evaluate(ticket(), [created()], make_policy(), MON_0900_BERLIN + 10 * M)
    assert result.tier.value == "standard"
    assert result.tier.unmatched
    assert "tier_unmatched" in result.desired_tags


def test_warning_tag_after_warning_threshold_and_breached_tag_after_breach():
    policy = make_policy()
    warned = evaluate(ticket(), [created()], policy, MON_0900_BERLIN + 2 * H + M)
    assert "sla_warning" in warned.desired_tags and "sla_breached" not in warned.desired_tags
    breached = evaluate(ticket(), [created()], policy, MON_0900_BERLIN + 4 * H + M)
    assert "sla_breached" in breached.desired_tags and "sla_warning" not in breached.desired_tags


def test_priority_is_raised_from_severity_but_never_lowered():
    critical = ticket(subject="API down", priority=Priority.NORMAL)
    result = evaluate(critical, [created()], make_policy(), MON_0900_BERLIN + M)
    assert [a.value for a in of_kind(result, ActionKind.SET_PRIORITY)] == ["urgent"]
    already_higher = ticket(priority=Priority.URGENT)
    result = evaluate(already_higher, [created()], make_policy(), MON_0900_BERLIN + M)
    assert of_kind(result, ActionKind.SET_PRIORITY) == []


def test_agent_lowering_priority_after_tierdesk_raised_it_wins_in_raise_only_mode():
    events = [
        created(),
        ev(EventKind.PRIORITY_CHANGE, MON_0900_BERLIN + M, value="urgent", by_tierdesk=True),
        ev(EventKind.PRIORITY_CHANGE, MON_0900_BERLIN + 5 * M, value="high", author_id="agent-1"),
    ]
    t = ticket(subject="API down", priority=Priority.HIGH)
    assert (
        of_kind(evaluate(t, events, make_policy(), MON_0900_BERLIN + 10 * M), ActionKind.SET_PRIORITY) == []
    )
    enforced = evaluate(t, events, make_policy(priority_mode="enforce"), MON_0900_BERLIN + 10 * M)
    assert [a.value for a in of_kind(enforced, ActionKind.SET_PRIORITY)] == ["urgent"]


def test_sla_due_field_is_full_iso_timestamp_of_earliest_running_due():
    result = evaluate(ticket(), [created()], make_policy(), MON_0900_BERLIN + 10 * M)
    fields = {a.field: a.value for a in of_kind(result, ActionKind.SET_FIELD)}
    assert fields["sla_due"] == "2026-11-23T12:00:00Z"  # first response: Mon 13:00 Berlin
    assert fields["tier"] == "standard"
    assert fields["sla_state"] == "running"


def test_fields_already_shown_produce_no_action():
    shown = {"sla_due": "2026-11-23T12:00:00Z", "tier": "standard", "sla_state": "running"}
    t = ticket(fields=shown, tags=frozenset({"tier_standard", "sev_normal", "tier_unmatched"}))
    result = evaluate(t, [created()], make_policy(), MON_0900_BERLIN + 10 * M)
    assert [a.kind for a in result.actions] == [ActionKind.SET_PROPERTY]


def test_warning_note_fires_once_per_cycle_with_a_stable_key():
    policy = make_policy(chain=chain_with_notes("50%", "75%"))
    first = evaluate(ticket(), [created()], policy, MON_0900_BERLIN + 2 * H + M)
    later = evaluate(ticket(), [created()], policy, MON_0900_BERLIN + 2 * H + 30 * M)
    notes_first = of_kind(first, ActionKind.ADD_NOTE)
    notes_later = of_kind(later, ActionKind.ADD_NOTE)
    assert len(notes_first) == 1
    assert notes_first[0].key == notes_later[0].key
    assert notes_first[0].value == notes_later[0].value
    assert notes_first[0].marker and notes_first[0].marker.startswith("td-")
    assert "first response at 50%" in (notes_first[0].value or "")
    assert "https://wiki.example/playbook" in (notes_first[0].value or "")


def test_new_next_response_cycle_gets_a_new_escalation_key():
    policy = make_policy(chain=chain_with_notes("50%"))
    events = [created(), agent(MON_0900_BERLIN + 10 * M), customer(MON_0900_BERLIN + H)]
    one = evaluate(ticket(), events, policy, MON_0900_BERLIN + 3 * H + M)
    events += [agent(MON_0900_BERLIN + 3 * H + 2 * M), customer(MON_0900_BERLIN + 4 * H)]
    two = evaluate(ticket(), events, policy, MON_0900_BERLIN + 6 * H + M)
    keys_one = {a.key for a in of_kind(one, ActionKind.ADD_NOTE)}
    keys_two = {a.key for a in of_kind(two, ActionKind.ADD_NOTE)}
    assert keys_one and keys_two and keys_one.isdisjoint(keys_two)


def test_earlier_notes_are_superseded_when_several_thresholds_were_crossed_at_once():
    policy = make_policy(chain=chain_with_notes("50%", "75%"))
    result = evaluate(ticket(), [created()], policy, MON_0900_BERLIN + 3 * H + 30 * M)
    notes = of_kind(result, ActionKind.ADD_NOTE)
    assert [(n.superseded, "75%" in (n.value or "")) for n in notes] == [(True, False), (False, True)]


def test_breach_escalation_reassigns_raises_priority_and_notes():
    policy = make_policy(chain=chain_with_notes("50%"))
    result = evaluate(ticket(), [created()], policy, MON_0900_BERLIN + 4 * H + M)
    assert [a.value for a in of_kind(result, ActionKind.ASSIGN_GROUP)] == ["900"]
    raises = [a for a in of_kind(result, ActionKind.SET_PRIORITY) if "reached breach" in a.reason]
    assert [a.value for a in raises] == ["urgent"]
    breach_note = [n for n in of_kind(result, ActionKind.ADD_NOTE) if not n.superseded]
    assert breach_note[0].value == "BREACH first response: target 4h elapsed 4h"


def test_stopped_clock_fires_no_escalation():
    policy = make_policy(chain=chain_with_notes("50%"))
    events = [created(), agent(MON_0900_BERLIN + 5 * H)]  # answered late, after breach
    result = evaluate(ticket(), events, policy, MON_0900_BERLIN + 6 * H)
    assert [a for a in result.actions if "first_response" in a.reason] == []
    assert "sla_breached" in result.desired_tags


def test_state_diff_key_changes_when_the_ticket_changed_but_not_otherwise():
    one = evaluate(ticket(), [created()], make_policy(), MON_0900_BERLIN + 10 * M)
    again = evaluate(ticket(), [created()], make_policy(), MON_0900_BERLIN + 20 * M)
    touched = evaluate(
        ticket(updated=MON_0900_BERLIN + 15 * M), [created()], make_policy(), MON_0900_BERLIN + 20 * M
    )
    key = lambda r: of_kind(r, ActionKind.ADD_TAGS)[0].key  # noqa: E731
    assert key(one) == key(again)
    assert key(one) != key(touched)


def test_nothing_posted_publicly_and_notes_only_internal_kinds():
    policy = make_policy(chain=chain_with_notes("50%", "75%"))
    result = evaluate(ticket(status=Status.OPEN), [created()], policy, MON_0900_BERLIN + 5 * H)
    kinds = {a.kind for a in result.actions}
    assert kinds <= {
        ActionKind.ADD_TAGS,
        ActionKind.REMOVE_TAGS,
        ActionKind.SET_PRIORITY,
        ActionKind.SET_FIELD,
        ActionKind.ADD_NOTE,
        ActionKind.ASSIGN_GROUP,
        ActionKind.SET_PROPERTY,
    }


def test_panel_property_is_stable_while_nothing_changes():
    a = evaluate(ticket(), [created()], make_policy(), MON_0900_BERLIN + 10 * M)
    b = evaluate(ticket(), [created()], make_policy(), MON_0900_BERLIN + 50 * M)
    assert of_kind(a, ActionKind.SET_PROPERTY)[0].key == of_kind(b, ActionKind.SET_PROPERTY)[0].key


def test_due_field_shown_in_another_format_or_case_is_not_rewritten():
    from connector.domain.plan import same_field_value

    assert same_field_value("2026-11-26T07:08:40.000-0800", "2026-11-26T15:08:40Z")
    assert not same_field_value("2026-11-26T07:08:40.000-0800", "2026-11-26T15:08:41Z")
    assert same_field_value("Standard", "standard")
    assert not same_field_value("", "2026-11-26T15:08:40Z")


def test_escalation_targets_resolve_per_connection_and_dash_skips_the_step():
    from dataclasses import replace as dc_replace

    from connector.domain.policy import ConnectionConfig

    policy = make_policy(chain=chain_with_notes("50%"))
    level = policy.chains["standard"].levels[-1]
    steps = tuple(
        dc_replace(s, value="duty") if s.kind is ActionKind.ASSIGN_GROUP else s for s in level.steps
    )
    chain = dc_replace(
        policy.chains["standard"],
        levels=(*policy.chains["standard"].levels[:-1], dc_replace(level, steps=steps)),
    )
    zendesk = ConnectionConfig(name="zd", kind="zendesk", url="http://127.0.0.1:1", aliases={"duty": "3601"})
    policy = dc_replace(policy, chains={"standard": chain}, connections=(zendesk,))
    result = evaluate(ticket(), [created()], policy, MON_0900_BERLIN + 4 * H + M)
    assert [a.value for a in of_kind(result, ActionKind.ASSIGN_GROUP)] == ["3601"]

    jira = dc_replace(zendesk, kind="jira", aliases={"duty": "-"})
    result = evaluate(
        ticket(), [created()], dc_replace(policy, connections=(jira,)), MON_0900_BERLIN + 4 * H + M
    )
    assert of_kind(result, ActionKind.ASSIGN_GROUP) == []
