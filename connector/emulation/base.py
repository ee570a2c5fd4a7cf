"""Emulator core: clock, faults, request log, control plane, server.

Contract of the control plane (DESIGN.md, "Interfaces"):
  GET  /_emulator/health    -> {"status": "ok", "now": ISO, "clock": "real"|"simulated"}
  POST /_emulator/clock     {"now": ISO} | {"advance_seconds": N} -> {"now": ISO}
  POST /_emulator/faults    {"rules": [{"path": regex, "method": "GET", "status": 429, "rate": 0.3,
                             "retry_after": 7} | {..., "timeout_s": 5}]} -> {"rules": n}
  GET  /_emulator/requests  -> {"requests": [{"method", "path", "status", "time"}...]}
  POST /_emulator/reset     clears faults and the request log (data stays)
  /_emulator/<name>         a vendor's own control endpoints (`EmulatorApp.controls`, e.g. webhooks)
Everything else is handed to the vendor API.
"""

from __future__ import annotations

import json
import random
import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, Protocol

from werkzeug.exceptions import HTTPException
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

ClockMode = Literal["real", "simulated"]


class SimClock:
    """The emulator's notion of now.

    `real` follows the wall clock. `simulated` starts at the real time (or `start`) and moves only
    when told (`set`, `advance`), so tests and the demo can run a business day in minutes.
    """

    def __init__(self, mode: ClockMode = "real", start: datetime | None = None) -> None:
        self.mode: ClockMode = mode
        self._lock = threading.Lock()
        self._now = start or datetime.now(UTC)
        if self._now.tzinfo is None:
            raise ValueError("SimClock start must be timezone-aware")
        self._source: Callable[[], datetime] | None = None

    def follow(self, source: Callable[[], datetime] | None) -> None:
        """Read simulated time from `source` (e.g. the demo's scaled clock) until told otherwise;
        `set`/`advance` stop following."""
        with self._lock:
            self.mode = "simulated"
            self._source = source

    def now(self) -> datetime:
        if self.mode == "real":
            return datetime.now(UTC)
        with self._lock:
            if self._source is not None:
                return self._source()
            return self._now

    def set(self, now: datetime) -> None:
        if now.tzinfo is None:
            raise ValueError("clock time must be timezone-aware")
        with self._lock:
            self.mode = "simulated"
            self._source = None
            self._now = now.astimezone(UTC)

    def advance(self, seconds: float) -> datetime:
        with self._lock:
            if self._source is not None:
                self._now, self._source = self._source(), None
            if self.mode == "real":
                self.mode = "simulated"
                self._now = datetime.now(UTC)
            self._now += timedelta(seconds=seconds)
            return self._now


@dataclass(frozen=True)
class FaultRule:
    """Fail a share (`rate`) of the requests whose path matches `path` (and `method`, if given).

    Either `status` (answered at once with the vendor's error body for that status, or `body`, with
    `Retry-After: retry_after` when given) or `timeout_s` (the response is stalled that long and then
    processed normally, so a client that gave up does not know whether the write happened). With
    `times`, only the first `times` requests the rule picks fail.
    """

    path: str
    method: str | None = None
    status: int | None = None
    rate: float = 1.0
    retry_after: int | None = None
    timeout_s: float | None = None
    body: str | None = None
    times: int | None = None

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> FaultRule:
        unknown = set(raw) - {"path", "method", "status", "rate", "retry_after", "timeout_s", "body", "times"}
        if unknown:
            raise ValueError(f"unknown fault keys: {sorted(unknown)}")
        if raw.get("status") is None and raw.get("timeout_s") is None:
            raise ValueError("a fault rule needs 'status' or 'timeout_s'")
        re.compile(str(raw["path"]))
        return cls(
            path=str(raw["path"]),
            method=(str(raw["method"]).upper() if raw.get("method") else None),
            status=(int(raw["status"]) if raw.get("status") is not None else None),
            rate=float(raw.get("rate", 1.0)),
            retry_after=(int(raw["retry_after"]) if raw.get("retry_after") is not None else None),
            timeout_s=(float(raw["timeout_s"]) if raw.get("timeout_s") is not None else None),
            body=raw.get("body"),
            times=(int(raw["times"]) if raw.get("times") is not None else None),
        )

    def matches(self, method: str, path: str) -> bool:
        if self.method and self.method != method.upper():
            return False
        return re.search(self.path, path) is not None


class Faults:
    """The active fault rules; a seeded RNG keeps fault runs reproducible."""

    def __init__(self, seed: int = 0) -> None:
        self._lock = threading.Lock()
        self._rules: list[FaultRule] = []
        self._picked: list[int] = []  # per rule: requests failed so far
        self._rng = random.Random(seed)

    def set_rules(self, rules: Iterable[FaultRule]) -> None:
        with self._lock:
            self._rules = list(rules)
            self._picked = [0] * len(self._rules)

    def clear(self) -> None:
        self.set_rules([])

    def pick(self, method: str, path: str) -> FaultRule | None:
        with self._lock:
            for i, rule in enumerate(self._rules):
                if rule.times is not None and self._picked[i] >= rule.times:
                    continue
                if rule.matches(method, path) and self._rng.random() < rule.rate:
                    self._picked[i] += 1
                    return rule
        return None


@dataclass(frozen=True)
class RequestRecord:
    method: str
    path: str
    query: str
    status: int
    time: datetime
    fault: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "status": self.status,
            "time": self.time.isoformat(),
            "fault": self.fault,
        }


class RequestLog:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: list[RequestRecord] = []

    def add(self, record: RequestRecord) -> None:
        with self._lock:
            self._records.append(record)

    def records(self) -> list[RequestRecord]:
        with self._lock:
            return list(self._records)

    def clear(self) -> None:
        with self._lock:
            self._records.clear()

    def count(self, method: str | None = None, path_regex: str | None = None) -> int:
        return sum(
            1
            for r in self.records()
            if (method is None or r.method == method)
            and (path_regex is None or re.search(path_regex, r.path))
        )


class VendorAPI(Protocol):
    """What a helpdesk emulator provides to the shared app."""

    def dispatch(self, request: Request) -> Response:
        """Answer one vendor API request (routing, auth, rate limits, data)."""

    def fault_response(self, request: Request, status: int, retry_after: int | None) -> Response:
        """The vendor's own error response for an injected fault of `status`."""


@dataclass
class EmulatorApp:
    """WSGI app: control plane + fault injection + request log around a vendor API."""

    vendor: VendorAPI
    clock: SimClock
    faults: Faults = field(default_factory=Faults)
    log: RequestLog = field(default_factory=RequestLog)
    controls: dict[str, Callable[[Request], Response]] = field(default_factory=dict)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        request = Request(environ)
        response = self._handle(request)
        return response(environ, start_response)

    def _handle(self, request: Request) -> Response:
        path = request.path
        if path.startswith("/_emulator/"):
            try:
                return self._control(request, path.removeprefix("/_emulator/"))
            except (ValueError, KeyError, TypeError) as exc:
                return _json({"error": str(exc)}, 400)
        fault = self.faults.pick(request.method, path)
        injected = False
        if fault is not None and fault.timeout_s is not None:
            time.sleep(fault.timeout_s)  # stall, then answer normally: the "uncertain write" case
        if fault is not None and fault.status is not None:
            response = self.vendor.fault_response(request, fault.status, fault.retry_after)
            if fault.body is not None:
                response.set_data(fault.body)
            injected = True
        else:
            try:
                response = self.vendor.dispatch(request)
            except HTTPException as exc:
                response = exc.get_response()
        self.log.add(
            RequestRecord(
                method=request.method,
                path=path,
                query=request.query_string.decode("latin-1"),
                status=response.status_code,
                time=self.clock.now(),
                fault=injected,
            )
        )
        return response

    def _control(self, request: Request, what: str) -> Response:
        if what == "health" and request.method == "GET":
            return _json({"status": "ok", "now": self.clock.now().isoformat(), "clock": self.clock.mode})
        if what == "clock" and request.method == "POST":
            body = request.get_json(force=True) or {}
            if "now" in body:
                self.clock.set(datetime.fromisoformat(str(body["now"]).replace("Z", "+00:00")))
            elif "advance_seconds" in body:
                self.clock.advance(float(body["advance_seconds"]))
            else:
                raise ValueError("send {'now': ISO8601} or {'advance_seconds': N}")
            return _json({"now": self.clock.now().isoformat()})
        if what == "faults" and request.method == "POST":
            body = request.get_json(force=True) or {}
            rules = [FaultRule.from_json(r) for r in body.get("rules", [])]
            self.faults.set_rules(rules)
            return _json({"rules": len(rules)})
        if what == "requests" and request.method == "GET":
            return _json({"requests": [r.to_json() for r in self.log.records()]})
        if what == "reset" and request.method == "POST":
            self.faults.clear()
            self.log.clear()
            return _json({"status": "reset"})
        if what in self.controls:
            return self.controls[what](request)
        return _json({"error": f"unknown control endpoint {request.method} /_emulator/{what}"}, 404)


def _json(payload: Any, status: int = 200) -> Response:
    return Response(json.dumps(payload), status=status, mimetype="application/json")


class InFlight:
    """WSGI wrapper counting requests being processed, so a caller can wait for quiet."""

    def __init__(self, app: EmulatorApp) -> None:
        self.app = app
        self._busy = 0
        self._cond = threading.Condition()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        with self._cond:
            self._busy += 1
        try:
            return list(self.app(environ, start_response))
        finally:
            with self._cond:
                self._busy -= 1
                self._cond.notify_all()

    def wait_idle(self, timeout: float = 10.0) -> None:
        with self._cond:
            self._cond.wait_for(lambda: self._busy == 0, timeout)


class _QuietHandler(WSGIRequestHandler):
    """No access log line per request: the emulator keeps its own log under /_emulator/requests."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return


class EmulatorServer:
    """Runs an `EmulatorApp` on 127.0.0.1 in a background thread (port 0 = pick a free port)."""

    def __init__(self, app: EmulatorApp, host: str = "127.0.0.1", port: int = 0) -> None:
        self.app = app
        self._server: BaseWSGIServer = make_server(
            host, port, app, threaded=True, request_handler=_QuietHandler
        )
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._server.server_port)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> EmulatorServer:
        self._thread = threading.Thread(target=self._server.serve_forever, name="emulator", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._server.serve_forever()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
