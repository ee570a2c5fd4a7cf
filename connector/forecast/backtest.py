"""Backtest: hold out the last weeks of the history, forecast them, measure the error.

WAPE (weighted absolute percentage error) = sum |actual - forecast| / sum actual: the share of the
actual volume the forecast missed, defined whenever anything arrived, and the figure planners read.
MAPE = mean over periods of |actual - forecast| / actual, over the periods with arrivals.
Both are measured on weekly totals per tier (severities summed) and on the hours of the week
(tier level), against the model's forecast and against seasonal naive (the last week repeated).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from connector.forecast.arrivals import HOURS_PER_WEEK, ArrivalSeries
from connector.forecast.model import Method, SeriesForecast, forecast_series, seasonal_naive


def wape(actual: Sequence[float], forecast: Sequence[float]) -> float | None:
    total = sum(actual)
    if total == 0:
        return None
    return sum(abs(a - f) for a, f in zip(actual, forecast, strict=True)) / total


def mape(actual: Sequence[float], forecast: Sequence[float]) -> float | None:
    errors = [abs(a - f) / a for a, f in zip(actual, forecast, strict=True) if a]
    return sum(errors) / len(errors) if errors else None


@dataclass(frozen=True, slots=True)
class BacktestRow:
    """Errors of one tier (`tier` None: all tiers), as shares (0.1 = 10 %)."""

    tier: str | None
    actual: float  # tickets in the held-out weeks
    forecast: float
    weekly_wape: float | None
    weekly_mape: float | None
    hourly_wape: float | None
    naive_weekly_wape: float | None
    naive_hourly_wape: float | None


@dataclass(frozen=True, slots=True)
class Backtest:
    holdout_weeks: int
    training_weeks: int
    methods: tuple[Method, ...]
    rows: tuple[BacktestRow, ...]


def _weekly(forecasts: Sequence[SeriesForecast], weeks: int) -> list[float]:
    return [sum(f.weekly[w] for f in forecasts) for w in range(weeks)]


def _hourly(forecasts: Sequence[SeriesForecast], weeks: int) -> list[float]:
    return [sum(f.hourly[w][h] for f in forecasts) for w in range(weeks) for h in range(HOURS_PER_WEEK)]


def _row(
    tier: str | None,
    held_out: Sequence[ArrivalSeries],
    model: Sequence[SeriesForecast],
    naive: Sequence[SeriesForecast],
    weeks: int,
) -> BacktestRow:
    actual_weekly = [float(sum(s.weekly[w] for s in held_out)) for w in range(weeks)]
    actual_hourly = [
        float(sum(s.hourly[w][h] for s in held_out)) for w in range(weeks) for h in range(HOURS_PER_WEEK)
    ]
    model_weekly = _weekly(model, weeks)
    return BacktestRow(
        tier=tier,
        actual=sum(actual_weekly),
        forecast=sum(model_weekly),
        weekly_wape=wape(actual_weekly, model_weekly),
        weekly_mape=mape(actual_weekly, model_weekly),
        hourly_wape=wape(actual_hourly, _hourly(model, weeks)),
        naive_weekly_wape=wape(actual_weekly, _weekly(naive, weeks)),
        naive_hourly_wape=wape(actual_hourly, _hourly(naive, weeks)),
    )


def backtest(series: Sequence[ArrivalSeries], holdout_weeks: int = 4) -> Backtest:
    """Forecast the last `holdout_weeks` of every series from the weeks before them."""
    training = min((len(s.weeks) for s in series), default=0) - holdout_weeks
    if training < 1:
        raise ValueError(
            f"a backtest holding out {holdout_weeks} weeks needs at least {holdout_weeks + 1} weeks"
        )
    trained = [s.head(len(s.weeks) - holdout_weeks) for s in series]
    held_out = [
        ArrivalSeries(s.tier, s.severity, s.weeks[-holdout_weeks:], s.hourly[-holdout_weeks:]) for s in series
    ]
    model = forecast_series(trained, holdout_weeks)
    naive = seasonal_naive(trained, holdout_weeks)
    rows = [
        _row(
            tier,
            [s for s in held_out if s.tier == tier],
            [f for f in model if f.tier == tier],
            [f for f in naive if f.tier == tier],
            holdout_weeks,
        )
        for tier in sorted({s.tier for s in series})
    ]
    rows.append(_row(None, held_out, model, naive, holdout_weeks))
    return Backtest(
        holdout_weeks=holdout_weeks,
        training_weeks=training,
        methods=tuple(sorted({f.method for f in model})),
        rows=tuple(rows),
    )
