"""Weekly volume forecasts (statsmodels exponential smoothing) spread over the hours of the week.

The weekly total of a tier and severity is forecast from its weekly history:

- two years or more (104 weeks): Holt-Winters, damped additive trend and additive yearly
  seasonality (52 weeks);
- 8 weeks or more: Holt's damped additive trend (too short to learn a yearly pattern);
- less: seasonal naive (every future week repeats the last one), said in `method`.

Each forecast week is then spread over its 168 hours by the recent hour-of-week profile (the last
`PROFILE_WEEKS` weeks), shrunk towards the tier's profile over all severities so that a severity
with a few tickets a week does not put all its future load on the hours it happened to arrive in.
Forecasting the weekly totals and spreading them by a profile is the usual split in contact-centre
planning: the weekly pattern is stable, the level and trend move.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from connector.forecast.arrivals import HOURS_PER_WEEK, ArrivalSeries, SeriesKey

YEARLY_MIN_WEEKS = 104
TREND_MIN_WEEKS = 8
PROFILE_WEEKS = 12
PROFILE_PRIOR = 168.0  # pseudo-tickets of the tier profile mixed into a severity's own profile


class Method(StrEnum):
    HOLT_WINTERS = "holt-winters"  # damped trend + yearly seasonality
    HOLT = "holt"  # damped trend
    SEASONAL_NAIVE = "seasonal-naive"  # the last week repeated


METHOD_NOTES = {
    Method.HOLT_WINTERS: "Holt-Winters: damped trend and yearly seasonality",
    Method.HOLT: f"Holt: damped trend, no yearly seasonality (less than {YEARLY_MIN_WEEKS} weeks of history)",
    Method.SEASONAL_NAIVE: f"seasonal naive: the last week repeated (less than {TREND_MIN_WEEKS} weeks of history)",
}


@dataclass(frozen=True, slots=True)
class SeriesForecast:
    """The forecast of one tier and severity: `weekly[w]` tickets in week `weeks[w]`, of which
    `hourly[w][h]` in hour of the week `h`."""

    tier: str
    severity: str
    method: Method
    history_weeks: int
    weeks: tuple[date, ...]
    weekly: tuple[float, ...]
    hourly: tuple[tuple[float, ...], ...]

    @property
    def key(self) -> SeriesKey:
        return (self.tier, self.severity)


def choose_method(history_weeks: int) -> Method:
    if history_weeks >= YEARLY_MIN_WEEKS:
        return Method.HOLT_WINTERS
    if history_weeks >= TREND_MIN_WEEKS:
        return Method.HOLT
    return Method.SEASONAL_NAIVE


def forecast_weekly(
    history: Sequence[float], horizon: int, method: Method | None = None
) -> tuple[float, ...]:
    """`horizon` weekly totals after `history` (never negative). `method` defaults to
    `choose_method(len(history))`; a model that cannot be fitted falls back to seasonal naive."""
    if horizon < 1:
        raise ValueError("the horizon must be at least one week")
    if not history:
        return (0.0,) * horizon
    chosen = method or choose_method(len(history))
    if chosen is Method.SEASONAL_NAIVE or not any(history):
        return (float(history[-1]),) * horizon
    import numpy as np
    from statsmodels.tools.sm_exceptions import ConvergenceWarning
    from statsmodels.tsa.holtwinters import ExponentialSmoothing

    values = [float(v) for v in history]
    seasonal = "add" if chosen is Method.HOLT_WINTERS else None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            warnings.simplefilter("ignore", RuntimeWarning)
            model = ExponentialSmoothing(
                values,
                trend="add",
                damped_trend=True,
                seasonal=seasonal,
                seasonal_periods=52 if seasonal else None,
                initialization_method="estimated",
            )
            predicted = model.fit().forecast(horizon)
    except (ValueError, np.linalg.LinAlgError):
        return (float(history[-1]),) * horizon
    result = tuple(max(0.0, float(v)) for v in predicted)
    if not all(math.isfinite(v) for v in result):
        return (float(history[-1]),) * horizon
    return result


def hour_profile(series: ArrivalSeries, tier_profile: Sequence[float] | None = None) -> tuple[float, ...]:
    """Shares (summing to 1) of a week's tickets per hour of the week, from the last
    `PROFILE_WEEKS` weeks, shrunk towards `tier_profile`; uniform when there is nothing to go on."""
    recent = series.hourly[-PROFILE_WEEKS:]
    counts = [float(sum(week[h] for week in recent)) for h in range(HOURS_PER_WEEK)]
    prior = tier_profile or (1.0 / HOURS_PER_WEEK,) * HOURS_PER_WEEK
    weight = PROFILE_PRIOR if tier_profile is not None else 0.0
    total = sum(counts) + weight
    if total == 0:
        return (1.0 / HOURS_PER_WEEK,) * HOURS_PER_WEEK
    return tuple((counts[h] + weight * prior[h]) / total for h in range(HOURS_PER_WEEK))


def tier_profiles(series: Sequence[ArrivalSeries]) -> dict[str, tuple[float, ...]]:
    """Each tier's hour-of-week profile over all its severities."""
    by_tier: dict[str, list[float]] = {}
    for s in series:
        counts = by_tier.setdefault(s.tier, [0.0] * HOURS_PER_WEEK)
        for week in s.hourly[-PROFILE_WEEKS:]:
            for h, n in enumerate(week):
                counts[h] += n
    profiles: dict[str, tuple[float, ...]] = {}
    for tier, counts in by_tier.items():
        total = sum(counts)
        profiles[tier] = tuple((c / total if total else 1.0 / HOURS_PER_WEEK) for c in counts)
    return profiles


def severity_shares(series: Sequence[ArrivalSeries]) -> dict[SeriesKey, float]:
    """Each severity's share of its tier's tickets over the last `PROFILE_WEEKS` weeks (even
    shares for a tier without tickets)."""
    recent = {s.key: float(sum(s.weekly[-PROFILE_WEEKS:])) for s in series}
    totals: dict[str, float] = {}
    for s in series:
        totals[s.tier] = totals.get(s.tier, 0.0) + recent[s.key]
    count = {tier: sum(1 for s in series if s.tier == tier) for tier in totals}
    return {s.key: recent[s.key] / totals[s.tier] if totals[s.tier] else 1.0 / count[s.tier] for s in series}


def forecast_series(
    series: Sequence[ArrivalSeries], horizon: int, method: Method | None = None
) -> list[SeriesForecast]:
    """Forecast `horizon` weeks after each series' history, by week and by hour of the week.

    The model is fitted to each tier's weekly total (all severities: four times the tickets of one
    severity, so a trend is not read into a few critical tickets) and the forecast split by each
    severity's recent share of the tier."""
    profiles = tier_profiles(series)
    shares = severity_shares(series)
    tier_weekly: dict[str, tuple[float, ...]] = {}
    for tier in dict.fromkeys(s.tier for s in series):
        own = [s for s in series if s.tier == tier]
        totals = [float(sum(week)) for week in zip(*(s.weekly for s in own), strict=True)]
        tier_weekly[tier] = forecast_weekly(totals, horizon, method)
    forecasts: list[SeriesForecast] = []
    for s in series:
        weekly = tuple(total * shares[s.key] for total in tier_weekly[s.tier])
        profile = hour_profile(s, profiles.get(s.tier))
        start = s.weeks[-1] + timedelta(days=7) if s.weeks else date.min
        forecasts.append(
            SeriesForecast(
                tier=s.tier,
                severity=s.severity,
                method=method or choose_method(len(s.weeks)),
                history_weeks=len(s.weeks),
                weeks=tuple(start + timedelta(days=7 * n) for n in range(horizon)),
                weekly=weekly,
                hourly=tuple(tuple(total * share for share in profile) for total in weekly),
            )
        )
    return forecasts


def seasonal_naive(series: Sequence[ArrivalSeries], horizon: int) -> list[SeriesForecast]:
    """The benchmark forecast: every future week repeats the last week, hour for hour."""
    forecasts: list[SeriesForecast] = []
    for s in series:
        last = tuple(float(n) for n in s.hourly[-1]) if s.hourly else (0.0,) * HOURS_PER_WEEK
        start = s.weeks[-1] + timedelta(days=7) if s.weeks else date.min
        forecasts.append(
            SeriesForecast(
                tier=s.tier,
                severity=s.severity,
                method=Method.SEASONAL_NAIVE,
                history_weeks=len(s.weeks),
                weeks=tuple(start + timedelta(days=7 * n) for n in range(horizon)),
                weekly=(sum(last),) * horizon,
                hourly=(last,) * horizon,
            )
        )
    return forecasts
