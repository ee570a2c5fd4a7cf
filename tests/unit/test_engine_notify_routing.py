"""Notify steps, routing on arrival and after-breach levels: what the plan queues and how each
occurrence is keyed."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from connector.domain.engine import evaluate
from connector.domain.model import Status
from connector.domain.policy import (
    BREACH,
    ActionKind,
    ConnectionConfig,
    EscalationChain,
    EscalationLevel,
    EscalationStep,
    NotificationChannel,
    Policy,
)
from connector.domain.record import withdrawal_reason
from connector.domain.results import Action, Evaluation
from tests.unit.engine_helpers import MON_0900_BERLIN, H, M, agent, created, make_policy, ticket

NOTE = EscalationStep(ActionKind.ADD_NOTE, value="internal: call {tier} duty manager")
NOTIFY = EscalationStep(ActionKind.NOTIFY, value="oncall", values=("#sla",))


def policy_with(*levels: EscalationLevel, include_notes: bool = False) -> Policy:
    chain = EscalationChain(name="standard", levels=levels, playbook="https://wiki.example/pb")
    policy = make_policy(chain=chain)
    channel = NotificationChannel(name="oncall", url_env="ONCALL_URL", include_notes=include_notes)
    return replace(policy, channels={"oncall": channel})


def notifications(result: Evaluation) -> list[Action]:
    return [a for a in result.actions if a.kind is ActionKind.NOTIFY]


def of_kind(result: Evaluation, kind: ActionKind) -> list[Action]:
    return [a for a in result.actions if a.kind is kind]


def test_notify_at_breach_names_the_channel_not_its_url_and_renders_the_message():
    policy = policy_with(EscalationLevel(threshold=BREACH, steps=(NOTIFY, NOTE), name="breached"))
    t = replace(ticket(), url="https://acme.zendesk.example/agent/tickets/42")
    # normal first response: 4 business hours from Monday 09:00 Berlin
    result = evaluate(t, [created()], policy, MON_0900_BERLIN + 4 * H + M)
    [sent] = [a for a in notifications(result) if a.crossing == "first_response:0:breach"]
    assert sent.field == "oncall"
    assert sent.values == ("#sla",)
    assert "ONCALL_URL" not in repr(sent)
    assert sent.value is not None
    assert "first response breach on ticket 42" in sent.value
    assert "https://acme.zendesk.example/agent/tickets/42" in sent.value
    assert "internal:" not in sent.value  # the note stays in the helpdesk


def test_notify_carries_the_level_note_only_when_the_channel_includes_notes():
    policy = policy_with(EscalationLevel(threshold=BREACH, steps=(NOTIFY, NOTE)), include_notes=True)
    result = evaluate(ticket(), [created()], policy, MON_0900_BERLIN + 4 * H + M)
    [sent] = [a for a in notifications(result) if a.crossing == "first_response:0:breach"]
    assert sent.value is not None and "internal: call Standard duty manager" in sent.value


def test_notify_key_is_the_same_for_the_same_crossing_on_a_later_evaluation():
    policy = policy_with(EscalationLevel(threshold=BREACH, steps=(NOTIFY,)))
    first = evaluate(ticket(), [created()], policy, MON_0900_BERLIN + 4 * H + M)
    later = evaluate(ticket(), [created()], policy, MON_0900_BERLIN + 4 * H + 30 * M)
    assert {a.key for a in notifications(first)} == {a.key for a in notifications(later)}
    assert len(notifications(first)) == 1


def test_on_arrival_level_routes_once_per_ticket_and_tier_whatever_the_clocks_do():
    arrival = EscalationLevel(
        threshold=BREACH,
        steps=(
            EscalationStep(ActionKind.ASSIGN_GROUP, value="pod-7"),
            EscalationStep(ActionKind.ADD_TAGS, values=("routed",)),
        ),
        on_arrival=True,
    )
    policy = policy_with(arrival)
    at_creation = evaluate(ticket(), [created()], policy, MON_0900_BERLIN + M)
    next_day = evaluate(ticket(), [created(), agent(MON_0900_BERLIN + H)], policy, MON_0900_BERLIN + 26 * H)
    [group] = of_kind(at_creation, ActionKind.ASSIGN_GROUP)
    assert group.value == "pod-7"
    assert group.at == MON_0900_BERLIN  # the ticket's creation: a backlog is not routed again
    assert group.key in {a.key for a in of_kind(next_day, ActionKind.ASSIGN_GROUP)}
    assert any("routed" in a.values for a in of_kind(at_creation, ActionKind.ADD_TAGS))


def test_on_arrival_routing_gets_a_new_key_for_another_tier():
    arrival = EscalationLevel(
        threshold=BREACH, steps=(EscalationStep(ActionKind.ASSIGN_GROUP, value="pod-7"),), on_arrival=True
    )
    policy = policy_with(arrival)
    policy = replace(policy, tiers={n: replace(t, escalation="standard") for n, t in policy.tiers.items()})
    standard = evaluate(ticket(), [created()], policy, MON_0900_BERLIN + M)
    enterprise = evaluate(
        ticket(org_tags=frozenset({"enterprise"})), [created()], policy, MON_0900_BERLIN + M
    )
    [a] = of_kind(standard, ActionKind.ASSIGN_GROUP)
    [b] = of_kind(enterprise, ActionKind.ASSIGN_GROUP)
    assert a.key != b.key


def test_on_arrival_does_not_route_a_solved_ticket():
    arrival = EscalationLevel(
        threshold=BREACH, steps=(EscalationStep(ActionKind.ASSIGN_GROUP, value="pod-7"),), on_arrival=True
    )
    result = evaluate(ticket(status=Status.SOLVED), [created()], policy_with(arrival), MON_0900_BERLIN + M)
    assert of_kind(result, ActionKind.ASSIGN_GROUP) == []


def after_breach(repeat: timedelta | None, times: int = 3) -> Policy:
    level = EscalationLevel(
        threshold=BREACH,
        steps=(NOTIFY,),
        after=H,
        repeat=repeat,
        times=times,
        name="still breached",
        metrics=None,
    )
    return policy_with(level)


def first_response_refs(result: Evaluation) -> list[str]:
    return sorted(a.crossing or "" for a in notifications(result) if (a.crossing or "").startswith("first_"))


def test_after_breach_level_fires_an_hour_after_the_breach_in_business_time():
    policy = after_breach(None)
    # breach at 13:00 Berlin (4 business hours after 09:00)
    before = evaluate(ticket(), [created()], policy, MON_0900_BERLIN + 4 * H + 59 * M)
    after = evaluate(ticket(), [created()], policy, MON_0900_BERLIN + 5 * H + M)
    assert first_response_refs(before) == []
    assert first_response_refs(after) == ["first_response:0:after:1h:0"]


def test_repeating_after_breach_level_keys_each_occurrence_and_supersedes_older_ones():
    policy = after_breach(2 * H, times=3)
    # 1h after the breach at 14:00, then 16:00, then 18:00 = next business day 10:00
    result = evaluate(ticket(), [created()], policy, MON_0900_BERLIN + 7 * H + M)
    sent = [a for a in notifications(result) if (a.crossing or "").startswith("first_")]
    assert [a.crossing for a in sent] == ["first_response:0:after:1h:0", "first_response:0:after:1h:1"]
    assert [a.superseded for a in sent] == [True, False]  # a late evaluation sends only the latest
    assert len({a.key for a in sent}) == 2
    assert result.next_deadline is not None  # the next occurrence wakes the scheduler


def test_repeating_after_breach_level_stops_at_its_limit():
    policy = after_breach(H, times=2)
    result = evaluate(ticket(), [created()], policy, MON_0900_BERLIN + 30 * H)
    assert first_response_refs(result) == ["first_response:0:after:1h:0", "first_response:0:after:1h:1"]


def test_after_breach_level_stops_when_the_clock_stops():
    policy = after_breach(H, times=5)
    replied = [created(), agent(MON_0900_BERLIN + 5 * H + 30 * M)]  # reply 1.5h after the breach
    result = evaluate(ticket(), replied, policy, MON_0900_BERLIN + 8 * H)
    assert first_response_refs(result) == []  # a stopped clock notifies nobody any more


def test_queued_routing_of_a_tier_the_ticket_no_longer_has_is_withdrawn_with_the_reason():
    arrival = EscalationLevel(
        threshold=BREACH, steps=(EscalationStep(ActionKind.ASSIGN_GROUP, value="pod-7"),), on_arrival=True
    )
    policy = policy_with(arrival)
    policy = replace(policy, tiers={n: replace(t, escalation="standard") for n, t in policy.tiers.items()})
    standard = evaluate(ticket(), [created()], policy, MON_0900_BERLIN + M)
    [routing] = of_kind(standard, ActionKind.ASSIGN_GROUP)
    now_enterprise = evaluate(
        ticket(org_tags=frozenset({"enterprise"})), [created()], policy, MON_0900_BERLIN + M
    )

    assert routing.crossing in standard.crossing_refs
    assert routing.crossing not in now_enterprise.crossing_refs
    assert routing.crossing is not None
    assert (
        withdrawal_reason(now_enterprise, routing.crossing)
        == "the ticket is now tier enterprise, not standard"
    )


def test_notification_recipients_are_not_replaced_by_helpdesk_aliases():
    step = EscalationStep(ActionKind.NOTIFY, value="oncall", values=("sla-watcher",))
    policy = policy_with(EscalationLevel(threshold=BREACH, steps=(step,)))
    connection = ConnectionConfig(
        name="zd", kind="zendesk", url="https://x.example", aliases={"sla-watcher": "900"}
    )
    policy = replace(policy, connections=(connection,))
    result = evaluate(ticket(), [created()], policy, MON_0900_BERLIN + 4 * H + M)
    assert {a.values for a in notifications(result)} == {("sla-watcher",)}
