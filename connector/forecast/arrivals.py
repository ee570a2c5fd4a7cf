"""The stored history as counts: tickets per week and per hour of the week, per tier and severity.

Weeks start on Monday 00:00 and hours of the week count from there (0 = Monday 00:00-01:00,
167 = Sunday 23:00-24:00), both in the time zone of the tier's calendar: a Berlin office's Monday
morning peak stays at 09:00 through the change to summer time.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

HOURS_PER_WEEK = 168

SeriesKey = tuple[str, str]  # (tier, severity)


@dataclass(frozen=True, slots=True)
class Arrival:
    tier: str
    severity: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ArrivalSeries:
    """Tickets of one tier and severity in each complete week of the history.

    `hourly[w][h]` counts the tickets of week `weeks[w]` created in hour of the week `h`;
    `weekly[w]` is their sum."""

    tier: str
    severity: str
    weeks: tuple[date, ...]
    hourly: tuple[tuple[int, ...], ...]

    @property
    def key(self) -> SeriesKey:
        return (self.tier, self.severity)

    @property
    def weekly(self) -> tuple[int, ...]:
        return tuple(sum(week) for week in self.hourly)

    def head(self, weeks: int) -> ArrivalSeries:
        """The first `weeks` weeks (a backtest's training part)."""
        return ArrivalSeries(self.tier, self.severity, self.weeks[:weeks], self.hourly[:weeks])


def week_start(at: datetime, timezone: ZoneInfo) -> date:
    """The Monday (local date) of the week `at` falls in."""
    local = at.astimezone(timezone).date()
    return local - timedelta(days=local.weekday())


def hour_of_week(at: datetime, timezone: ZoneInfo) -> int:
    local = at.astimezone(timezone)
    return local.weekday() * 24 + local.hour


def week_instant(monday: date, timezone: ZoneInfo) -> datetime:
    """Monday 00:00 local of the week starting on `monday`, as an aware instant."""
    return datetime.combine(monday, time(0), tzinfo=timezone)


def bin_arrivals(
    arrivals: Iterable[Arrival],
    *,
    end: datetime,
    timezones: Mapping[str, ZoneInfo],
    series: Iterable[SeriesKey] = (),
) -> list[ArrivalSeries]:
    """One `ArrivalSeries` per tier and severity seen (and per key of `series`, even if empty), over
    the complete weeks before `end`: from each tier's first week with a ticket to the last week that
    ended by `end`. Arrivals of a tier missing from `timezones` are counted in UTC."""
    counts: dict[SeriesKey, dict[date, list[int]]] = {key: {} for key in series}
    first_week: dict[str, date] = {}
    for arrival in arrivals:
        zone = timezones.get(arrival.tier, ZoneInfo("UTC"))
        monday = week_start(arrival.created_at, zone)
        if week_instant(monday + timedelta(days=7), zone) > end:
            continue  # the current, incomplete week would read as a drop in volume
        weeks = counts.setdefault((arrival.tier, arrival.severity), {})
        weeks.setdefault(monday, [0] * HOURS_PER_WEEK)[hour_of_week(arrival.created_at, zone)] += 1
        first_week[arrival.tier] = min(first_week.get(arrival.tier, monday), monday)
    result: list[ArrivalSeries] = []
    for (tier, severity), weeks in sorted(counts.items()):
        zone = timezones.get(tier, ZoneInfo("UTC"))
        last = week_start(end, zone) - timedelta(days=7)  # the week `end` falls in is not complete
        first = first_week.get(tier, last)
        mondays = tuple(first + timedelta(days=7 * n) for n in range((last - first).days // 7 + 1))
        empty = (0,) * HOURS_PER_WEEK
        hourly = tuple(tuple(weeks[m]) if m in weeks else empty for m in mondays)
        result.append(ArrivalSeries(tier, severity, mondays, hourly))
    return result
