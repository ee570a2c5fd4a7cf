"""Scenario tests for BusinessCalendar: exact figures for the cases admins and the SLA engine hit."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from connector.domain.calendar import BUILTIN_CALENDARS, BusinessCalendar, CalendarSpecError

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
LORD_HOWE = ZoneInfo("Australia/Lord_Howe")
KOLKATA = ZoneInfo("Asia/Kolkata")

OFFICE_HOURS = {"mon-fri": ["09:00-12:30", "13:30-17:00"]}  # 7 h a day
OFFICE = BusinessCalendar.from_spec({"timezone": "Europe/Berlin", "hours": OFFICE_HOURS}, name="office")
BERLIN_SUPPORT = BusinessCalendar.from_spec(
    {
        "timezone": "Europe/Berlin",
        "hours": {**OFFICE_HOURS, "sat": ["10:00-14:00"]},
        "holidays": {"country": "DE", "subdivision": "BE", "dates": [date(2026, 12, 24)]},
    },
    name="berlin-support",
)
# An irrelevant explicit holiday keeps these on the interval path instead of the real-time shortcut.
ALL_DAY_BERLIN = BusinessCalendar.from_spec(
    {"timezone": "Europe/Berlin", "hours": {"daily": ["00:00-24:00"]}, "holidays": {"dates": ["1999-01-01"]}}
)
EARLY_BERLIN = BusinessCalendar.from_spec({"timezone": "Europe/Berlin", "hours": {"daily": ["01:00-04:00"]}})


def berlin(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0, micro: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, micro, tzinfo=BERLIN)


def hours(value: float) -> timedelta:
    return timedelta(hours=value)


def spec_error(spec: Any) -> CalendarSpecError:
    with pytest.raises(CalendarSpecError) as caught:
        BusinessCalendar.from_spec(spec)
    return caught.value


# ------------------------------------------------------------------------------ opening hours


def test_lunch_break_is_not_business_time() -> None:
    assert OFFICE.elapsed(berlin(2026, 5, 4, 12), berlin(2026, 5, 4, 14)) == hours(1)
    assert OFFICE.add(berlin(2026, 5, 4, 12), hours(1)) == berlin(2026, 5, 4, 14)


def test_add_that_ends_at_closing_returns_the_closing_not_the_next_opening() -> None:
    assert OFFICE.add(berlin(2026, 5, 4, 12), timedelta(minutes=30)) == berlin(2026, 5, 4, 12, 30)
    assert OFFICE.add(berlin(2026, 5, 4, 9), hours(7)) == berlin(2026, 5, 4, 17)


def test_a_weekday_holds_the_sum_of_its_windows() -> None:
    assert OFFICE.elapsed(berlin(2026, 5, 4), berlin(2026, 5, 5)) == hours(7)
    assert OFFICE.elapsed(berlin(2026, 5, 4), berlin(2026, 5, 11)) == hours(35)


def test_weekend_is_skipped() -> None:
    friday_four_pm = berlin(2026, 5, 8, 16)
    assert OFFICE.add(friday_four_pm, hours(2)) == berlin(2026, 5, 11, 10)
    assert OFFICE.elapsed(friday_four_pm, berlin(2026, 5, 11, 10)) == hours(2)
    assert OFFICE.elapsed(berlin(2026, 5, 9), berlin(2026, 5, 11)) == timedelta(0)


def test_saturday_window_counts_only_on_saturday() -> None:
    assert BERLIN_SUPPORT.add(berlin(2026, 5, 8, 16), hours(2)) == berlin(2026, 5, 9, 11)
    assert BERLIN_SUPPORT.elapsed(berlin(2026, 5, 4), berlin(2026, 5, 11)) == hours(39)


def test_start_before_opening_counts_from_the_opening() -> None:
    assert OFFICE.add(berlin(2026, 5, 4, 7), hours(1)) == berlin(2026, 5, 4, 10)
    assert OFFICE.elapsed(berlin(2026, 5, 4, 7), berlin(2026, 5, 4, 10)) == hours(1)


def test_start_on_a_closed_day_counts_from_the_next_opening() -> None:
    assert OFFICE.add(berlin(2026, 5, 9, 8), hours(1)) == berlin(2026, 5, 11, 10)


def test_zero_delta_returns_start_even_when_closed() -> None:
    saturday = berlin(2026, 5, 9, 8, 15, 30, 250)
    assert OFFICE.add(saturday, timedelta(0)) is saturday
    in_utc = saturday.astimezone(UTC)
    assert OFFICE.add(in_utc, timedelta(0)) is in_utc


def test_elapsed_is_zero_when_end_is_not_after_start() -> None:
    assert OFFICE.elapsed(berlin(2026, 5, 4, 11), berlin(2026, 5, 4, 10)) == timedelta(0)
    assert OFFICE.elapsed(berlin(2026, 5, 4, 11), berlin(2026, 5, 4, 11)) == timedelta(0)


def test_results_are_aware_in_the_calendar_zone_whatever_the_input_zone() -> None:
    result = OFFICE.add(datetime(2026, 5, 4, 7, tzinfo=UTC), hours(1))  # 09:00 Berlin
    assert result.tzinfo == BERLIN
    assert result == berlin(2026, 5, 4, 10)


def test_microseconds_are_preserved() -> None:
    start = berlin(2026, 5, 4, 10, 0, 0, 123_456)
    assert OFFICE.add(start, timedelta(microseconds=1)) == berlin(2026, 5, 4, 10, 0, 0, 123_457)
    assert OFFICE.elapsed(start, berlin(2026, 5, 4, 11)) == timedelta(
        minutes=59, seconds=59, microseconds=876_544
    )


def test_window_ending_at_midnight_continues_into_next_day_window() -> None:
    night = BusinessCalendar.from_spec(
        {"timezone": "Europe/Berlin", "hours": {"mon": ["20:00-24:00"], "tue": ["00:00-02:00"]}}
    )
    assert night.add(berlin(2026, 5, 4, 23), hours(2)) == berlin(2026, 5, 5, 1)
    assert night.elapsed(berlin(2026, 5, 4, 20), berlin(2026, 5, 5, 2)) == hours(6)
    assert night.is_open(berlin(2026, 5, 4, 23, 59, 59))
    assert not night.is_open(berlin(2026, 5, 5, 2))


def test_negative_delta_is_rejected() -> None:
    with pytest.raises(ValueError, match="negative"):
        OFFICE.add(berlin(2026, 5, 4, 10), timedelta(seconds=-1))


def test_naive_datetimes_are_rejected() -> None:
    naive = datetime(2026, 5, 4, 10)
    with pytest.raises(ValueError, match="timezone-aware"):
        OFFICE.add(naive, hours(1))
    with pytest.raises(ValueError, match="timezone-aware"):
        OFFICE.elapsed(naive, berlin(2026, 5, 5))
    with pytest.raises(ValueError, match="timezone-aware"):
        OFFICE.elapsed(berlin(2026, 5, 4), naive)
    with pytest.raises(ValueError, match="timezone-aware"):
        OFFICE.is_open(naive)


def test_two_year_span_counts_every_weekday() -> None:
    start, end = date(2026, 1, 1), date(2028, 1, 1)
    weekdays = sum(1 for n in range((end - start).days) if (start + timedelta(n)).weekday() < 5)
    expected = hours(7) * weekdays
    assert OFFICE.elapsed(berlin(2026, 1, 1), berlin(2028, 1, 1)) == expected
    assert OFFICE.add(berlin(2026, 1, 1), expected) == berlin(2027, 12, 31, 17)


# ------------------------------------------------------------------------------------ holidays


def test_country_holidays_and_explicit_dates_are_closed() -> None:
    # 2026-12-24 explicit, 25 and 26 (a Saturday) Berlin public holidays, 27 a Sunday.
    assert BERLIN_SUPPORT.add(berlin(2026, 12, 23, 16), hours(2)) == berlin(2026, 12, 28, 10)
    assert BERLIN_SUPPORT.elapsed(berlin(2026, 12, 21), berlin(2026, 12, 28)) == hours(21)


def test_without_the_explicit_date_christmas_eve_is_a_working_day() -> None:
    country_only = BusinessCalendar.from_spec(
        {
            "timezone": "Europe/Berlin",
            "hours": OFFICE_HOURS,
            "holidays": {"country": "DE", "subdivision": "BE"},
        }
    )
    assert country_only.elapsed(berlin(2026, 12, 24), berlin(2026, 12, 25)) == hours(7)
    assert country_only.elapsed(berlin(2026, 12, 25), berlin(2026, 12, 26)) == timedelta(0)


def test_subdivision_holiday_applies_only_in_that_subdivision() -> None:
    # International Women's Day is a public holiday in Berlin only; 2027-03-08 is a Monday.
    def calendar(subdivision: str) -> BusinessCalendar:
        return BusinessCalendar.from_spec(
            {
                "timezone": "Europe/Berlin",
                "hours": OFFICE_HOURS,
                "holidays": {"country": "DE", "subdivision": subdivision},
            }
        )

    assert calendar("BE").elapsed(berlin(2027, 3, 8), berlin(2027, 3, 9)) == timedelta(0)
    assert calendar("BY").elapsed(berlin(2027, 3, 8), berlin(2027, 3, 9)) == hours(7)


def test_explicit_dates_accept_date_objects_and_iso_strings_alike() -> None:
    as_date = BusinessCalendar.from_spec(
        {"timezone": "Europe/Berlin", "hours": OFFICE_HOURS, "holidays": {"dates": [date(2026, 5, 4)]}}
    )
    as_text = BusinessCalendar.from_spec(
        {"timezone": "Europe/Berlin", "hours": OFFICE_HOURS, "holidays": {"dates": ["2026-05-04"]}}
    )
    assert as_date == as_text
    assert as_text.elapsed(berlin(2026, 5, 4), berlin(2026, 5, 5)) == timedelta(0)


def test_calendar_closed_for_ten_years_raises_instead_of_searching_forever() -> None:
    saturdays = [date(2026, 1, 3) + timedelta(weeks=n) for n in range(52 * 12)]
    calendar = BusinessCalendar.from_spec(
        {"timezone": "Europe/Berlin", "hours": {"sat": ["10:00-14:00"]}, "holidays": {"dates": saturdays}}
    )
    with pytest.raises(ValueError, match="no open hours"):
        calendar.add(berlin(2026, 1, 1), hours(1))
    with pytest.raises(ValueError, match="no open hours"):
        calendar.next_open(berlin(2026, 1, 1))


# ------------------------------------------------------------------------------------------ DST


def test_berlin_all_day_calendar_has_23_hours_on_spring_forward_day() -> None:
    assert ALL_DAY_BERLIN.elapsed(berlin(2026, 3, 29), berlin(2026, 3, 30)) == hours(23)


def test_berlin_all_day_calendar_has_25_hours_on_fall_back_day() -> None:
    assert ALL_DAY_BERLIN.elapsed(berlin(2026, 10, 25), berlin(2026, 10, 26)) == hours(25)


def test_local_24x7_hours_measure_real_time_across_dst() -> None:
    local = BusinessCalendar.from_spec({"timezone": "Europe/Berlin", "hours": "24x7"})
    assert local.always_open
    assert local.elapsed(berlin(2026, 3, 29), berlin(2026, 3, 30)) == hours(23)
    assert local.add(berlin(2026, 10, 25), hours(25)) == berlin(2026, 10, 26)


def test_window_spanning_spring_forward_gap_holds_two_real_hours() -> None:
    assert EARLY_BERLIN.elapsed(berlin(2026, 3, 29), berlin(2026, 3, 30)) == hours(2)
    assert EARLY_BERLIN.add(berlin(2026, 3, 29, 1, 30), hours(1)) == berlin(2026, 3, 29, 3, 30)


def test_window_spanning_fall_back_repeat_holds_four_real_hours() -> None:
    assert EARLY_BERLIN.elapsed(berlin(2026, 10, 25), berlin(2026, 10, 26)) == hours(4)
    assert EARLY_BERLIN.add(berlin(2026, 10, 25, 1), hours(3)) == berlin(2026, 10, 25, 3)


def test_add_landing_in_the_repeated_hour_returns_its_second_occurrence() -> None:
    result = EARLY_BERLIN.add(berlin(2026, 10, 25, 1), hours(2.5))
    # Compared in UTC: Python never finds a fold=1 time equal to one in another zone (PEP 495).
    assert result.astimezone(UTC) == datetime(2026, 10, 25, 1, 30, tzinfo=UTC)
    assert (result.hour, result.minute, result.fold) == (2, 30, 1)


def test_window_starting_in_spring_forward_gap_opens_just_after_the_gap() -> None:
    late = BusinessCalendar.from_spec({"timezone": "Europe/Berlin", "hours": {"sun": ["02:30-05:00"]}})
    assert late.next_open(berlin(2026, 3, 29)) == berlin(2026, 3, 29, 3)
    assert late.elapsed(berlin(2026, 3, 29), berlin(2026, 3, 30)) == hours(2)


def test_window_ending_inside_the_repeated_hour_counts_both_occurrences_of_its_wall_times() -> None:
    # Wall clock inside 00:00-02:30: 00:00-02:30 CEST (2.5 h), then 02:00-02:30 CET again (0.5 h).
    late_night = BusinessCalendar.from_spec({"timezone": "Europe/Berlin", "hours": {"sun": ["00:00-02:30"]}})
    assert late_night.elapsed(berlin(2026, 10, 25), berlin(2026, 10, 26)) == hours(3)
    assert not late_night.is_open(datetime(2026, 10, 25, 0, 45, tzinfo=UTC))  # 02:45 CEST
    assert late_night.is_open(datetime(2026, 10, 25, 1, 15, tzinfo=UTC))  # 02:15 CET


@pytest.mark.parametrize(
    ("day", "expected"),
    [(date(2026, 3, 8), hours(23)), (date(2026, 11, 1), hours(25)), (date(2026, 11, 2), hours(24))],
)
def test_new_york_all_day_calendar_follows_dst(day: date, expected: timedelta) -> None:
    calendar = BusinessCalendar.from_spec(
        {"timezone": "America/New_York", "hours": "00:00-24:00", "holidays": {"dates": ["1999-01-01"]}}
    )
    start = datetime(day.year, day.month, day.day, tzinfo=NEW_YORK)
    assert calendar.elapsed(start, start.astimezone(UTC) + expected) == expected
    assert calendar.elapsed(start, datetime.combine(day + timedelta(1), start.timetz())) == expected


def test_new_york_early_window_on_dst_days() -> None:
    early = BusinessCalendar.from_spec({"timezone": "America/New_York", "hours": {"sun": ["01:00-04:00"]}})
    spring = datetime(2026, 3, 8, tzinfo=NEW_YORK)
    fall = datetime(2026, 11, 1, tzinfo=NEW_YORK)
    assert early.elapsed(spring, spring + timedelta(days=1)) == hours(2)
    assert early.elapsed(fall, fall + timedelta(days=1)) == hours(4)


def test_lord_howe_half_hour_dst_days() -> None:
    calendar = BusinessCalendar.from_spec(
        {"timezone": "Australia/Lord_Howe", "hours": {"sun": ["00:00-24:00"]}}
    )
    autumn = datetime(2026, 4, 5, tzinfo=LORD_HOWE)
    spring = datetime(2026, 10, 4, tzinfo=LORD_HOWE)
    assert calendar.elapsed(autumn, autumn + timedelta(days=1)) == hours(24.5)
    assert calendar.elapsed(spring, spring + timedelta(days=1)) == hours(23.5)


def test_half_hour_offset_zone_without_dst() -> None:
    calendar = BusinessCalendar.from_spec({"timezone": "Asia/Kolkata", "hours": {"mon-fri": ["09:30-18:00"]}})
    assert calendar.add(datetime(2026, 5, 4, 4, tzinfo=UTC), hours(1)) == datetime(
        2026, 5, 4, 10, 30, tzinfo=KOLKATA
    )


# ------------------------------------------------------------------------------------- 24x7


def test_builtin_24x7_is_real_time() -> None:
    always = BusinessCalendar.from_spec("24x7")
    assert always is BUILTIN_CALENDARS["24x7"]
    assert always == BusinessCalendar.twenty_four_seven()
    start = berlin(2026, 3, 28, 12)
    assert always.elapsed(start, berlin(2026, 3, 29, 12)) == hours(23)
    assert always.add(start, hours(24)) == berlin(2026, 3, 29, 13)
    assert always.add(start, hours(24)).tzinfo == ZoneInfo("UTC")


def test_builtin_calendar_can_be_named() -> None:
    named = BusinessCalendar.from_spec("24x7", name="round-the-clock")
    assert named.name == "round-the-clock"
    assert named == BUILTIN_CALENDARS["24x7"]


# ---------------------------------------------------------------------------------- open/next


def test_is_open_and_next_open() -> None:
    assert OFFICE.is_open(berlin(2026, 5, 4, 9))
    assert not OFFICE.is_open(berlin(2026, 5, 4, 12, 30))
    assert OFFICE.next_open(berlin(2026, 5, 4, 12, 45)) == berlin(2026, 5, 4, 13, 30)
    assert OFFICE.next_open(berlin(2026, 5, 8, 17)) == berlin(2026, 5, 11, 9)
    inside = berlin(2026, 5, 4, 10, 5)
    assert OFFICE.next_open(inside) == inside


# -------------------------------------------------------------------------------- spec forms


def test_day_keys_accept_wrapping_ranges_lists_and_groups() -> None:
    def open_days(key: str) -> list[str]:
        calendar = BusinessCalendar.from_spec({"timezone": "UTC", "hours": {key: ["09:00-10:00"]}})
        return list(calendar.to_spec()["hours"])

    assert open_days("fri-mon") == ["mon", "fri", "sat", "sun"]
    assert open_days("mon,wed") == ["mon", "wed"]
    assert open_days("Tuesday") == ["tue"]
    assert open_days("weekends") == ["sat", "sun"]
    assert open_days("daily") == ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def test_day_given_by_several_keys_gets_all_their_windows() -> None:
    calendar = BusinessCalendar.from_spec(
        {"timezone": "UTC", "hours": {"mon-fri": ["09:00-12:00"], "fri": ["13:00-15:00"]}}
    )
    assert calendar.to_spec()["hours"]["fri"] == ["09:00-12:00", "13:00-15:00"]
    assert calendar.to_spec()["hours"]["thu"] == ["09:00-12:00"]


def test_touching_windows_are_one_opening() -> None:
    calendar = BusinessCalendar.from_spec(
        {"timezone": "UTC", "hours": {"mon": ["12:00-17:00", "09:00-12:00"]}}
    )
    assert calendar.to_spec()["hours"] == {"mon": ["09:00-17:00"]}


def test_single_window_string_applies_to_every_day() -> None:
    calendar = BusinessCalendar.from_spec({"timezone": "UTC", "hours": "08:00-20:00"})
    assert calendar.to_spec()["hours"] == {
        day: ["08:00-20:00"] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    }


def test_24x7_hours_without_timezone_is_utc() -> None:
    assert BusinessCalendar.from_spec({"hours": "24x7"}) == BUILTIN_CALENDARS["24x7"]


def test_equal_rules_compare_and_hash_equal_whatever_the_name() -> None:
    spec = {"timezone": "Europe/Berlin", "hours": OFFICE_HOURS}
    first = BusinessCalendar.from_spec(spec, name="a")
    written_differently = {"mon-fri": ["09:00-12:30"], "mon,tue,wed,thu,fri": ["13:30-17:00"]}
    second = BusinessCalendar.from_spec({"hours": written_differently, "timezone": "Europe/Berlin"}, name="b")
    assert first == second
    assert hash(first) == hash(second)
    assert first.spec_hash() == second.spec_hash()
    assert first.spec_hash() != BERLIN_SUPPORT.spec_hash()
    assert first != BERLIN_SUPPORT


def test_to_spec_round_trips() -> None:
    assert BusinessCalendar.from_spec(BERLIN_SUPPORT.to_spec()) == BERLIN_SUPPORT
    assert BERLIN_SUPPORT.to_spec()["holidays"] == {
        "country": "DE",
        "subdivision": "BE",
        "dates": ["2026-12-24"],
    }


def test_repr_names_the_calendar_and_its_rules() -> None:
    text = repr(BERLIN_SUPPORT)
    assert text.startswith("BusinessCalendar(name='berlin-support', timezone='Europe/Berlin'")
    assert "'sat': ['10:00-14:00']" in text


# -------------------------------------------------------------------------------- spec errors

BASE: dict[str, Any] = {"timezone": "Europe/Berlin", "hours": OFFICE_HOURS}


@pytest.mark.parametrize(
    ("spec", "path", "message"),
    [
        ({**BASE, "timezone": "Europe/Berlni"}, ("timezone",), "unknown time zone 'Europe/Berlni'"),
        ({**BASE, "timezone": 5}, ("timezone",), "timezone must be a time zone name"),
        ({"hours": OFFICE_HOURS}, (), "the calendar needs a timezone"),
        ({"timezone": "UTC"}, (), "the calendar needs hours"),
        ({**BASE, "hour": {}}, ("hour",), "unknown calendar key 'hour'"),
        (
            {**BASE, "hours": {"mon-fri": ["9-17"]}},
            ("hours", "mon-fri", 0),
            "bad window '9-17'; write it as 'HH:MM-HH:MM'",
        ),
        ({**BASE, "hours": {"mon": ["08:00-12:00", "13:00"]}}, ("hours", "mon", 1), "bad window '13:00'"),
        ({**BASE, "hours": {"mon": ["09:00-24:30"]}}, ("hours", "mon", 0), "24:00 only as an end"),
        ({**BASE, "hours": {"mon": ["25:00-26:00"]}}, ("hours", "mon", 0), "hours run 00-23"),
        (
            {**BASE, "hours": {"mon": ["17:00-09:00"]}},
            ("hours", "mon", 0),
            "ends before it starts; a window cannot cross midnight",
        ),
        ({**BASE, "hours": {"mon": ["09:00-09:00"]}}, ("hours", "mon", 0), "ends before it starts"),
        ({**BASE, "hours": {"mon": [900]}}, ("hours", "mon", 0), "bad window 900"),
        ({**BASE, "hours": {"mon": 9}}, ("hours", "mon"), "windows must be a list"),
        (
            {**BASE, "hours": {"mon": ["09:00-12:00", "11:00-13:00"]}},
            ("hours", "mon", 1),
            "window '11:00-13:00' overlaps '09:00-12:00' (from 'mon') on mon",
        ),
        (
            {**BASE, "hours": {"mon-fri": ["09:00-17:00"], "fri": ["16:00-18:00"]}},
            ("hours", "fri", 0),
            "window '16:00-18:00' overlaps '09:00-17:00' (from 'mon-fri') on fri",
        ),
        ({**BASE, "hours": {"mo-fr": ["09:00-17:00"]}}, ("hours", "mo-fr"), "unknown day range 'mo-fr'"),
        ({**BASE, "hours": {"mon,funday": ["09:00-17:00"]}}, ("hours", "mon,funday"), "unknown day 'funday'"),
        ({**BASE, "hours": {1: ["09:00-17:00"]}}, ("hours", 1), "unknown day 1"),
        ({**BASE, "hours": {"mon": []}}, ("hours",), "the calendar has no open hours"),
        ({**BASE, "hours": []}, ("hours",), "hours must map days to windows"),
        ({**BASE, "holidays": ["2026-12-24"]}, ("holidays",), "holidays must be a mapping"),
        ({**BASE, "holidays": {"country": "XX"}}, ("holidays", "country"), "unknown holiday country 'XX'"),
        (
            {**BASE, "holidays": {"country": "DE", "subdivision": "ZZ"}},
            ("holidays", "subdivision"),
            "unknown subdivision 'ZZ' for holiday country DE; known: BB, BE",
        ),
        (
            {**BASE, "holidays": {"subdivision": "BE"}},
            ("holidays", "subdivision"),
            "a holiday subdivision needs a country",
        ),
        (
            {**BASE, "holidays": {"country": "DE", "region": "BE"}},
            ("holidays", "region"),
            "unknown holidays key 'region'",
        ),
        (
            {**BASE, "holidays": {"dates": "2026-12-24"}},
            ("holidays", "dates"),
            "holidays.dates must be a list",
        ),
        (
            {**BASE, "holidays": {"dates": ["2026-12-24", "24.12.2026"]}},
            ("holidays", "dates", 1),
            "bad holiday date '24.12.2026'; write it as YYYY-MM-DD",
        ),
        ("8x5", (), "unknown calendar '8x5'; builtin calendars are: 24x7"),
        (["24x7"], (), "a calendar must be a mapping"),
    ],
)
def test_invalid_spec_is_rejected_with_location_and_fix(
    spec: Any, path: tuple[object, ...], message: str
) -> None:
    error = spec_error(spec)
    assert error.path == path
    assert message in str(error)
    assert isinstance(error, ValueError)


def test_country_and_subdivision_codes_are_case_insensitive() -> None:
    calendar = BusinessCalendar.from_spec({**BASE, "holidays": {"country": "de", "subdivision": "be"}})
    assert calendar.to_spec()["holidays"] == {"country": "DE", "subdivision": "BE"}
