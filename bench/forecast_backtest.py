"""Backtest of the capacity forecast on the emulator's generated history.

Generates `--weeks` weeks (known weekly volume per tier and severity, 1 % growth a week, an
office-hours profile), holds out the last 4, forecasts them from the rest and prints WAPE / MAPE
per tier and overall, next to seasonal naive (the last week repeated) and, as the noise floor, the
known rate that generated the history. `--weeks 108 --yearly 0.3` exercises Holt-Winters.

    .venv/bin/python bench/forecast_backtest.py [--weeks 20] [--seed 7]
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from connector.forecast.arrivals import Arrival, bin_arrivals
from connector.forecast.backtest import backtest, wape
from plugins.zendesk.emulator.history import TIER_ORGANIZATION, WEEKLY_BASE, expected_weekly, generate_history

END = datetime(2026, 11, 30, 6, 0, tzinfo=UTC)


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:6.1%}"


def run(args: argparse.Namespace, seed: int, *, show: bool) -> tuple[float, float, float]:
    """Backtest one generated history; (model, seasonal naive, known rate) overall weekly WAPE."""
    generated = generate_history(
        END - timedelta(weeks=args.weeks), args.weeks, seed=seed, trend=args.trend, yearly=args.yearly
    )
    arrivals = [Arrival(t.tier, t.severity, t.created_at) for t in generated]
    zones = dict.fromkeys(TIER_ORGANIZATION, ZoneInfo("Europe/Berlin"))
    series = bin_arrivals(arrivals, end=END, timezones=zones)
    result = backtest(series, args.holdout)
    # the noise floor: the rate that generated the history, scored the same way
    held = range(args.weeks - args.holdout, args.weeks)
    actual = [float(sum(s.weekly[w] for s in series)) for w in held]
    known = [
        sum(expected_weekly(t, v, w, args.trend, yearly=args.yearly) for t, v in WEEKLY_BASE) for w in held
    ]
    overall = result.rows[-1]
    if show:
        print(
            f"seed {seed}: {len(generated)} tickets, {result.training_weeks} weeks trained, "
            f"{result.holdout_weeks} held out, methods: {', '.join(m.value for m in result.methods)}"
        )
        columns = ("actual", "fcst", "WAPE wk", "MAPE wk", "WAPE hr", "naive wk", "naive hr")
        print(f"{'tier':12} " + " ".join(f"{c:>8}" for c in columns))
        for row in result.rows:
            print(
                f"{row.tier or 'overall':12} {row.actual:8.0f} {row.forecast:8.1f} {_pct(row.weekly_wape):>8} "
                f"{_pct(row.weekly_mape):>8} {_pct(row.hourly_wape):>8} {_pct(row.naive_weekly_wape):>8} "
                f"{_pct(row.naive_hourly_wape):>8}"
            )
        print(f"{'known rate':12} {sum(actual):8.0f} {sum(known):8.1f} {_pct(wape(actual, known)):>8}")
    return overall.weekly_wape or 0.0, overall.naive_weekly_wape or 0.0, wape(actual, known) or 0.0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--weeks", type=int, default=20)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--seeds", type=int, default=10, help="also average the overall WAPE over seeds 1..N")
    parser.add_argument("--holdout", type=int, default=4)
    parser.add_argument("--yearly", type=float, default=0.0, help="amplitude of a 52-week cycle, e.g. 0.3")
    parser.add_argument("--trend", type=float, default=0.01, help="growth per week")
    args = parser.parse_args()
    run(args, args.seed, show=True)
    if args.seeds:
        scores = [run(args, seed, show=False) for seed in range(1, args.seeds + 1)]
        model, naive, known = (sum(s[i] for s in scores) / len(scores) for i in range(3))
        print(
            f"seeds 1-{args.seeds}, overall weekly WAPE: forecast {model:.1%}, seasonal naive {naive:.1%}, "
            f"known rate {known:.1%}"
        )


if __name__ == "__main__":
    main()
