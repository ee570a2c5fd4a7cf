"""`write_report`: build the SLA report and write it as HTML, terminal text, JSON or CSV files.

JSON mirrors `SlaReport` field for field (the OLA table is `olas`): instants are ISO 8601 with
their offset, days ISO dates, durations seconds, metrics their names. `report_from_json` reads it
back into an equal report.
"""

from __future__ import annotations

import json
import sys
import types
import typing
from dataclasses import fields, is_dataclass
from datetime import date, datetime, timedelta, tzinfo
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import Any, Literal

from connector.domain.accounts import Account
from connector.domain.policy import Policy
from connector.policy_versions import running_history
from connector.report.account_html import render_account_html
from connector.report.account_report import AccountReport, build_account_report
from connector.report.account_rows import Judging
from connector.report.csv_export import DEFAULT_CSV_DIR, write_csv_tables
from connector.report.html import render_html
from connector.report.ola import with_ola_table
from connector.report.pdf import render_pdf
from connector.report.report import SlaReport, build_report
from connector.report.text import render_text
from connector.report.trend import DEFAULT_TREND_MONTHS
from connector.store.repository import Store

ReportFormat = Literal["html", "text", "json", "csv", "pdf"]
STDOUT = Path("-")


DEFAULT_HTML = Path("tierdesk-report.html")
DEFAULT_PDF = Path("tierdesk-report.pdf")
_EXTENSIONS: dict[str, ReportFormat] = {
    ".html": "html",
    ".htm": "html",
    ".txt": "text",
    ".json": "json",
    ".pdf": "pdf",
}


def report_destination(fmt: ReportFormat | None, out: Path | None) -> tuple[ReportFormat, Path]:
    """The format and destination of `tierdesk report --format FMT --out OUT`.

    Without `--format` the extension of `--out` decides (else html). Without `--out`, html goes to
    `tierdesk-report.html`, csv to the directory `tierdesk-report-csv` and text and json to
    standard output. A file whose extension belongs to another format is refused (ValueError): a
    JSON report in `report.html` opens as garbage; csv needs a directory, not standard output.
    """
    by_extension = _EXTENSIONS.get(out.suffix.lower()) if out is not None and out != STDOUT else None
    chosen: ReportFormat = fmt or by_extension or "html"
    if out is None:
        return chosen, {"html": DEFAULT_HTML, "csv": DEFAULT_CSV_DIR, "pdf": DEFAULT_PDF}.get(chosen, STDOUT)
    if chosen == "csv" and out == STDOUT:
        raise ValueError("--format csv writes one file per table: give --out a directory")
    if by_extension is not None and by_extension != chosen:
        raise ValueError(
            f"--out {out} has the extension of a {by_extension} report, but --format is {chosen}"
        )
    return chosen, out


def write_report(
    store: Store,
    policy: Policy,
    out: Path,
    fmt: ReportFormat,
    start: datetime,
    end: datetime,
    now: datetime,
    trend_months: int = DEFAULT_TREND_MONTHS,
    *,
    rejudge: bool = False,
) -> SlaReport:
    """Build the report of [start, end) and write it to `out` (`-` for standard output) in `fmt`;
    csv writes one file per table into the directory `out`. Closed months are judged by the
    contract terms of the stored policy version in effect when they ended, unless `rejudge`.

    A file is replaced whole (written beside it, then renamed), so a browser or a mail job never
    reads half a report. Returns the report written.
    """
    history = running_history(store, policy, now)[0] if policy.accounts else None
    report = build_report(
        store,
        policy,
        start=start,
        end=end,
        now=now,
        trend_months=trend_months,
        history=history,
        rejudge=rejudge,
    )
    if fmt == "csv":
        write_csv_tables(report, out)
        return report
    olas = report.olas
    if fmt == "pdf":
        write_whole(out, render_pdf(with_ola_table(render_html(report), "html", olas)))
    else:
        write_whole(out, with_ola_table(render(report, fmt), fmt, olas))
    return report


def write_account_report(
    store: Store,
    policy: Policy,
    account: Account,
    out: Path,
    fmt: ReportFormat,
    *,
    month: str,
    zone: tzinfo,
    now: datetime,
    trend_months: int = DEFAULT_TREND_MONTHS,
    rejudge: bool = False,
) -> AccountReport:
    """Build the health report of `account` for `month` and write it as html, pdf or json; a
    closed month is judged by the contract terms in effect when it ended, unless `rejudge`."""
    history = running_history(store, policy, now)[0]
    judging = Judging(history=history, now=now, rejudge=rejudge)
    report = build_account_report(
        store, policy, account, month=month, zone=zone, now=now, trend_months=trend_months, judging=judging
    )
    if fmt == "pdf":
        write_whole(out, render_pdf(render_account_html(report)))
    elif fmt == "html":
        write_whole(out, render_account_html(report))
    elif fmt == "json":
        write_whole(out, json.dumps(_encode(report), indent=2, ensure_ascii=False) + "\n")
    else:
        raise ValueError(f"an account report is html, pdf or json, not {fmt}")
    return report


def write_whole(out: Path, content: str | bytes) -> None:
    """Write `content` to `out` (`-`: standard output). A file is written beside it, then renamed,
    so a browser or a mail job never reads half a report."""
    if out == STDOUT:
        if isinstance(content, bytes):
            sys.stdout.buffer.write(content)
        else:
            sys.stdout.write(content)
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(f".{out.name}.partial")
    if isinstance(content, bytes):
        partial.write_bytes(content)
    else:
        partial.write_text(content, encoding="utf-8")
    partial.replace(out)


def render(report: SlaReport, fmt: ReportFormat) -> str:
    if fmt == "html":
        return render_html(report)
    if fmt == "text":
        return render_text(report)
    if fmt == "json":
        return report_to_json(report)
    raise ValueError(f"unknown report format {fmt!r}; use html, text, json, csv or pdf")


def report_to_json(report: SlaReport) -> str:
    return json.dumps(_encode(report), indent=2, ensure_ascii=False) + "\n"


def report_from_json(text: str) -> SlaReport:
    decoded: SlaReport = _decode(SlaReport, json.loads(text))
    return decoded


def _encode(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: _encode(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, tuple | list):
        return [_encode(item) for item in value]
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime | date):  # datetime first: it is a date too
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, Decimal):  # money and contract percentages: exact, as text
        return str(value)
    return value


def _decode(kind: Any, value: Any) -> Any:
    origin = typing.get_origin(kind)
    if origin in (types.UnionType, typing.Union):
        options = [arg for arg in typing.get_args(kind) if arg is not type(None)]
        return None if value is None else _decode(options[0], value)
    if origin is tuple:
        item = typing.get_args(kind)[0]
        return tuple(_decode(item, element) for element in value)
    if isinstance(kind, type) and is_dataclass(kind):
        hints = typing.get_type_hints(kind)
        return kind(**{f.name: _decode(hints[f.name], value[f.name]) for f in fields(kind)})
    if kind is datetime:
        instant = datetime.fromisoformat(value)
        if instant.tzinfo is None:
            raise ValueError(f"report instant {value!r} has no UTC offset")
        return instant
    if kind is date:
        return date.fromisoformat(value)
    if kind is timedelta:
        return timedelta(seconds=value)
    if kind is float:
        return float(value)
    if kind is Decimal:
        return Decimal(value)
    if isinstance(kind, type) and issubclass(kind, Enum):
        return kind(value)
    return value
