"""The SLA report on the terminal (`tierdesk report --format text`): rich tables, plain text out."""

from __future__ import annotations

import io

from rich.console import Console
from rich.table import Table

from connector.domain.policy import Metric
from connector.report.breakdown import HolderFigures
from connector.report.formatting import METRIC_LABELS, credit_terms, duration, local_time, money, percent
from connector.report.html import holder_cell, metric_cells, tracked_metrics, trend_table
from connector.report.report import Segment, SlaReport

WIDTH = 140


def _segment_table(title: str, segments: tuple[Segment, ...], report: SlaReport, *, severity: bool) -> Table:
    metrics = tracked_metrics(report)
    table = Table(title=title, title_justify="left")
    table.add_column("tier")
    if severity:
        table.add_column("severity")
    table.add_column("tickets", justify="right")
    for metric in metrics:
        table.add_column(f"{METRIC_LABELS[metric].lower()}\nmet/breached", justify="right")
    for column in ("all metrics", "first response\nmedian / p90", "resolution\nmedian / p90"):
        table.add_column(column, justify="right")
    for s in segments:
        cells = [
            "—"
            if cell is None
            else f"{percent(cell.adherence_percent)} {cell.met}/{cell.breached}"
            + (f" +{cell.exempt} exempt" if cell.exempt else "")
            for cell in metric_cells(s, metrics)
        ]
        table.add_row(
            s.tier_label,
            *([s.severity or "all"] if severity else []),
            str(s.tickets),
            *cells,
            percent(s.adherence_percent),
            f"{duration(s.first_response.median)} / {duration(s.first_response.p90)}",
            f"{duration(s.resolution.median)} / {duration(s.resolution.p90)}",
        )
    return table


def _cycles(met: int, breached: int, adherence: float | None) -> str:
    return f"{percent(adherence)} {met}/{breached}"


def _trend_table(report: SlaReport) -> Table:
    months, metrics, point = trend_table(report.trend)
    table = Table(title="monthly trend (clocks by the month they started)", title_justify="left")
    table.add_column("month")
    for metric in metrics:
        label = "all metrics" if metric is None else METRIC_LABELS[Metric(metric)].lower()
        table.add_column(f"{label}\nmet/breached", justify="right")
    for month in months:
        cells = [point[(month, m)] for m in metrics]
        table.add_row(month, *(_cycles(p.met, p.breached, p.adherence_percent) for p in cells))
    return table


def _holder_label(row: HolderFigures) -> str:
    if row.holder_id is None:
        return "(none recorded)"
    return row.holder_id if row.holder_name is None else f"{row.holder_name} ({row.holder_id})"


def _holder_table(title: str, what: str, rows: tuple[HolderFigures, ...], report: SlaReport) -> Table:
    metrics = tracked_metrics(report)
    table = Table(title=title, title_justify="left")
    table.add_column("connection")
    table.add_column(what)
    for metric in metrics:
        table.add_column(f"{METRIC_LABELS[metric].lower()}\nmet/breached", justify="right")
    table.add_column("all metrics", justify="right")
    table.add_column("open", justify="right")
    for row in rows:
        cells = [
            "—" if cell is None else _cycles(cell.met, cell.breached, cell.adherence_percent)
            for cell in (holder_cell(row, metric) for metric in metrics)
        ]
        table.add_row(
            row.connection,
            _holder_label(row),
            *cells,
            _cycles(row.met, row.breached, row.adherence_percent),
            str(row.in_progress),
        )
    return table


def render_text(report: SlaReport) -> str:
    zone = report.start.tzinfo
    out = io.StringIO()
    console = Console(file=out, width=WIDTH, color_system=None, force_terminal=False, highlight=False)
    console.print(
        f"SLA report {local_time(report.start, zone)} – {local_time(report.end, zone)} ({report.time_zone}, "
        f"end excluded); generated {local_time(report.generated_at, zone)}; policy version {report.policy_version}"
    )
    versions = ", ".join(
        f"{v.version} ({v.clocks} clocks{', current' if v.current else ''})" for v in report.versions
    )
    console.print(f"clocks computed by policy version(s): {versions or 'none in this period'}")
    console.print(
        f"tickets {report.overall.tickets}, clocks met {percent(report.overall.adherence_percent)}, "
        f"breaches {len(report.breaches)}, unmatched customers {report.unmatched_tickets}, "
        f"not evaluated yet {report.unevaluated_tickets}"
    )
    console.print(_segment_table("by tier", (*report.by_tier, report.overall), report, severity=False))
    console.print(_segment_table("by tier and severity", report.by_tier_severity, report, severity=True))
    console.print(_trend_table(report))
    console.print(
        _holder_table(
            "by group (holding the ticket when each cycle was decided)", "group", report.by_group, report
        )
    )
    console.print(
        _holder_table("by assignee (when each cycle was decided)", "assignee", report.by_assignee, report)
    )

    breaches = Table(title=f"breaches ({len(report.breaches)})", title_justify="left")
    for column in ("breached", "ticket", "organization", "tier", "severity", "metric"):
        breaches.add_column(column)
    for column in ("target", "elapsed", "over by"):
        breaches.add_column(column, justify="right")
    for b in report.breaches:
        breaches.add_row(
            local_time(b.breached_at, zone),
            b.ticket,
            b.organization or "—",
            b.tier,
            b.severity,
            METRIC_LABELS[b.metric].lower() + (f" #{b.cycle + 1}" if b.cycle else ""),
            duration(b.target),
            duration(b.elapsed),
            duration(b.overrun) + ("" if b.stopped else " (running)"),
        )
    console.print(breaches)

    credits = Table(title="service credits (per account)", title_justify="left")
    columns = ("month", "account", "tier", "breaches", "adherence", "terms", "cap", "credit", "amount")
    for column in columns:
        credits.add_column(
            column, justify="left" if column in ("month", "account", "tier", "terms") else "right"
        )
    for c in report.service_credits:
        terms = credit_terms(c.percent_per_breach, c.band_below_percent, c.band_percent)
        credits.add_row(
            c.month,
            c.organization,
            c.tier,
            str(c.breaches),
            "-" if c.adherence_percent is None else percent(c.adherence_percent),
            terms,
            percent(c.cap_percent),
            percent(c.credit_percent) + (" (capped)" if c.capped else ""),
            "-" if c.amount is None or c.currency is None else money(c.amount, c.currency),
        )
    console.print(credits)

    allowance = Table(title="monthly allowance (per account)", title_justify="left")
    for column in ("month", "account", "tier", "tickets", "allowance", "hours", ""):
        allowance.add_column(
            column, justify="right" if column in ("tickets", "allowance", "hours") else "left"
        )
    for a in report.allowance:
        flags = []
        if a.over_allowance and a.allowance is not None and a.tickets > a.allowance:
            flags.append(f"OVER by {a.tickets - a.allowance}")
        elif a.over_allowance:
            flags.append("OVER")
        if a.over_ceiling:
            flags.append(f"over the ceiling ({a.ceiling})" if a.ceiling is not None else "over the ceiling")
        if a.chronic_overuse:
            flags.append("CHRONIC overuse")
        if a.tickets_only:
            flags.append("tickets only (no time tracking)")
        hours = "-" if a.hours is None else f"{a.hours:.1f}"
        if a.allowance_hours is not None:
            hours += f" / {a.allowance_hours:g}"
        allowance.add_row(
            a.month + (" (part)" if a.partial_month else ""),
            a.organization,
            a.tier,
            str(a.tickets),
            "unlimited" if a.allowance is None else str(a.allowance),
            hours,
            "; ".join(flags),
        )
    console.print(allowance)
    return out.getvalue()
