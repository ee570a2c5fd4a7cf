"""Agents needed per tier calendar window, from hourly arrival forecasts, and the shortfall
against the staffing the admin states.

Per hour of the week a tier's calendar is open, the agents needed are the fewest that answer
`goal` of each severity's tickets within its first-response target (Erlang C, `erlang`), with
severities served most severe first: a severity waits behind its own tickets and the more severe
ones, so its queue is offered their combined rate. The hour needs the most any severity asks for,
and never more occupancy than `max_occupancy` on the tier's whole load. Tickets that arrive while
the calendar is closed wait for it (their clock does not run): they are added, spread evenly, to
the next open window. A window is one day's run of open hours; it needs its busiest hour's agents.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from connector.domain.calendar import BusinessCalendar
from connector.forecast.arrivals import HOURS_PER_WEEK, week_instant
from connector.forecast.erlang import agents_needed
from connector.forecast.model import SeriesForecast

DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass(frozen=True, slots=True)
class StaffingTargets:
    goal: float = 0.9  # share of tickets answered within the first-response target
    max_occupancy: float = 0.85
    handle_time: Mapping[str, timedelta] | None = None  # agent time per ticket, per tier
    default_handle_time: timedelta = timedelta(minutes=20)

    def handle_hours(self, tier: str) -> float:
        chosen = (self.handle_time or {}).get(tier, self.default_handle_time)
        return chosen.total_seconds() / 3600


@dataclass(frozen=True, slots=True)
class Window:
    """Hours `start_hour` .. `end_hour` (exclusive) of the week, within one day."""

    start_hour: int
    end_hour: int

    @property
    def label(self) -> str:
        day, start = divmod(self.start_hour, 24)
        end = self.end_hour - day * 24
        return f"{DAY_NAMES[day]} {start:02d}:00-{end:02d}:00"

    def hours(self) -> range:
        return range(self.start_hour, self.end_hour)


@dataclass(frozen=True, slots=True)
class WindowNeed:
    tier: str
    window: Window
    tickets: float  # forecast arrivals answered in the window (the busiest forecast week)
    required: int  # agents in the window's busiest hour
    stated: int | None  # fewest agents the stated staffing has on duty in the window (None: none stated)
    shortfall: int | None  # the most agents missing in any hour of the window (None: none stated)
    short_hours: int  # hours of the window with fewer agents stated than needed
    week: date  # the forecast week the requirement comes from


def open_hours(calendar: BusinessCalendar, monday: date) -> tuple[bool, ...]:
    """Per hour of the week starting `monday` (in the calendar's zone): open at any quarter hour."""
    start = week_instant(monday, calendar.timezone)
    return tuple(
        any(calendar.is_open(start + timedelta(hours=h, minutes=q)) for q in (0, 15, 30, 45))
        for h in range(HOURS_PER_WEEK)
    )


def windows_of(open_mask: Sequence[bool]) -> list[Window]:
    windows: list[Window] = []
    for day in range(7):
        hour = day * 24
        while hour < (day + 1) * 24:
            if open_mask[hour]:
                start = hour
                while hour < (day + 1) * 24 and open_mask[hour]:
                    hour += 1
                windows.append(Window(start, hour))
            else:
                hour += 1
    return windows


def answered_load(
    hourly: Sequence[float], open_mask: Sequence[bool], windows: Sequence[Window]
) -> list[float]:
    """Arrivals per hour as the desk sees them: closed-hour arrivals moved, spread evenly, onto the
    next open window (wrapping into the next week's first window)."""
    load = [value if open_mask[h] else 0.0 for h, value in enumerate(hourly)]
    if not windows:
        return load
    for h, value in enumerate(hourly):
        if open_mask[h] or not value:
            continue
        following = next((w for w in windows if w.start_hour > h), windows[0])
        size = following.end_hour - following.start_hour
        for target in following.hours():
            load[target] += value / size
    return load


def required_agents(
    by_severity: Mapping[str, Sequence[float]],
    targets: Mapping[str, timedelta],
    severities: Sequence[str],
    settings: StaffingTargets,
    handle_hours: float,
) -> list[int]:
    """Agents needed per hour, given each severity's hourly load (most severe first in `severities`)."""
    result: list[int] = []
    for h in range(HOURS_PER_WEEK):
        needed, cumulative = 0, 0.0
        for severity in severities:
            rate = by_severity.get(severity, [0.0] * HOURS_PER_WEEK)[h]
            cumulative += rate
            target = targets.get(severity)
            if target is None or cumulative == 0:
                continue
            needed = max(
                needed,
                agents_needed(
                    cumulative,
                    handle_hours,
                    target.total_seconds() / 3600,
                    settings.goal,
                    settings.max_occupancy,
                ),
            )
        result.append(needed)
    return result


def tier_needs(
    tier: str,
    forecasts: Sequence[SeriesForecast],
    calendar: BusinessCalendar,
    first_response: Mapping[str, timedelta],
    severities: Sequence[str],
    settings: StaffingTargets,
    stated: Sequence[int] | None,
) -> tuple[list[WindowNeed], list[int]]:
    """The windows of `tier` with the agents they need (the most over the forecast weeks) and the
    agents needed per hour of the week; `stated` is the admin's agents per hour of the week. A
    window is short by the most agents missing in any of its hours."""
    own = [f for f in forecasts if f.tier == tier]
    if not own:
        return [], [0] * HOURS_PER_WEEK
    weeks = own[0].weeks
    # open in any forecast week: a holiday closes one day, not the window
    masks = [open_hours(calendar, monday) for monday in weeks]
    mask = tuple(any(m[h] for m in masks) for h in range(HOURS_PER_WEEK))
    windows = windows_of(mask)
    peak_hourly = [0] * HOURS_PER_WEEK  # per hour of the week, the most any forecast week needs
    busiest: dict[Window, tuple[int, float, date]] = {}
    for w, monday in enumerate(weeks):
        loads = {f.severity: answered_load(f.hourly[w], mask, windows) for f in own}
        needed = required_agents(loads, first_response, severities, settings, settings.handle_hours(tier))
        peak_hourly = [max(a, b) for a, b in zip(peak_hourly, needed, strict=True)]
        for window in windows:
            required = max(needed[h] for h in window.hours())
            tickets = sum(load[h] for load in loads.values() for h in window.hours())
            if window not in busiest or (required, tickets) > busiest[window][:2]:
                busiest[window] = (required, tickets, monday)
    needs = []
    for window in windows:
        required, tickets, monday = busiest[window]
        gaps = [peak_hourly[h] - stated[h] for h in window.hours()] if stated is not None else None
        needs.append(
            WindowNeed(
                tier=tier,
                window=window,
                tickets=tickets,
                required=required,
                stated=min(stated[h] for h in window.hours()) if stated is not None else None,
                shortfall=max(0, *gaps) if gaps is not None else None,
                short_hours=sum(1 for gap in gaps if gap > 0) if gaps is not None else 0,
                week=monday,
            )
        )
    return needs, peak_hourly
