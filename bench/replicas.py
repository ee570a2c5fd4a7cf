"""Replicas: throughput of 1 vs 3 `tierdesk worker` processes on one PostgreSQL database.

Each run gets a fresh schema on the local PostgreSQL, a Zendesk emulator with `--tickets` imported
tickets and a Jira emulator with `--issues` demo issues (both following the wall clock, every API
call held `--latency` seconds, as a real helpdesk answers in tens to hundreds of milliseconds).
The store is told tierdesk has served both connections for a month, so past warnings and breaches
are sent as notes. The workers start together; the run ends when every ticket is stored and
evaluated and the outbox is empty. Printed per run: wall time and actions/s over it (outbox rows
answered), the push window (first to last recorded push outcome) and actions/s within it,
tickets/s (tickets pulled and evaluated, over the time until the last one was), API calls.

Pull leadership is per connection: with two connections at most two workers pull at once; every
worker pushes, claiming rows with FOR UPDATE SKIP LOCKED.

    .venv/bin/python bench/replicas.py [--tickets 600] [--issues 200] [--latency 0.1]

Needs PostgreSQL (`$TIERDESK_TEST_PG`, default postgresql+psycopg://postgres@127.0.0.1:5432/test).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from connector.store.repository import Store
from connector.store.tables import audit, outbox, tickets
from tests.e2e.support import ROOT, jira_emulator, seed_tickets, worker_env, write_mappings, zendesk_emulator

CONNECTIONS = ("zendesk-main", "jira-main")


def _base_url() -> sa.URL:
    from connector.store.engine import resolve_url

    return resolve_url(
        os.environ.get("TIERDESK_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    )


def _progress(store: Store) -> tuple[int, int, int]:
    """(tickets stored and evaluated, outbox rows answered, rows still queued)."""
    with store.reading() as db:
        evaluated = db.execute(
            sa.select(sa.func.count()).select_from(tickets).where(tickets.c.evaluated_version.is_not(None))
        ).scalar_one()
        counts = dict(db.execute(sa.select(outbox.c.status, sa.func.count()).group_by(outbox.c.status)).all())
    queued = counts.pop("pending", 0) + counts.pop("sending", 0)
    return int(evaluated), int(sum(counts.values())), int(queued)


def run(replicas: int, args: argparse.Namespace) -> dict[str, float]:
    base = _base_url()
    schema = f"tierdesk_bench_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(base, poolclass=NullPool)
    with admin.begin() as db:
        db.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    url = base.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(hide_password=False)
    work = Path(tempfile.mkdtemp(prefix="tierdesk-replicas-"))
    now = datetime.now(UTC).replace(microsecond=0)
    latency = {"timeout_s": args.latency}
    try:
        with (
            zendesk_emulator(now - timedelta(days=3)) as zendesk,
            jira_emulator(now - timedelta(days=2), args.issues) as jira,
        ):
            seed_tickets(zendesk, args.tickets, now - timedelta(hours=1), days=2)
            for site in (zendesk, jira):
                site.app.clock.follow(lambda: datetime.now(UTC))
            zendesk.faults({"path": "^/api/v2/", **latency})
            jira.faults({"path": "^/rest/", **latency})
            mappings = write_mappings(
                work / "mappings",
                {"zendesk": zendesk.connection(), "jira": jira.connection()},
                options={"zendesk": {"job_poll_interval": "0.1"}},
            )
            store = Store.open(url)
            for connection in CONNECTIONS:
                store.set_meta(f"started:{connection}", (now - timedelta(days=30)).isoformat())
            total = args.tickets + args.issues
            env = {**worker_env(), "PYTHONPATH": str(ROOT), "TIERDESK_LEASE_POLL_SECONDS": "1"}
            started = time.perf_counter()
            procs = [
                subprocess.Popen(
                    [sys.executable, "-m", "connector", "worker", "--mappings", str(mappings), "--db", url],
                    cwd=work,
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=(work / f"worker-{n}.log").open("w"),
                )
                for n in range(replicas)
            ]
            pulled_at = None
            try:
                while time.perf_counter() - started < args.timeout:
                    evaluated, answered, queued = _progress(store)
                    if pulled_at is None and evaluated >= total:
                        pulled_at = time.perf_counter()
                    if pulled_at is not None and answered and not queued:
                        break
                    time.sleep(0.2)
                took = time.perf_counter() - started
            finally:
                for proc in procs:
                    proc.terminate()
                for proc in procs:
                    try:
                        proc.wait(timeout=60)
                    except subprocess.TimeoutExpired:
                        print(f"worker {proc.pid} did not stop within 60 s of SIGTERM; killed")
                        proc.kill()
                        proc.wait()
            evaluated, answered, queued = _progress(store)
            with store.reading() as db:
                # one audit row per attempt; its key's outbox row was claimed by exactly one worker
                attempts = db.execute(sa.select(sa.func.count()).select_from(audit)).scalar_one()
                first, last = db.execute(sa.select(sa.func.min(audit.c.at), sa.func.max(audit.c.at))).one()
            store.close()
            calls = Counter(" ".join(e.split("/")[:5])[:60] for e in zendesk.tap.since(0) + jira.tap.since(0))
            if args.calls:
                print(calls.most_common(12))
    finally:
        with admin.begin() as db:
            db.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
    pull_time = (pulled_at or time.perf_counter()) - started
    return {
        "replicas": replicas,
        "seconds": took,
        "actions": answered,
        "queued_left": queued,
        "attempts": attempts,
        "actions_per_s": answered / took,
        "push_window": (last - first).total_seconds() if first and last else 0.0,
        "tickets": evaluated,
        "tickets_per_s": evaluated / pull_time,
        "api_calls": sum(calls.values()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tickets", type=int, default=600)
    parser.add_argument("--issues", type=int, default=200)
    parser.add_argument("--latency", type=float, default=0.1, help="seconds every API call is held")
    parser.add_argument("--timeout", type=float, default=300.0)
    parser.add_argument("--calls", action="store_true", help="print the most frequent API calls")
    args = parser.parse_args()
    print(
        f"{args.tickets} Zendesk tickets + {args.issues} Jira issues, {args.latency * 1000:.0f} ms per API call"
    )
    print(
        f"{'replicas':>8} {'wall s':>7} {'actions':>8} {'actions/s':>10} {'push s':>7} {'pushed/s':>9}"
        f" {'tickets':>8} {'tickets/s':>10} {'calls':>6} {'left':>5}"
    )
    for replicas in (1, 3):
        r = run(replicas, args)
        print(
            f"{r['replicas']:>8} {r['seconds']:>7.1f} {r['actions']:>8,.0f} {r['actions_per_s']:>10.1f} "
            f"{r['push_window']:>7.1f} {r['actions'] / max(r['push_window'], 1e-9):>9.1f} "
            f"{r['tickets']:>8,.0f} {r['tickets_per_s']:>10.1f} {r['api_calls']:>6,.0f} {r['queued_left']:>5,.0f}"
        )


if __name__ == "__main__":
    main()
