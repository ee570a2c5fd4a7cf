"""The pure core of tierdesk: calendars, policy types, triage rules, SLA clocks and the write-back
plan. No I/O, no clock reads: `now` is always passed in."""

from connector.domain.calendar import BUILTIN_CALENDARS, BusinessCalendar, CalendarSpecError
from connector.domain.engine import evaluate

__all__ = ["BUILTIN_CALENDARS", "BusinessCalendar", "CalendarSpecError", "evaluate"]
