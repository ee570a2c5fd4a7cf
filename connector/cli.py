"""The `tierdesk` command (also `python -m connector`)."""

from __future__ import annotations

import contextlib
import json
import os
import sys
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import structlog
import typer
from rich.console import Console

from connector import errors, logs
from connector.registry import PLUGINS

if TYPE_CHECKING:
    from connector.bootstrap import App
    from connector.store.repository import Store

app = typer.Typer(
    name="tierdesk",
    help="Tiered-support SLA engine for Zendesk and Jira Service Management.",
    epilog="Exit codes:\n\n" + errors.exit_code_table().replace("\n", "\n\n"),
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,  # plain help: flags without `<bool>`, choices as `<html|text|json>`
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database maintenance.", no_args_is_help=True)
app.add_typer(db_app, name="db")

console = Console()
err = Console(stderr=True)

ReportFormat = Literal["html", "text", "json"]
HelpdeskKind = StrEnum("HelpdeskKind", {kind: kind for kind in PLUGINS})  # type: ignore[misc]

MappingsOpt = Annotated[
    Path,
    typer.Option("--mappings", envvar="TIERDESK_MAPPINGS", help="Directory of the admin YAML mappings."),
]
DbOpt = Annotated[
    str | None,
    typer.Option("--db", envvar="TIERDESK_DB", help="Store URL (default sqlite:///tierdesk.db)."),
]
NowOpt = Annotated[
    str | None,
    typer.Option("--now", help="Evaluate as of this ISO 8601 instant (replays, tests, the demo)."),
]


def parse_now(value: str | None, option: str = "--now") -> datetime:
    """The instant `value` (ISO 8601 with an offset) given to `option`; now when None."""
    if value is None:
        return datetime.now(UTC)
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise typer.BadParameter(
            f"{option} {value!r} is not ISO 8601 (e.g. 2026-11-25T14:30:00Z)", param_hint=f"'{option}'"
        ) from None
    if parsed.tzinfo is None:
        raise typer.BadParameter(
            f"{option} needs a UTC offset or Z (e.g. 2026-11-25T14:30:00+01:00)", param_hint=f"'{option}'"
        )
    return parsed


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            print(f"tierdesk {version('tierdesk')}")
        except PackageNotFoundError:
            print("tierdesk (not installed as a package)")
        raise typer.Exit()


LogLevel = Literal["debug", "info", "warning", "error"]


@app.callback()
def options(
    log_level: Annotated[
        LogLevel | None,
        typer.Option(
            "--log-level",
            envvar=logs.LEVEL_ENV,
            case_sensitive=False,
            help="Least severe log events shown. Default: info; warning for `sync` (its summary line "
            "says the rest; info adds progress events and the cycle line).",
        ),
    ] = None,
    show_version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
    debug: Annotated[
        bool,
        typer.Option(
            "--debug",
            envvar="TIERDESK_DEBUG",
            help="Print tracebacks (redacted) with errors; JSON logs carry them in an `exception` field.",
        ),
    ] = False,
) -> None:
    """Tiered-support SLA engine for Zendesk and Jira Service Management."""
    if log_level is not None:
        logs.set_default_level(log_level)
    errors.set_debug(debug)


def _resolve_or_exit(store, policy, reference: str, connection: str | None) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    from connector.report.ticket_ref import TicketNotResolved, resolve_ticket

    try:
        return resolve_ticket(store, [c.name for c in policy.connections], reference, connection)
    except TicketNotResolved as exc:
        store.close()
        err.print(str(exc), markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None


def _load_policy_or_exit(directory: Path):  # type: ignore[no-untyped-def]
    """The policy; invalid mappings raise `MappingsInvalid` (the handler prints one line each)."""
    from connector.mappings import load_policy

    return load_policy(directory)


def open_store(db: str | None, *, read_only: bool = False) -> Store:
    """The store at `db`; a failure to open it raises the `TierdeskError` that says what to fix.
    `read_only` commands refuse a SQLite file that does not exist instead of creating an empty one."""
    from sqlalchemy.exc import SQLAlchemyError

    from connector.store.engine import is_memory_sqlite, resolve_url
    from connector.store.repository import Store

    try:
        url = resolve_url(db)
        if read_only and url.get_backend_name() == "sqlite" and not is_memory_sqlite(url):
            path = Path(url.database or "")
            if not path.is_file():
                raise errors.InvalidInput(
                    f"no tierdesk database at {path}", "run `tierdesk sync` first or pass --db"
                )
        return Store.open(db)
    except (SQLAlchemyError, OSError) as exc:
        translated = errors.store_error(db, exc)
        if translated is None:
            raise
        raise translated from exc


@app.command()
def check(
    directory: Annotated[Path | None, typer.Argument(help="Mappings directory.")] = None,
    mappings: MappingsOpt = Path("mappings"),
) -> None:
    """Validate the mappings: exit 0, or exit 1 with one `path:line:col: message` per error."""
    from connector.mappings import check as check_mappings

    target = directory or mappings
    errors = check_mappings(target)
    for error in errors:
        print(str(error))
    if errors:
        raise typer.Exit(1)
    console.print(f"[green]ok[/green] {target}: mappings valid", highlight=False)


@app.command()
def doctor(
    mappings: MappingsOpt = Path("mappings"),
    connection: Annotated[
        str | None, typer.Option("--connection", help="Check only this connection.")
    ] = None,
) -> None:
    """Reach every helpdesk and check credentials, permissions and every reference in the
    mappings: one `connection: problem -> fix` line per finding; exit 0 ok, 1 problems found,
    3 a helpdesk unreachable or refusing the credentials."""
    from connector.doctor import exit_code, render, run_doctor
    from connector.secrets import EnvSecrets

    logs.configure(level="WARNING")  # the findings are the output; retries are not news here
    policy = _load_policy_or_exit(mappings)
    if connection is not None and connection not in {c.name for c in policy.connections}:
        known = ", ".join(c.name for c in policy.connections) or "none"
        err.print(f"unknown connection '{connection}' (connections: {known})", markup=False, highlight=False)
        raise typer.Exit(1)
    findings, checked = run_doctor(policy, EnvSecrets(), only=connection)
    for line in render(findings, checked):
        print(line)
    raise typer.Exit(exit_code(findings))


@app.command()
def schema() -> None:
    """Print the JSON Schema of the mappings (for editor autocompletion)."""
    from connector.mappings import json_schema

    print(json.dumps(json_schema(), indent=2))


@db_app.command("upgrade")
def db_upgrade(db: DbOpt = None) -> None:
    """Apply schema migrations."""
    store = open_store(db)
    try:
        store.upgrade()
        console.print(f"database at revision {store.schema_revision()}")
    finally:
        store.close()


def _build(mappings: Path, db: str | None, now: datetime | None = None) -> App:
    """The app; invalid mappings raise `MappingsInvalid`, the rest a `TierdeskError` with the fix."""
    from sqlalchemy.exc import SQLAlchemyError

    from connector.bootstrap import build_app
    from connector.clock import FixedClock
    from connector.retry import MissingCredentials

    try:
        return build_app(mappings, db, clock=FixedClock(now) if now is not None else None)
    except MissingCredentials as exc:
        raise errors.InvalidInput(str(exc), "export the variables (or NAME_FILE) and run again") from exc
    except (SQLAlchemyError, OSError) as exc:
        translated = errors.store_error(db, exc)
        if translated is None:
            raise
        raise translated from exc


@app.command()
def worker(
    mappings: MappingsOpt = Path("mappings"),
    db: DbOpt = None,
    metrics_port: Annotated[
        int | None,
        typer.Option(
            "--metrics-port", envvar="TIERDESK_METRICS_PORT", help="Serve Prometheus /metrics here."
        ),
    ] = None,
    webhook_port: Annotated[
        int | None,
        typer.Option(
            "--webhook-port",
            envvar="TIERDESK_WEBHOOK_PORT",
            help="Serve signed helpdesk webhooks here (connections with webhook_secret_env).",
        ),
    ] = None,
) -> None:
    """Run the scheduled background sync until SIGTERM. Exits 0, or 5 when it stopped with
    actions still queued (they are sent by the next run)."""
    from connector.health import serve_status
    from connector.metrics import WorkerMetrics
    from connector.scheduler import Worker

    logs.configure()
    built = _build(mappings, db)
    metrics = WorkerMetrics()
    scheduled = Worker(built, metrics=metrics)
    if metrics_port is not None:
        serve_status(scheduled.health, metrics.registry, metrics_port)  # /metrics and /healthz
    if webhook_port is not None:
        from connector.retry import MissingCredentials
        from connector.webhooks import serve_webhooks

        try:
            serve_webhooks(
                built.policies.policy.connections, scheduled.nudges, built.clock, metrics, webhook_port
            )
        except MissingCredentials as exc:
            built.close()
            raise errors.InvalidInput(
                str(exc), "export it (or NAME_FILE) with the secret the helpdesk signs webhooks with"
            ) from exc
    try:
        scheduled.run_forever()
        queued = built.store.queued_by_kind()
    finally:
        built.close()
    if queued:
        structlog.get_logger("tierdesk.worker").warning("stopped; left queued for the next run", **queued)
        raise typer.Exit(errors.STOPPED)


ONCE_BUDGET = "15m"  # `sync --once` ends by then even during an outage; the rest stays queued


def parse_duration(value: str) -> float:
    """Seconds of `90s`, `5m`, `1h` or a bare number of seconds."""
    text = value.strip().lower()
    units = {"s": 1.0, "m": 60.0, "h": 3600.0}
    scale = units.get(text[-1:])
    number = text[:-1] if scale is not None else text
    try:
        seconds = float(number) * (scale or 1.0)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a duration (e.g. 90s, 5m, 1h)") from None
    if seconds <= 0:
        raise typer.BadParameter(f"{value!r}: the budget must be more than zero")
    return seconds


def _helpdesk_failure(built: App, exc: BaseException) -> errors.TierdeskError:
    from connector.retry import HelpdeskError

    assert isinstance(exc, HelpdeskError)
    configs = {c.name: c for c in built.policies.policy.connections}
    config = configs.get(exc.connection or "") or next(iter(configs.values()))
    return errors.helpdesk_error(config, exc)


@app.command()
def health(
    url: Annotated[
        str | None,
        typer.Option(
            "--url",
            help="Health endpoint to ask (default http://127.0.0.1:$TIERDESK_METRICS_PORT/healthz, port 9464).",
        ),
    ] = None,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the answer.")] = 5.0,
) -> None:
    """Ask a running worker whether it is healthy: exit 0 when /healthz answers 200, else 1 with the
    reason (the Docker HEALTHCHECK; needs no curl)."""
    import urllib.error
    import urllib.request

    from connector.health import DEFAULT_PORT

    target = url or f"http://127.0.0.1:{os.environ.get('TIERDESK_METRICS_PORT') or DEFAULT_PORT}/healthz"
    try:
        with urllib.request.urlopen(target, timeout=timeout) as response:  # noqa: S310 - an operator-given URL
            body = json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as exc:
        try:
            problems = json.loads(exc.read() or b"{}").get("problems") or []
        except ValueError:
            problems = []
        err.print(
            f"unhealthy ({exc.code}): {'; '.join(problems) or exc.reason}",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
        raise typer.Exit(1) from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        err.print(
            f"unhealthy: no answer from {target} ({reason})", markup=False, highlight=False, soft_wrap=True
        )
        raise typer.Exit(1) from None
    console.print(f"healthy: outbox backlog {body.get('outbox_backlog')}", markup=False, highlight=False)


@app.command()
def sync(
    once: Annotated[
        bool, typer.Option("--once", help="Run one cycle and exit (what sync does; `worker` keeps running).")
    ] = False,
    mappings: MappingsOpt = Path("mappings"),
    db: DbOpt = None,
    now: NowOpt = None,
    budget: Annotated[
        str,
        typer.Option(
            "--budget",
            metavar="DURATION",
            help="Stop pulling and pushing after this long (90s, 5m, 1h); exit 5 and print what "
            "was left queued.",
        ),
    ] = ONCE_BUDGET,
) -> None:
    """Run one sync cycle: pull, evaluate, push; prints a summary. With `--now` the cycle evaluates
    as of that instant (replays, tests). Exits 2 when any action failed, 3 when a helpdesk cannot
    be reached or refuses the credentials, 5 when the budget (default 15m) ran out first."""
    from connector.progress import cycle_progress
    from connector.retry import HelpdeskError
    from connector.sync_summary import summary_line

    seconds = parse_duration(budget)
    logs.configure(level=os.environ.get("TIERDESK_LOG_LEVEL", "WARNING"))  # the summary says the rest
    built = _build(mappings, db, parse_now(now) if now is not None else None)
    timer = built.stop_after(seconds, f"budget {budget} spent")
    try:
        with cycle_progress(err) as progress:
            try:
                report = built.service.run_cycle(progress)
            except HelpdeskError as exc:
                raise _helpdesk_failure(built, exc) from exc
        console.print(summary_line(report), highlight=False, markup=False, soft_wrap=True)
        if built.stop.stop_requested:
            queued = built.store.queued_by_kind()
            left = ", ".join(f"{count} {kind}" for kind, count in sorted(queued.items())) or "nothing"
            raise errors.Stopped(
                f"stopped: the --budget of {budget} was spent; left queued: {left}",
                "run `tierdesk sync --once` again (or let the worker run) to finish",
            )
        if report.failed:
            raise typer.Exit(errors.ACTIONS_FAILED)
    finally:
        timer.cancel()
        built.close()


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
            help="File to write (.html, .txt or .json), or - for standard output. Default: "
            "tierdesk-report.html for html, standard output for text and json.",
        ),
    ] = None,
    fmt: Annotated[
        ReportFormat | None,
        typer.Option("--format", help="Default: from the --out extension, else html."),
    ] = None,
    start: Annotated[
        str | None, typer.Option(help="Period start (ISO 8601); default 30 days before --now.")
    ] = None,
    end: Annotated[str | None, typer.Option(help="Period end (ISO 8601, exclusive); default --now.")] = None,
) -> None:
    """SLA report: adherence, time to first response / resolution by tier, breaches, service
    credits, allowance use, from the clocks the engine stored."""
    from datetime import timedelta

    from connector.report.output import report_destination, write_report

    try:
        chosen, target = report_destination(fmt, out)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="'--out'") from None
    policy = _load_policy_or_exit(mappings)
    instant = parse_now(now)
    period_end = parse_now(end, "--end") if end else instant
    period_start = parse_now(start, "--start") if start else period_end - timedelta(days=30)
    if period_start >= period_end:
        raise typer.BadParameter(
            f"--start {period_start.isoformat()} is not before the period end {period_end.isoformat()}",
            param_hint="'--start'",
        )
    store = open_store(db, read_only=True)
    try:
        write_report(store, policy, target, chosen, period_start, period_end, instant)
    finally:
        store.close()
    if str(target) != "-":
        console.print(f"report written to {target}", highlight=False, markup=False, soft_wrap=True)


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


@app.command()
def emulator(
    kind: Annotated[HelpdeskKind, typer.Argument(help="The helpdesk to emulate.")],
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1.")] = 8081,
    clock: Annotated[
        Literal["real", "simulated"], typer.Option(help="Real time, or a clock tests move.")
    ] = "real",
    seed: Annotated[
        Literal["demo", "empty"], typer.Option(help="Seed the demo data, or start empty.")
    ] = "empty",
    credentials: Annotated[str | None, typer.Option(help="EMAIL:TOKEN accepted; others get 401.")] = None,
) -> None:
    """Run a helpdesk emulator (the vendor API plus the /_emulator/ control plane)."""
    from connector.emulation import EmulatorServer
    from connector.registry import plugin

    module = plugin(kind.value)
    emulator_app = module.build_emulator(clock_mode=clock, seed=seed, credentials=credentials)
    server = EmulatorServer(emulator_app, port=port)
    console.print(f"{kind.value} emulator on {server.url} (clock {clock}, seed {seed}); Ctrl-C stops it")
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()


@app.command()
def demo(
    hours: Annotated[float, typer.Option(help="Simulated hours to play.")] = 9.0,
    speed: Annotated[float, typer.Option(help="Simulated seconds per real second.")] = 270.0,
    mappings: MappingsOpt = Path("mappings"),
    out: Annotated[Path, typer.Option(help="Where the demo keeps its database and mappings.")] = Path(
        "out/demo"
    ),
) -> None:
    """A simulated business day: both emulators, the real worker, a live view, a summary."""
    from connector.demo.run import run_demo

    if not mappings.is_dir():
        raise errors.InvalidInput(
            f"no mappings directory at {mappings}", "run from the repository root or pass --mappings DIR"
        )
    logs.configure(level="WARNING")
    raise typer.Exit(run_demo(console, out=out, mappings=mappings, hours=hours, speed=speed))


def main() -> None:
    """The `tierdesk` entry point: the one top-level handler (`connector.toplevel`) around the app."""
    from connector.toplevel import run

    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(run(typer.main.get_command(app)))


if __name__ == "__main__":
    main()
