"""The SLA record through `evaluate`: settled outcomes stay as decided, policy versions are
effective-dated (DESIGN.md "The SLA record")."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from connector.domain.calendar import BusinessCalendar
from connector.domain.engine import evaluate
from connector.domain.policy import ActionKind, ApplyTo, Metric, Policy
from connector.domain.record import Activation, PolicyHistory, withdrawal_reason
from connector.domain.results import ClockState, Evaluation, SlaClock
from tests.unit.engine_helpers import (
    ALWAYS,
    MON_0900_BERLIN,
    H,
    M,
    agent,
    chain_with_notes,
    created,
    customer,
    make_policy,
    ticket,
)

T0 = MON_0900_BERLIN


def clock(evaluation: Evaluation, metric: Metric, cycle: int = 0) -> SlaClock:
    return next(c for c in evaluation.clocks if c.metric is metric and c.cycle == cycle)


def with_targets(policy: Policy, version: str, severity: str, **targets: timedelta) -> Policy:
    """`policy` as another version whose `severity` targets (of every tier) are changed."""
    tiers = {}
    for name, tier in policy.tiers.items():
        table = {sev: dict(metrics) for sev, metrics in tier.targets.items()}
        table[severity].update({Metric(metric): value for metric, value in targets.items()})
        tiers[name] = replace(tier, targets=table)
    return replace(policy, version=version, tiers=tiers)


def two_versions(v1: Policy, v2: Policy, effective: object, apply_to: ApplyTo = ApplyTo.NEW) -> PolicyHistory:
    return PolicyHistory([Activation(v1, T0 - 30 * 24 * H), Activation(v2, effective, apply_to)])  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- settled outcomes


def test_a_met_first_response_is_settled_with_its_instant_target_version_and_reason():
    result = evaluate(ticket(), [created(), agent(T0 + 2 * M)], make_policy(), T0 + H)
    (outcome,) = result.decided
    assert (outcome.metric, outcome.state, outcome.decided_at) == (
        Metric.FIRST_RESPONSE,
        ClockState.MET,
        T0 + 2 * M,
    )
    assert (outcome.target, outcome.elapsed, outcome.policy_version) == (4 * H, 2 * M, "test")
    assert outcome.reason == "met: public agent reply at 2026-11-23T08:02:00Z"


def test_met_stays_met_when_a_policy_edit_cuts_the_target_for_running_clocks():
    v1 = make_policy()
    v2 = with_targets(v1, "v2", "normal", first_response=M)  # 4h -> 1m, for running clocks too
    events = [created(), agent(T0 + 2 * M)]
    first = evaluate(ticket(), events, v1, T0 + H)
    history = two_versions(v1, v2, T0 + 30 * M, ApplyTo.RUNNING)
    later = evaluate(ticket(), events, history, T0 + 2 * H, settled=first.decided)
    fr = clock(later, Metric.FIRST_RESPONSE)
    assert (fr.state, fr.target, fr.stopped_at) == (ClockState.MET, 4 * H, T0 + 2 * M)
    assert "sla_breached" not in later.desired_tags
    # without the record, the same edit re-judges the decided clock (what settling prevents)
    rejudged = evaluate(ticket(), events, history, T0 + 2 * H)
    assert clock(rejudged, Metric.FIRST_RESPONSE).state is ClockState.BREACHED


def test_a_breach_survives_a_severity_downgrade():
    outage = ticket(subject="Checkout is down")  # critical: first response 1h
    events = [created()]
    breached = evaluate(outage, events, make_policy(), T0 + 2 * H)
    (outcome,) = (o for o in breached.decided if o.metric is Metric.FIRST_RESPONSE)
    assert (outcome.state, outcome.breached_at, outcome.stopped_at) == (ClockState.BREACHED, T0 + H, None)
    downgraded = replace(outage, subject="Checkout question")  # normal: first response 4h
    later = evaluate(downgraded, events, make_policy(), T0 + 3 * H, settled=breached.decided)
    fr = clock(later, Metric.FIRST_RESPONSE)
    assert (later.severity.value, fr.state, fr.breached_at, fr.target) == (
        "normal",
        ClockState.BREACHED,
        T0 + H,
        H,
    )
    assert "sla_breached" in later.desired_tags
    assert later.desired_fields["sla_state"] == "breached"


def test_a_settled_breach_of_a_metric_no_longer_tracked_still_shows():
    policy = make_policy()
    outage = ticket(subject="Checkout is down")
    events = [created(), agent(T0 + 5 * M), customer(T0 + 10 * M)]
    # next response is tracked for normal severity only: make it critical-only instead
    tracked = with_targets(policy, "v1", "critical", next_response=30 * M)
    breached = evaluate(outage, events, tracked, T0 + 2 * H)
    nr = [o for o in breached.decided if o.metric is Metric.NEXT_RESPONSE]
    assert [o.state for o in nr] == [ClockState.BREACHED]
    untracked = replace(
        tracked,
        tiers={
            n: replace(
                t, targets={**t.targets, "critical": {Metric.FIRST_RESPONSE: H, Metric.RESOLUTION: 8 * H}}
            )
            for n, t in tracked.tiers.items()
        },
    )
    later = evaluate(outage, events, untracked, T0 + 3 * H, settled=breached.decided)
    kept = clock(later, Metric.NEXT_RESPONSE)
    assert (kept.state, kept.breached_at) == (ClockState.BREACHED, T0 + 40 * M)
    assert "sla_breached" in later.desired_tags


def test_a_running_breach_is_not_settled_on_a_view_older_than_the_breach():
    outage = ticket(subject="Checkout is down")  # first response due T0 + 1h
    stale = evaluate(outage, [created()], make_policy(), T0 + 2 * H, observed_at=T0 + 50 * M)
    assert clock(stale, Metric.FIRST_RESPONSE).state is ClockState.BREACHED
    assert [o.metric for o in stale.decided] == []
    fresh = evaluate(outage, [created()], make_policy(), T0 + 2 * H, observed_at=T0 + 61 * M)
    assert [(o.metric, o.state) for o in fresh.decided] == [(Metric.FIRST_RESPONSE, ClockState.BREACHED)]


def test_a_ticket_breached_and_answered_late_before_it_was_read_is_recorded_breached_without_escalating():
    policy = make_policy(chain=chain_with_notes("50%"))
    outage = ticket(subject="Checkout is down")
    events = [created(), agent(T0 + 3 * H)]  # first response 1h: answered two hours late
    result = evaluate(outage, events, policy, T0 + 4 * H)  # first read an hour after the reply
    (outcome,) = (o for o in result.decided if o.metric is Metric.FIRST_RESPONSE)
    assert (outcome.state, outcome.breached_at, outcome.stopped_at) == (
        ClockState.BREACHED,
        T0 + H,
        T0 + 3 * H,
    )
    assert outcome.reason == "breached at 2026-11-23T09:00:00Z; public agent reply at 2026-11-23T11:00:00Z"
    assert "sla_breached" in result.desired_tags
    # no escalation of a clock that has stopped
    assert [a for a in result.actions if a.crossing and a.crossing.startswith("first_response")] == []


def test_a_calendar_edit_cannot_turn_a_settled_met_into_a_breach():
    office = make_policy()  # 09:00-17:00 Berlin, first response 4h
    start = T0 + 7 * H  # Monday 16:00 Berlin
    events = [created(start), agent(T0 + 26 * H)]  # Tuesday 11:00: 1h + 2h of office time
    first = evaluate(ticket(created=start), events, office, T0 + 30 * H)
    assert [(o.state, o.elapsed) for o in first.decided] == [(ClockState.MET, 3 * H)]
    # the calendar of the same name now counts round the clock, for running clocks too: 19h
    always = BusinessCalendar.from_spec("24x7", name="berlin")
    edited = replace(office, version="v2", calendars={"berlin": always})
    history = two_versions(office, edited, T0 + 27 * H, ApplyTo.RUNNING)
    later = evaluate(ticket(created=start), events, history, T0 + 30 * H, settled=first.decided)
    fr = clock(later, Metric.FIRST_RESPONSE)
    assert (fr.state, fr.elapsed, fr.stopped_at) == (ClockState.MET, 3 * H, T0 + 26 * H)
    assert [o for o in later.decided if o.metric is Metric.FIRST_RESPONSE] == []


# ----------------------------------------------------------------------------- policy versions


def test_an_edit_applies_to_cycles_that_start_after_it_takes_effect():
    v1 = make_policy()
    v2 = with_targets(v1, "v2", "normal", first_response=H)
    history = two_versions(v1, v2, T0 + 2 * H)
    before = evaluate(ticket(), [created()], history, T0 + 3 * H)
    after = evaluate(ticket(created=T0 + 2 * H), [created(T0 + 2 * H)], history, T0 + 3 * H)
    assert clock(before, Metric.FIRST_RESPONSE).target == 4 * H
    assert clock(after, Metric.FIRST_RESPONSE).target == H


def test_apply_to_running_moves_running_cycles_and_breaches_those_already_past_the_new_target():
    v1 = make_policy()
    v2 = with_targets(v1, "v2", "normal", first_response=H)
    history = two_versions(v1, v2, T0 + 2 * H, ApplyTo.RUNNING)
    running = evaluate(ticket(), [created()], history, T0 + 3 * H)
    fr = clock(running, Metric.FIRST_RESPONSE)
    assert (fr.target, fr.state, fr.breached_at) == (H, ClockState.BREACHED, T0 + H)
    (outcome,) = running.decided
    assert outcome.policy_version == "v2"


def test_a_version_without_the_tier_leaves_cycles_on_the_running_version():
    v1 = replace(make_policy(), tiers={"standard": make_policy().tiers["standard"]})  # no enterprise tier
    v2 = with_targets(make_policy(), "v2", "normal", first_response=H)
    history = two_versions(v1, v2, T0 + 2 * H)
    enterprise = ticket(org_tags=frozenset({"enterprise"}))
    result = evaluate(enterprise, [created()], history, T0 + 3 * H)
    assert (result.tier.value, clock(result, Metric.FIRST_RESPONSE).target) == ("enterprise", H)


def test_the_24x7_calendar_of_an_older_version_measures_its_cycles():
    office = make_policy()
    always = with_targets(make_policy(calendar=ALWAYS), "v0", "normal")
    history = PolicyHistory([Activation(always, T0 - 30 * 24 * H), Activation(office, T0 + 20 * H)])
    result = evaluate(ticket(), [created()], history, T0 + 10 * H)  # a Monday 09:00-19:00 Berlin
    fr = clock(result, Metric.FIRST_RESPONSE)
    assert (fr.calendar, fr.elapsed, fr.state) == ("24x7", 10 * H, ClockState.BREACHED)


# ----------------------------------------------------------------------------- withdrawal reasons


def test_withdrawal_reasons_say_what_the_fresh_view_shows_instead():
    policy = make_policy(chain=chain_with_notes("50%"))
    outage = ticket(subject="Checkout is down")
    stale = evaluate(outage, [created()], policy, T0 + 70 * M)
    breach_steps = [a for a in stale.actions if a.crossing == "first_response:0:breach"]
    assert {a.kind for a in breach_steps} == {
        ActionKind.ADD_NOTE,
        ActionKind.ASSIGN_GROUP,
        ActionKind.SET_PRIORITY,
    }
    answered = evaluate(outage, [created(), agent(T0 + 55 * M)], policy, T0 + 70 * M)
    assert "first_response:0:breach" not in answered.crossing_refs
    assert "first_response:0:50%" in answered.crossing_refs
    assert withdrawal_reason(answered, "first_response:0:breach") == (
        "first response was met at 2026-11-23T08:55:00Z, before it reached breach"
    )
    calmer = evaluate(replace(outage, subject="Checkout question"), [created()], policy, T0 + 70 * M)
    assert withdrawal_reason(calmer, "first_response:0:breach") == (
        "first response has not reached breach: 1h10m of 4h used (running, tier standard, severity normal)"
    )
