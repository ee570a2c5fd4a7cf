"""Adherence per metric per month over the last months: is service getting better or worse.

Months are calendar months of the report's time zone; a clock counts in the month its cycle
started, as in the rest of the report. The last month is the one the period ends in (a month in
progress shows what is decided so far).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

from connector.domain.engine import METRIC_ORDER
from connector.domain.policy import Metric
from connector.domain.results import ClockState
from connector.report.breakdown import percent_of
from connector.report.queries import StoredClock, StoredTicket, read_decided, read_period
from connector.store.repository import Store

DEFAULT_TREND_MONTHS = 6


@dataclass(frozen=True, slots=True)
class TrendPoint:
    month: str  # YYYY-MM
    metric: str | None  # Metric value; None: every metric together
    met: int
    breached: int
    adherence_percent: float | None


def month_start(instant: datetime, zone: tzinfo) -> datetime:
    local = instant.astimezone(zone)
    return local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def months_back(last: datetime, count: int) -> list[datetime]:
    """`count` local month starts ending with `last` (itself a month start), oldest first."""
    starts = [last]
    while len(starts) < count:
        previous = (starts[0] - timedelta(days=1)).replace(day=1)
        starts.insert(0, previous)
    # Re-anchor each wall-clock midnight in the zone (a DST change between months moves the offset).
    zone = last.tzinfo
    return [start.replace(tzinfo=None).replace(tzinfo=zone) for start in starts]


def build_trend(
    store: Store,
    *,
    end: datetime,
    zone: tzinfo,
    months: int = DEFAULT_TREND_MONTHS,
    keep: Callable[[StoredTicket], bool] | None = None,
) -> tuple[TrendPoint, ...]:
    """Adherence per month (and per metric) of the `months` local months up to the one `end`
    (exclusive) falls in; `keep` limits it to some tickets (one account)."""
    if months < 1:
        return ()
    starts = months_back(month_start(end - timedelta(microseconds=1), zone), months)
    names = [s.strftime("%Y-%m") for s in starts]
    if keep is None:  # only decided cycles count: the settled record alone, no tickets to read
        return _points(read_decided(store, starts[0], end), names, zone)
    stored_tickets, stored_clocks = read_period(store, starts[0], end)
    owners = {t.key: t for t in stored_tickets}
    return trend_points([c for c in stored_clocks if keep(owners[c.ticket_key])], names, zone)


def trend_points(
    clocks: Sequence[StoredClock], months: Sequence[str], zone: tzinfo
) -> tuple[TrendPoint, ...]:
    return _points([(c.started_at, c.metric, c.state) for c in clocks], months, zone)


def _points(
    cycles: Sequence[tuple[datetime, Metric, ClockState]], months: Sequence[str], zone: tzinfo
) -> tuple[TrendPoint, ...]:
    counts: Counter[tuple[str, str, ClockState]] = Counter(
        (started.astimezone(zone).strftime("%Y-%m"), metric.value, state) for started, metric, state in cycles
    )
    tracked = [m.value for m in METRIC_ORDER if any(key[1] == m.value for key in counts)]
    points: list[TrendPoint] = []
    for month in months:
        all_met = all_breached = 0
        for metric in tracked:
            met, breached = (
                counts[(month, metric, ClockState.MET)],
                counts[(month, metric, ClockState.BREACHED)],
            )
            all_met, all_breached = all_met + met, all_breached + breached
            points.append(TrendPoint(month, metric, met, breached, percent_of(met, met + breached)))
        points.append(
            TrendPoint(month, None, all_met, all_breached, percent_of(all_met, all_met + all_breached))
        )
    return tuple(points)
