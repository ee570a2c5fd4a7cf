"""Every table of the SLA report as CSV files, one per table, in a directory.

One file per table (not a zip) so a spreadsheet or `psql \\copy` opens each directly. Values are
machine-readable: instants ISO 8601 in the report's time zone with their offset, durations whole
seconds of business time, percentages numbers without `%`, metrics their names; an empty cell is
"none" (no decided clock, no goal, unlimited allowance). The figures are those of the HTML and
JSON renderings of the same report.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from connector.domain.policy import Metric
from connector.report.breakdown import HolderFigures
from connector.report.distributions import Distribution
from connector.report.html import tracked_metrics
from connector.report.report import Segment, SlaReport

DEFAULT_CSV_DIR = Path("tierdesk-report-csv")

Table = tuple[list[str], list[list[Any]]]


def _cell(value: Any, report: SlaReport) -> Any:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.astimezone(report.start.tzinfo).isoformat()
    if isinstance(value, timedelta):
        return round(value.total_seconds())
    if isinstance(value, Metric):
        return value.value
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def _metrics(report: SlaReport) -> list[Metric]:
    return list(tracked_metrics(report))  # the same columns as the HTML tables


def _segments(report: SlaReport, segments: Sequence[Segment], *, severity: bool) -> Table:
    metrics = _metrics(report)
    header = ["tier", "tier_label", *(["severity"] if severity else []), "tickets"]
    for metric in metrics:
        header += [
            f"{metric.value}_{part}" for part in ("met", "breached", "in_progress", "adherence_percent")
        ]
    header += [
        "adherence_percent",
        "goal_percent",
        "first_response_count",
        "first_response_median_s",
        "first_response_p90_s",
        "resolution_count",
        "resolution_median_s",
        "resolution_p90_s",
    ]
    rows = []
    for s in segments:
        figures = {m.metric: m for m in s.metrics}
        row: list[Any] = [s.tier, s.tier_label, *([s.severity] if severity else []), s.tickets]
        for metric in metrics:
            m = figures.get(metric)
            row += [None] * 4 if m is None else [m.met, m.breached, m.in_progress, m.adherence_percent]
        row += [
            s.adherence_percent,
            s.goal_percent,
            s.first_response.count,
            s.first_response.median,
            s.first_response.p90,
            s.resolution.count,
            s.resolution.median,
            s.resolution.p90,
        ]
        rows.append(row)
    return header, rows


def _distribution(buckets: Sequence[str], distributions: Iterable[Distribution]) -> Table:
    return ["tier", "tier_label", "bucket", "cycles"], [
        [d.tier, d.tier_label, bucket, count]
        for d in distributions
        for bucket, count in zip(buckets, d.counts, strict=True)
    ]


def _holders(rows: Sequence[HolderFigures], what: str) -> Table:
    header = ["connection", what, "name", "metric", "met", "breached", "adherence_percent"]
    out: list[list[Any]] = []
    for r in rows:
        out += [
            [r.connection, r.holder_id, r.holder_name, m.metric, m.met, m.breached, m.adherence_percent]
            for m in r.metrics
        ]
        out.append([r.connection, r.holder_id, r.holder_name, "all", r.met, r.breached, r.adherence_percent])
    return header, out


def report_tables(report: SlaReport) -> dict[str, Table]:
    """Every table of the report by file stem, in the order the HTML shows them."""
    return {
        "by_tier": _segments(report, (*report.by_tier, report.overall), severity=False),
        "by_tier_severity": _segments(report, report.by_tier_severity, severity=True),
        "monthly_trend": (
            ["month", "metric", "met", "breached", "adherence_percent"],
            [[p.month, p.metric or "all", p.met, p.breached, p.adherence_percent] for p in report.trend],
        ),
        "by_group": _holders(report.by_group, "group_id"),
        "by_assignee": _holders(report.by_assignee, "assignee_id"),
        "breaches": (
            [
                "ticket",
                "url",
                "organization",
                "tier",
                "severity",
                "metric",
                "cycle",
                "started_at",
                "breached_at",
                "target_s",
                "elapsed_s",
                "overrun_s",
                "stopped",
                "policy_version",
            ],
            [
                [
                    b.ticket,
                    b.url,
                    b.organization,
                    b.tier,
                    b.severity,
                    b.metric,
                    b.cycle,
                    b.started_at,
                    b.breached_at,
                    b.target,
                    b.elapsed,
                    b.overrun,
                    b.stopped,
                    b.policy_version,
                ]
                for b in report.breaches
            ],
        ),
        "breaches_per_day": (
            ["day", "breaches"],
            [[d.day.isoformat(), d.breaches] for d in report.breaches_per_day],
        ),
        "first_response_distribution": _distribution(
            report.first_response_buckets, report.first_response_distribution
        ),
        "resolution_distribution": _distribution(report.resolution_buckets, report.resolution_distribution),
        "service_credits": (
            [
                "month",
                "organization_id",
                "organization",
                "tier",
                "breaches",
                "percent_per_breach",
                "cap_percent",
                "credit_percent",
                "capped",
                "mode",
                "band_below_percent",
                "adherence_percent",
                "amount",
                "currency",
            ],
            [
                [
                    c.month,
                    c.organization_id,
                    c.organization,
                    c.tier,
                    c.breaches,
                    c.percent_per_breach,
                    c.cap_percent,
                    c.credit_percent,
                    c.capped,
                    c.mode,
                    c.band_below_percent,
                    c.adherence_percent,
                    c.amount,
                    c.currency,
                ]
                for c in report.service_credits
            ],
        ),
        "allowance": (
            [
                "month",
                "organization_id",
                "organization",
                "tier",
                "tickets",
                "allowance",
                "over_allowance",
                "partial_month",
            ],
            [
                [
                    a.month,
                    a.organization_id,
                    a.organization,
                    a.tier,
                    a.tickets,
                    a.allowance,
                    a.over_allowance,
                    a.partial_month,
                ]
                for a in report.allowance
            ],
        ),
        "policy_versions": (
            ["version", "clocks", "tickets", "current"],
            [[v.version, v.clocks, v.tickets, v.current] for v in report.versions],
        ),
    }


def table_csv(report: SlaReport, table: Table) -> str:
    header, rows = table
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows([_cell(value, report) for value in row] for row in rows)
    return out.getvalue()


def write_csv_tables(report: SlaReport, directory: Path) -> list[Path]:
    """Write `<table>.csv` for every table into `directory` (created when missing); each file is
    replaced whole. Returns the files written."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for stem, table in report_tables(report).items():
        target = directory / f"{stem}.csv"
        partial = directory / f".{stem}.csv.partial"
        partial.write_text(table_csv(report, table), encoding="utf-8")
        partial.replace(target)
        written.append(target)
    return written
