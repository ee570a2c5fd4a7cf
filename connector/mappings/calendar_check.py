"""Every problem of one calendar at once.

`BusinessCalendar.from_spec` stops at the first offending value, so a calendar with a bad time zone
and a bad window would show only one of them. Here each part is built on its own (the time zone,
each day key of `hours`, the holidays), then the whole spec once the parts are sound, so every
independent problem is reported in one run. Parts the shape check already flagged are left out,
so a problem is never reported twice.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from connector.domain.calendar import BusinessCalendar, CalendarSpecError

_NEUTRAL_ZONE = "UTC"  # stands in for a missing or broken time zone while other parts are checked
_ALWAYS = "24x7"


def calendar_problems(
    spec: Mapping[str, Any], name: str, *, flagged: Collection[str] = ()
) -> tuple[BusinessCalendar | None, list[CalendarSpecError]]:
    """The calendar (None when any part is invalid) and every problem found; `flagged` names the
    top-level keys whose problems are already reported."""
    problems: list[CalendarSpecError] = []
    zone = spec.get("timezone")
    if "timezone" in spec and "timezone" not in flagged:
        problems += _problems({"timezone": zone, "hours": _ALWAYS})
    hours = spec.get("hours")
    if "hours" in spec and "hours" not in flagged:
        if isinstance(hours, Mapping) and hours:
            per_day = [
                problem
                for key, windows in hours.items()
                for problem in _problems({"timezone": _NEUTRAL_ZONE, "hours": {key: windows}})
            ]
            # Overlaps between day keys show only once each key is sound on its own.
            problems += per_day or _problems({"timezone": _NEUTRAL_ZONE, "hours": hours})
        else:
            problems += _problems({"timezone": _NEUTRAL_ZONE, "hours": hours})
    if "holidays" in spec and "holidays" not in flagged:
        problems += _problems({"timezone": _NEUTRAL_ZONE, "hours": _ALWAYS, "holidays": spec["holidays"]})
    if problems or flagged:
        return None, problems
    try:
        return BusinessCalendar.from_spec(spec, name=name), []
    except CalendarSpecError as error:  # what only the parts together get wrong (e.g. no timezone)
        return None, [error]


def _problems(spec: Mapping[str, Any]) -> list[CalendarSpecError]:
    try:
        BusinessCalendar.from_spec(spec)
    except CalendarSpecError as error:
        return [error]
    return []
