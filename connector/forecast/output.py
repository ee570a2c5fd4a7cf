"""The capacity forecast as text, CSV, JSON or HTML (tables and inline SVG charts).

Rows are the same in every format: one per tier calendar window (agents its busiest hour needs,
the fewest the staffing file has on duty in it, the most missing in any hour, the hours short)
and one per tier, severity and forecast week (tickets). JSON carries both lists plus the hourly
forecast per tier and severity (168 values per week, Monday 00:00 first, in the tier's zone).
"""

from __future__ import annotations

import csv
import io
import json
from html import escape
from typing import Any, Literal

from connector.forecast.arrivals import HOURS_PER_WEEK
from connector.forecast.capacity import CapacityForecast
from connector.forecast.staffing import DAY_NAMES
from connector.report.charts import BREACH_COLOR, TIER_COLORS, Series, bar_chart

ForecastFormat = Literal["text", "json", "html", "csv"]
_GOAL = "{goal:.0%} of first responses within target, occupancy at most {occupancy:.0%}"


def _need_rows(forecast: CapacityForecast) -> list[dict[str, Any]]:
    return [
        {
            "tier": n.tier,
            "window": n.window.label,
            "tickets": round(n.tickets, 1),
            "agents_needed_peak": n.required,
            "agents_stated_fewest": n.stated,
            "shortfall": n.shortfall,
            "hours_short": n.short_hours if n.stated is not None else None,
            "busiest_week": n.week.isoformat(),
        }
        for n in forecast.needs
    ]


def _week_rows(forecast: CapacityForecast) -> list[dict[str, Any]]:
    return [
        {
            "tier": f.tier,
            "severity": f.severity,
            "week": week.isoformat(),
            "tickets": round(value, 1),
            "method": f.method.value,
            "history_weeks": f.history_weeks,
        }
        for f in forecast.series
        for week, value in zip(f.weeks, f.weekly, strict=True)
    ]


def _summary(forecast: CapacityForecast) -> str:
    t = forecast.targets
    return _GOAL.format(goal=t.goal, occupancy=t.max_occupancy)


def render_json(forecast: CapacityForecast) -> str:
    document = {
        "generated_at": forecast.generated_at.isoformat(),
        "weeks": forecast.weeks,
        "service_level": forecast.targets.goal,
        "max_occupancy": forecast.targets.max_occupancy,
        "notes": list(forecast.notes),
        "windows": _need_rows(forecast),
        "weekly": _week_rows(forecast),
        "hourly": [
            {
                "tier": f.tier,
                "severity": f.severity,
                "weeks": [[round(v, 3) for v in week] for week in f.hourly],
            }
            for f in forecast.series
        ],
    }
    return json.dumps(document, indent=2) + "\n"


def render_csv(forecast: CapacityForecast) -> str:
    """The windows table (the one an admin staffs to)."""
    out = io.StringIO()
    rows = _need_rows(forecast)
    writer = csv.DictWriter(
        out, fieldnames=list(rows[0]) if rows else ["tier", "window"], lineterminator="\n"
    )
    writer.writeheader()
    writer.writerows({k: ("" if v is None else v) for k, v in row.items()} for row in rows)
    return out.getvalue()


def _cell(value: Any) -> str:
    return "-" if value is None else str(value)


def render_text(forecast: CapacityForecast) -> str:
    lines = [
        f"Capacity forecast, {forecast.weeks} weeks from {forecast.generated_at:%Y-%m-%d %H:%M %Z}",
        _summary(forecast),
    ]
    lines += [f"note: {note}" for note in forecast.notes]
    header = ("tier", "window", "tickets", "needed (peak)", "stated (fewest)", "short (most)", "hours short")
    table = [header] + [
        (
            n.tier,
            n.window.label,
            f"{n.tickets:.1f}",
            str(n.required),
            _cell(n.stated),
            _cell(n.shortfall),
            _cell(n.short_hours if n.stated is not None else None),
        )
        for n in forecast.needs
    ]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    lines.append("")
    for index, row in enumerate(table):
        lines.append(
            "  ".join(
                c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))
            )
        )
        if index == 0:
            lines.append("  ".join("-" * w for w in widths))
    short = [n for n in forecast.needs if n.shortfall]
    if forecast.staffing_stated:
        lines.append("")
        lines.append(
            f"short in {len(short)} of {len(forecast.needs)} windows ({sum(n.short_hours for n in short)} hours)"
        )
        lines += [
            f"  {n.tier} {n.window.label}: {n.shortfall} more agent(s) needed in {n.short_hours} hour(s)"
            for n in short
        ]
    lines.append("")
    lines.append("Tickets per week (all severities)")
    by_tier: dict[str, list[float]] = {}
    weeks = next((f.weeks for f in forecast.series), ())
    for f in forecast.series:
        totals = by_tier.setdefault(f.tier, [0.0] * len(f.weekly))
        for w, value in enumerate(f.weekly):
            totals[w] += value
    lines.append("  ".join(["tier".ljust(12), *(w.isoformat() for w in weeks)]))
    for tier, totals in by_tier.items():
        lines.append("  ".join([tier.ljust(12), *(f"{v:10.1f}" for v in totals)]))
    return "\n".join(lines) + "\n"


def _table(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "<p>nothing to show</p>"
    head = "".join(f"<th>{escape(k.replace('_', ' '))}</th>" for k in rows[0])
    body = "".join(
        "<tr>" + "".join(f"<td>{escape(_cell(v))}</td>" for v in row.values()) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _figure(caption: str, svg: str, *, wide: bool = False) -> str:
    return (
        f'<figure class="{"wide" if wide else ""}"><figcaption>{escape(caption)}</figcaption>{svg}</figure>'
    )


def render_html(forecast: CapacityForecast) -> str:
    tiers = list(dict.fromkeys(n.tier for n in forecast.needs))
    charts: list[str] = []
    for tier in tiers:
        own = [n for n in forecast.needs if n.tier == tier]
        series = [Series("needed", tuple(float(n.required) for n in own), TIER_COLORS[0])]
        if forecast.staffing_stated:
            series.append(Series("stated", tuple(float(n.stated or 0) for n in own), TIER_COLORS[2]))
            series.append(Series("short", tuple(float(n.shortfall or 0) for n in own), BREACH_COLOR))
        charts.append(
            _figure(
                f"{tier}: agents per calendar window (busiest forecast week)",
                bar_chart(
                    title=f"{tier}: agents per calendar window",
                    categories=[n.window.label.split(" ")[0] for n in own],
                    series=series,
                    integer=True,
                    label_zero=forecast.staffing_stated,
                ),
            )
        )
    weeks = next((f.weeks for f in forecast.series), ())
    weekly = [
        Series(
            tier,
            tuple(sum(f.weekly[w] for f in forecast.series if f.tier == tier) for w in range(len(weeks))),
            TIER_COLORS[i % len(TIER_COLORS)],
        )
        for i, tier in enumerate(dict.fromkeys(f.tier for f in forecast.series))
    ]
    charts.append(
        _figure(
            "Forecast tickets per week",
            bar_chart(
                title="Forecast tickets per week",
                categories=[w.strftime("%d %b") for w in weeks],
                series=weekly,
            ),
        )
    )
    hours = [f"{DAY_NAMES[h // 24]} {h % 24:02d}h" for h in range(HOURS_PER_WEEK)]
    for i, tier in enumerate(dict.fromkeys(f.tier for f in forecast.series)):
        of_tier = [f for f in forecast.series if f.tier == tier]
        per_hour = tuple(sum(f.hourly[0][h] for f in of_tier) for h in range(HOURS_PER_WEEK))
        title = (
            f"{tier}: forecast tickets per hour of the week ({of_tier[0].weeks[0]:%d %b}, calendar time zone)"
        )
        charts.append(
            _figure(
                title,
                bar_chart(
                    title=title,
                    categories=hours,
                    series=[Series(tier, per_hour, TIER_COLORS[i % len(TIER_COLORS)])],
                    width=1200,
                    height=220,
                ),
                wide=True,
            )
        )
    notes = "".join(f"<li>{escape(note)}</li>" for note in forecast.notes)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Capacity forecast</title>
<style>
body {{ font-family: system-ui, -apple-system, Segoe UI, Roboto, sans-serif; margin: 24px; color: #0f172a; }}
table {{ border-collapse: collapse; margin: 12px 0 24px; font-size: 13px; }}
th, td {{ border-bottom: 1px solid #e2e8f0; padding: 4px 10px; text-align: right; }}
th:nth-child(-n+2), td:nth-child(-n+2) {{ text-align: left; }}
.charts {{ display: flex; flex-wrap: wrap; gap: 16px; }}
figure {{ margin: 0; }} figure.wide {{ flex-basis: 100%; }}
figcaption {{ font-weight: 600; font-size: 14px; margin: 4px 0; }}
</style></head><body>
<h1>Capacity forecast</h1>
<p>{forecast.weeks} weeks from {forecast.generated_at:%Y-%m-%d %H:%M %Z}; {escape(_summary(forecast))}.</p>
<ul>{notes}</ul>
<div class="charts">{"".join(charts)}</div>
<h2>Agents per tier calendar window</h2>
{_table(_need_rows(forecast))}
<h2>Tickets per week</h2>
{_table(_week_rows(forecast))}
</body></html>
"""


def render(forecast: CapacityForecast, fmt: ForecastFormat) -> str:
    renderers = {"text": render_text, "json": render_json, "csv": render_csv, "html": render_html}
    return renderers[fmt](forecast)
