"""The SLA report as one self-contained HTML page (inline CSS and SVG, opens offline)."""

from __future__ import annotations

from datetime import tzinfo
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from connector.domain.engine import METRIC_ORDER
from connector.domain.policy import Metric
from connector.report.breakdown import HolderFigures, HolderMetric
from connector.report.charts import BREACH_COLOR, TIER_COLORS, Goal, Series, bar_chart
from connector.report.formatting import METRIC_LABELS, credit_terms, duration, local_time, money, percent
from connector.report.line_chart import line_chart
from connector.report.report import MetricFigures, Segment, SlaReport
from connector.report.trend import TrendPoint

TREND_COLORS: dict[str | None, str] = {
    None: "#0f172a",  # every metric together
    Metric.FIRST_RESPONSE.value: "#7c3aed",
    Metric.NEXT_RESPONSE.value: "#db2777",
    Metric.PERIODIC_UPDATE.value: "#65a30d",
    Metric.RESOLUTION.value: "#0891b2",
}

_TEMPLATES = Path(__file__).parent / "templates"


def tracked_metrics(report: SlaReport) -> tuple[Metric, ...]:
    """Metrics with at least one clock in the period, in engine order."""
    seen = {m.metric for s in report.by_tier for m in s.metrics}
    return tuple(metric for metric in METRIC_ORDER if metric in seen)


def metric_cells(segment: Segment, metrics: tuple[Metric, ...]) -> list[MetricFigures | None]:
    figures = {m.metric: m for m in segment.metrics}
    return [figures.get(metric) for metric in metrics]


def _count(value: float) -> str:
    return str(round(value))


def _charts(report: SlaReport, metrics: tuple[Metric, ...]) -> dict[str, Markup]:
    colors = {s.tier: TIER_COLORS[i % len(TIER_COLORS)] for i, s in enumerate(report.by_tier)}
    adherence = bar_chart(
        title="Adherence by tier and metric",
        categories=[METRIC_LABELS[m] for m in metrics],
        series=[
            Series(
                s.tier_label,
                tuple(cell.adherence_percent if cell else None for cell in metric_cells(s, metrics)),
                colors[s.tier],
            )
            for s in report.by_tier
        ],
        value_format=percent,
        y_max=100.0,
        label_zero=True,
        goals=[
            Goal(s.tier_label, s.goal_percent, colors[s.tier])
            for s in report.by_tier
            if s.goal_percent is not None
        ],
    )
    days = report.breaches_per_day
    per_day = bar_chart(
        title="Breaches per day",
        categories=[f"{day.day.day} {day.day:%b}" for day in days],
        series=[Series("Breaches", tuple(float(day.breaches) for day in days), BREACH_COLOR)],
        value_format=_count,
        integer=True,
    )
    distribution = bar_chart(
        title="Time to first response (business time) by tier",
        categories=list(report.first_response_buckets),
        series=[
            Series(d.tier_label, tuple(float(c) for c in d.counts), colors.get(d.tier, TIER_COLORS[-1]))
            for d in report.first_response_distribution
        ],
        value_format=_count,
        integer=True,
        width=1180,
    )
    resolution = bar_chart(
        title="Time to resolution (business time) by tier",
        categories=list(report.resolution_buckets),
        series=[
            Series(d.tier_label, tuple(float(c) for c in d.counts), colors.get(d.tier, TIER_COLORS[-1]))
            for d in report.resolution_distribution
        ],
        value_format=_count,
        integer=True,
        width=1180,
    )
    trend = trend_chart(report.trend)
    # The chart module escapes every text it writes, so its SVG is safe to insert as markup.
    return {
        "adherence": Markup(adherence),  # noqa: S704
        "per_day": Markup(per_day),  # noqa: S704
        "distribution": Markup(distribution),  # noqa: S704
        "resolution": Markup(resolution),  # noqa: S704
        "trend": Markup(trend),  # noqa: S704
    }


def trend_chart(
    points: tuple[TrendPoint, ...], goals: tuple[Goal, ...] = (), *, width: int = 1180, height: int = 260
) -> str:
    """Adherence per month, one line per metric and one for every metric together."""
    months = list(dict.fromkeys(p.month for p in points))
    metrics = list(dict.fromkeys(p.metric for p in points))
    values = {(p.month, p.metric): p.adherence_percent for p in points}
    return line_chart(
        title="Adherence per month",
        categories=months,
        series=[
            Series(
                "All metrics" if metric is None else METRIC_LABELS[Metric(metric)],
                tuple(values.get((month, metric)) for month in months),
                TREND_COLORS.get(metric, TIER_COLORS[-1]),
            )
            for metric in metrics
        ],
        value_format=percent,
        goals=goals,
        width=width,
        height=height,
    )


def template_environment(zone: tzinfo | None) -> Environment:
    """The Jinja environment of every report template, times shown in `zone`."""
    env = Environment(
        loader=FileSystemLoader(_TEMPLATES),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["duration"] = duration
    env.filters["percent"] = percent
    env.filters["local"] = lambda value: local_time(value, zone)
    env.filters["metric"] = lambda metric: METRIC_LABELS.get(Metric(metric), str(metric))
    return env


def trend_table(
    points: tuple[TrendPoint, ...],
) -> tuple[list[str], list[str | None], dict[tuple[str, str | None], TrendPoint]]:
    """Months, metrics (None last: every metric together) and the point of each (month, metric)."""
    months = list(dict.fromkeys(p.month for p in points))
    metrics = list(dict.fromkeys(p.metric for p in points))
    return months, metrics, {(p.month, p.metric): p for p in points}


def holder_cell(row: HolderFigures, metric: Metric) -> HolderMetric | None:
    return next((m for m in row.metrics if m.metric == metric.value), None)


def render_html(report: SlaReport) -> str:
    metrics = tracked_metrics(report)
    template = template_environment(report.start.tzinfo).get_template("report.html.j2")
    months, trend_metrics, points = trend_table(report.trend)
    return template.render(
        report=report,
        metrics=metrics,
        metric_cells=metric_cells,
        trend_months=months,
        trend_metrics=trend_metrics,
        trend_cell=lambda month, metric: points[(month, metric)],
        holder_cell=holder_cell,
        credit_terms=credit_terms,
        money=money,
        charts=_charts(report, metrics),
        credited=[c for c in report.service_credits if c.credit_percent > 0],
        over_allowance=[a for a in report.allowance if a.over_allowance],
        other_versions=[v for v in report.versions if not v.current],
    )
