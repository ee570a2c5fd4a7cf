"""Backfill at scale: a first sync through the whole worker path, 10k / 30k / 100k tickets.

Each size runs in a fresh process (so peak RSS is that size's own): a Zendesk emulator in a child
process is seeded with the tickets (`seed_volume`: 1-4 comments each over three days), then the
worker's cycle (`SyncService.run_cycle`: pull, evaluate, push) runs on a SQLite file with the
example mappings until tierdesk has caught up (`caught_up`: a cycle that pulls nothing but its
own write-backs coming back and leaves nothing queued). Between cycles both clocks move one pull
interval (60 s), so the export's one-minute lag lets tierdesk's own write-backs come back, as they
do in a real account.

Figures, per size:
  - peak RSS of the syncing process (`ru_maxrss`; the emulator runs in its own process);
  - CPU per ticket: process CPU time (`time.process_time`) of the sync over tickets. CPU, not
    wall time: the machine is shared, wall time says more about the neighbours than about us;
  - tickets pulled / tickets: every record the exports delivered, over all cycles (tierdesk's own
    write-backs coming back count as pulls); tickets re-read before pushing are shown apart;
  - local CPU / API-imposed time. The API-imposed time is the time Zendesk's published rate
    limits would impose on the calls made (the emulator's limits are lifted so nothing waits
    here): max(all calls / 700 per minute (Enterprise account budget), incremental export calls
    / 10 per minute (the incremental export budget)).

With `--helpdesk jira` the same runs against the Jira Service Management emulator seeded with the
demo site at that size (`plugins.jira.seed_demo`: JSM requests in organizations, with comments,
transitions and assignments). Jira Cloud publishes no per-minute budget for API-token traffic
(it is governed by per-second burst limits per endpoint), so for Jira the table shows API calls
per issue instead of a share of API-imposed time.

    .venv/bin/python bench/backfill.py [--sizes 10000,30000]   # add 100000 on request (long)
    .venv/bin/python bench/backfill.py --helpdesk jira --sizes 10000
    .venv/bin/python bench/backfill.py --one 10000 --profile /tmp/backfill.prof   # one size, profiled
"""

from __future__ import annotations

import argparse
import cProfile
import json
import multiprocessing as mp
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the e2e helpers that point the example mappings at an emulator
START = datetime(2026, 3, 4, 15, 0, tzinfo=UTC)  # a Wednesday afternoon
ACCOUNT_PER_MINUTE = 700
INCREMENTAL_PER_MINUTE = 10
PULL_INTERVAL = timedelta(seconds=60)


def _serve(count: int, queue: mp.Queue) -> None:  # type: ignore[type-arg]
    import logging

    from connector.emulation.base import EmulatorServer
    from plugins.zendesk import build_emulator
    from plugins.zendesk.emulator import seed_volume
    from plugins.zendesk.emulator.app import ZendeskAPI
    from plugins.zendesk.emulator.ratelimit import RateLimiter

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    app = build_emulator("simulated", "empty", start=START - timedelta(days=3))
    assert isinstance(app.vendor, ZendeskAPI)
    app.vendor.limits = RateLimiter(per_minute=10**9, incremental_per_minute=10**9)  # see docstring
    server = EmulatorServer(app)
    info = seed_volume(app, count, clock=app.clock, days=3)
    app.clock.set(START)
    app.log.clear()  # the request log counts tierdesk's calls, not the seeding's
    queue.put(
        (
            server.url,
            {
                "fields": dict(info.fields),
                "aliases": {
                    "duty-managers": str(info.groups["Escalations"]),
                    "tier-2": str(info.groups["Tier 2"]),
                    "sla-watcher": str(info.agents[0]),
                },
            },
        )
    )
    server.serve_forever()


def _serve_jira(count: int, queue: mp.Queue) -> None:  # type: ignore[type-arg]
    import logging

    from connector.emulation.base import EmulatorServer
    from plugins.jira import build_emulator, emulator_of, seed_demo

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    app = build_emulator("simulated", "empty", start=START)
    demo = seed_demo(app, issues=count)
    emulator_of(app).rate_limits = None  # nothing waits here; see the docstring
    app.log.clear()  # the request log counts tierdesk's calls, not the seeding's
    server = EmulatorServer(app)
    queue.put(
        (
            server.url,
            {
                "fields": dict(demo.fields),
                "projects": [demo.project],
                "aliases": {"sla-watcher": next(iter(demo.agents.values()))},
            },
        )
    )
    server.serve_forever()


def caught_up(report: Any) -> bool:
    """The backfill is over: the cycle pulled nothing but tierdesk's own write-backs coming back
    and left nothing queued. (At 100k open tickets some threshold is crossed every simulated
    minute, so write-backs and their echo never stop: waiting for an empty pull would not end.)"""
    return report.pulled == report.own_write_backs and report.left_queued == 0


def run_one(
    tickets: int, profiler: cProfile.Profile | None = None, helpdesk: str = "zendesk"
) -> dict[str, Any]:
    """One first sync of `tickets` in this process; the figures as a dict."""
    from connector.bootstrap import build_app
    from connector.clock import FixedClock
    from connector.collector import settle_for_sync
    from connector.sync_summary import CycleReport
    from plugins.zendesk.emulator.seed import INTEGRATION_EMAIL
    from tests.e2e.support import write_mappings

    queue: mp.Queue = mp.Queue()  # type: ignore[type-arg]
    serve = _serve_jira if helpdesk == "jira" else _serve
    child = mp.get_context("fork").Process(target=serve, args=(tickets, queue), daemon=True)
    child.start()
    try:
        url, connection = queue.get(timeout=3600)
        os.environ["TIERDESK_ZENDESK_EMAIL"] = INTEGRATION_EMAIL
        os.environ["TIERDESK_ZENDESK_TOKEN"] = "emulator"
        control = requests.Session()
        work = Path(tempfile.mkdtemp(prefix="tierdesk-backfill-"))
        mappings = write_mappings(
            work / "mappings",
            {helpdesk: {"url": url, **connection}},
            options={"zendesk": {"job_poll_interval": "0"}} if helpdesk == "zendesk" else None,
        )
        clock = FixedClock(START)
        app = build_app(mappings, f"sqlite:///{work / 'tierdesk.db'}", clock=clock)
        settle_for_sync()  # as `tierdesk worker` does once built
        total = CycleReport()
        cycles = 0
        cpu = time.process_time()
        wall = time.perf_counter()
        if profiler is not None:
            profiler.enable()
        try:
            while True:
                report = app.service.run_cycle()
                total.merge(report)
                cycles += 1
                if caught_up(report):
                    break
                if cycles >= 500:
                    raise RuntimeError("no steady state after 500 cycles")
                clock.set(clock.now() + PULL_INTERVAL)
                control.post(f"{url}/_emulator/clock", json={"now": clock.now().isoformat()}, timeout=30)
        finally:
            app.close()
            if profiler is not None:
                profiler.disable()
        cpu = time.process_time() - cpu
        wall = time.perf_counter() - wall
        # the sync's peak, taken before this process reads the emulator's request log (at 30k Jira
        # issues some 200,000 entries, over 100 MB decoded: the bench's memory, not tierdesk's)
        peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        log = control.get(f"{url}/_emulator/requests", timeout=600).json()["requests"]
    finally:
        child.terminate()
    calls = len(log)
    incremental = sum(1 for r in log if r["path"].startswith("/api/v2/incremental/"))
    if helpdesk == "jira":  # no published per-minute budget (see the docstring)
        imposed = float("nan")
    else:
        imposed = 60.0 * max(calls / ACCOUNT_PER_MINUTE, incremental / INCREMENTAL_PER_MINUTE)
    conflicts = sum(1 for r in log if r["status"] == 409)
    return {
        "helpdesk": helpdesk,
        "tickets": tickets,
        "peak_rss_mb": peak_rss_mb,
        "cpu_s": cpu,
        "wall_s": wall,
        "cycles": cycles,
        "pulled": total.pulled,
        "verified": total.verified,
        "evaluated": total.evaluated,
        "own": getattr(total, "own_write_backs", 0),
        "pushed": total.pushed,
        "calls": calls,
        "incremental_calls": incremental,
        "conflicts": conflicts,
        "imposed_s": imposed,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="10000,30000", help="comma-separated ticket counts")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # one size, figures as JSON
    parser.add_argument("--profile", metavar="FILE", help="with --one: cProfile stats of the sync to FILE")
    parser.add_argument("--helpdesk", choices=("zendesk", "jira"), default="zendesk")
    args = parser.parse_args()
    if args.one:
        profiler = cProfile.Profile() if args.profile else None
        figures = run_one(args.one, profiler, args.helpdesk)
        if profiler is not None:
            profiler.dump_stats(args.profile)
        print(json.dumps(figures))
        return
    rows = []
    for size in (int(s) for s in args.sizes.split(",")):
        out = subprocess.run(
            [sys.executable, __file__, "--one", str(size), "--helpdesk", args.helpdesk],
            check=True,
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
        print(f"  {size:,} done: {rows[-1]}", file=sys.stderr)
    header = [f"{args.helpdesk} first sync through the whole worker path"] + [
        f"{r['tickets']:,}" for r in rows
    ]
    table = [
        ("peak RSS", [f"{r['peak_rss_mb']:,.0f} MB" for r in rows]),
        ("CPU per ticket", [f"{1000 * r['cpu_s'] / r['tickets']:.2f} ms" for r in rows]),
        ("tickets pulled / tickets", [f"{r['pulled'] / r['tickets']:.3f}" for r in rows]),
        ("local CPU / API-imposed time", [f"{r['cpu_s'] / r['imposed_s']:.3f}" for r in rows]),
        ("API calls per ticket", [f"{r['calls'] / r['tickets']:.3f}" for r in rows]),
        ("  (tickets re-read before pushing)", [f"{r['verified']:,}" for r in rows]),
        (
            "  (evaluations; own write-backs not evaluated)",
            [f"{r['evaluated']:,}; {r['own']:,}" for r in rows],
        ),
        (
            "  (API calls: all / incremental / 409)",
            [f"{r['calls']:,} / {r['incremental_calls']:,} / {r['conflicts']:,}" for r in rows],
        ),
        ("  (API-imposed time)", [f"{r['imposed_s'] / 60:,.1f} min" for r in rows]),
        (
            "  (CPU / wall, cycles)",
            [f"{r['cpu_s']:,.0f} s / {r['wall_s']:,.0f} s, {r['cycles']}" for r in rows],
        ),
    ]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for name, cells in table:
        print(f"| {name} | " + " | ".join(cells) + " |")
    if args.helpdesk == "zendesk":
        print("API-imposed time = max(calls / 700 per min, incremental export calls / 10 per min).")
    else:
        print("Jira Cloud publishes no per-minute budget for API-token traffic: no API-imposed time (nan).")
    print("CPU is process CPU time of the syncing process, not wall time.")


if __name__ == "__main__":
    main()
