"""Calls per second of BusinessCalendar.add / .elapsed over short and long spans.

Run: ``.venv/bin/python bench/calendar_bench.py``. Caches are warmed first, so the figures are the
steady state of a worker that evaluates many tickets against the same calendars.
"""

from __future__ import annotations

import itertools
import random
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from connector.domain.calendar import BusinessCalendar

BERLIN_OFFICE = BusinessCalendar.from_spec(
    {
        "timezone": "Europe/Berlin",
        "hours": {"mon-fri": ["09:00-12:30", "13:30-17:00"], "sat": ["10:00-14:00"]},
        "holidays": {"country": "DE", "subdivision": "BE", "dates": ["2026-12-24"]},
    },
    name="berlin-office",
)
NEW_YORK_SUPPORT = BusinessCalendar.from_spec(
    {"timezone": "America/New_York", "hours": {"mon-fri": ["08:00-20:00"]}, "holidays": {"country": "US"}},
    name="new-york-support",
)
ALWAYS_OPEN = BusinessCalendar.twenty_four_seven()

CALLS = 30_000
SPANS = {
    "short (<= 3 days)": timedelta(days=3),
    "long (<= 2 years)": timedelta(days=730),
}
EPOCH = datetime(2025, 1, 1, tzinfo=UTC)


def rate(call: Callable[[], object], calls: int, rounds: int = 7) -> float:
    """Best of `rounds` runs, so other load on the machine distorts the figure less."""
    best = 0.0
    for _ in range(rounds):
        started = time.perf_counter()
        for _ in range(calls):
            call()
        best = max(best, calls / (time.perf_counter() - started))
    return best


def bench(calendar: BusinessCalendar, span: timedelta) -> tuple[float, float]:
    rng = random.Random(7)
    starts = [EPOCH + timedelta(seconds=rng.randrange(3 * 365 * 86400)) for _ in range(1024)]
    ends = [start + timedelta(seconds=rng.randrange(int(span.total_seconds()))) for start in starts]
    # Business deltas sized so add() lands within about the same real span.
    deltas = [calendar.elapsed(start, end) for start, end in zip(starts, ends, strict=True)]
    pairs = list(zip(starts, ends, deltas, strict=True))

    add_iter = itertools.cycle(pairs)
    elapsed_iter = itertools.cycle(pairs)

    def one_add() -> object:
        start, _, delta = next(add_iter)
        return calendar.add(start, delta)

    def one_elapsed() -> object:
        start, end, _ = next(elapsed_iter)
        return calendar.elapsed(start, end)

    return rate(one_add, CALLS), rate(one_elapsed, CALLS)


def main() -> None:
    print(f"{'calendar':<18} {'span':<18} {'add/s':>12} {'elapsed/s':>12} {'add µs':>8} {'elapsed µs':>10}")
    for calendar in (BERLIN_OFFICE, NEW_YORK_SUPPORT, ALWAYS_OPEN):
        for label, span in SPANS.items():
            adds, elapseds = bench(calendar, span)
            print(
                f"{calendar.name or '-':<18} {label:<18} {adds:>12,.0f} {elapseds:>12,.0f}"
                f" {1e6 / adds:>8.2f} {1e6 / elapseds:>10.2f}"
            )
    cold = BusinessCalendar.from_spec(BERLIN_OFFICE.to_spec())
    started = time.perf_counter()
    cold.elapsed(datetime(2026, 1, 1, tzinfo=UTC), datetime(2028, 1, 1, tzinfo=UTC))
    cold_ms = (time.perf_counter() - started) * 1e3
    print(f"cold start: first 2-year elapsed on a fresh calendar builds its caches in {cold_ms:.1f} ms")


if __name__ == "__main__":
    main()
