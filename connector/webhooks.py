"""Signed webhooks: the worker's near-real-time trigger, polling stays the safety net.

A helpdesk POSTs to `/webhooks/<connection>` (or the connection's `webhook_path`) on the worker's
webhook port. A delivery is accepted only when it carries the vendor's signature made with the
connection's secret (`webhook_secret_env`), its signed timestamp is within `tolerance` of now and
it was not accepted before, by this worker or (on PostgreSQL) any other on the database: the
same signature, or the same vendor delivery id (Zendesk's webhook + invocation id, Jira's
`X-Atlassian-Webhook-Identifier`, both kept across the vendor's retries) within the tolerance
window (`connector.store.webhook_deliveries`). An accepted delivery only
*names* tickets: the worker re-reads those tickets through `Helpdesk.fetch` and evaluates what the
helpdesk shows, never the payload (`Worker.webhook_job`). Bursts coalesce: ticket ids wait in
`TicketNudges` until the next webhook job takes them all.

Answers: 202 accepted (also for a signed event that names no ticket), 401 unsigned or wrongly
signed, 403 stale, 409 replayed, 413 body too large, 404 unknown path, 405 not a POST, 503 when
the store cannot say whether the delivery was seen (the vendor retries; polling is the safety
net). Every answer is counted by connection and outcome (`tierdesk_webhook_deliveries_total`).

Each vendor's format (headers, what is signed, where the ticket id is) is a `WebhookFormat` in
`plugins/<helpdesk>/webhook.py`, registered as the plugin's `WEBHOOK`.
"""

from __future__ import annotations

import hmac
import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

import sqlalchemy as sa
import structlog
from prometheus_client import CollectorRegistry, Counter

from connector.domain.policy import ConnectionConfig
from connector.health import SlowClientTimeout, StatusServer
from connector.ports import Clock, SecretSource, SeenDeliveries
from connector.registry import plugin
from connector.retry import MissingCredentials
from connector.secrets import EnvSecrets

log = structlog.get_logger("tierdesk.webhooks")

MAX_BODY_BYTES = 1 << 20  # Zendesk and Jira payloads are a few KB; a Jira issue with every field < 1 MiB
DEFAULT_TOLERANCE = timedelta(minutes=5)
REPLAY_MEMORY = 100_000  # accepted signatures remembered (within the tolerance window)


class WebhookRejected(Exception):
    """A delivery that is not accepted: `reason` is the metrics label, `status` the HTTP answer."""

    def __init__(self, reason: str, status: int, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.status = status


def unsigned(message: str) -> WebhookRejected:
    return WebhookRejected("unsigned", 401, message)


def bad_signature(message: str) -> WebhookRejected:
    return WebhookRejected("bad_signature", 401, message)


@dataclass(frozen=True, slots=True)
class VerifiedDelivery:
    """What a correctly signed delivery says: when it was signed, a key that identifies it for
    replay detection (from what is signed), the vendor's event name, the tickets it names, and the
    vendor's id of the delivery when it sends one (unsigned, the same on the vendor's retries)."""

    signed_at: datetime
    replay_key: str
    event: str
    ticket_ids: tuple[str, ...]
    delivery_id: str | None = None

    @property
    def replay_keys(self) -> list[str]:
        """Every key a replay of this delivery would repeat."""
        keys = [self.replay_key]
        if self.delivery_id:
            keys.append(f"delivery:{self.delivery_id}")
        return keys


class WebhookFormat(Protocol):
    """One vendor's webhook format (`plugins/<helpdesk>/webhook.py`).

    `verify` checks the signature over the raw body with `secret` and raises `WebhookRejected`
    (`unsigned`, `bad_signature`) before reading anything else of the body; the payload is parsed
    only once the signature holds. `headers` has lower-case names."""

    def verify(self, headers: Mapping[str, str], body: bytes, secret: str) -> VerifiedDelivery: ...


def digest_matches(expected: bytes, given: str | bytes) -> bool:
    """Constant-time comparison, whatever the given value holds."""
    given_bytes = given.encode("utf-8", "replace") if isinstance(given, str) else given
    return hmac.compare_digest(expected, given_bytes)


def json_payload(body: bytes) -> Any:
    try:
        return json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None


class ReplayGuard:
    """`connector.ports.SeenDeliveries` in memory, for one process (tests, a receiver without a
    store): keys kept until their `expires_at`. Bounded: the oldest go first."""

    def __init__(self, capacity: int = REPLAY_MEMORY) -> None:
        self._capacity = capacity
        self._seen: OrderedDict[tuple[str, str], datetime] = OrderedDict()
        self._lock = threading.Lock()

    def first_delivery(
        self, connection: str, keys: Sequence[str], *, expires_at: datetime, now: datetime
    ) -> bool:
        with self._lock:
            while self._seen and (len(self._seen) >= self._capacity or next(iter(self._seen.values())) < now):
                self._seen.popitem(last=False)
            fresh = True
            for key in keys:
                fresh = fresh and (connection, key) not in self._seen
                self._seen[(connection, key)] = max(expires_at, self._seen.get((connection, key), expires_at))
            return fresh


class TicketNudges:
    """Ticket ids named by accepted deliveries, per connection, waiting for the webhook job.
    A ticket named again before the job runs is fetched once. `on_added` is called (outside the
    lock) after every addition, e.g. to schedule the job."""

    def __init__(self, on_added: Callable[[], None] | None = None) -> None:
        self._pending: dict[str, dict[str, None]] = {}
        self._lock = threading.Lock()
        self.on_added = on_added

    def add(self, connection: str, ticket_ids: Iterable[str], *, notify: bool = True) -> None:
        """`notify=False` puts ids back without scheduling (after a failed fetch: the next delivery
        or the pull takes them, no retry loop against a helpdesk that is down)."""
        with self._lock:
            self._pending.setdefault(connection, {}).update(dict.fromkeys(ticket_ids))
        if notify and self.on_added is not None:
            self.on_added()

    def take(self) -> dict[str, list[str]]:
        with self._lock:
            taken = {connection: list(ids) for connection, ids in self._pending.items() if ids}
            self._pending.clear()
        return taken

    def __len__(self) -> int:
        with self._lock:
            return sum(len(ids) for ids in self._pending.values())


@dataclass(frozen=True)
class Endpoint:
    connection: str
    path: str
    format: WebhookFormat
    secret: str


def endpoints_for(connections: Sequence[ConnectionConfig], secrets: SecretSource) -> list[Endpoint]:
    """An endpoint per connection that sets `webhook_secret_env`. Raises `MissingCredentials`
    (exit 1) when the variable is not set: a worker must not serve a webhook it cannot verify."""
    found: list[Endpoint] = []
    for config in connections:
        if not config.webhook_secret_env:
            continue
        secret = secrets.get(config.webhook_secret_env)
        if not secret:
            raise MissingCredentials(
                f"connection '{config.name}': webhook_secret_env names {config.webhook_secret_env}, "
                "which is not set"
            )
        path = config.webhook_path or f"/webhooks/{config.name}"
        found.append(Endpoint(config.name, path.rstrip("/") or "/", plugin(config.kind).WEBHOOK, secret))
    return found


class WebhookMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.deliveries = Counter(
            "tierdesk_webhook_deliveries",
            "Webhook deliveries answered, by connection and outcome (accepted, unsigned, bad_signature, "
            "stale, replayed, too_large, unknown_path, method, unavailable)",
            ["connection", "outcome"],
            registry=registry,
        )
        self.tickets = Counter(
            "tierdesk_webhook_tickets",
            "Tickets named by accepted webhook deliveries",
            ["connection"],
            registry=registry,
        )


WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class WebhookReceiver:
    """The WSGI app of the webhook port."""

    def __init__(
        self,
        endpoints: Sequence[Endpoint],
        nudges: TicketNudges,
        clock: Clock,
        registry: CollectorRegistry,
        *,
        tolerance: timedelta = DEFAULT_TOLERANCE,
        max_body: int = MAX_BODY_BYTES,
        seen: SeenDeliveries | None = None,
    ) -> None:
        self.endpoints = {endpoint.path: endpoint for endpoint in endpoints}
        self.nudges = nudges
        self.clock = clock
        self.tolerance = tolerance
        self.max_body = max_body
        self.metrics = WebhookMetrics(registry)
        # the store's, on a worker: a replay to another replica is recognised there too
        self.seen: SeenDeliveries = seen if seen is not None else ReplayGuard()

    def handle(
        self, method: str, path: str, headers: Mapping[str, str], read: Callable[[int], bytes]
    ) -> tuple[int, str]:
        """(status, message) for one request; `read(n)` reads up to n bytes of the body."""
        endpoint = self.endpoints.get(path.rstrip("/") or "/")
        if endpoint is None:
            self.metrics.deliveries.labels(connection="", outcome="unknown_path").inc()
            return 404, "no webhook is served at this path"
        try:
            if method != "POST":
                raise WebhookRejected("method", 405, "webhooks are POSTed")
            length = int(headers.get("content-length") or 0)
            if length > self.max_body:
                raise WebhookRejected("too_large", 413, f"body over {self.max_body} bytes")
            body = read(length) if length > 0 else b""
            delivery = endpoint.format.verify(headers, body, endpoint.secret)
            now = self.clock.now()
            if abs(now - delivery.signed_at) > self.tolerance:
                raise WebhookRejected(
                    "stale",
                    403,
                    f"signed at {delivery.signed_at.isoformat()}, more than {self.tolerance} from now",
                )
            if not self._first(endpoint.connection, delivery, now):
                raise WebhookRejected("replayed", 409, "this delivery was accepted before")
        except WebhookRejected as rejected:
            self.metrics.deliveries.labels(connection=endpoint.connection, outcome=rejected.reason).inc()
            log.warning(
                "webhook rejected",
                connection=endpoint.connection,
                reason=rejected.reason,
                detail=str(rejected),
            )
            return rejected.status, str(rejected)
        self.metrics.deliveries.labels(connection=endpoint.connection, outcome="accepted").inc()
        if delivery.ticket_ids:
            self.metrics.tickets.labels(connection=endpoint.connection).inc(len(delivery.ticket_ids))
            self.nudges.add(endpoint.connection, delivery.ticket_ids)
        log.debug(
            "webhook accepted",
            connection=endpoint.connection,
            kind=delivery.event,
            tickets=list(delivery.ticket_ids),
        )
        return 202, "accepted"

    def _first(self, connection: str, delivery: VerifiedDelivery, now: datetime) -> bool:
        """Record the delivery; False when it was accepted before. A replay signed at instant t
        passes the staleness check until t + tolerance, so it is kept that long (at least
        `tolerance` from now: a delivery signed ahead of our clock)."""
        expires_at = max(delivery.signed_at, now) + self.tolerance
        try:
            return self.seen.first_delivery(connection, delivery.replay_keys, expires_at=expires_at, now=now)
        except sa.exc.SQLAlchemyError as error:
            raise WebhookRejected(
                "unavailable",
                503,
                f"the store cannot tell whether this delivery was seen: {error.__class__.__name__}",
            ) from error

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        headers = {
            key[5:].replace("_", "-").lower(): str(value)
            for key, value in environ.items()
            if key.startswith("HTTP_")
        }
        if environ.get("CONTENT_LENGTH"):
            headers["content-length"] = str(environ["CONTENT_LENGTH"])
        stream = environ["wsgi.input"]
        try:
            status, message = self.handle(
                str(environ.get("REQUEST_METHOD", "GET")),
                str(environ.get("PATH_INFO", "")),
                headers,
                stream.read,
            )
        except ValueError:  # a Content-Length that is not a number
            status, message = 400, "bad Content-Length"
        payload = json.dumps({"status": status, "message": message}).encode()
        reasons = {
            202: "Accepted",
            400: "Bad Request",
            401: "Unauthorized",
            403: "Forbidden",
            404: "Not Found",
        }
        reasons.update(
            {405: "Method Not Allowed", 409: "Conflict", 413: "Payload Too Large", 503: "Service Unavailable"}
        )
        start_response(
            f"{status} {reasons.get(status, 'Error')}",
            [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))],
        )
        return [payload]


class _Registry(Protocol):
    registry: CollectorRegistry


def serve_webhooks(
    connections: Sequence[ConnectionConfig],
    nudges: TicketNudges,
    clock: Clock,
    metrics: _Registry,
    port: int,
    address: str = "0.0.0.0",  # noqa: S104 - helpdesks deliver from outside the container
    secrets: SecretSource | None = None,
    seen: SeenDeliveries | None = None,
) -> StatusServer:
    """The webhook port, served from a daemon thread; `seen` records accepted deliveries (the
    worker passes its store, shared by every replica; default: this process's memory). Raises
    `MissingCredentials` when a connection's `webhook_secret_env` is not set."""
    endpoints = endpoints_for(connections, secrets or EnvSecrets())
    if not endpoints:
        log.warning("webhook port open but no connection sets webhook_secret_env: every delivery gets 404")
    receiver = WebhookReceiver(endpoints, nudges, clock, metrics.registry, seen=seen)
    server = StatusServer(receiver, port, address, SlowClientTimeout).start()
    log.info("serving webhooks", port=server.port, paths={e.path: e.connection for e in endpoints})
    return server
