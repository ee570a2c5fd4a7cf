"""Zendesk sync benchmark: pull 10,000 tickets and push a write-back for each, against the emulator.

The emulator runs in a child process (simulated clock), so the figures below are the adapter's
own: API calls used against the minimum, tickets per second of local work (CPU time of the
syncing thread: JSON decoding and translation), and peak traced memory (tracemalloc).

    .venv/bin/python bench/zendesk_sync.py [--tickets 10000]
"""

from __future__ import annotations

import argparse
import math
import multiprocessing as mp
import time
import tracemalloc
from datetime import UTC, datetime

import requests

from connector.domain.policy import ActionKind, ConnectionConfig
from connector.domain.results import Action
from connector.ports import Outcome


def _serve(count: int, queue: mp.Queue) -> None:  # type: ignore[type-arg]
    import logging

    from connector.emulation.base import EmulatorServer
    from plugins.zendesk import build_emulator
    from plugins.zendesk.emulator import seed_volume

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    app = build_emulator("simulated", "empty", start=datetime(2026, 3, 4, 15, 0, tzinfo=UTC))
    server = EmulatorServer(app)
    info = seed_volume(app, count, clock=app.clock)
    app.clock.advance(120)
    queue.put((server.url, info.fields))
    server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickets", type=int, default=10_000)
    args = parser.parse_args()
    from plugins.zendesk import RetryPolicy, connect

    queue: mp.Queue = mp.Queue()  # type: ignore[type-arg]
    child = mp.get_context("fork").Process(target=_serve, args=(args.tickets, queue), daemon=True)
    child.start()
    url, fields = queue.get(timeout=300)
    control = requests.Session()

    def sleep(seconds: float) -> None:  # waits move the emulator's clock
        control.post(f"{url}/_emulator/clock", json={"advance_seconds": seconds}, timeout=10)

    config = ConnectionConfig(name="bench", kind="zendesk", url=url, fields=fields)
    helpdesk = connect(config, retry=RetryPolicy(request_timeout=60), sleep=sleep)

    # pass 1: calls and speed (kept: ticket id and updated_at for the push)
    wall = time.perf_counter()
    cpu = time.thread_time()
    seen: list[tuple[str, datetime]] = []
    pages = 0
    events = 0
    for page in helpdesk.pull(None):
        pages += 1
        events += sum(len(r.events) for r in page.records)
        seen.extend((r.ticket.id, r.ticket.updated_at) for r in page.records)
    pull_cpu = time.thread_time() - cpu
    pull_wall = time.perf_counter() - wall
    pull_calls = helpdesk.api_calls
    log = requests.get(f"{url}/_emulator/requests", timeout=30).json()["requests"]
    pull_429 = sum(1 for r in log if r["status"] == 429)
    event_pages = sum(1 for r in log if "ticket_events" in r["path"] and r["status"] == 200)

    # pass 2: peak memory of a full pull by a fresh adapter, pages handed on as a sync would
    tracemalloc.start()
    fresh = connect(config, retry=RetryPolicy(request_timeout=60), sleep=sleep)
    for _page in fresh.pull(None):
        pass
    peak_pull = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()

    actions: list[Action] = []
    for ticket_id, updated_at in seen:
        common = {"connection": "bench", "ticket_id": ticket_id, "basis": updated_at}
        actions.append(
            Action(
                key=f"{ticket_id}:tags",
                kind=ActionKind.ADD_TAGS,
                values=("tier_standard", "sev_p3"),
                **common,
            )
        )
        actions.append(
            Action(
                key=f"{ticket_id}:due",
                kind=ActionKind.SET_FIELD,
                field="sla_due",
                value="2026-03-05T12:00:00+00:00",
                **common,
            )
        )
    before = helpdesk.api_calls
    wall = time.perf_counter()
    cpu = time.thread_time()
    results = helpdesk.push(actions)
    push_cpu = time.thread_time() - cpu
    push_wall = time.perf_counter() - wall
    push_calls = helpdesk.api_calls - before

    tickets = len(seen)
    jobs = math.ceil(tickets / 100)
    minimum_pull = math.ceil(tickets / 1000) + event_pages
    applied = sum(r.outcome == Outcome.APPLIED for r in results)
    print(f"tickets pulled            {tickets:>10,} ({events:,} events, {pages} pages)")
    print(
        f"pull API calls            {pull_calls:>10,} (minimum {minimum_pull}: {math.ceil(tickets / 1000)} "
        f"export pages + {event_pages} ticket-event pages; {pull_429} were 429s of the 10/min export limit)"
    )
    print(f"pull wall time            {pull_wall:>10.2f} s (emulator included)")
    print(f"pull local work           {tickets / pull_cpu:>10,.0f} tickets/s ({pull_cpu:.2f} s CPU)")
    print(f"push actions              {len(actions):>10,} ({applied:,} applied)")
    print(
        f"push API calls            {push_calls:>10,} (minimum {jobs + 2}: {jobs} update_many + 2 show_many polls, "
        "the emulator's jobs report working, then completed)"
    )
    print(f"push wall time            {push_wall:>10.2f} s")
    print(f"push local work           {len(actions) / push_cpu:>10,.0f} actions/s ({push_cpu:.2f} s CPU)")
    print(f"peak traced memory        {peak_pull / 1e6:>10.1f} MB (a full pull, pages not kept)")
    child.terminate()


if __name__ == "__main__":
    main()
