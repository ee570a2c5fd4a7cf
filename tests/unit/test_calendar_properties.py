"""Property tests for BusinessCalendar on DST zones, checked against a brute-force oracle.

The oracle steps minute by minute over UTC and asks zoneinfo for the wall clock of each minute:
the definition of business time, with no interval arithmetic. All zones used here have whole-minute
offsets in the tested years, so with minute-aligned inputs the oracle is exact.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connector.domain.calendar import BUILTIN_CALENDARS, BusinessCalendar

# Zone -> years tested. Sao Paulo is tested over the years it still had DST (to 2019), whose
# transitions happened at midnight.
ZONE_YEARS: dict[str, tuple[int, int]] = {
    "Europe/Berlin": (2000, 2035),
    "America/New_York": (2000, 2035),
    "Australia/Sydney": (2000, 2035),
    "America/Sao_Paulo": (1995, 2019),
    "Asia/Kolkata": (2000, 2035),
    "Australia/Lord_Howe": (2000, 2035),
}
ZONES = sorted(ZONE_YEARS)
DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# Window edges that fall on or around DST transitions in the zones above, plus office hours.
EDGE_MINUTES = (0, 30, 60, 90, 120, 150, 180, 210, 240, 540, 750, 810, 1020, 1380, 1440)

PROPERTY_SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
ORACLE_SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])

Week = tuple[tuple[tuple[int, int], ...], ...]


def minutes_text(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def spec_for(zone: str, week: Week, holidays: Sequence[date] = ()) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "timezone": zone,
        "hours": {
            DAY_NAMES[day]: [f"{minutes_text(a)}-{minutes_text(b)}" for a, b in windows]
            for day, windows in enumerate(week)
            if windows
        },
    }
    if holidays:
        spec["holidays"] = {"dates": list(holidays)}
    return spec


OFFICE_WEEK: Week = (((540, 750), (810, 1020)),) * 5 + (((600, 840),), ())
EDGES_WEEK: Week = (((0, 30), (60, 150), (180, 240), (1320, 1440)),) * 6 + (((0, 1440),),)
SPARSE_WEEK: Week = ((), (), ((135, 165),), (), (), (), ((90, 210),))
FIXED_WEEKS = {"office": OFFICE_WEEK, "edges": EDGES_WEEK, "sparse": SPARSE_WEEK}
FIXED_CALENDARS = {
    (zone, kind): BusinessCalendar.from_spec(
        spec_for(zone, week, [date(2026, 12, 24), date(2016, 2, 14)]), name=f"{kind}@{zone}"
    )
    for zone in ZONES
    for kind, week in FIXED_WEEKS.items()
}
# Every wall-clock minute open; the irrelevant holiday keeps it off the real-time shortcut.
LOCAL_ALL_DAY = {
    zone: BusinessCalendar.from_spec(
        {"timezone": zone, "hours": "00:00-24:00", "holidays": {"dates": ["1980-01-01"]}}
    )
    for zone in ZONES
}


# ------------------------------------------------------------------------------------- oracle


def oracle_is_open(week: Week, holidays: frozenset[date], tz: ZoneInfo, epoch_second: int) -> bool:
    wall = datetime.fromtimestamp(epoch_second, tz)
    if wall.date() in holidays:
        return False
    minute = wall.hour * 60 + wall.minute
    return any(start <= minute < end for start, end in week[wall.weekday()])


def oracle_elapsed(week: Week, holidays: frozenset[date], tz: ZoneInfo, start: int, end: int) -> int:
    """Open seconds between two minute-aligned epoch seconds."""
    return sum(60 for minute in range(start, end, 60) if oracle_is_open(week, holidays, tz, minute))


def oracle_add(
    week: Week, holidays: frozenset[date], tz: ZoneInfo, start: int, seconds: int, limit: int
) -> int | None:
    """First minute-aligned epoch second after which `seconds` of open time have passed, if within limit."""
    remaining = seconds
    for minute in range(start, start + limit, 60):
        if oracle_is_open(week, holidays, tz, minute):
            remaining -= 60
            if remaining == 0:
                return minute + 60
    return None


# --------------------------------------------------------------------------------- strategies


@lru_cache
def transitions(zone: str) -> tuple[int, ...]:
    """Epoch seconds of the zone's UTC offset changes in its tested years (daily scan + bisection)."""
    tz = ZoneInfo(zone)
    first_year, last_year = ZONE_YEARS[zone]
    start = int(datetime(first_year, 1, 1, tzinfo=UTC).timestamp())
    end = int(datetime(last_year + 1, 1, 1, tzinfo=UTC).timestamp())

    def offset(second: int) -> timedelta | None:
        return datetime.fromtimestamp(second, tz).utcoffset()

    found = []
    for day_start in range(start, end, 86_400):
        low, high = day_start, day_start + 86_400
        if offset(low) != offset(high):
            while high - low > 1:
                middle = (low + high) // 2
                if offset(middle) == offset(low):
                    low = middle
                else:
                    high = middle
            found.append(high)
    return tuple(found)


def instants(zone: str) -> st.SearchStrategy[int]:
    """Minute-aligned epoch seconds in the zone's tested years, half of them near a DST transition."""
    first_year, last_year = ZONE_YEARS[zone]
    low = int(datetime(first_year, 1, 1, tzinfo=UTC).timestamp()) // 60
    high = int(datetime(last_year, 12, 1, tzinfo=UTC).timestamp()) // 60
    anywhere = st.integers(low, high).map(lambda minute: minute * 60)
    nearby = transitions(zone)
    if not nearby:
        return anywhere
    near_transition = st.tuples(st.sampled_from(nearby), st.integers(-3 * 1440, 3 * 1440)).map(
        lambda pair: (pair[0] // 60 + pair[1]) * 60
    )
    return st.one_of(anywhere, near_transition)


def aware(epoch_second: int, micro: int, zone: str) -> datetime:
    """The instant as an aware datetime in `zone` (inputs may come in any zone).

    Tests compare such values only after astimezone(UTC): Python compares two datetimes sharing a
    tzinfo by wall clock, which misorders the two occurrences of a repeated hour.
    """
    return datetime.fromtimestamp(epoch_second, ZoneInfo(zone)).replace(microsecond=micro)


@st.composite
def weeks(draw: st.DrawFn) -> Week:
    days = []
    for _ in DAY_NAMES:
        marks = sorted(draw(st.sets(st.sampled_from(EDGE_MINUTES) | st.integers(0, 1440), max_size=6)))
        if len(marks) % 2:
            marks.pop()
        days.append(tuple(zip(marks[::2], marks[1::2], strict=True)))
    if not any(days):
        days[0] = ((540, 1020),)
    return tuple(days)


@dataclass(frozen=True)
class Scenario:
    zone: str
    week: Week
    holidays: frozenset[date]
    start: int  # minute-aligned epoch second

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.zone)

    def calendar(self, *, with_holidays: bool = True) -> BusinessCalendar:
        return BusinessCalendar.from_spec(
            spec_for(self.zone, self.week, sorted(self.holidays) if with_holidays else [])
        )


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    zone = draw(st.sampled_from(ZONES))
    start = draw(instants(zone))
    local_start = datetime.fromtimestamp(start, ZoneInfo(zone)).date()
    holidays = draw(st.sets(st.integers(-1, 4).map(lambda n: local_start + timedelta(days=n)), max_size=2))
    return Scenario(zone, draw(weeks()), frozenset(holidays), start)


fixed_calendars = st.sampled_from(sorted(FIXED_CALENDARS)).map(lambda key: (key[0], FIXED_CALENDARS[key]))
micros = st.integers(0, 999_999)
business_deltas = st.integers(0, 40 * 86_400 * 1_000_000).map(lambda us: timedelta(microseconds=us))


# --------------------------------------------------------------------------- oracle agreement


@ORACLE_SETTINGS
@given(scenarios(), st.integers(0, 4 * 1440))
def test_elapsed_agrees_with_minute_stepping_oracle(scenario: Scenario, span_minutes: int) -> None:
    end = scenario.start + span_minutes * 60
    expected = oracle_elapsed(scenario.week, scenario.holidays, scenario.tz, scenario.start, end)
    actual = scenario.calendar().elapsed(aware(scenario.start, 0, scenario.zone), aware(end, 0, "UTC"))
    assert actual == timedelta(seconds=expected)


@ORACLE_SETTINGS
@given(scenarios(), st.integers(1, 8 * 60))
def test_add_agrees_with_minute_stepping_oracle(scenario: Scenario, delta_minutes: int) -> None:
    limit = 6 * 86_400
    expected = oracle_add(
        scenario.week, scenario.holidays, scenario.tz, scenario.start, delta_minutes * 60, limit
    )
    start = aware(scenario.start, 0, "UTC")
    actual = scenario.calendar().add(start, timedelta(minutes=delta_minutes))
    if expected is None:
        assert actual > start + timedelta(seconds=limit)
    else:
        assert actual.astimezone(UTC) == datetime.fromtimestamp(expected, UTC)


@ORACLE_SETTINGS
@given(scenarios())
def test_is_open_agrees_with_wall_clock_oracle(scenario: Scenario) -> None:
    calendar = scenario.calendar()
    for minute in range(scenario.start, scenario.start + 6 * 3600, 15 * 60):
        expected = oracle_is_open(scenario.week, scenario.holidays, scenario.tz, minute)
        assert calendar.is_open(aware(minute, 0, "UTC")) is expected


# -------------------------------------------------------------------------------- invariants


@PROPERTY_SETTINGS
@given(fixed_calendars, st.data(), micros, business_deltas)
def test_elapsed_of_add_is_the_delta_from_any_start(
    zone_calendar: tuple[str, BusinessCalendar], data: st.DataObject, micro: int, delta: timedelta
) -> None:
    zone, calendar = zone_calendar
    start = aware(data.draw(instants(zone)), micro, zone)
    assert calendar.elapsed(start, calendar.add(start, delta)) == delta


@PROPERTY_SETTINGS
@given(fixed_calendars, st.data(), micros, business_deltas)
def test_add_returns_the_earliest_instant(
    zone_calendar: tuple[str, BusinessCalendar], data: st.DataObject, micro: int, delta: timedelta
) -> None:
    zone, calendar = zone_calendar
    start = aware(data.draw(instants(zone)), micro, zone)
    result = calendar.add(start, delta).astimezone(UTC)
    one = timedelta(microseconds=1)
    if delta:
        # Business time was running right up to the result.
        assert calendar.elapsed(result - one, result) == one
    else:
        assert result == start.astimezone(UTC)


@PROPERTY_SETTINGS
@given(fixed_calendars, st.data(), st.lists(micros, min_size=3, max_size=3))
def test_elapsed_is_additive(
    zone_calendar: tuple[str, BusinessCalendar], data: st.DataObject, micro: list[int]
) -> None:
    zone, calendar = zone_calendar
    points = sorted(
        (
            aware(data.draw(instants(zone)), fraction, zone if i % 2 else "UTC")
            for i, fraction in enumerate(micro)
        ),
        key=lambda point: point.astimezone(UTC),
    )
    first, middle, last = points
    assert calendar.elapsed(first, last) == calendar.elapsed(first, middle) + calendar.elapsed(middle, last)
    assert calendar.elapsed(last, first) == timedelta(0)


@PROPERTY_SETTINGS
@given(fixed_calendars, st.data(), micros, business_deltas, business_deltas)
def test_add_is_monotonic_in_delta(
    zone_calendar: tuple[str, BusinessCalendar], data: st.DataObject, micro: int, a: timedelta, b: timedelta
) -> None:
    zone, calendar = zone_calendar
    start = aware(data.draw(instants(zone)), micro, zone)
    smaller, larger = sorted((a, b))
    assert calendar.add(start, smaller).astimezone(UTC) <= calendar.add(start, larger).astimezone(UTC)


@PROPERTY_SETTINGS
@given(fixed_calendars, st.data(), micros, st.integers(0, 10 * 86_400), business_deltas)
def test_add_is_monotonic_in_start(
    zone_calendar: tuple[str, BusinessCalendar], data: st.DataObject, micro: int, gap: int, delta: timedelta
) -> None:
    zone, calendar = zone_calendar
    earlier = aware(data.draw(instants(zone)), micro, zone)
    later = earlier.astimezone(UTC) + timedelta(seconds=gap)
    assert calendar.add(earlier, delta).astimezone(UTC) <= calendar.add(later, delta).astimezone(UTC)


@PROPERTY_SETTINGS
@given(fixed_calendars, st.data(), micros)
def test_next_open_is_the_first_open_instant(
    zone_calendar: tuple[str, BusinessCalendar], data: st.DataObject, micro: int
) -> None:
    zone, calendar = zone_calendar
    at = aware(data.draw(instants(zone)), micro, zone)
    opening = calendar.next_open(at).astimezone(UTC)
    assert opening >= at.astimezone(UTC)
    assert calendar.is_open(opening)
    assert calendar.elapsed(at, opening) == timedelta(0)
    assert calendar.is_open(at) == (opening == at.astimezone(UTC))


@ORACLE_SETTINGS
@given(scenarios(), st.integers(0, 5 * 1440), st.integers(0, 5 * 1440))
def test_holiday_removes_exactly_its_whole_day(scenario: Scenario, before: int, after: int) -> None:
    with_holidays = scenario.calendar()
    without = scenario.calendar(with_holidays=False)
    start = aware(scenario.start - before * 60, 0, "UTC")
    end = aware(scenario.start + after * 60, 0, "UTC")
    removed = timedelta(0)
    for holiday in scenario.holidays:
        # The zones here never repeat midnight, so fold=0 midnight is the day's first instant.
        day_start = datetime.combine(holiday, time(0), scenario.tz).astimezone(UTC)
        day_end = datetime.combine(holiday + timedelta(days=1), time(0), scenario.tz).astimezone(UTC)
        removed += without.elapsed(max(start, day_start), min(end, day_end))
        assert with_holidays.elapsed(day_start, day_end) == timedelta(0)
    assert with_holidays.elapsed(start, end) == without.elapsed(start, end) - removed


@PROPERTY_SETTINGS
@given(st.sampled_from(ZONES), st.data(), micros, st.integers(0, 400 * 86_400))
def test_all_day_hours_and_builtin_24x7_measure_real_time(
    zone: str, data: st.DataObject, micro: int, seconds: int
) -> None:
    start = aware(data.draw(instants(zone)), micro, zone)
    real = timedelta(seconds=seconds, microseconds=micro)
    end_utc = start.astimezone(UTC) + real
    for calendar in (LOCAL_ALL_DAY[zone], BUILTIN_CALENDARS["24x7"]):
        assert calendar.elapsed(start, end_utc) == real
        assert calendar.add(start, real).astimezone(UTC) == end_utc


@settings(max_examples=100, deadline=None)
@given(scenarios())
def test_to_spec_round_trips(scenario: Scenario) -> None:
    calendar = scenario.calendar()
    rebuilt = BusinessCalendar.from_spec(calendar.to_spec())
    assert rebuilt == calendar
    assert rebuilt.spec_hash() == calendar.spec_hash()
