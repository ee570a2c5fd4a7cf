"""Capacity forecast math: Erlang C against textbook figures, forecasts on a generated history
with a known answer, staffing windows and shortfalls."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from connector.errors import InvalidInput
from connector.forecast.arrivals import Arrival, ArrivalSeries, bin_arrivals
from connector.forecast.backtest import backtest, wape
from connector.forecast.erlang import agents_needed, probability_of_waiting, service_level
from connector.forecast.model import Method, forecast_weekly
from connector.forecast.staffing import StaffingTargets, answered_load, required_agents, windows_of
from connector.forecast.staffing_file import parse_staffing
from plugins.zendesk.emulator.history import WEEKLY_BASE, expected_weekly, generate_history

END = datetime(2026, 11, 30, 6, 0, tzinfo=UTC)
BERLIN = ZoneInfo("Europe/Berlin")


def test_erlang_c_matches_the_textbook_table_for_ten_erlangs() -> None:
    # 200 calls an hour of 3 minutes = 10 erlangs: C(14, 10) = 0.1741, 80/20 needs 14 agents
    assert probability_of_waiting(14, 10.0) == pytest.approx(0.1741, abs=5e-5)
    assert service_level(13, 200, 0.05, 20 / 3600) < 0.8 < service_level(14, 200, 0.05, 20 / 3600)
    assert agents_needed(200, 0.05, 20 / 3600, 0.8) == 14


def test_erlang_c_for_100_calls_an_hour_of_3_minutes_at_80_in_20_seconds_needs_8_agents() -> None:
    assert service_level(8, 100, 0.05, 20 / 3600) == pytest.approx(0.8801, abs=5e-4)
    assert agents_needed(100, 0.05, 20 / 3600, 0.8) == 8


def test_maximum_occupancy_adds_agents_where_the_target_alone_would_not() -> None:
    assert agents_needed(10, 0.5, 8, 0.9) == 6  # 5 erlangs, a long target: just above the load
    assert agents_needed(10, 0.5, 8, 0.9, max_occupancy=0.5) == 10


def _history(weeks: int, seed: int, **shape: float) -> list[ArrivalSeries]:
    generated = generate_history(END - timedelta(weeks=weeks), weeks, seed=seed, **shape)
    arrivals = [Arrival(t.tier, t.severity, t.created_at) for t in generated]
    return bin_arrivals(
        arrivals, end=END, timezones=dict.fromkeys(("enterprise", "priority", "standard"), BERLIN)
    )


def _known_wape(series: list[ArrivalSeries], weeks: int, **shape: float) -> float:
    """The error of the rate that generated the history: the floor no forecast gets below."""
    held = range(weeks - 4, weeks)
    actual = [float(sum(s.weekly[w] for s in series)) for w in held]
    known = [
        sum(
            expected_weekly(t, v, w, shape.get("trend", 0.01), yearly=shape.get("yearly", 0.0))
            for t, v in WEEKLY_BASE
        )
        for w in held
    ]
    floor = wape(actual, known)
    assert floor is not None
    return floor


def test_holt_on_twenty_weeks_beats_seasonal_naive_and_comes_near_the_noise_floor() -> None:
    model, naive, floor = [], [], []
    for seed in range(1, 6):
        series = _history(20, seed)
        result = backtest(series, holdout_weeks=4)
        assert result.methods == (Method.HOLT,)
        overall = result.rows[-1]
        assert overall.weekly_wape is not None and overall.naive_weekly_wape is not None
        model.append(overall.weekly_wape)
        naive.append(overall.naive_weekly_wape)
        floor.append(_known_wape(series, 20))
    assert sum(model) < sum(naive)
    assert sum(model) / 5 < sum(floor) / 5 + 0.02


def test_two_years_of_history_use_holt_winters_and_follow_the_yearly_cycle() -> None:
    shape = {"trend": 0.003, "yearly": 0.3}
    series = _history(108, 3, **shape)  # the held-out weeks 104-107 are on the cycle's steep rise
    result = backtest(series, holdout_weeks=4)
    overall = result.rows[-1]
    assert result.methods == (Method.HOLT_WINTERS,)
    assert overall.weekly_wape is not None and overall.naive_weekly_wape is not None
    assert overall.weekly_wape < overall.naive_weekly_wape / 2
    assert overall.weekly_wape < _known_wape(series, 108, **shape) + 0.02


def test_short_histories_fall_back_to_seasonal_naive() -> None:
    assert forecast_weekly([5, 9, 7], 2) == (7.0, 7.0)


def test_arrivals_are_binned_by_complete_weeks_in_the_tier_zone() -> None:
    # Sunday 23:30 UTC is Monday 00:30 in Berlin: the next week, hour 0
    arrivals = [Arrival("standard", "normal", datetime(2026, 11, 22, 23, 30, tzinfo=UTC))]
    (series,) = bin_arrivals(arrivals, end=END, timezones={"standard": BERLIN})
    assert [w.isoformat() for w in series.weeks] == ["2026-11-23"]
    assert series.hourly[0][0] == 1


def test_closed_hour_arrivals_wait_for_the_next_window() -> None:
    mask = [False] * 168
    for hour in range(9, 17):  # Monday 09-17 only
        mask[hour] = True
    windows = windows_of(mask)
    hourly = [0.0] * 168
    hourly[100] = 8.0  # Thursday, closed: carried round to next Monday's window
    load = answered_load(hourly, mask, windows)
    assert [w.label for w in windows] == ["Mon 09:00-17:00"]
    assert load[9:17] == [1.0] * 8
    assert wape([10, 10], [9, 12]) == pytest.approx(0.15)


TIERS = dict.fromkeys(("enterprise", "priority", "standard"))


def test_staffing_shifts_add_up_per_hour_of_the_week_and_day_ranges_wrap() -> None:
    stated = parse_staffing(
        {
            "service_level": "80%",
            "handle_time": {"standard": "30m"},
            "tiers": {
                "standard": [
                    {"days": "mon-fri", "hours": "09:00-17:00", "agents": 2},
                    {"days": "fri-mon", "hours": "12:00-13:00", "agents": 1},
                ]
            },
        },
        "staffing.yaml",
        TIERS,
    )
    agents = stated.agents["standard"]
    assert agents[9] == 2 and agents[12] == 3 and agents[17] == 0  # Monday
    assert agents[24 + 12] == 2  # Tuesday lunch: only the weekday shift
    assert agents[5 * 24 + 12] == 1 and agents[6 * 24 + 9] == 0  # Saturday lunch, Sunday morning
    assert stated.targets.goal == pytest.approx(0.8)
    assert stated.targets.handle_hours("standard") == pytest.approx(0.5)
    assert stated.targets.handle_hours("enterprise") == pytest.approx(1 / 3)  # the 20-minute default


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"tiers": {"gold": []}}, "staffing.yaml: tiers.gold: no such tier"),
        (
            {"tiers": {"standard": [{"days": "weekdays", "hours": "09:00-17:00", "agents": 1}]}},
            "staffing.yaml: tiers.standard[0]: days 'weekdays' is not a day or range of days",
        ),
        (
            {"tiers": {"standard": [{"days": "mon", "hours": "09:30-17:00", "agents": 1}]}},
            "staffing.yaml: tiers.standard[0]: hours '09:30-17:00' is not a span of whole hours",
        ),
        (
            {"tiers": {"standard": [{"days": "mon", "hours": "09:00-17:00", "agents": -1}]}},
            "staffing.yaml: tiers.standard[0]: agents -1 is not a whole number",
        ),
        ({"service_level": "100%"}, "staffing.yaml: service_level 100% cannot be staffed for"),
    ],
)
def test_a_wrong_staffing_file_names_the_place_and_the_fix(document: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        parse_staffing(document, "staffing.yaml", TIERS)
    assert raised.value.problem == message
    assert raised.value.fix


def test_critical_tickets_are_staffed_for_their_short_target_behind_no_one_else() -> None:
    # 2 critical tickets an hour with a 15 minute target, 10 normal ones with 4 hours, 20 minutes each
    hourly = {"critical": [2.0] * 168, "normal": [10.0] * 168}
    targets = {"critical": timedelta(minutes=15), "normal": timedelta(hours=4)}
    settings = StaffingTargets(goal=0.9, max_occupancy=0.85)
    needed = required_agents(hourly, targets, ("critical", "high", "normal", "low"), settings, 1 / 3)
    # normal needs the whole load (4 erlangs) under 85 % occupancy; critical alone would need 2
    assert needed[0] == 5
    assert agents_needed(2.0, 1 / 3, 0.25, 0.9) == 2
