"""Distributions of time to first response and time to resolution (business time) per tier."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from connector.domain.policy import Metric
from connector.report.queries import StoredClock

# Upper bounds of the buckets; the last bucket of each is open.
FIRST_RESPONSE_BOUNDS: tuple[tuple[str, timedelta], ...] = (
    ("≤15m", timedelta(minutes=15)),
    ("≤30m", timedelta(minutes=30)),
    ("≤1h", timedelta(hours=1)),
    ("≤2h", timedelta(hours=2)),
    ("≤4h", timedelta(hours=4)),
    ("≤8h", timedelta(hours=8)),
    ("≤1d", timedelta(days=1)),
)
FIRST_RESPONSE_BUCKETS: tuple[str, ...] = (*(label for label, _ in FIRST_RESPONSE_BOUNDS), ">1d")

RESOLUTION_BOUNDS: tuple[tuple[str, timedelta], ...] = (
    ("≤4h", timedelta(hours=4)),
    ("≤8h", timedelta(hours=8)),
    ("≤1d", timedelta(days=1)),
    ("≤2d", timedelta(days=2)),
    ("≤3d", timedelta(days=3)),
    ("≤5d", timedelta(days=5)),
    ("≤10d", timedelta(days=10)),
)
RESOLUTION_BUCKETS: tuple[str, ...] = (*(label for label, _ in RESOLUTION_BOUNDS), ">10d")

BOUNDS = {Metric.FIRST_RESPONSE: FIRST_RESPONSE_BOUNDS, Metric.RESOLUTION: RESOLUTION_BOUNDS}


@dataclass(frozen=True, slots=True)
class Distribution:
    """Stopped cycles of one metric of a tier per bucket (`FIRST_RESPONSE_BUCKETS` or
    `RESOLUTION_BUCKETS`)."""

    tier: str
    tier_label: str
    counts: tuple[int, ...]


def stopped(clocks: Sequence[StoredClock], metric: Metric) -> list[timedelta]:
    return sorted(c.elapsed for c in clocks if c.metric is metric and c.stopped_at is not None)


def bucket_counts(values: Sequence[timedelta], bounds: Sequence[tuple[str, timedelta]]) -> tuple[int, ...]:
    counts = [0] * (len(bounds) + 1)
    for elapsed in values:
        index = next((i for i, (_, bound) in enumerate(bounds) if elapsed <= bound), len(bounds))
        counts[index] += 1
    return tuple(counts)


def distribution(tier: str, tier_label: str, clocks: Sequence[StoredClock], metric: Metric) -> Distribution:
    return Distribution(tier, tier_label, bucket_counts(stopped(clocks, metric), BOUNDS[metric]))
