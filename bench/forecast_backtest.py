"""Backtest of the capacity forecast on the emulator's generated history.

Generates `--weeks` weeks (known weekly volume per tier and severity, 1 % growth a week, an
office-hours profile), holds out the last 4, forecasts them from the rest and prints WAPE / MAPE
per tier and overall, next to seasonal naive (the last week repeated).

    .venv/bin/python bench/forecast_backtest.py [--weeks 20] [--seed 7]
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from connector.forecast.arrivals import Arrival, bin_arrivals
from connector.forecast.backtest import backtest
from plugins.zendesk.emulator.history import TIER_ORGANIZATION, generate_history

END = datetime(2026, 11, 30, 6, 0, tzinfo=UTC)


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:6.1%}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--weeks", type=int, default=20)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--holdout", type=int, default=4)
    args = parser.parse_args()
    generated = generate_history(END - timedelta(weeks=args.weeks), args.weeks, seed=args.seed)
    arrivals = [Arrival(t.tier, t.severity, t.created_at) for t in generated]
    zones = dict.fromkeys(TIER_ORGANIZATION, ZoneInfo("Europe/Berlin"))
    result = backtest(bin_arrivals(arrivals, end=END, timezones=zones), args.holdout)
    print(
        f"{len(generated)} tickets, {result.training_weeks} weeks trained, {result.holdout_weeks} held out, "
        f"methods: {', '.join(m.value for m in result.methods)}"
    )
    columns = ("actual", "fcst", "WAPE wk", "MAPE wk", "WAPE hr", "naive wk", "naive hr")
    print(f"{'tier':12} " + " ".join(f"{c:>8}" for c in columns))
    for row in result.rows:
        print(
            f"{row.tier or 'overall':12} {row.actual:7.0f} {row.forecast:7.1f} {_pct(row.weekly_wape):>8} "
            f"{_pct(row.weekly_mape):>8} {_pct(row.hourly_wape):>8} {_pct(row.naive_weekly_wape):>8} "
            f"{_pct(row.naive_hourly_wape):>8}"
        )


if __name__ == "__main__":
    main()
