"""`bench/latency.py --mode reply`: agent reply -> tierdesk's updated "SLA due" field in Zendesk,
with signed webhooks and with polling alone (see latency.py's docstring)."""

from __future__ import annotations

import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from connector.emulation.base import EmulatorServer
from plugins.zendesk import build_emulator
from plugins.zendesk.emulator import seed_account
from plugins.zendesk.emulator.app import ZendeskAPI
from plugins.zendesk.emulator.seed import http_caller

SECRET_ENV = "TIERDESK_BENCH_WEBHOOK_SECRET"
SECRET = "bench-webhook-secret"  # the emulator signs with it, the worker verifies with it


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _import(call: Callable[..., Any], tickets: list[dict[str, Any]]) -> list[int]:
    """Import `tickets` through the emulator's ticket import (100 a job); their ids."""
    imported: list[int] = []
    for first in range(0, len(tickets), 100):
        body = {"tickets": tickets[first : first + 100]}
        job = call("POST", "/api/v2/imports/tickets/create_many.json", body)["job_status"]
        while job["status"] not in ("completed", "failed"):
            job = call("GET", f"/api/v2/job_statuses/{job['id']}.json", None)["job_status"]
        imported.extend(int(result["id"]) for result in job["results"])
    return imported


def _measure(
    replies: int,
    spacing: float,
    webhooks: bool,
    mappings_for: Callable[..., Path],
    backlog: int = 0,
    flood: int = 0,
) -> tuple[list[float], int, dict[str, int]]:
    """Latencies (s) of `replies` agent replies; how many never showed a new due; API calls.

    With `backlog`, that many more tickets are imported after the measured ones, so the worker's
    first sync queues their write-backs too; the replies start as soon as the measured tickets
    show their first due, while the rest of the queue is still being pushed.

    With `flood`, that many new tickets are imported once the measured ones show their due (a
    mass import, a bulk edit): the replies land while a later pull is fetching them page by page."""
    work = Path(tempfile.mkdtemp(prefix="tierdesk-reply-latency-"))
    started = datetime.now(UTC)
    app = build_emulator("simulated", "empty", start=started - timedelta(minutes=2))
    vendor = app.vendor
    assert isinstance(vendor, ZendeskAPI)
    server = EmulatorServer(app).start()
    call = http_caller(app)
    info = seed_account(call)
    org = info.organizations["Acme Corp"]
    requester = call(
        "POST",
        "/api/v2/users.json",
        {"user": {"name": "Ann", "email": "ann@acme.example", "organization_id": org}},
    )["user"]["id"]
    created = (started - timedelta(minutes=2)).replace(microsecond=0).isoformat()
    tickets = [
        {
            "subject": f"Checkout outage {n}",
            "requester_id": requester,
            "status": "new",
            "created_at": created,
            "comments": [
                {"author_id": requester, "body": "Nobody can pay.", "public": True, "created_at": created}
            ],
        }
        for n in range(replies + backlog)
    ]
    imported = _import(call, tickets)
    ids, flooded = imported[:replies], imported[replies:]
    app.clock.follow(lambda: datetime.now(UTC))
    due_field = int(info.fields["sla_due"])

    def due(ticket_id: int) -> Any:
        return vendor.account.tickets[ticket_id].custom_fields.get(due_field)

    mappings = mappings_for(work / "mappings", server.url, info, SECRET_ENV if webhooks else None)
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TIERDESK_")}
    env[SECRET_ENV] = SECRET
    command = [sys.executable, "-m", "connector", "worker", "--mappings", str(mappings)]
    command += ["--db", f"sqlite:///{work / 't.db'}"]
    if webhooks:
        command += ["--webhook-port", str(port)]
    log = (work / "worker.log").open("wb")
    worker = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=work)
    latencies: list[float] = []
    try:
        give_up = time.monotonic() + 180
        while any(due(t) is None for t in ids) and time.monotonic() < give_up and worker.poll() is None:
            time.sleep(0.05)  # the start-up pull and push write every ticket's first-response due
        if webhooks:
            target = {
                "url": f"http://127.0.0.1:{port}/webhooks/zendesk-main",
                "secret": SECRET,
                "ignore_author": str(info.integration_user),  # a trigger's "current user is not tierdesk"
            }
            call("POST", "/_emulator/webhooks", target)
        if flood:
            now = app.clock.now().replace(microsecond=0).isoformat()  # newer than the pull cursor
            comment = {"author_id": requester, "body": "Nobody can pay.", "public": True, "created_at": now}
            bulk = {**tickets[0], "created_at": now, "comments": [comment]}
            _import(call, [{**bulk, "subject": f"Bulk import {n}"} for n in range(flood)])
        app.log.clear()
        waiting = sum(1 for t in flooded if due(t) is None)
        if backlog:
            print(
                f"    backlog: {waiting:,} of {backlog:,} other tickets still without a due at the first reply"
            )
        before = {t: due(t) for t in ids}
        replied: dict[int, float] = {}
        landed: dict[int, float] = {}
        agent = info.agents[0]
        next_reply = time.monotonic()
        give_up = time.monotonic() + spacing * replies + 200
        while len(landed) < len(ids) and time.monotonic() < give_up and worker.poll() is None:
            now = time.monotonic()
            if len(replied) < len(ids) and now >= next_reply:
                ticket_id = ids[len(replied)]
                change = {"comment": {"body": "We are rolling back.", "public": True}}
                vendor.account.update_ticket(ticket_id, change, agent, int(app.clock.now().timestamp()))
                replied[ticket_id] = time.monotonic()
                next_reply += spacing
            with vendor.account.lock:
                for ticket_id in replied.keys() - landed.keys():
                    if due(ticket_id) != before[ticket_id]:
                        landed[ticket_id] = time.monotonic()
            time.sleep(0.01)
        latencies = [landed[t] - replied[t] for t in landed]
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=120)
        log.close()
        server.stop()
    records = app.log.records()
    calls = {
        "all": len(records),
        "show_many": sum(1 for r in records if r.path.endswith("/tickets/show_many.json")),
        "export": sum(1 for r in records if "/incremental/" in r.path),
        "update_many": sum(1 for r in records if "update_many" in r.path),
    }
    return latencies, len(ids) - len(latencies), calls


def run_reply_latency(
    replies: int,
    spacing: float,
    *,
    mappings_for: Callable[..., Path],
    percentile: Callable[[list[float], float], float],
    backlog: int = 0,
    flood: int = 0,
) -> None:
    print(f"agent reply -> updated SLA due field in Zendesk, {replies} replies {spacing} s apart, real clock")
    results: dict[str, float] = {}
    modes = (("webhooks", True), ("polling ", False)) if not (backlog or flood) else (("webhooks", True),)
    for label, webhooks in modes:
        latencies, missing, calls = _measure(replies, spacing, webhooks, mappings_for, backlog, flood)
        if not latencies:
            print(f"  {label}: no due field changed ({missing} missing)")
            continue
        p99 = percentile(latencies, 0.99)
        results[label.strip()] = p99
        print(
            f"  {label}: p50 {statistics.median(latencies):.2f} s, p99 {p99:.2f} s, max {max(latencies):.2f} s, "
            f"{len(latencies)}/{replies} landed; API calls {calls['all']} ({calls['show_many']} show_many, "
            f"{calls['export']} export, {calls['update_many']} update_many)"
        )
    if "webhooks" in results:
        print(f"  target p99 <= 5 s with webhooks: {'met' if results['webhooks'] <= 5 else 'NOT met'}")
