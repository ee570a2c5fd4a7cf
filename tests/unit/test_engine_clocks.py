"""SLA clock semantics, one scenario per behaviour (DESIGN.md "SLA semantics")."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from connector.domain.engine import evaluate
from connector.domain.model import EventKind, Status
from connector.domain.policy import Metric, MetricSettings, ReopenMode
from connector.domain.results import ClockState, SlaClock
from tests.unit.engine_helpers import (
    ALWAYS,
    MON_0900_BERLIN,
    H,
    M,
    agent,
    created,
    customer,
    ev,
    make_policy,
    status,
    ticket,
)


def clock(evaluation, metric: Metric, cycle: int = 0) -> SlaClock:
    return next(c for c in evaluation.clocks if c.metric is metric and c.cycle == cycle)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_first_response_met_by_public_agent_reply_within_business_hours():
    t = ticket()
    result = evaluate(t, [created(), agent(MON_0900_BERLIN + 2 * H)], make_policy(), MON_0900_BERLIN + 5 * H)
    fr = clock(result, Metric.FIRST_RESPONSE)
    assert fr.state is ClockState.MET
    assert fr.elapsed == 2 * H
    assert fr.stopped_at == MON_0900_BERLIN + 2 * H
    assert fr.due_at is None


def test_first_response_due_skips_night_and_counts_business_time_only():
    start = utc(2026, 11, 23, 15, 0)  # Mon 16:00 Berlin, one business hour left today
    result = evaluate(ticket(created=start), [created(start)], make_policy(), start + 10 * M)
    fr = clock(result, Metric.FIRST_RESPONSE)
    assert fr.state is ClockState.RUNNING
    assert fr.due_at == utc(2026, 11, 24, 11, 0)  # Tue 12:00 Berlin: 1h Monday + 3h Tuesday
    assert fr.elapsed == 10 * M


def test_ticket_created_on_saturday_starts_counting_monday_morning():
    saturday = utc(2026, 11, 21, 10, 0)
    result = evaluate(ticket(created=saturday), [created(saturday)], make_policy(), utc(2026, 11, 23, 9, 0))
    fr = clock(result, Metric.FIRST_RESPONSE)
    assert fr.elapsed == H  # Monday 09:00-10:00 Berlin only
    assert fr.due_at == utc(2026, 11, 23, 12, 0)  # Mon 13:00 Berlin: 3h left from 10:00


def test_running_clock_past_target_is_breached_with_breach_instant():
    result = evaluate(ticket(), [created()], make_policy(), MON_0900_BERLIN + 5 * H)
    fr = clock(result, Metric.FIRST_RESPONSE)
    assert fr.state is ClockState.BREACHED
    assert fr.breached_at == MON_0900_BERLIN + 4 * H
    assert fr.remaining == -H


def test_reply_after_due_leaves_first_response_breached():
    result = evaluate(
        ticket(), [created(), agent(MON_0900_BERLIN + 6 * H)], make_policy(), MON_0900_BERLIN + 7 * H
    )
    fr = clock(result, Metric.FIRST_RESPONSE)
    assert fr.state is ClockState.BREACHED
    assert fr.stopped_at == MON_0900_BERLIN + 6 * H
    assert fr.breached_at == MON_0900_BERLIN + 4 * H


def test_reply_exactly_at_due_instant_meets_the_target():
    result = evaluate(
        ticket(), [created(), agent(MON_0900_BERLIN + 4 * H)], make_policy(), MON_0900_BERLIN + 5 * H
    )
    assert clock(result, Metric.FIRST_RESPONSE).state is ClockState.MET


def test_resolution_pauses_while_pending_and_reports_the_paused_span():
    events = [
        created(),
        agent(MON_0900_BERLIN + H),
        status(MON_0900_BERLIN + H, Status.PENDING),
    ]
    now = MON_0900_BERLIN + 5 * H
    result = evaluate(ticket(status=Status.PENDING), events, make_policy(), now)
    res = clock(result, Metric.RESOLUTION)
    assert res.state is ClockState.PAUSED
    assert res.elapsed == H
    assert res.due_at is None
    assert len(res.paused_spans) == 1
    assert res.paused_spans[0].start == MON_0900_BERLIN + H
    assert res.paused_spans[0].end is None


def test_resolution_resumes_after_pending_with_elapsed_time_carried():
    events = [
        created(),
        status(MON_0900_BERLIN + H, Status.PENDING),
        status(MON_0900_BERLIN + 3 * H, Status.OPEN),
    ]
    now = MON_0900_BERLIN + 4 * H
    result = evaluate(ticket(), events, make_policy(), now)
    res = clock(result, Metric.RESOLUTION)
    assert res.state is ClockState.RUNNING
    assert res.elapsed == 2 * H  # 1h before pending + 1h after
    # 16h target, 14h left from Mon 13:00 Berlin: 4h Mon, 8h Tue, 2h Wed -> Wed 11:00 Berlin
    assert res.due_at == utc(2026, 11, 25, 10, 0)


def test_first_response_does_not_pause_on_pending_by_default():
    events = [created(), status(MON_0900_BERLIN + H, Status.PENDING)]
    result = evaluate(ticket(status=Status.PENDING), events, make_policy(), MON_0900_BERLIN + 3 * H)
    fr = clock(result, Metric.FIRST_RESPONSE)
    assert fr.state is ClockState.RUNNING
    assert fr.elapsed == 3 * H


def test_pause_statuses_are_configurable_per_metric():
    policy = make_policy(
        settings={Metric.FIRST_RESPONSE: MetricSettings(pause_statuses=frozenset({Status.PENDING}))}
    )
    events = [created(), status(MON_0900_BERLIN + H, Status.PENDING)]
    result = evaluate(ticket(status=Status.PENDING), events, policy, MON_0900_BERLIN + 3 * H)
    fr = clock(result, Metric.FIRST_RESPONSE)
    assert fr.state is ClockState.PAUSED
    assert fr.elapsed == H


def test_breach_is_not_hidden_by_a_later_pause():
    events = [created(), status(MON_0900_BERLIN + 17 * H + 24 * H, Status.PENDING)]
    # 16h resolution target is reached Tue 17:00 Berlin; pending after that
    now = MON_0900_BERLIN + 48 * H
    result = evaluate(ticket(status=Status.PENDING), events, make_policy(), now)
    res = clock(result, Metric.RESOLUTION)
    assert res.state is ClockState.BREACHED
    assert res.breached_at == utc(2026, 11, 24, 16, 0)


def test_solving_stops_resolution_and_unanswered_response_clocks():
    events = [created(), status(MON_0900_BERLIN + 2 * H, Status.SOLVED)]
    result = evaluate(ticket(status=Status.SOLVED), events, make_policy(), MON_0900_BERLIN + 3 * H)
    assert clock(result, Metric.RESOLUTION).state is ClockState.MET
    assert clock(result, Metric.RESOLUTION).elapsed == 2 * H
    assert clock(result, Metric.FIRST_RESPONSE).state is ClockState.MET


def test_reopen_resumes_resolution_from_the_elapsed_time_by_default():
    events = [
        created(),
        status(MON_0900_BERLIN + 2 * H, Status.SOLVED),
        status(MON_0900_BERLIN + 5 * H, Status.OPEN),
    ]
    result = evaluate(ticket(), events, make_policy(), MON_0900_BERLIN + 6 * H)
    resolution = [c for c in result.clocks if c.metric is Metric.RESOLUTION]
    assert len(resolution) == 1
    assert resolution[0].elapsed == 3 * H  # 2h + 1h after the reopen; solved time does not count
    assert resolution[0].state is ClockState.RUNNING


def test_reopen_restarts_resolution_as_a_new_cycle_when_configured():
    policy = make_policy(
        settings={
            Metric.RESOLUTION: MetricSettings(
                pause_statuses=frozenset({Status.PENDING, Status.ON_HOLD}), on_reopen=ReopenMode.RESTART
            )
        }
    )
    events = [
        created(),
        status(MON_0900_BERLIN + 2 * H, Status.SOLVED),
        status(MON_0900_BERLIN + 5 * H, Status.OPEN),
    ]
    result = evaluate(ticket(), events, policy, MON_0900_BERLIN + 6 * H)
    first, second = clock(result, Metric.RESOLUTION, 0), clock(result, Metric.RESOLUTION, 1)
    assert first.state is ClockState.MET and first.elapsed == 2 * H
    assert second.started_at == MON_0900_BERLIN + 5 * H and second.elapsed == H


def test_next_response_cycle_starts_at_oldest_unanswered_customer_comment():
    events = [
        created(),
        customer(MON_0900_BERLIN + 10 * M),  # before the first response: covered by first_response
        agent(MON_0900_BERLIN + H),
        customer(MON_0900_BERLIN + 2 * H),
        customer(MON_0900_BERLIN + 3 * H),  # same cycle: the clock runs from the oldest one
        agent(MON_0900_BERLIN + 4 * H),
        customer(MON_0900_BERLIN + 5 * H),
    ]
    result = evaluate(ticket(), events, make_policy(), MON_0900_BERLIN + 6 * H)
    cycles = [c for c in result.clocks if c.metric is Metric.NEXT_RESPONSE]
    assert [(c.cycle, c.elapsed, c.state) for c in cycles] == [
        (0, 2 * H, ClockState.MET),
        (1, H, ClockState.RUNNING),
    ]
    assert cycles[0].started_at == MON_0900_BERLIN + 2 * H


def test_periodic_update_runs_between_agent_updates_and_pauses_when_pending():
    events = [
        created(),
        agent(MON_0900_BERLIN + H),
        agent(MON_0900_BERLIN + 3 * H),
        status(MON_0900_BERLIN + 4 * H, Status.PENDING),
    ]
    result = evaluate(ticket(status=Status.PENDING), events, make_policy(), MON_0900_BERLIN + 6 * H)
    cycles = [c for c in result.clocks if c.metric is Metric.PERIODIC_UPDATE]
    assert [(c.cycle, c.elapsed, c.state) for c in cycles] == [
        (0, 2 * H, ClockState.MET),
        (1, H, ClockState.PAUSED),
    ]


def test_severity_raised_mid_ticket_applies_new_target_from_original_start():
    # At creation the subject was harmless (normal: 4h first response); the ticket now says "down",
    # so the critical 1h target applies retroactively from creation: 2h elapsed means breached.
    t = ticket(subject="Checkout is down for everyone")
    result = evaluate(t, [created()], make_policy(), MON_0900_BERLIN + 2 * H)
    fr = clock(result, Metric.FIRST_RESPONSE)
    assert result.severity.value == "critical"
    assert fr.target == H
    assert fr.elapsed == 2 * H
    assert fr.state is ClockState.BREACHED
    assert fr.breached_at == MON_0900_BERLIN + H


def test_events_after_now_are_ignored_for_replays():
    events = [created(), agent(MON_0900_BERLIN + 3 * H)]
    result = evaluate(ticket(), events, make_policy(), MON_0900_BERLIN + 2 * H)
    fr = clock(result, Metric.FIRST_RESPONSE)
    assert fr.state is ClockState.RUNNING
    assert fr.elapsed == 2 * H


def test_twenty_four_seven_calendar_counts_nights_and_weekends():
    friday_night = datetime(2026, 11, 27, 22, 0, tzinfo=UTC)
    policy = make_policy(calendar=ALWAYS)
    result = evaluate(ticket(created=friday_night), [created(friday_night)], policy, friday_night + 30 * H)
    res = clock(result, Metric.RESOLUTION)
    assert res.elapsed == 30 * H
    assert res.state is ClockState.BREACHED


def test_next_deadline_is_the_next_threshold_instant():
    result = evaluate(ticket(), [created()], make_policy(), MON_0900_BERLIN + 30 * M)
    # first_response 4h: 50% at 2h is the earliest future threshold
    assert result.next_deadline == MON_0900_BERLIN + 2 * H


def test_same_inputs_same_answer():
    events = [created(), agent(MON_0900_BERLIN + H), customer(MON_0900_BERLIN + 2 * H)]
    a = evaluate(ticket(), events, make_policy(), MON_0900_BERLIN + 3 * H)
    b = evaluate(ticket(), list(reversed(events)), make_policy(), MON_0900_BERLIN + 3 * H)
    assert a == b
    assert a.policy_version == "test"


def test_status_no_event_explains_is_dated_at_the_last_human_event_not_at_updated_at():
    events = [created(), customer(MON_0900_BERLIN + 2 * H)]
    t = ticket(status=Status.SOLVED, updated=MON_0900_BERLIN + 3 * H)
    result = evaluate(t, events, make_policy(), MON_0900_BERLIN + 5 * H)
    res = clock(result, Metric.RESOLUTION)
    assert res.state is ClockState.MET
    assert res.stopped_at == MON_0900_BERLIN + 2 * H
    # tierdesk's own write later moves updated_at: the clock must not move with it
    touched = replace(t, updated_at=MON_0900_BERLIN + 4 * H)
    assert clock(evaluate(touched, events, make_policy(), MON_0900_BERLIN + 5 * H), Metric.RESOLUTION) == res


def test_ticket_created_pending_is_paused_from_its_creation():
    events = [ev(EventKind.CREATED, MON_0900_BERLIN, status=Status.PENDING)]
    t = ticket(status=Status.PENDING, updated=MON_0900_BERLIN + 3 * H)
    res = clock(evaluate(t, events, make_policy(), MON_0900_BERLIN + 4 * H), Metric.RESOLUTION)
    assert res.state is ClockState.PAUSED
    assert res.elapsed == timedelta(0)


def test_clock_started_before_the_last_lunch_break_excludes_it():
    from connector.domain.calendar import BusinessCalendar

    lunch = BusinessCalendar.from_spec(
        {"timezone": "Europe/Berlin", "hours": {"mon-fri": ["09:00-12:30", "13:30-17:00"]}}, name="lunch"
    )
    result = evaluate(ticket(), [created()], make_policy(calendar=lunch), MON_0900_BERLIN + 5 * H)
    assert clock(result, Metric.RESOLUTION).elapsed == 4 * H
    assert clock(result, Metric.FIRST_RESPONSE).breached_at == MON_0900_BERLIN + timedelta(hours=5)


def test_customer_rule_calendar_replaces_the_tier_calendar():
    from dataclasses import replace

    from connector.domain.calendar import BusinessCalendar

    policy = make_policy()
    new_york = BusinessCalendar.from_spec(
        {"timezone": "America/New_York", "hours": {"mon-fri": ["09:00-17:00"]}}
    )
    rule = replace(policy.tier_rules[0], calendar="new_york")
    policy = replace(policy, tier_rules=(rule,), calendars={**policy.calendars, "new_york": new_york})
    t = ticket(org_tags=frozenset({"enterprise"}))
    # Mon 09:00 Berlin is 03:00 in New York: nothing counts until 09:00 New York (14:00 UTC)
    result = evaluate(t, [created()], policy, utc(2026, 11, 23, 15, 0))
    fr = clock(result, Metric.FIRST_RESPONSE)
    assert fr.elapsed == H
    assert fr.calendar == "new_york"
