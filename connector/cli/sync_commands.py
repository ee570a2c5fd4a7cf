"""Commands that run the sync: `worker`, `sync`, and `health` (asks a running worker)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import structlog
import typer

from connector import errors, logs
from connector.cli.app import (
    DbOpt,
    MappingsOpt,
    NowOpt,
    _build,
    _helpdesk_failure,
    app,
    console,
    err,
    parse_duration,
    parse_now,
)
from connector.collector import settle_for_sync

if TYPE_CHECKING:
    from connector.bootstrap import App
    from connector.ports import SeenDeliveries

ONCE_BUDGET = "15m"  # `sync --once` ends by then even during an outage; the rest stays queued


def _shared_deliveries(built: App) -> SeenDeliveries | None:
    """Where the webhook port records accepted deliveries: the store on PostgreSQL, shared by every
    replica; on SQLite (one worker) the worker's memory, so a delivery never waits for the write
    lock a pull holds."""
    return built.store if built.store.url.get_backend_name() == "postgresql" else None


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
    settle_for_sync()
    metrics = WorkerMetrics()
    scheduled = Worker(built, metrics=metrics)
    if metrics_port is not None:
        serve_status(scheduled.health, metrics.registry, metrics_port)  # /metrics and /healthz
    if webhook_port is not None:
        from connector.retry import MissingCredentials
        from connector.webhooks import serve_webhooks

        try:
            serve_webhooks(
                built.policies.policy.connections,
                scheduled.nudges,
                built.clock,
                metrics,
                webhook_port,
                seen=_shared_deliveries(built),
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
    from connector.replicas import cycle_among_replicas
    from connector.retry import HelpdeskError
    from connector.sync_summary import summary_line

    seconds = parse_duration(budget)
    logs.configure(level=os.environ.get("TIERDESK_LOG_LEVEL", "WARNING"))  # the summary says the rest
    built = _build(mappings, db, parse_now(now) if now is not None else None)
    settle_for_sync()
    timer = built.stop_after(seconds, f"budget {budget} spent")
    try:
        with cycle_among_replicas(built), cycle_progress(err) as progress:
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
