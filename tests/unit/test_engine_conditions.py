"""Clock conditions, one scenario per behaviour: a calendar per metric, clock settings per severity,
a target from a ticket field, manual exemptions and pauses (connector/domain/metric_conditions.py)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from connector.domain.engine import evaluate
from connector.domain.model import EventKind, Status, Ticket
from connector.domain.policy import (
    DEFAULT_METRIC_SETTINGS,
    ManualCondition,
    ManualEffect,
    Metric,
    MetricSettings,
    Policy,
    ReopenMode,
    TargetFrom,
    TargetKind,
)
from connector.domain.record import Activation, PolicyHistory
from connector.domain.results import ClockState, Evaluation, SlaClock
from tests.unit.engine_helpers import (
    ALWAYS,
    BERLIN_HOURS,
    MON_0900_BERLIN,
    H,
    M,
    agent,
    created,
    ev,
    make_policy,
    status,
    ticket,
)

PENDING_SETTINGS = DEFAULT_METRIC_SETTINGS[Metric.RESOLUTION]
CRITICAL = "Server is down"  # the subject the test policy's triage rates critical


def clock(evaluation: Evaluation, metric: Metric, cycle: int = 0) -> SlaClock:
    return next(c for c in evaluation.clocks if c.metric is metric and c.cycle == cycle)


def policy_with(
    settings: dict[Metric, MetricSettings] | None = None,
    severity_settings: dict[str, dict[Metric, MetricSettings]] | None = None,
    manual: tuple[ManualCondition, ...] = (),
) -> Policy:
    base = make_policy(settings=settings)
    tiers = {
        name: replace(tier, severity_settings=severity_settings or {}, manual=manual)
        for name, tier in base.tiers.items()
    }
    return replace(base, calendars={**base.calendars, "24x7": ALWAYS}, tiers=tiers)


def tags_changed(at: datetime, new: str, old: str) -> object:
    return ev(EventKind.FIELD_CHANGE, at, field="tags", value=new, previous=old)


def field_changed(at: datetime, name: str, new: str, old: str = "") -> object:
    return ev(EventKind.FIELD_CHANGE, at, field=name, value=new, previous=old)


# ------------------------------------------------------------------- a calendar per metric


def test_resolution_on_24x7_counts_calendar_hours_while_first_response_counts_business_hours():
    policy = policy_with({Metric.RESOLUTION: replace(PENDING_SETTINGS, calendar="24x7")})
    now = MON_0900_BERLIN + 11 * H  # Monday 20:00 in Berlin: 8 business hours, 11 calendar hours
    result = evaluate(ticket(), [created()], policy, now)
    first = clock(result, Metric.FIRST_RESPONSE)
    resolution = clock(result, Metric.RESOLUTION)
    assert (first.calendar, first.elapsed, first.state) == ("berlin", 8 * H, ClockState.BREACHED)
    assert (resolution.calendar, resolution.elapsed) == ("24x7", 11 * H)
    # 16h target on calendar hours: due through the night, Tuesday 01:00 Berlin
    assert resolution.due_at == MON_0900_BERLIN + 16 * H


def test_business_hours_metric_beside_a_24x7_metric_keeps_skipping_the_night():
    policy = policy_with({Metric.FIRST_RESPONSE: MetricSettings(calendar="24x7")})
    result = evaluate(ticket(), [created()], policy, MON_0900_BERLIN + 2 * H)
    assert clock(result, Metric.FIRST_RESPONSE).due_at == MON_0900_BERLIN + 4 * H
    # resolution 16h stays on the tier's Berlin 09:00-17:00: two business days, Tuesday 17:00
    assert clock(result, Metric.RESOLUTION).due_at == MON_0900_BERLIN + 24 * H + 8 * H


# -------------------------------------------------------------- clock settings per severity


def test_critical_resolution_keeps_counting_while_pending_and_normal_pauses():
    policy = policy_with(severity_settings={"critical": {Metric.RESOLUTION: MetricSettings()}})
    events = [
        created(),
        status(MON_0900_BERLIN + H, Status.PENDING),
        status(MON_0900_BERLIN + 3 * H, Status.OPEN),
    ]
    now = MON_0900_BERLIN + 4 * H
    critical = evaluate(ticket(subject=CRITICAL), events, policy, now)
    normal = evaluate(ticket(), events, policy, now)
    assert critical.severity.value == "critical"
    assert clock(critical, Metric.RESOLUTION).elapsed == 4 * H
    assert clock(normal, Metric.RESOLUTION).elapsed == 2 * H


def test_critical_reopen_restarts_resolution_while_normal_resumes():
    restart = replace(PENDING_SETTINGS, on_reopen=ReopenMode.RESTART)
    policy = policy_with(severity_settings={"critical": {Metric.RESOLUTION: restart}})
    events = [
        created(),
        agent(MON_0900_BERLIN + 10 * M),
        status(MON_0900_BERLIN + 2 * H, Status.SOLVED),
        status(MON_0900_BERLIN + 3 * H, Status.OPEN),
    ]
    now = MON_0900_BERLIN + 4 * H
    critical = evaluate(ticket(subject=CRITICAL), events, policy, now)
    normal = evaluate(ticket(), events, policy, now)
    critical_cycles = [c for c in critical.clocks if c.metric is Metric.RESOLUTION]
    assert [(c.state, c.elapsed) for c in critical_cycles] == [
        (ClockState.MET, 2 * H),
        (ClockState.RUNNING, H),
    ]
    normal_cycles = [c for c in normal.clocks if c.metric is Metric.RESOLUTION]
    assert [(c.state, c.elapsed) for c in normal_cycles] == [(ClockState.RUNNING, 3 * H)]


# --------------------------------------------------------------- a target from a ticket field

HOURS_FIELD = {
    Metric.RESOLUTION: replace(PENDING_SETTINGS, target_from=TargetFrom("agreed_hours", TargetKind.HOURS))
}


def test_resolution_target_comes_from_the_hours_field():
    t = ticket(fields={"agreed_hours": "6"})
    result = evaluate(t, [created()], policy_with(HOURS_FIELD), MON_0900_BERLIN + H)
    resolution = clock(result, Metric.RESOLUTION)
    assert resolution.target == 6 * H
    assert resolution.due_at == MON_0900_BERLIN + 6 * H
    assert "from field agreed_hours (6)" in resolution.condition


def test_an_empty_or_invalid_field_falls_back_to_the_configured_target():
    for value in ("", "soon", "0"):
        result = evaluate(
            ticket(fields={"agreed_hours": value}), [created()], policy_with(HOURS_FIELD), MON_0900_BERLIN
        )
        assert clock(result, Metric.RESOLUTION).target == 16 * H
        assert clock(result, Metric.RESOLUTION).condition == ""


def test_a_changed_field_moves_the_running_clocks_due():
    t = ticket(fields={"agreed_hours": "6"})
    events = [created(), field_changed(MON_0900_BERLIN + H, "agreed_hours", "6", "3")]
    before = evaluate(t, events, policy_with(HOURS_FIELD), MON_0900_BERLIN + 30 * M)
    after = evaluate(t, events, policy_with(HOURS_FIELD), MON_0900_BERLIN + 2 * H)
    assert clock(before, Metric.RESOLUTION).due_at == MON_0900_BERLIN + 3 * H
    assert clock(after, Metric.RESOLUTION).due_at == MON_0900_BERLIN + 6 * H


def test_a_met_cycle_stays_met_when_the_field_is_lowered_after_the_solve():
    t = ticket(status=Status.SOLVED, fields={"agreed_hours": "1"})
    events = [
        created(),
        agent(MON_0900_BERLIN + 10 * M),
        status(MON_0900_BERLIN + 5 * H, Status.SOLVED),
        field_changed(MON_0900_BERLIN + 6 * H, "agreed_hours", "1", "6"),
    ]
    result = evaluate(t, events, policy_with(HOURS_FIELD), MON_0900_BERLIN + 7 * H)
    resolution = clock(result, Metric.RESOLUTION)
    assert (resolution.state, resolution.target) == (ClockState.MET, 6 * H)


def test_a_breach_stays_a_breach_when_the_field_is_raised_later():
    policy = policy_with(HOURS_FIELD)
    first_view = ticket(fields={"agreed_hours": "2"})
    events = [created(), agent(MON_0900_BERLIN + 10 * M)]
    breached = evaluate(first_view, events, policy, MON_0900_BERLIN + 3 * H)
    assert clock(breached, Metric.RESOLUTION).state is ClockState.BREACHED
    settled = breached.decided
    raised = [*events, field_changed(MON_0900_BERLIN + 4 * H, "agreed_hours", "8", "2")]
    later = evaluate(
        replace(first_view, fields={"agreed_hours": "8"}),
        raised,
        policy,
        MON_0900_BERLIN + 5 * H,
        settled=settled,
    )
    resolution = clock(later, Metric.RESOLUTION)
    assert resolution.state is ClockState.BREACHED
    assert resolution.breached_at == MON_0900_BERLIN + 2 * H


def test_a_negotiated_date_sets_the_due_at_the_end_of_that_day():
    date_settings = {
        Metric.RESOLUTION: replace(
            PENDING_SETTINGS, calendar="24x7", target_from=TargetFrom("due_date", TargetKind.DATE)
        )
    }
    t = ticket(fields={"due_date": "2026-11-25"})
    result = evaluate(t, [created()], policy_with(date_settings), MON_0900_BERLIN + H)
    resolution = clock(result, Metric.RESOLUTION)
    # the end of Wednesday 2026-11-25 in Berlin (24x7 runs on UTC here: midnight UTC)
    assert resolution.due_at == datetime(2026, 11, 26, 0, 0, tzinfo=UTC)
    assert resolution.target == resolution.due_at - MON_0900_BERLIN


# ------------------------------------------------------------------ manual exemption / pause

EXEMPT = ManualCondition(
    ManualEffect.EXEMPT, "outage credited separately", tag="exempt_sla", source="tiers.yaml:40"
)
VENDOR_PAUSE = ManualCondition(
    ManualEffect.PAUSE,
    "waiting on the vendor",
    field="waiting_on",
    values=("vendor",),
    metrics=frozenset({Metric.RESOLUTION}),
    source="tiers.yaml:44",
)


def _exempt_ticket(tagged_at: timedelta) -> tuple[Ticket, list[object]]:
    t = ticket(tags=frozenset({"exempt_sla"}))
    return t, [created(), tags_changed(MON_0900_BERLIN + tagged_at, "exempt_sla", "")]


def test_an_exempt_tag_reports_the_metric_exempt_not_breached_and_escalates_nothing():
    t, events = _exempt_ticket(30 * M)
    result = evaluate(t, events, policy_with(manual=(EXEMPT,)), MON_0900_BERLIN + 30 * H)
    for metric in (Metric.FIRST_RESPONSE, Metric.RESOLUTION):
        exempt = clock(result, metric)
        assert exempt.state is ClockState.EXEMPT
        assert exempt.due_at is None and exempt.breached_at is None
        assert exempt.condition == "exempt (tag exempt_sla, at tiers.yaml:40): outage credited separately"
    assert result.crossings == ()
    assert result.next_deadline is None
    assert not any(tag.endswith("sla_breached") for tag in result.desired_tags)


def test_an_exemption_tagged_after_the_breach_leaves_the_breach():
    t, events = _exempt_ticket(5 * H)  # first response (4h) breached at 13:00, tag at 14:00
    result = evaluate(t, events, policy_with(manual=(EXEMPT,)), MON_0900_BERLIN + 6 * H)
    assert clock(result, Metric.FIRST_RESPONSE).state is ClockState.BREACHED
    assert clock(result, Metric.RESOLUTION).state is ClockState.EXEMPT  # still running: exempt


def test_an_exemption_tagged_after_a_met_cycle_leaves_it_met():
    t = ticket(tags=frozenset({"exempt_sla"}))
    events = [created(), agent(MON_0900_BERLIN + H), tags_changed(MON_0900_BERLIN + 2 * H, "exempt_sla", "")]
    result = evaluate(t, events, policy_with(manual=(EXEMPT,)), MON_0900_BERLIN + 3 * H)
    assert clock(result, Metric.FIRST_RESPONSE).state is ClockState.MET


def test_a_vendor_field_pauses_resolution_while_it_holds_and_explains_why():
    t = ticket(fields={"waiting_on": ""})
    events = [
        created(),
        field_changed(MON_0900_BERLIN + H, "waiting_on", "vendor"),
        field_changed(MON_0900_BERLIN + 3 * H, "waiting_on", "", "vendor"),
    ]
    result = evaluate(t, events, policy_with(manual=(VENDOR_PAUSE,)), MON_0900_BERLIN + 4 * H)
    resolution = clock(result, Metric.RESOLUTION)
    assert resolution.elapsed == 2 * H
    assert [(s.start, s.end) for s in resolution.paused_spans] == [
        (MON_0900_BERLIN + H, MON_0900_BERLIN + 3 * H)
    ]
    assert resolution.condition == "pause (waiting_on = vendor, at tiers.yaml:44): waiting on the vendor"
    assert clock(result, Metric.FIRST_RESPONSE).elapsed == 4 * H  # the pause names resolution only


def test_a_running_clock_under_a_manual_pause_is_paused_with_no_due():
    t = ticket(fields={"waiting_on": "vendor"})
    events = [created(), field_changed(MON_0900_BERLIN + H, "waiting_on", "vendor")]
    result = evaluate(t, events, policy_with(manual=(VENDOR_PAUSE,)), MON_0900_BERLIN + 4 * H)
    resolution = clock(result, Metric.RESOLUTION)
    assert (resolution.state, resolution.elapsed, resolution.due_at) == (ClockState.PAUSED, H, None)
    assert resolution.paused_spans[-1].end is None


def test_a_manual_pause_after_the_breach_leaves_the_breach_instant():
    t = ticket(fields={"waiting_on": "vendor"})
    events = [created(), field_changed(MON_0900_BERLIN + 6 * H, "waiting_on", "vendor")]
    pause_all = replace(VENDOR_PAUSE, metrics=None)
    result = evaluate(t, events, policy_with(manual=(pause_all,)), MON_0900_BERLIN + 7 * H)
    first = clock(result, Metric.FIRST_RESPONSE)
    assert (first.state, first.breached_at) == (ClockState.BREACHED, MON_0900_BERLIN + 4 * H)


# ---------------------------------------------------------- settled outcomes and policy edits


def test_a_breach_settled_on_business_hours_survives_an_edit_to_24x7_and_an_exemption():
    events = [created()]
    breached = evaluate(ticket(), events, policy_with(), MON_0900_BERLIN + 5 * H)
    assert clock(breached, Metric.FIRST_RESPONSE).state is ClockState.BREACHED
    edited = policy_with(
        {Metric.FIRST_RESPONSE: MetricSettings(calendar="24x7")},
        manual=(EXEMPT,),
    )
    t, tagged = _exempt_ticket(5 * H + 30 * M)
    later = evaluate(t, tagged, edited, MON_0900_BERLIN + 6 * H, settled=breached.decided)
    first = clock(later, Metric.FIRST_RESPONSE)
    assert (first.state, first.breached_at) == (ClockState.BREACHED, MON_0900_BERLIN + 4 * H)


def test_an_edit_to_a_24x7_metric_reaches_new_cycles_only_and_running_ones_keep_their_calendar():
    v1 = replace(policy_with(), version="v1")
    v2 = replace(policy_with({Metric.FIRST_RESPONSE: MetricSettings(calendar="24x7")}), version="v2")
    history = PolicyHistory([Activation(v1, MON_0900_BERLIN - 24 * H), Activation(v2, MON_0900_BERLIN + H)])
    now = MON_0900_BERLIN + 10 * H  # Monday 19:00 Berlin
    before = evaluate(ticket(), [created()], history, now)
    after = evaluate(
        ticket(created=MON_0900_BERLIN + 2 * H), [created(MON_0900_BERLIN + 2 * H)], history, now
    )
    assert (clock(before, Metric.FIRST_RESPONSE).calendar, clock(before, Metric.FIRST_RESPONSE).elapsed) == (
        "berlin",
        8 * H,
    )
    assert (clock(after, Metric.FIRST_RESPONSE).calendar, clock(after, Metric.FIRST_RESPONSE).elapsed) == (
        "24x7",
        8 * H,
    )
    assert clock(after, Metric.RESOLUTION).calendar == "berlin"


def test_tiers_without_conditions_evaluate_as_before():
    plain = evaluate(ticket(), [created()], make_policy(), MON_0900_BERLIN + 2 * H)
    conditioned = evaluate(ticket(), [created()], policy_with(), MON_0900_BERLIN + 2 * H)
    assert plain.clocks == conditioned.clocks
    assert BERLIN_HOURS.name == clock(plain, Metric.RESOLUTION).calendar
