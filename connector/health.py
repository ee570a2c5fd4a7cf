"""The worker's health: what `GET /healthz` answers and `tierdesk health` (the Docker HEALTHCHECK)
asks.

Healthy means every connection had a successful pull within `missed_pulls` of its pull intervals
(counted from the worker's start until its first success) and the store answers. A page stored
during a pull counts as progress, so a first sync of a large account that runs for longer than the
bound stays healthy while its pages keep arriving. The body is a
small JSON: status, per connection the last successful pull and the last error, the outbox backlog
(pending + sending actions), and the problems found when unhealthy. Time is the app's clock, so a
simulated or fixed clock in tests moves it.

`/healthz` is served on the metrics port beside Prometheus' `/metrics` (`serve_status`).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from socketserver import ThreadingMixIn
from typing import Any, Protocol
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CollectorRegistry, make_wsgi_app

from connector import logs
from connector.ports import Clock

DEFAULT_MISSED_PULLS = 3
DEFAULT_PORT = 9464
BACKLOG_STATUSES = ("pending", "sending")
MAX_ERROR_CHARS = 300


class OutboxCounts(Protocol):
    def outbox_counts(self, connection: str | None = None) -> dict[str, int]: ...


def _iso(instant: datetime | None) -> str | None:
    if instant is None:
        return None
    return instant.replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _clean(error: str) -> str:
    """One line, credentials redacted, bounded: the body may end up in `docker inspect`."""
    line = " ".join(error.split())[:MAX_ERROR_CHARS]
    return str(logs.redact(None, "", {"error": line})["error"])


@dataclass
class _ConnectionHealth:
    interval: timedelta
    last_success: datetime | None = None
    last_page: datetime | None = None
    last_error: str | None = None
    last_error_at: datetime | None = None


@dataclass(frozen=True)
class HealthReport:
    healthy: bool
    body: dict[str, Any] = field(default_factory=dict)

    @property
    def status_code(self) -> int:
        return 200 if self.healthy else 503


class WorkerHealth:
    """Fed by the worker's jobs (thread-safe); read by the status server's threads."""

    def __init__(
        self,
        clock: Clock,
        store: OutboxCounts,
        pull_intervals: Mapping[str, float],
        *,
        missed_pulls: int = DEFAULT_MISSED_PULLS,
    ) -> None:
        self._clock = clock
        self._store = store
        self._missed_pulls = missed_pulls
        self._lock = threading.Lock()
        self._started = clock.now()
        self._connections = {
            name: _ConnectionHealth(timedelta(seconds=seconds)) for name, seconds in pull_intervals.items()
        }
        self._last_error: str | None = None
        self._last_error_at: datetime | None = None

    def started(self) -> None:
        """The bound of a connection that never succeeded counts from here."""
        with self._lock:
            self._started = self._clock.now()

    def pull_succeeded(self, connection: str) -> None:
        with self._lock:
            entry = self._connections.get(connection)
            if entry is not None:
                entry.last_success = self._clock.now()

    def page_pulled(self, connection: str) -> None:
        with self._lock:
            entry = self._connections.get(connection)
            if entry is not None:
                entry.last_page = self._clock.now()

    def pull_failed(self, connection: str, error: str) -> None:
        with self._lock:
            now, text = self._clock.now(), _clean(error)
            entry = self._connections.get(connection)
            if entry is not None:
                entry.last_error, entry.last_error_at = text, now
            self._last_error, self._last_error_at = f"{connection}: {text}", now

    def job_failed(self, job: str, error: str) -> None:
        with self._lock:
            self._last_error, self._last_error_at = f"{job}: {_clean(error)}", self._clock.now()

    def report(self) -> HealthReport:
        problems: list[str] = []
        try:
            counts = self._store.outbox_counts()
            backlog: int | None = sum(counts.get(status, 0) for status in BACKLOG_STATUSES)
            store = "ok"
        except Exception as exc:  # any failure to answer means the store is not usable
            backlog, store = None, "unreachable"
            problems.append(f"store unreachable: {_clean(str(exc) or type(exc).__name__)}")
        with self._lock:
            now = self._clock.now()
            connections: dict[str, Any] = {}
            for name, entry in self._connections.items():
                bound = entry.interval * self._missed_pulls
                since = entry.last_success or self._started
                stale = now - max(since, entry.last_page or since) > bound
                if stale:
                    seconds = int(bound.total_seconds())
                    problems.append(
                        f"{name}: last successful pull at {_iso(since)}, more than {self._missed_pulls} "
                        f"pull intervals ({seconds} s) ago"
                        if entry.last_success is not None
                        else f"{name}: no successful pull since the worker started at {_iso(since)}, "
                        f"more than {self._missed_pulls} pull intervals ({seconds} s) ago"
                    )
                connections[name] = {
                    "last_success": _iso(entry.last_success),
                    "last_page": _iso(entry.last_page),
                    "last_error": entry.last_error,
                    "last_error_at": _iso(entry.last_error_at),
                    "stale": stale,
                }
            body = {
                "status": "unhealthy" if problems else "ok",
                "now": _iso(now),
                "store": store,
                "outbox_backlog": backlog,
                "connections": connections,
                "last_error": self._last_error,
                "last_error_at": _iso(self._last_error_at),
                "problems": problems,
            }
        return HealthReport(healthy=not problems, body=body)


# ----------------------------------------------------------------------------- the status server

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def status_app(health: WorkerHealth, registry: CollectorRegistry) -> WsgiApp:
    """`/healthz` from `health`, everything else from the Prometheus registry (`/metrics`)."""
    metrics = make_wsgi_app(registry)

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO", "").rstrip("/") == "/healthz":
            report = health.report()
            payload = json.dumps(report.body, separators=(",", ":")).encode()
            reason = "OK" if report.healthy else "Service Unavailable"
            start_response(
                f"{report.status_code} {reason}",
                [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))],
            )
            return [payload]
        result: Iterable[bytes] = metrics(environ, start_response)
        return result

    return app


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Probes every few seconds would flood the worker's log."""


class SlowClientTimeout(_QuietHandler):
    """A client that stops sending mid-request is dropped after `timeout` seconds (a port the
    internet can reach must not be held open by slow senders)."""

    timeout = 10


class StatusServer:
    """`/metrics` and `/healthz` on one port, served from a daemon thread."""

    def __init__(
        self, app: WsgiApp, port: int, address: str, handler: type[WSGIRequestHandler] | None = None
    ) -> None:
        self._server = make_server(address, port, app, _ThreadingServer, handler or _QuietHandler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="status", daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self) -> StatusServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def serve_status(
    health: WorkerHealth,
    registry: CollectorRegistry,
    port: int,
    address: str = "0.0.0.0",  # noqa: S104 - probes and scrapers come from outside the container
) -> StatusServer:
    return StatusServer(status_app(health, registry), port, address).start()
