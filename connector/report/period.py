"""Report periods in a time zone: `--tz`, `--start`/`--end` and `--month` of `tierdesk report`."""

from __future__ import annotations

import re
from datetime import date, datetime, time, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def report_zone(name: str) -> ZoneInfo:
    """The IANA zone `name`; ValueError with a hint when there is none of that name."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"{name!r} is not an IANA time zone (e.g. UTC, Europe/Berlin, America/New_York)"
        ) from None


def local_instant(value: str, zone: tzinfo) -> datetime:
    """An instant of `--start`/`--end`: ISO 8601 with an offset as given, or a date / wall-clock
    time without one in `zone` (`2026-11-01` is local midnight). ValueError when not ISO 8601."""
    text = value.strip().replace("Z", "+00:00")
    try:
        parsed = datetime.fromisoformat(text) if "T" in text or " " in text else None
        if parsed is None:
            parsed = datetime.combine(date.fromisoformat(text), time())
    except ValueError:
        raise ValueError(f"{value!r} is not ISO 8601 (e.g. 2026-11-01 or 2026-11-25T14:30:00Z)") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=zone)
    return parsed.astimezone(zone)


_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def month_period(value: str, zone: tzinfo) -> tuple[datetime, datetime]:
    """[first instant, first instant of the next month) of month `YYYY-MM` in `zone`."""
    match = _MONTH.match(value.strip())
    if match is None or not 1 <= int(match.group(2)) <= 12:
        raise ValueError(f"{value!r} is not a month; write YYYY-MM, e.g. 2026-11")
    year, month = int(match.group(1)), int(match.group(2))
    start = datetime(year, month, 1, tzinfo=zone)
    end = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=zone)
    return start, end
