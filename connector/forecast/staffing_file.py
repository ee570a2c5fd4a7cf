"""The staffing file: the agents the admin has on duty per tier and calendar window.

    service_level: 90%          # of tickets answered within the first-response target (default 90%)
    max_occupancy: 85%          # the most of an hour an agent is busy with tickets (default 85%)
    handle_time:                # agent time per ticket (default 20m)
      enterprise: 30m
    tiers:
      standard:
        - {days: mon-fri, hours: "09:00-17:00", agents: 3}
      enterprise:
        - {days: mon-sun, hours: "00:00-24:00", agents: 1}
        - {days: mon-fri, hours: "08:00-18:00", agents: 3}   # shifts add up

Times are whole hours in the time zone of the tier's calendar; shifts that overlap add up.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from connector.errors import InvalidInput
from connector.forecast.arrivals import HOURS_PER_WEEK
from connector.forecast.staffing import StaffingTargets
from connector.mappings.values import parse_duration, parse_percent

_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HOURS = re.compile(r"^(\d{2}):00-(\d{2}):00$")


@dataclass(frozen=True, slots=True)
class StatedStaffing:
    targets: StaffingTargets
    agents: Mapping[str, tuple[int, ...]]  # per tier: agents on duty per hour of the week


def _days(text: str, where: str) -> list[int]:
    days: list[int] = []
    for part in str(text).lower().replace(" ", "").split(","):
        first, _, last = part.partition("-")
        if first not in _DAYS or (last and last not in _DAYS):
            raise InvalidInput(
                f"{where}: days {text!r} is not a day or range of days", "write e.g. mon-fri or sat,sun"
            )
        start, end = _DAYS.index(first), _DAYS.index(last or first)
        days += list(range(start, end + 1)) if start <= end else [*range(start, 7), *range(end + 1)]
    return days


def _hours(text: str, where: str) -> range:
    match = _HOURS.match(str(text).strip())
    start, end = (int(match.group(1)), int(match.group(2))) if match else (-1, -1)
    if not match or not 0 <= start < end <= 24:
        raise InvalidInput(
            f"{where}: hours {text!r} is not a span of whole hours", 'write e.g. "09:00-17:00"'
        )
    return range(start, end)


def _share(value: Any, where: str, default: float) -> float:
    if value is None:
        return default
    try:
        share = parse_percent(value) / 100
    except ValueError as exc:
        raise InvalidInput(f"{where}: {exc}", "write a percentage, e.g. 90%") from None
    if not 0 < share <= 1:
        raise InvalidInput(f"{where}: {value!r} is not between 0% and 100%", "write a percentage, e.g. 90%")
    return share


def parse_staffing(document: Any, shown: str, tiers: Mapping[str, object]) -> StatedStaffing:
    """The staffing file's contents (`shown` names it in errors); `tiers` are the policy's tiers."""
    if not isinstance(document, Mapping):
        raise InvalidInput(f"{shown}: expected a mapping with `tiers:`", "see `tierdesk forecast --help`")
    goal = _share(document.get("service_level"), f"{shown}: service_level", 0.9)
    if goal >= 1:
        raise InvalidInput(f"{shown}: service_level 100% cannot be staffed for", "use e.g. 90%")
    occupancy = _share(document.get("max_occupancy"), f"{shown}: max_occupancy", 0.85)
    handle: dict[str, timedelta] = {}
    for tier, value in (document.get("handle_time") or {}).items():
        where = f"{shown}: handle_time.{tier}"
        if tier not in tiers:
            raise InvalidInput(f"{where}: no tier {tier!r}", f"tiers are {', '.join(tiers)}")
        try:
            handle[str(tier)] = parse_duration(value)
        except ValueError as exc:
            raise InvalidInput(f"{where}: {exc}", "write a duration, e.g. 20m") from None
    agents: dict[str, tuple[int, ...]] = {}
    for tier, shifts in (document.get("tiers") or {}).items():
        if tier not in tiers:
            raise InvalidInput(f"{shown}: tiers.{tier}: no such tier", f"tiers are {', '.join(tiers)}")
        on_duty = [0] * HOURS_PER_WEEK
        for index, shift in enumerate(shifts or []):
            where = f"{shown}: tiers.{tier}[{index}]"
            if not isinstance(shift, Mapping) or set(shift) != {"days", "hours", "agents"}:
                raise InvalidInput(
                    f"{where}: a shift has exactly days, hours and agents", "see the example in README"
                )
            count = shift["agents"]
            if not isinstance(count, int) or isinstance(count, bool) or count < 0:
                raise InvalidInput(f"{where}: agents {count!r} is not a whole number", "write e.g. agents: 3")
            for day in _days(shift["days"], where):
                for hour in _hours(shift["hours"], where):
                    on_duty[day * 24 + hour] += count
        agents[str(tier)] = tuple(on_duty)
    return StatedStaffing(StaffingTargets(goal, occupancy, handle), agents)


def read_staffing(path: Path, tiers: Mapping[str, object]) -> StatedStaffing:
    try:
        document = YAML(typ="safe").load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InvalidInput(
            f"cannot read the staffing file {path} ({exc.strerror})", "check --staffing"
        ) from None
    except YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f":{mark.line + 1}" if mark is not None else ""
        raise InvalidInput(
            f"{path}{at}: not valid YAML ({getattr(exc, 'problem', exc)})", "fix the file"
        ) from None
    return parse_staffing(document, str(path), tiers)
