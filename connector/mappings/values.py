"""Parsing of the small value languages admins write in mappings: durations, thresholds, percents.

Every parser raises `ValueError` with a message that says what to write instead; the messages end
up verbatim in `tierdesk check` output.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")

_UNIT_SECONDS = {"d": 86400, "h": 3600, "m": 60, "s": 1}
_UNIT_ALIASES = {
    "d": "d",
    "day": "d",
    "days": "d",
    "h": "h",
    "hr": "h",
    "hrs": "h",
    "hour": "h",
    "hours": "h",
    "m": "m",
    "min": "m",
    "mins": "m",
    "minute": "m",
    "minutes": "m",
    "s": "s",
    "sec": "s",
    "secs": "s",
    "second": "s",
    "seconds": "s",
}
_AMBIGUOUS_UNITS = {
    "w": "weeks",
    "wk": "weeks",
    "week": "weeks",
    "weeks": "weeks",
    "mo": "months",
    "mon": "months",
    "month": "months",
    "months": "months",
    "y": "years",
    "yr": "years",
    "year": "years",
    "years": "years",
    "bd": "business days",
    "wd": "working days",
}
_TOKEN_RE = re.compile(r"(\d+(?:\.\d+)?)\s*([a-zA-Z]+)")
_ISO_RE = re.compile(r"^P(?:(?P<d>\d+)D)?(?:T(?=\d)(?:(?P<h>\d+)H)?(?:(?P<m>\d+)M)?(?:(?P<s>\d+)S)?)?$")
_ISO_START_RE = re.compile(r"^[Pp](?:\d|[Tt]\d)")
_PERCENT_RE = re.compile(r"^(\d+(?:\.\d+)?)\s*%$")
_BEFORE_RE = re.compile(r"^(.+?)\s+before$")

DURATION_HELP = "a duration such as 15m, 1h, 4h30m, 2d (d = 24 hours) or ISO 8601 PT15M"
THRESHOLD_HELP = "a threshold such as 50%, 90%, '30m before' or breach"


def parse_duration(value: Any) -> timedelta:
    """`15m`, `1h`, `4h30m`, `1d 2h`, `90 minutes`, or ISO 8601 `PT15M` / `P1DT2H`.

    `d` is 24 hours. Weeks, months, years and fractions are rejected: their length in business
    time is ambiguous.
    """
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError(f"expected {DURATION_HELP}")
    if isinstance(value, int | float):
        raise ValueError(f"'{value}' has no unit; write e.g. {value}m or {value}h")
    text = value.strip()
    if not text:
        raise ValueError(f"empty duration; expected {DURATION_HELP}")
    if _ISO_START_RE.match(text):
        return _parse_iso(text)
    seconds = _parse_compact(text)
    if seconds <= 0:
        raise ValueError(f"'{text}' is zero; a duration must be positive")
    return timedelta(seconds=seconds)


def _parse_iso(text: str) -> timedelta:
    match = _ISO_RE.match(text.upper())
    if match is None:
        if re.search(r"[YMW]", text.upper().partition("T")[0]):
            raise ValueError(
                f"'{text}' uses years, months or weeks, whose business length is ambiguous; "
                "use days (P1D = 24 hours), hours or minutes"
            )
        raise ValueError(f"'{text}' is not an ISO 8601 duration; expected {DURATION_HELP}")
    parts = {unit: int(amount) for unit, amount in match.groupdict().items() if amount is not None}
    if not parts:
        raise ValueError(f"'{text}' has no amount; expected {DURATION_HELP}")
    seconds = sum(_UNIT_SECONDS[unit] * amount for unit, amount in parts.items())
    if seconds <= 0:
        raise ValueError(f"'{text}' is zero; a duration must be positive")
    return timedelta(seconds=seconds)


def _parse_compact(text: str) -> int:
    position = 0
    seconds = 0
    seen: list[str] = []
    for match in _TOKEN_RE.finditer(text):
        if text[position : match.start()].strip():
            break
        amount, unit_text = match.group(1), match.group(2)
        unit = _UNIT_ALIASES.get(unit_text)
        if unit is None:
            lowered = unit_text.lower()
            if lowered in _AMBIGUOUS_UNITS:
                raise ValueError(
                    f"'{text}' is in {_AMBIGUOUS_UNITS[lowered]}, whose length in business time is "
                    "ambiguous; write hours or days (d = 24 hours), e.g. 40h"
                )
            if lowered in _UNIT_ALIASES:
                raise ValueError(f"'{text}': write units in lower case ({amount}{lowered})")
            raise ValueError(f"'{text}' has unknown unit '{unit_text}'; expected {DURATION_HELP}")
        if "." in amount:
            raise ValueError(f"'{text}' has a fraction; write whole units instead, e.g. 1h30m for 1.5h")
        if unit in seen:
            raise ValueError(f"'{text}' names the unit '{unit}' twice")
        if seen and _UNIT_SECONDS[unit] > _UNIT_SECONDS[seen[-1]]:
            raise ValueError(f"'{text}': write larger units first, e.g. 1h30m")
        seen.append(unit)
        seconds += int(amount) * _UNIT_SECONDS[unit]
        position = match.end()
    if not seen or text[position:].strip():
        if text.isdigit():
            raise ValueError(f"'{text}' has no unit; write e.g. {text}m or {text}h")
        raise ValueError(f"'{text}' is not a duration; expected {DURATION_HELP}")
    return seconds


def format_duration(value: timedelta) -> str:
    """The canonical compact form: `1d2h30m`, `15m`, `45s`."""
    remaining = int(value.total_seconds())
    parts: list[str] = []
    for unit, size in _UNIT_SECONDS.items():
        amount, remaining = divmod(remaining, size)
        if amount:
            parts.append(f"{amount}{unit}")
    return "".join(parts) or "0s"


def uses_days(value: Any) -> bool:
    """Whether a duration as written counts in days (`2d`, `1 day`, `P1D`)."""
    if not isinstance(value, str):
        return False
    text = value.strip()
    iso = _ISO_RE.match(text.upper())
    if iso is not None:
        return iso.group("d") is not None
    return any(_UNIT_ALIASES.get(unit) == "d" for _, unit in _TOKEN_RE.findall(text))


def parse_threshold(value: Any, *, allow_breach: bool) -> str:
    """Validate a threshold and return its canonical label (`50%`, `30m before`, `breach`)."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError(f"expected {THRESHOLD_HELP}")
    if isinstance(value, int | float):
        raise ValueError(f"'{value}' needs a unit: write {value}% or '{value}m before'")
    text = " ".join(value.strip().split())
    if text.lower() == "breach":
        if not allow_breach:
            raise ValueError("'breach' is not a warning; warnings come before the breach (e.g. 90%)")
        return "breach"
    percent = _PERCENT_RE.match(text)
    if percent is not None:
        amount = float(percent.group(1))
        if amount <= 0:
            raise ValueError(f"'{text}' must be above 0%")
        if amount > 100:
            raise ValueError(f"'{text}' is past the breach; thresholds go up to 100% (= breach)")
        if amount == 100:
            if not allow_breach:
                raise ValueError("100% is the breach, not a warning; use a lower percentage")
            return "breach"
        return f"{amount:g}%"
    before = _BEFORE_RE.match(text)
    if before is not None:
        try:
            duration = parse_duration(before.group(1))
        except ValueError as error:
            raise ValueError(f"'{text}': {error}") from None
        return f"{format_duration(duration)} before"
    if text.lower().endswith(" after"):
        raise ValueError(f"'{text}': thresholds are before the breach; use 'breach' for the breach itself")
    raise ValueError(f"'{text}' is not a threshold; expected {THRESHOLD_HELP}")


def threshold_parts(label: str) -> tuple[float | None, timedelta | None]:
    """Split a canonical threshold label into (percent, before)."""
    if label == "breach":
        return 100.0, None
    if label.endswith("%"):
        return float(label[:-1]), None
    return None, parse_duration(label.removesuffix(" before"))


def parse_percent(value: Any) -> float:
    """`5%`, `5` or `2.5%` -> 5.0 / 2.5; between 0 and 100."""
    if isinstance(value, bool):
        raise ValueError("expected a percentage such as 5%")
    if isinstance(value, int | float):
        amount = float(value)
    elif isinstance(value, str) and (match := _PERCENT_RE.match(value.strip())) is not None:
        amount = float(match.group(1))
    else:
        raise ValueError("expected a percentage such as 5%")
    if not 0 < amount <= 100:
        raise ValueError(f"'{value}' must be above 0% and at most 100%")
    return amount


def check_name(value: str) -> str:
    if not NAME_RE.match(value):
        raise ValueError(
            f"'{value}' is not a valid name; use lower-case letters, digits, '-' and '_' "
            "(it becomes part of tags such as tier_<name>)"
        )
    return value
