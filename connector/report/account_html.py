"""The account health report as one self-contained HTML page, laid out for A4 print (the PDF)."""

from __future__ import annotations

from markupsafe import Markup

from connector.report.account_report import AccountReport
from connector.report.charts import BREACH_COLOR, TIER_COLORS, Goal, Series, bar_chart
from connector.report.formatting import METRIC_LABELS, percent
from connector.report.html import template_environment, trend_chart

GOAL_COLOR = "#b45309"


def _count(value: float) -> str:
    return str(round(value))


def _charts(report: AccountReport) -> dict[str, Markup]:
    goals = () if report.goal_percent is None else (Goal("", report.goal_percent, GOAL_COLOR),)
    adherence = bar_chart(
        title="Adherence per metric",
        categories=[METRIC_LABELS[m.metric] for m in report.metrics],
        series=[Series("Adherence", tuple(m.adherence_percent for m in report.metrics), TIER_COLORS[0])],
        value_format=percent,
        y_max=100.0,
        label_zero=True,
        goals=goals,
        width=560,
        height=230,
    )
    first_response = bar_chart(
        title="Time to first response",
        categories=list(report.first_response_buckets),
        series=[Series("Tickets", tuple(float(c) for c in report.first_response_counts), TIER_COLORS[0])],
        value_format=_count,
        integer=True,
        width=560,
        height=230,
    )
    resolution = bar_chart(
        title="Time to resolution",
        categories=list(report.resolution_buckets),
        series=[Series("Tickets", tuple(float(c) for c in report.resolution_counts), TIER_COLORS[2])],
        value_format=_count,
        integer=True,
        width=560,
        height=230,
    )
    trend = trend_chart(report.trend, goals, width=560, height=230)
    # The chart modules escape every text they write, so their SVG is safe to insert as markup.
    return {
        "adherence": Markup(adherence),  # noqa: S704
        "first_response": Markup(first_response),  # noqa: S704
        "resolution": Markup(resolution),  # noqa: S704
        "trend": Markup(trend),  # noqa: S704
    }


def render_account_html(report: AccountReport) -> str:
    env = template_environment(report.start.tzinfo)
    months = list(dict.fromkeys(p.month for p in report.trend))
    points = {(p.month, p.metric): p for p in report.trend}
    return env.get_template("account_report.html.j2").render(
        report=report,
        charts=_charts(report),
        trend_months=months,
        trend_metrics=list(dict.fromkeys(p.metric for p in report.trend)),
        trend_cell=lambda month, metric: points[(month, metric)],
        breach_color=BREACH_COLOR,
    )
