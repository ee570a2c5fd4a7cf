"""`build_capacity`: the whole forecast from the stored history, the policy and a stated staffing."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from connector.domain.policy import Metric, Policy
from connector.forecast.arrivals import Arrival, bin_arrivals
from connector.forecast.model import METHOD_NOTES, SeriesForecast, forecast_series
from connector.forecast.staffing import StaffingTargets, WindowNeed, tier_needs
from connector.forecast.staffing_file import StatedStaffing
from connector.store.repository import Store
from connector.store.tables import tickets


@dataclass(frozen=True, slots=True)
class CapacityForecast:
    generated_at: datetime
    weeks: int
    targets: StaffingTargets
    series: tuple[SeriesForecast, ...]
    needs: tuple[WindowNeed, ...]
    notes: tuple[str, ...]
    staffing_stated: bool


def read_arrivals(store: Store) -> list[Arrival]:
    """Every stored ticket that an evaluation gave a tier and a severity."""
    query = sa.select(tickets.c.tier, tickets.c.severity, tickets.c.created_at).where(
        tickets.c.tier.is_not(None), tickets.c.severity.is_not(None)
    )
    with store.reading() as db:
        return [Arrival(row.tier, row.severity, row.created_at) for row in db.execute(query)]


def build_capacity(
    arrivals: Sequence[Arrival],
    policy: Policy,
    *,
    now: datetime,
    weeks: int,
    staffing: StatedStaffing | None = None,
) -> CapacityForecast:
    """Forecast `weeks` weeks after the last complete week before `now`, and the agents needed."""
    notes: list[str] = []
    unknown = sorted({a.tier for a in arrivals if a.tier not in policy.tiers})
    if unknown:
        notes.append(f"tickets of tiers no longer in the mappings are left out: {', '.join(unknown)}")
    known = [a for a in arrivals if a.tier in policy.tiers]
    zones = {name: policy.calendars[tier.calendar].timezone for name, tier in policy.tiers.items()}
    # a severity without tickets yet is forecast at zero rather than left out
    keys = [(tier, severity) for tier in sorted({a.tier for a in known}) for severity in policy.severities]
    series = bin_arrivals(known, end=now, timezones=zones, series=keys)
    forecasts = forecast_series(series, weeks)
    for method in sorted({f.method for f in forecasts}):
        shown = sorted({f"{f.tier}/{f.severity}" for f in forecasts if f.method is method})
        notes.append(f"{METHOD_NOTES[method]}: {len(shown)} series")
    if not series:
        notes.append("no complete week of ticket history in the store: nothing to forecast")
    targets = staffing.targets if staffing is not None else StaffingTargets()
    needs: list[WindowNeed] = []
    for name, tier in policy.tiers.items():
        first_response: dict[str, timedelta] = {
            severity: by_metric[Metric.FIRST_RESPONSE]
            for severity, by_metric in tier.targets.items()
            if Metric.FIRST_RESPONSE in by_metric
        }
        stated = staffing.agents.get(name) if staffing is not None else None
        if staffing is not None and stated is None:
            stated = (0,) * 168
        found, _hourly = tier_needs(
            name,
            forecasts,
            policy.calendars[tier.calendar],
            first_response,
            policy.severities,
            targets,
            stated,
        )
        needs += found
    return CapacityForecast(
        generated_at=now,
        weeks=weeks,
        targets=targets,
        series=tuple(forecasts),
        needs=tuple(needs),
        notes=tuple(notes),
        staffing_stated=staffing is not None,
    )
