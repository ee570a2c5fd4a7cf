"""Outgoing webhooks of an emulator: what Zendesk and Jira POST to a registered URL when a ticket
changes, signed with the registered secret, with the faults real deliveries have.

Control plane (registered on the `EmulatorApp` as `/_emulator/webhooks`):
  POST   {"url": URL, "secret": S, "duplicate_rate": 0.0, "reorder_rate": 0.0, "loss_rate": 0.0,
          "ignore_author": ID} -> {"targets": n}   (adds a target; `ignore_author` leaves out changes
          made by that user, as a trigger condition "current user is not ..." does)
  GET    -> {"targets": n, "deliveries": [{"url", "event", "ticket", "status", "fault"}...]}
  DELETE -> removes every target and the delivery log

Deliveries leave from one background thread in the order changes happened, unless a fault says
otherwise: `duplicate_rate` sends the same request twice, `reorder_rate` holds a delivery back
until the next one has gone (or half a second passed), `loss_rate` never sends it. The vendor
module decides the payload and the headers (`Signer`).
"""

from __future__ import annotations

import json
import queue
import random
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from werkzeug.wrappers import Request, Response

Signer = Callable[[str, bytes], Mapping[str, str]]  # (secret, body) -> signature headers
HOLD_SECONDS = 0.5


@dataclass(frozen=True)
class Target:
    url: str
    secret: str
    duplicate_rate: float = 0.0
    reorder_rate: float = 0.0
    loss_rate: float = 0.0
    ignore_author: str | None = None

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Target:
        unknown = set(raw) - {"url", "secret", "duplicate_rate", "reorder_rate", "loss_rate", "ignore_author"}
        if unknown:
            raise ValueError(f"unknown webhook keys: {sorted(unknown)}")
        if not str(raw.get("url", "")).startswith(("http://", "https://")):
            raise ValueError("a webhook needs 'url': http(s)://...")
        return cls(
            url=str(raw["url"]),
            secret=str(raw.get("secret") or ""),
            duplicate_rate=float(raw.get("duplicate_rate", 0.0)),
            reorder_rate=float(raw.get("reorder_rate", 0.0)),
            loss_rate=float(raw.get("loss_rate", 0.0)),
            ignore_author=str(raw["ignore_author"]) if raw.get("ignore_author") is not None else None,
        )


@dataclass(frozen=True)
class _Delivery:
    target: Target
    event: str
    ticket: str
    body: bytes
    headers: Mapping[str, str]


class WebhookSender:
    def __init__(self, signer: Signer, seed: int = 0) -> None:
        self._signer = signer
        self._targets: list[Target] = []
        self._lock = threading.Lock()
        self._rng = random.Random(seed)
        self._queue: queue.Queue[_Delivery] = queue.Queue()
        self._log: list[dict[str, Any]] = []
        self._thread: threading.Thread | None = None

    @property
    def active(self) -> bool:
        return bool(self._targets)

    def emit(self, event: str, ticket: str, payload: Mapping[str, Any], author: str | None = None) -> None:
        """Queue `payload` for every target (cheap without targets; safe under the data lock)."""
        with self._lock:
            targets = [t for t in self._targets if t.ignore_author is None or t.ignore_author != author]
        if not targets:
            return
        body = json.dumps(payload, separators=(",", ":")).encode()
        for target in targets:
            headers = {"Content-Type": "application/json", **self._signer(target.secret, body)}
            self._queue.put(_Delivery(target, event, ticket, body, headers))
        self._start()

    def _start(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="webhooks", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        held: _Delivery | None = None
        while True:
            try:
                delivery = self._queue.get(timeout=HOLD_SECONDS if held else None)
            except queue.Empty:
                assert held is not None
                self._send(held, "reordered")
                held = None
                continue
            if self._rng.random() < delivery.target.loss_rate:
                self._record(delivery, None, "lost")
                continue
            if held is None and self._rng.random() < delivery.target.reorder_rate:
                held = delivery
                continue
            self._send(delivery, "")
            if self._rng.random() < delivery.target.duplicate_rate:
                self._send(delivery, "duplicate")
            if held is not None:
                self._send(held, "reordered")
                held = None

    def _send(self, delivery: _Delivery, fault: str) -> None:
        request = urllib.request.Request(  # noqa: S310 - the URL was registered as http(s)
            delivery.target.url, data=delivery.body, headers=dict(delivery.headers), method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
                status: int | None = int(response.status)
        except urllib.error.HTTPError as error:
            status = int(error.code)
        except OSError:
            status = None  # unreachable: the vendor would retry later; the poll is the safety net
        self._record(delivery, status, fault)

    def _record(self, delivery: _Delivery, status: int | None, fault: str) -> None:
        with self._lock:
            self._log.append(
                {
                    "url": delivery.target.url,
                    "event": delivery.event,
                    "ticket": delivery.ticket,
                    "status": status,
                    "fault": fault,
                }
            )

    def deliveries(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._log)

    def control(self, request: Request) -> Response:
        """`/_emulator/webhooks` (see the module docstring)."""
        if request.method == "POST":
            target = Target.from_json(request.get_json(force=True) or {})
            with self._lock:
                self._targets.append(target)
                count = len(self._targets)
            return _json({"targets": count})
        if request.method == "DELETE":
            with self._lock:
                self._targets.clear()
                self._log.clear()
            return _json({"targets": 0})
        with self._lock:
            return _json({"targets": len(self._targets), "deliveries": list(self._log)})


def _json(payload: Any, status: int = 200) -> Response:
    return Response(json.dumps(payload), status=status, mimetype="application/json")
