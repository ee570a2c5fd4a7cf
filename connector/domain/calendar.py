"""Business-hour calendars: how much SLA time passes between two instants, and when it runs out.

A calendar is an IANA time zone, opening windows per weekday and holidays (a country/subdivision
from the ``holidays`` package plus explicit dates). Business time is real elapsed time while the
local wall clock is inside a window on a non-holiday. Consequences on DST days:

* a wall-clock time that does not exist (spring-forward gap) is never open; a window starting
  inside the gap effectively opens at the first instant after it;
* a wall-clock time that happens twice (fall-back) is open both times, so ``01:00-04:00`` on a
  Europe/Berlin fall-back day holds four real hours and ``00:00-24:00`` holds twenty-five.

The module is pure: no I/O, no clock reads. Public holidays are generated lazily per year from the
``holidays`` package's bundled rules.

Arithmetic runs over cached open intervals held as integer UTC microseconds in blocks of about 200
days, with prefix sums, so ``add`` and ``elapsed`` cost a few microseconds for any span inside a
block and one step per block beyond (a two-year span touches four or five blocks).
"""

from __future__ import annotations

import bisect
import hashlib
import json
import re
from bisect import bisect_left as _bisect_left
from bisect import bisect_right as _bisect_right
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = ["BUILTIN_CALENDARS", "BusinessCalendar", "CalendarSpecError", "SpecPath"]

SpecPath = tuple[str | int, ...]
"""Keys and list indexes leading from the calendar spec's root to the offending value."""

_US_PER_SECOND: Final = 1_000_000
_US_PER_MINUTE: Final = 60 * _US_PER_SECOND
_US_PER_DAY: Final = 86_400 * _US_PER_SECOND
_MINUTES_PER_DAY: Final = 24 * 60
_ONE_US: Final = timedelta(microseconds=1)
_EPOCH_ORDINAL: Final = date(1970, 1, 1).toordinal()
_EPOCH_WEEKDAY: Final = date(1970, 1, 1).weekday()

# Cached open intervals are grouped in blocks of 2**44 µs (about 203.6 days) of UTC time, aligned
# on the Unix epoch, so the block of an instant is a shift rather than a calendar computation.
_BLOCK_SHIFT: Final = 44
# Offsets are probed this often when a block is built; tzdb has no pair of transitions that cancel
# out within this span, so equal offsets at two probes mean no transition between them.
_OFFSET_PROBE_US: Final = 6 * 3600 * _US_PER_SECOND
# add() and next_open() give up after this many consecutive blocks (about ten years) without any
# open time instead of searching forever, e.g. when explicit holidays cover every open day.
_MAX_EMPTY_BLOCKS: Final = 18

_DAY_NAMES: Final = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DAY_INDEX: Final[dict[str, int]] = {
    **{name: i for i, name in enumerate(_DAY_NAMES)},
    **{
        full: i
        for i, full in enumerate(
            ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
        )
    },
}
_DAY_GROUPS: Final[dict[str, tuple[int, ...]]] = {
    "daily": (0, 1, 2, 3, 4, 5, 6),
    "everyday": (0, 1, 2, 3, 4, 5, 6),
    "weekdays": (0, 1, 2, 3, 4),
    "weekends": (5, 6),
    "weekend": (5, 6),
}
_ALWAYS_OPEN_WORDS: Final = frozenset({"24x7", "24/7"})
_WINDOW_RE: Final = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")
_SPEC_KEYS: Final = ("timezone", "hours", "holidays")
_HOLIDAY_KEYS: Final = ("country", "subdivision", "dates")
_WINDOW_HINT: Final = "write it as 'HH:MM-HH:MM', e.g. '09:00-17:00' (24:00 is allowed as an end)"

Window = tuple[int, int]
"""An opening window as (start, end) minutes after local midnight, 0 <= start < end <= 1440."""

WeekWindows = tuple[tuple[Window, ...], ...]
"""Seven tuples of sorted, disjoint windows, Monday first."""

_FULL_DAY: Final[tuple[Window, ...]] = ((0, _MINUTES_PER_DAY),)


class CalendarSpecError(ValueError):
    """A calendar spec is invalid.

    ``str(error)`` says what to fix; ``path`` locates the offending value inside the spec (e.g.
    ``("hours", "mon-fri", 1)``) so a loader can turn it into ``file:line``.
    """

    def __init__(self, message: str, path: SpecPath = ()) -> None:
        super().__init__(message)
        self.message = message
        self.path = path

    def __repr__(self) -> str:
        return f"CalendarSpecError({self.message!r}, path={self.path!r})"


class _NeverOpenError(ValueError):
    """No open time within ten years; a ValueError like every other calendar input error."""


@dataclass(frozen=True, slots=True)
class _Block:
    """Open intervals inside one block of UTC time, in UTC microseconds since the epoch.

    ``starts``/``ends`` are sorted and disjoint; ``cumulative[i]`` is the open time before
    interval ``i`` (so ``cumulative[-1]`` is the block's total).
    """

    starts: tuple[int, ...]
    ends: tuple[int, ...]
    cumulative: tuple[int, ...]

    def position(self, at_us: int) -> int:
        """Open microseconds from the start of the block up to ``at_us``."""
        i = bisect.bisect_right(self.starts, at_us) - 1
        if i < 0:
            return 0
        return self.cumulative[i] + min(at_us, self.ends[i]) - self.starts[i]

    def instant_at(self, position_us: int) -> int:
        """Earliest instant at which ``position_us`` (0 < p <= total) open microseconds have passed."""
        i = bisect.bisect_left(self.cumulative, position_us, 1) - 1
        return self.starts[i] + position_us - self.cumulative[i]


class BusinessCalendar:
    """Opening hours in one time zone, minus holidays; measures and adds business time.

    Build one with :meth:`from_spec` (the admin YAML format) or :meth:`twenty_four_seven`.
    Instances are immutable in behaviour, compare and hash by their rules (not their name), and
    cache derived intervals internally; sharing one instance between threads is safe.
    """

    __slots__ = (
        "_always_open",
        "_blocks",
        "_country",
        "_dates",
        "_holiday_years",
        "_name",
        "_subdivision",
        "_tz",
        "_week",
    )

    def __init__(
        self,
        *,
        timezone: ZoneInfo,
        week: WeekWindows,
        country: str | None = None,
        subdivision: str | None = None,
        dates: frozenset[date] = frozenset(),
        name: str | None = None,
    ) -> None:
        """Build from already-validated parts; admin input goes through :meth:`from_spec`."""
        if len(week) != len(_DAY_NAMES) or not any(week):
            raise ValueError("a calendar needs seven weekdays of windows with at least one window")
        self._tz = timezone
        self._week = week
        self._country = country
        self._subdivision = subdivision
        self._dates = dates
        self._name = name
        self._always_open = country is None and not dates and all(day == _FULL_DAY for day in week)
        self._blocks: dict[int, _Block] = {}
        self._holiday_years: dict[int, frozenset[date]] = {}

    # ----------------------------------------------------------------------------- construction

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any] | str, *, name: str | None = None) -> BusinessCalendar:
        """Validate an admin calendar spec and build the calendar.

        ``spec`` is a mapping with ``timezone`` (IANA name), ``hours`` and optional ``holidays``,
        or the name of a builtin calendar (``"24x7"``). ``hours`` is ``"24x7"``, a single window
        applied every day, or a mapping from day keys (``mon``, ``mon-fri``, ``fri-mon``,
        ``mon,wed``, ``daily``, ``weekdays``, ``weekends``) to lists of ``"HH:MM-HH:MM"``
        windows; omitted days are closed and a day named by several keys gets all their windows.
        ``holidays`` has ``country`` (ISO code known to the ``holidays`` package),
        ``subdivision`` and ``dates`` (``date`` objects or ``YYYY-MM-DD`` strings).
        ``timezone`` may be omitted only for a 24x7 calendar without holidays (it is then UTC).

        Raises :class:`CalendarSpecError` carrying the path of the first offending value.
        """
        if isinstance(spec, str):
            builtin = BUILTIN_CALENDARS.get(spec.strip().lower())
            if builtin is None:
                known = ", ".join(sorted(BUILTIN_CALENDARS))
                raise CalendarSpecError(
                    f"unknown calendar {spec!r}; builtin calendars are: {known}; "
                    "otherwise give a mapping with timezone, hours and holidays"
                )
            return builtin if name is None else builtin._renamed(name)
        if not isinstance(spec, Mapping):
            raise CalendarSpecError(
                "a calendar must be a mapping with timezone, hours and optional holidays, "
                f"or the name '24x7'; got {type(spec).__name__}"
            )
        for key in spec:
            if key not in _SPEC_KEYS:
                raise CalendarSpecError(
                    f"unknown calendar key {key!r}; expected: {', '.join(_SPEC_KEYS)}", (_path_key(key),)
                )
        # Validated in spec order (timezone, hours, holidays); the first error found is raised.
        timezone = _parse_timezone(spec["timezone"]) if "timezone" in spec else None
        if "hours" not in spec:
            raise CalendarSpecError(
                "the calendar needs hours, e.g. {mon-fri: ['09:00-17:00']}, or hours: 24x7"
            )
        week = _parse_hours(spec["hours"])
        country, subdivision, dates = _parse_holidays(spec.get("holidays"))
        if timezone is None:
            if not (all(day == _FULL_DAY for day in week) and country is None and not dates):
                raise CalendarSpecError(
                    "the calendar needs a timezone, an IANA name such as 'Europe/Berlin' or "
                    "'America/New_York', so opening hours are read on the right wall clock"
                )
            timezone = ZoneInfo("UTC")  # plain 24x7: the zone only sets how results are expressed
        return cls(
            timezone=timezone,
            week=week,
            country=country,
            subdivision=subdivision,
            dates=dates,
            name=name,
        )

    @classmethod
    def twenty_four_seven(cls, timezone: ZoneInfo | None = None, *, name: str = "24x7") -> BusinessCalendar:
        """Always open: business time equals real time; results are expressed in ``timezone`` (UTC)."""
        return cls(timezone=timezone or ZoneInfo("UTC"), week=(_FULL_DAY,) * 7, name=name)

    def _renamed(self, name: str) -> BusinessCalendar:
        return BusinessCalendar(
            timezone=self._tz,
            week=self._week,
            country=self._country,
            subdivision=self._subdivision,
            dates=self._dates,
            name=name,
        )

    # ------------------------------------------------------------------------------- identity

    @property
    def name(self) -> str | None:
        """The name the calendar was given (the key in the admin's mappings), if any."""
        return self._name

    @property
    def timezone(self) -> ZoneInfo:
        """The zone whose wall clock the opening windows are read on; results are expressed in it."""
        return self._tz

    @property
    def always_open(self) -> bool:
        """True when business time equals real time (every day 00:00-24:00, no holidays)."""
        return self._always_open

    def to_spec(self) -> dict[str, Any]:
        """The normalised spec: ``from_spec(cal.to_spec()) == cal``; JSON/YAML-serialisable."""
        spec: dict[str, Any] = {"timezone": self._tz.key}
        if all(day == _FULL_DAY for day in self._week):
            spec["hours"] = "24x7"
        else:
            spec["hours"] = {
                _DAY_NAMES[i]: [_format_window(window) for window in windows]
                for i, windows in enumerate(self._week)
                if windows
            }
        holidays: dict[str, Any] = {}
        if self._country is not None:
            holidays["country"] = self._country
        if self._subdivision is not None:
            holidays["subdivision"] = self._subdivision
        if self._dates:
            holidays["dates"] = [d.isoformat() for d in sorted(self._dates)]
        if holidays:
            spec["holidays"] = holidays
        return spec

    def spec_hash(self) -> str:
        """SHA-256 (hex) of the normalised spec; equal for equal rules, whatever the name.

        Country holidays come from the installed ``holidays`` package, whose version is not part
        of the hash.
        """
        canonical = json.dumps(self.to_spec(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()

    def _identity(self) -> tuple[object, ...]:
        return (self._tz.key, self._week, self._country, self._subdivision, tuple(sorted(self._dates)))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, BusinessCalendar):
            return NotImplemented
        return self._identity() == other._identity()

    def __hash__(self) -> int:
        return hash(self._identity())

    def __repr__(self) -> str:
        spec = self.to_spec()
        parts = [f"name={self._name!r}"] if self._name is not None else []
        parts += [f"timezone={spec['timezone']!r}", f"hours={spec['hours']!r}"]
        if "holidays" in spec:
            parts.append(f"holidays={spec['holidays']!r}")
        return f"BusinessCalendar({', '.join(parts)})"

    # ----------------------------------------------------------------------------- arithmetic

    def add(self, start: datetime, delta: timedelta) -> datetime:
        """The earliest instant at which ``delta`` of business time has passed since ``start``.

        Counting starts at ``start`` if the calendar is open then, else at the next opening; a
        ``delta`` that ends exactly at a closing returns that closing (not the next opening).
        ``delta == 0`` returns ``start`` itself, unchanged, even when closed. Any other result is
        aware, in :attr:`timezone`; one in a repeated (fall-back) hour carries ``fold=1`` for the
        second occurrence. Python compares two datetimes sharing a tzinfo by wall clock, ignoring
        fold, and never finds a ``fold=1`` value ``==`` to one in another zone (PEP 495): order or
        match results after ``astimezone(UTC)``.

        Raises ``ValueError`` for a naive ``start``, a negative ``delta``, or when no open time
        exists in the ten years after ``start``.
        """
        start_us = _to_us(start, "start")
        delta_us = delta // _ONE_US
        if delta_us < 0:
            raise ValueError(f"delta must not be negative, got {delta}")
        if delta_us == 0:
            return start
        try:
            return self.datetime_at(self.add_us(start_us, delta_us))
        except _NeverOpenError:
            # name the caller's own start, in its own zone
            raise self._never_open_error(start) from None

    def elapsed(self, start: datetime, end: datetime) -> timedelta:
        """Business time between ``start`` and ``end``; zero when ``end <= start``.

        Additive: ``elapsed(a, c) == elapsed(a, b) + elapsed(b, c)`` for ``a <= b <= c``, and
        ``elapsed(s, add(s, d)) == d``. Raises ``ValueError`` for naive datetimes.
        """
        return _ONE_US * self.elapsed_us(_to_us(start, "start"), _to_us(end, "end"))

    # Integer forms of add() and elapsed(). The engine keeps every instant of a ticket as UTC
    # microseconds since the epoch and calls these directly: converting aware datetimes on each
    # call, and building a datetime result the caller often only compares, cost more than the
    # interval arithmetic itself.

    def add_us(self, start_us: int, delta_us: int) -> int:
        """:meth:`add` on UTC microseconds since the epoch; ``delta_us`` must not be negative.

        Raises ``ValueError`` when no open time exists in the ten years after ``start_us``.
        """
        if delta_us <= 0:
            if delta_us < 0:
                raise ValueError(f"delta must not be negative, got {delta_us} µs")
            return start_us
        if self._always_open:
            return start_us + delta_us
        block_index = start_us >> _BLOCK_SHIFT
        block = self._blocks.get(block_index) or self._block(block_index)
        # block.position(start_us) + delta_us, inlined: this runs for most thresholds of most clocks
        starts, cumulative = block.starts, block.cumulative
        i = _bisect_right(starts, start_us) - 1
        remaining = delta_us if i < 0 else delta_us + cumulative[i] + min(start_us, block.ends[i]) - starts[i]
        if remaining <= cumulative[-1]:
            i = _bisect_left(cumulative, remaining, 1) - 1  # block.instant_at(remaining)
            return starts[i] + remaining - cumulative[i]
        empty_blocks = 0
        while remaining > block.cumulative[-1]:
            remaining -= block.cumulative[-1]
            empty_blocks = empty_blocks + 1 if block.cumulative[-1] == 0 else 0
            if empty_blocks > _MAX_EMPTY_BLOCKS:
                raise self._never_open_error(self.datetime_at(start_us))
            block_index += 1
            block = self._block(block_index)
        return block.instant_at(remaining)

    def elapsed_us(self, start_us: int, end_us: int) -> int:
        """:meth:`elapsed` on UTC microseconds since the epoch; 0 when ``end_us <= start_us``."""
        if end_us <= start_us:
            return 0
        if self._always_open:
            return end_us - start_us
        first_index = start_us >> _BLOCK_SHIFT
        first = self._blocks.get(first_index) or self._block(first_index)
        if end_us >> _BLOCK_SHIFT == first_index:
            # the common case (a block spans about 200 days): both positions inlined
            starts, ends, cumulative = first.starts, first.ends, first.cumulative
            i = _bisect_right(starts, end_us) - 1
            if i < 0:
                return 0
            end_pos = cumulative[i] + min(end_us, ends[i]) - starts[i]
            i = _bisect_right(starts, start_us, 0, i + 1) - 1
            if i < 0:
                return end_pos
            return end_pos - cumulative[i] - min(start_us, ends[i]) + starts[i]
        last_index = end_us >> _BLOCK_SHIFT
        total = first.cumulative[-1] - first.position(start_us)
        for index in range(first_index + 1, last_index):
            total += self._block(index).cumulative[-1]
        return total + self._block(last_index).position(end_us)

    def datetime_at(self, at_us: int) -> datetime:
        """The instant ``at_us`` (UTC microseconds since the epoch) as an aware datetime in
        :attr:`timezone`, with ``fold=1`` for the second occurrence of a repeated wall time."""
        seconds, micro = divmod(at_us, _US_PER_SECOND)
        # fromtimestamp(int) is exact and sets fold for repeated wall times; replace() keeps the
        # fold (adding a timedelta would not) but is slow, so whole seconds skip it.
        result = datetime.fromtimestamp(seconds, self._tz)
        return result.replace(microsecond=micro) if micro else result

    def is_open(self, at: datetime) -> bool:
        """Whether business time is running at ``at``. Raises ``ValueError`` if ``at`` is naive."""
        if self._always_open:
            _to_us(at, "at")
            return True
        at_us = _to_us(at, "at")
        block = self._block(at_us >> _BLOCK_SHIFT)
        i = bisect.bisect_right(block.starts, at_us) - 1
        return i >= 0 and at_us < block.ends[i]

    def next_open(self, at: datetime) -> datetime:
        """``at`` itself, unchanged, if open then; else the next opening, in :attr:`timezone`.

        Raises ``ValueError`` if ``at`` is naive or nothing opens in the ten years after it.
        """
        at_us = _to_us(at, "at")
        if self._always_open:
            return at
        block_index = at_us >> _BLOCK_SHIFT
        block = self._block(block_index)
        i = bisect.bisect_right(block.starts, at_us) - 1
        if i >= 0 and at_us < block.ends[i]:
            return at
        if i + 1 < len(block.starts):
            return self.datetime_at(block.starts[i + 1])
        for _ in range(_MAX_EMPTY_BLOCKS + 1):
            block_index += 1
            block = self._block(block_index)
            if block.starts:
                return self.datetime_at(block.starts[0])
        raise self._never_open_error(at)

    def _never_open_error(self, after: datetime) -> _NeverOpenError:
        return _NeverOpenError(
            f"calendar {self._name or self._tz.key!r} has no open hours in the ten years after "
            f"{after.isoformat()}; check its hours and holidays"
        )

    # ------------------------------------------------------------------------- interval cache

    def _block(self, index: int) -> _Block:
        block = self._blocks.get(index)
        if block is None:
            # Concurrent builders compute identical blocks, so a lost race only costs time.
            block = self._blocks[index] = self._build_block(index)
        return block

    def _build_block(self, index: int) -> _Block:
        starts: list[int] = []
        ends: list[int] = []
        for piece_start, piece_end, offset_us in self._offset_pieces(
            index << _BLOCK_SHIFT, (index + 1) << _BLOCK_SHIFT
        ):
            # Within one offset the wall clock is UTC shifted by the offset, so the open instants
            # are exactly the wall-clock windows shifted back.
            for local_start, local_end in self._local_open(piece_start + offset_us, piece_end + offset_us):
                open_start, open_end = local_start - offset_us, local_end - offset_us
                if ends and ends[-1] == open_start:
                    ends[-1] = open_end
                else:
                    starts.append(open_start)
                    ends.append(open_end)
        cumulative = [0]
        for open_start, open_end in zip(starts, ends, strict=True):
            cumulative.append(cumulative[-1] + open_end - open_start)
        return _Block(tuple(starts), tuple(ends), tuple(cumulative))

    def _offset_pieces(self, start_us: int, end_us: int) -> Iterator[tuple[int, int, int]]:
        """Split [start_us, end_us) into runs of constant UTC offset: (start, end, offset µs)."""
        piece_start = start_us
        offset = self._offset_at(start_us)
        probe = start_us
        while (next_probe := min(probe + _OFFSET_PROBE_US, end_us - 1)) > probe:
            if self._offset_at(next_probe) == offset:
                probe = next_probe
                continue
            transition = self._transition_between(probe, next_probe, offset)
            yield piece_start, transition, offset
            # Probe on from the transition so a second one before next_probe is found too.
            piece_start = probe = transition
            offset = self._offset_at(transition)
        yield piece_start, end_us, offset

    def _offset_at(self, at_us: int) -> int:
        # tzdb transitions fall on whole seconds, so the offset of the containing second is exact.
        offset = datetime.fromtimestamp(at_us // _US_PER_SECOND, self._tz).utcoffset()
        assert offset is not None  # a ZoneInfo always has an offset
        return offset // _ONE_US

    def _transition_between(self, before_us: int, after_us: int, offset_before: int) -> int:
        """First whole second in (before_us, after_us] whose offset differs from offset_before."""
        low = before_us // _US_PER_SECOND
        high = after_us // _US_PER_SECOND
        while high - low > 1:
            middle = (low + high) // 2
            if self._offset_at(middle * _US_PER_SECOND) == offset_before:
                low = middle
            else:
                high = middle
        return high * _US_PER_SECOND

    def _local_open(self, local_start: int, local_end: int) -> Iterator[tuple[int, int]]:
        """Open wall-clock intervals clipped to [local_start, local_end), in wall-clock µs."""
        for day_number in range(local_start // _US_PER_DAY, (local_end - 1) // _US_PER_DAY + 1):
            windows = self._week[(day_number + _EPOCH_WEEKDAY) % 7]
            if not windows or self._is_holiday(day_number):
                continue
            midnight = day_number * _US_PER_DAY
            for window_start, window_end in windows:
                open_start = max(midnight + window_start * _US_PER_MINUTE, local_start)
                open_end = min(midnight + window_end * _US_PER_MINUTE, local_end)
                if open_start < open_end:
                    yield open_start, open_end

    def holidays_between(self, first: date, last: date) -> list[date]:
        """The holidays (country, explicit dates, feeds) from `first` to `last` included."""
        days = range(first.toordinal() - _EPOCH_ORDINAL, last.toordinal() - _EPOCH_ORDINAL + 1)
        return [date.fromordinal(n + _EPOCH_ORDINAL) for n in days if self._is_holiday(n)]

    def _is_holiday(self, day_number: int) -> bool:
        if self._country is None and not self._dates:
            return False
        day = date.fromordinal(day_number + _EPOCH_ORDINAL)
        return day in self._dates or day in self._country_holidays(day.year)

    def _country_holidays(self, year: int) -> frozenset[date]:
        if self._country is None:
            return frozenset()
        dates = self._holiday_years.get(year)
        if dates is None:
            import holidays

            generated = holidays.country_holidays(self._country, subdiv=self._subdivision, years=year)
            dates = self._holiday_years[year] = frozenset(generated.keys())
        return dates


BUILTIN_CALENDARS: Final[Mapping[str, BusinessCalendar]] = {"24x7": BusinessCalendar.twenty_four_seven()}
"""Calendars every mapping may name without defining them."""


# ------------------------------------------------------------------------------- spec parsing


def _to_us(at: datetime, what: str) -> int:
    """UTC microseconds since the Unix epoch of an aware datetime; ValueError if naive."""
    tz = at.tzinfo
    offset = None if tz is None else tz.utcoffset(at)
    if offset is None:
        raise ValueError(f"{what} must be timezone-aware, got naive {at.isoformat()}")
    # Field arithmetic is several times faster than subtracting an aware epoch, and this runs
    # twice per elapsed() call.
    seconds = (
        (at.toordinal() - _EPOCH_ORDINAL) * 86_400
        + at.hour * 3_600
        + at.minute * 60
        + at.second
        - offset.days * 86_400
        - offset.seconds
    )
    return seconds * _US_PER_SECOND + at.microsecond - offset.microseconds


def _path_key(key: object) -> str | int:
    return key if isinstance(key, str | int) else str(key)


def _parse_timezone(value: object) -> ZoneInfo:
    hint = "use an IANA name such as 'Europe/Berlin', 'America/New_York' or 'UTC'"
    if not isinstance(value, str) or not value.strip():
        raise CalendarSpecError(f"timezone must be a time zone name; {hint}", ("timezone",))
    try:
        return ZoneInfo(value.strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise CalendarSpecError(f"unknown time zone {value!r}; {hint}", ("timezone",)) from None


def _parse_hours(hours: object) -> WeekWindows:
    if isinstance(hours, str):
        if hours.strip().lower() in _ALWAYS_OPEN_WORDS:
            return (_FULL_DAY,) * 7
        return ((_parse_window(hours, ("hours",)),),) * 7
    if not isinstance(hours, Mapping) or not hours:
        raise CalendarSpecError(
            "hours must map days to windows, e.g. {mon-fri: ['09:00-12:30', '13:30-17:00']}, or be '24x7'",
            ("hours",),
        )
    # Per weekday: (start, end, path, text) of every window in spec order, so an overlap is
    # reported at the window written last, naming the one it collides with.
    per_day: list[list[tuple[int, int, SpecPath, str]]] = [[] for _ in _DAY_NAMES]
    for key, value in hours.items():
        key_path: SpecPath = ("hours", _path_key(key))
        days = _parse_days(key, key_path)
        for path, text, window in _parse_window_list(value, key_path):
            for day in days:
                for start, end, other_path, other_text in per_day[day]:
                    if window[0] < end and start < window[1]:
                        raise CalendarSpecError(
                            f"window {text!r} overlaps {other_text!r} (from {other_path[1]!r}) on "
                            f"{_DAY_NAMES[day]}; windows of one day must not overlap",
                            path,
                        )
                per_day[day].append((*window, path, text))
    week: list[tuple[Window, ...]] = []
    for entries in per_day:
        entries.sort(key=lambda entry: entry[0])
        merged: list[Window] = []
        for start, end, _, _ in entries:
            if merged and merged[-1][1] == start:
                merged[-1] = (merged[-1][0], end)  # touching windows are one opening
            else:
                merged.append((start, end))
        week.append(tuple(merged))
    if not any(week):
        raise CalendarSpecError(
            "the calendar has no open hours; give at least one window, e.g. mon-fri: ['09:00-17:00'], "
            "or use hours: 24x7",
            ("hours",),
        )
    return tuple(week)


def _parse_days(key: object, path: SpecPath) -> tuple[int, ...]:
    hint = "use mon..sun, a range like mon-fri, a list like mon,wed, or daily/weekdays/weekends"
    if not isinstance(key, str) or not key.strip():
        raise CalendarSpecError(f"unknown day {key!r}; {hint}", path)
    days: list[int] = []
    for raw_part in key.split(","):
        part = raw_part.strip().lower()
        if part in _DAY_GROUPS:
            days.extend(_DAY_GROUPS[part])
        elif "-" in part:
            first, _, last = (name.strip() for name in part.partition("-"))
            if first not in _DAY_INDEX or last not in _DAY_INDEX:
                raise CalendarSpecError(f"unknown day range {raw_part.strip()!r} in {key!r}; {hint}", path)
            day = _DAY_INDEX[first]
            days.append(day)
            while day != _DAY_INDEX[last]:  # ranges may wrap, e.g. fri-mon
                day = (day + 1) % 7
                days.append(day)
        elif part in _DAY_INDEX:
            days.append(_DAY_INDEX[part])
        else:
            raise CalendarSpecError(f"unknown day {raw_part.strip()!r} in {key!r}; {hint}", path)
    return tuple(dict.fromkeys(days))


def _parse_window_list(value: object, path: SpecPath) -> Iterator[tuple[SpecPath, str, Window]]:
    if isinstance(value, str):
        yield path, value, _parse_window(value, path)
        return
    if isinstance(value, bytes) or not isinstance(value, Sequence):
        raise CalendarSpecError(
            "windows must be a list of 'HH:MM-HH:MM' strings, e.g. ['09:00-12:30', '13:30-17:00'], "
            "or [] for closed",
            path,
        )
    for i, text in enumerate(value):
        window_path = (*path, i)
        if not isinstance(text, str):
            raise CalendarSpecError(f"bad window {text!r}; {_WINDOW_HINT}", window_path)
        yield window_path, text, _parse_window(text, window_path)


def _parse_window(text: str, path: SpecPath) -> Window:
    match = _WINDOW_RE.match(text)
    if match is None:
        raise CalendarSpecError(f"bad window {text!r}; {_WINDOW_HINT}", path)
    start_hour, start_minute, end_hour, end_minute = (int(group) for group in match.groups())
    if (
        start_hour > 23
        or start_minute > 59
        or end_minute > 59
        or end_hour > 24
        or (end_hour == 24 and end_minute != 0)
    ):
        raise CalendarSpecError(
            f"bad window {text!r}: hours run 00-23 and minutes 00-59 (24:00 only as an end)", path
        )
    start = start_hour * 60 + start_minute
    end = end_hour * 60 + end_minute
    if end <= start:
        raise CalendarSpecError(
            f"window {text!r} ends before it starts; a window cannot cross midnight: split it, "
            "e.g. '22:00-24:00' on one day and '00:00-06:00' on the next",
            path,
        )
    return start, end


def _format_window(window: Window) -> str:
    return "-".join(f"{minutes // 60:02d}:{minutes % 60:02d}" for minutes in window)


@lru_cache(maxsize=1)
def _supported_countries() -> dict[str, list[str]]:
    import holidays

    supported: dict[str, list[str]] = holidays.list_supported_countries()
    return supported


def _parse_holidays(value: object) -> tuple[str | None, str | None, frozenset[date]]:
    if value is None:
        return None, None, frozenset()
    if not isinstance(value, Mapping):
        raise CalendarSpecError(
            "holidays must be a mapping with country, subdivision and/or dates, "
            "e.g. {country: DE, subdivision: BE, dates: [2026-12-24]}",
            ("holidays",),
        )
    for key in value:
        if key not in _HOLIDAY_KEYS:
            raise CalendarSpecError(
                f"unknown holidays key {key!r}; expected: {', '.join(_HOLIDAY_KEYS)}",
                ("holidays", _path_key(key)),
            )
    country = _parse_country(value.get("country"))
    subdivision = _parse_subdivision(value.get("subdivision"), country)
    return country, subdivision, _parse_dates(value.get("dates"))


def _parse_country(value: object) -> str | None:
    if value is None:
        return None
    supported = _supported_countries()
    code = value.strip().upper() if isinstance(value, str) else None
    if code not in supported:
        raise CalendarSpecError(
            f"unknown holiday country {value!r}; use an ISO 3166 code supported by the holidays "
            "package, e.g. DE, US, GB, FR",
            ("holidays", "country"),
        )
    return code


def _parse_subdivision(value: object, country: str | None) -> str | None:
    if value is None:
        return None
    path: SpecPath = ("holidays", "subdivision")
    if country is None:
        raise CalendarSpecError("a holiday subdivision needs a country; add holidays.country", path)
    known = _supported_countries()[country]
    by_upper = {code.upper(): code for code in known}
    # YAML reads a numeric subdivision code (e.g. 01) as an int.
    text = str(value).strip() if isinstance(value, str | int) and not isinstance(value, bool) else ""
    code = by_upper.get(text.upper())
    if code is None:
        choices = ", ".join(known) if known else "none (this country has no subdivisions)"
        raise CalendarSpecError(
            f"unknown subdivision {value!r} for holiday country {country}; known: {choices}", path
        )
    return code


def _parse_dates(value: object) -> frozenset[date]:
    if value is None:
        return frozenset()
    if isinstance(value, str | bytes) or not isinstance(value, Sequence):
        raise CalendarSpecError(
            "holidays.dates must be a list of dates, e.g. [2026-12-24, 2026-12-31]", ("holidays", "dates")
        )
    dates: set[date] = set()
    for i, item in enumerate(value):
        if isinstance(item, date) and not isinstance(item, datetime):
            dates.add(item)
            continue
        parsed = None
        if isinstance(item, str):
            try:
                parsed = date.fromisoformat(item.strip())
            except ValueError:
                parsed = None
        if parsed is None:
            raise CalendarSpecError(
                f"bad holiday date {item!r}; write it as YYYY-MM-DD, e.g. 2026-12-24",
                ("holidays", "dates", i),
            )
        dates.add(parsed)
    return frozenset(dates)
