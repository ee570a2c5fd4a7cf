"""Commands that read the store: `plan`, `explain`, `report`, `forecast`."""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Literal, TypeVar
from zoneinfo import ZoneInfo

import typer

from connector import errors
from connector.cli.app import (
    DbOpt,
    MappingsOpt,
    NowOpt,
    ReportFormat,
    _load_policy_or_exit,
    _resolve_or_exit,
    app,
    console,
    err,
    open_store,
    parse_now,
)
from connector.domain.policy import Policy
from connector.report.pdf import PdfUnavailable

_T = TypeVar("_T")


@app.command()
def plan(
    mappings: MappingsOpt = Path("mappings"),
    db: DbOpt = None,
    now: NowOpt = None,
    ticket: Annotated[
        str | None, typer.Option(help="Only this ticket: Zendesk id, Jira key (SUP-5), or connection:id.")
    ] = None,
    connection: Annotated[
        str | None, typer.Option(help="The connection of --ticket, when ambiguous.")
    ] = None,
    detailed_exitcode: Annotated[
        bool,
        typer.Option(
            "--detailed-exitcode", help="Exit 0 when nothing would change, 2 when changes are pending."
        ),
    ] = False,
) -> None:
    """Dry run: what the current mappings would change on which tickets, and why. Pushes nothing."""
    from connector.report.explain import render_plan

    policy = _load_policy_or_exit(mappings)
    instant = parse_now(now)
    store = open_store(db, read_only=True)
    only = _resolve_or_exit(store, policy, ticket, connection) if ticket is not None else None
    try:
        changed = render_plan(console, store, policy, instant, only)
    finally:
        store.close()
    if detailed_exitcode and changed:
        raise typer.Exit(errors.ACTIONS_FAILED)


@app.command()
def explain(
    ticket: Annotated[
        str, typer.Argument(help="Zendesk ticket id, Jira issue key (SUP-5) or id, or connection:id.")
    ],
    mappings: MappingsOpt = Path("mappings"),
    db: DbOpt = None,
    now: NowOpt = None,
    connection: Annotated[
        str | None, typer.Option(help="The ticket's connection, when the id is ambiguous.")
    ] = None,
) -> None:
    """Why this tier, this severity, these due times: rules matched, clocks, thresholds, actions."""
    from connector.report.explain import render_explain

    policy = _load_policy_or_exit(mappings)
    instant = parse_now(now)
    store = open_store(db, read_only=True)
    found = _resolve_or_exit(store, policy, ticket, connection)
    try:
        if not render_explain(console, store, policy, instant, found):
            err.print(f"ticket {ticket!r} is no longer in the store", markup=False, highlight=False)
            raise typer.Exit(1)
    finally:
        store.close()


@app.command()
def report(
    mappings: MappingsOpt = Path("mappings"),
    db: DbOpt = None,
    now: NowOpt = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            help="File to write (.html, .txt or .json), a directory for csv, or - for standard output. "
            "Default: tierdesk-report.html for html, tierdesk-report-csv/ for csv, standard output for "
            "text and json.",
        ),
    ] = None,
    fmt: Annotated[
        ReportFormat | None,
        typer.Option(
            "--format", help="Default: from the --out extension, else html. csv: one file per table."
        ),
    ] = None,
    start: Annotated[
        str | None,
        typer.Option(
            help="Period start (ISO 8601; a date or time without offset is in --tz); default 30 days before --now."
        ),
    ] = None,
    end: Annotated[
        str | None,
        typer.Option(help="Period end (ISO 8601, exclusive; without offset in --tz); default --now."),
    ] = None,
    tz: Annotated[
        str, typer.Option("--tz", help="IANA time zone of every time shown and of day and month boundaries.")
    ] = "UTC",
    trend_months: Annotated[
        int,
        typer.Option(
            "--trend-months", min=1, max=36, help="Months in the monthly trend, up to the period's last."
        ),
    ] = 6,
    account: Annotated[
        str | None,
        typer.Option(
            "--account",
            help="The customer-safe monthly health report of this account (id or name in accounts.yaml); "
            "html, pdf or json.",
        ),
    ] = None,
    month: Annotated[
        str | None,
        typer.Option(
            "--month", help="The month of --account, YYYY-MM in --tz; default the last complete month."
        ),
    ] = None,
    rejudge: Annotated[
        bool,
        typer.Option(
            "--rejudge",
            help="Judge closed months by the contract terms in these mappings (default: by the terms "
            "in effect when each month ended).",
        ),
    ] = False,
) -> None:
    """SLA report: adherence against the goals, time to first response / resolution by tier, a
    monthly trend, adherence by group and assignee, breaches, service credits, allowance use, from
    the clocks the engine stored. With --account: one account's monthly health report."""
    from connector.report.output import report_destination, write_report
    from connector.report.period import local_instant, report_zone

    if month is not None and account is None:
        raise typer.BadParameter(
            "--month is the month of an --account report; add --account", param_hint="'--month'"
        )
    zone = _option_value(report_zone, tz, "--tz")
    policy = _load_policy_or_exit(mappings)
    instant = parse_now(now)
    if account is not None:
        _account_report(policy, db, account, month, zone, instant, fmt, out, trend_months, rejudge)
        return
    try:
        chosen, target = report_destination(fmt, out)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="'--out'") from None
    period_end = (
        _option_value(lambda v: local_instant(v, zone), end, "--end") if end else instant.astimezone(zone)
    )
    period_start = (
        _option_value(lambda v: local_instant(v, zone), start, "--start")
        if start
        else period_end - timedelta(days=30)
    )
    if period_start >= period_end:
        raise typer.BadParameter(
            f"--start {period_start.isoformat()} is not before the period end {period_end.isoformat()}",
            param_hint="'--start'",
        )
    store = open_store(db, read_only=True)
    try:
        write_report(
            store, policy, target, chosen, period_start, period_end, instant, trend_months, rejudge=rejudge
        )
    finally:
        store.close()
    if str(target) != "-":
        console.print(f"report written to {target}", highlight=False, markup=False, soft_wrap=True)


def _account_report(
    policy: Policy,
    db: str | None,
    wanted: str,
    month: str | None,
    zone: ZoneInfo,
    instant: datetime,
    fmt: ReportFormat | None,
    out: Path | None,
    trend_months: int,
    rejudge: bool,
) -> None:
    from connector.report.account_report import find_account
    from connector.report.output import report_destination, write_account_report
    from connector.report.period import month_period
    from connector.report.trend import month_start

    account = find_account(policy, wanted)
    if account is None:
        known = ", ".join(sorted(policy.accounts)) or "none (there is no accounts.yaml)"
        raise errors.InvalidInput(f"no account {wanted!r} in the mappings", f"use one of: {known}")
    if month is None:
        # the last complete month in the report's zone
        month = (month_start(instant, zone) - timedelta(days=1)).strftime("%Y-%m")
    _option_value(lambda v: month_period(v, zone), month, "--month")
    default = Path(
        f"tierdesk-{account.id}-{month}.{'pdf' if fmt == 'pdf' else 'json' if fmt == 'json' else 'html'}"
    )
    try:
        chosen, target = report_destination(fmt, out or default)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="'--out'") from None
    if chosen not in ("html", "pdf", "json"):
        raise typer.BadParameter("an --account report is html, pdf or json", param_hint="'--format'")
    store = open_store(db, read_only=True)
    try:
        write_account_report(
            store,
            policy,
            account,
            target,
            chosen,
            month=month,
            zone=zone,
            now=instant,
            trend_months=trend_months,
            rejudge=rejudge,
        )
    except PdfUnavailable as exc:
        raise errors.InvalidInput(str(exc), "or write --format html and print it from a browser") from None
    finally:
        store.close()
    if str(target) != "-":
        console.print(f"report written to {target}", highlight=False, markup=False, soft_wrap=True)


def _option_value(parse: Callable[[str], _T], value: str, option: str) -> _T:
    """`parse(value)`; its ValueError becomes the usage error of `option` (one line, exit 2)."""
    try:
        return parse(value)
    except ValueError as exc:
        raise typer.BadParameter(f"{option} {exc}", param_hint=f"'{option}'") from None


@app.command()
def forecast(
    mappings: MappingsOpt = Path("mappings"),
    db: DbOpt = None,
    now: NowOpt = None,
    weeks: Annotated[int, typer.Option("--weeks", min=1, max=52, help="Weeks to forecast.")] = 4,
    staffing: Annotated[
        Path | None,
        typer.Option(
            "--staffing", help="YAML of the agents on duty per tier and window, to show shortfalls."
        ),
    ] = None,
    fmt: Annotated[
        Literal["text", "json", "html", "csv"], typer.Option("--format", help="Output format.")
    ] = "text",
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="File to write; default standard output.")
    ] = None,
) -> None:
    """Capacity forecast: ticket arrivals per tier and severity by week and hour of the week, the
    agents each tier calendar window needs to meet the first-response targets (Erlang C), and the
    shortfall against --staffing."""
    from connector.forecast.capacity import build_capacity, read_arrivals
    from connector.forecast.output import render
    from connector.forecast.staffing_file import read_staffing

    policy = _load_policy_or_exit(mappings)
    instant = parse_now(now)
    stated = read_staffing(staffing, policy.tiers) if staffing is not None else None
    store = open_store(db, read_only=True)
    try:
        arrivals = read_arrivals(store)
    finally:
        store.close()
    text = render(build_capacity(arrivals, policy, now=instant, weeks=weeks, staffing=stated), fmt)
    if out is None or str(out) == "-":
        sys.stdout.write(text)
        return
    try:
        out.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise errors.InvalidInput(f"cannot write {out} ({exc.strerror})", "check the --out path") from None
    console.print(f"forecast written to {out}", highlight=False, markup=False, soft_wrap=True)
