"""Holidays read from an iCalendar (RFC 5545) feed: every day an all-day event covers is closed.

Parsing is done by `icalendar` and recurrence (RRULE, RDATE, EXDATE, moved occurrences) is
expanded by `recurring-ical-events`; both follow the RFC in the corners that a hand-written reader
gets wrong (folded lines, escaped text, exceptions to a recurring series).

Only all-day events (``DTSTART;VALUE=DATE``) are holidays. A timed event, such as a two-hour
office closure, does not close a whole day and a calendar only closes whole days, so timed events
are left out and counted in :attr:`IcsHolidays.timed_events` for the admin to see. Cancelled
events (``STATUS:CANCELLED``) are no holidays.

The module is pure: the feed's text is passed in (reading files or URLs is the mappings loader's).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Final

import recurring_ical_events
from icalendar import Calendar

# Recurring holidays (a yearly company day off) are expanded over a fixed span, so the same feed
# always yields the same dates and the same policy version, whenever it is loaded.
EXPANSION_START: Final = date(2000, 1, 1)
EXPANSION_END: Final = date(2100, 1, 1)


class IcsFeedError(ValueError):
    """The text is not an iCalendar feed; the message says what is wrong."""


@dataclass(frozen=True, slots=True)
class IcsHolidays:
    """The closed days of one feed, and how many timed events (by UID) were left out."""

    dates: frozenset[date]
    timed_events: int = 0


def holidays_from_ics(text: str | bytes) -> IcsHolidays:
    """Every day covered by an all-day event of the feed (DTEND exclusive, as RFC 5545 says).

    Raises :class:`IcsFeedError` when the text is not an iCalendar feed.
    """
    try:
        calendar = Calendar.from_ical(text)
    except ValueError as error:
        raise IcsFeedError(f"not an iCalendar feed ({error})") from error
    if not isinstance(calendar, Calendar) or calendar.name != "VCALENDAR":
        raise IcsFeedError("not an iCalendar feed (no BEGIN:VCALENDAR)")
    try:
        occurrences = recurring_ical_events.of(calendar).between(EXPANSION_START, EXPANSION_END)
    except (ValueError, TypeError) as error:  # a malformed RRULE / date value
        raise IcsFeedError(f"the feed has an event that cannot be read ({error})") from error
    dates: set[date] = set()
    timed: set[str] = set()
    for event in occurrences:
        if str(event.get("STATUS", "")).upper() == "CANCELLED":
            continue
        start = event.get("DTSTART")
        if start is None:
            continue
        first = start.dt
        if isinstance(first, datetime) or not isinstance(first, date):
            timed.add(str(event.get("UID", event.get("SUMMARY", ""))))
            continue
        end = event.get("DTEND")
        last = end.dt if end is not None and not isinstance(end.dt, datetime) else first + timedelta(days=1)
        day = first
        while day < max(last, first + timedelta(days=1)):
            dates.add(day)
            day += timedelta(days=1)
    return IcsHolidays(frozenset(dates), len(timed))
