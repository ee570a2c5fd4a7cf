"""`tierdesk sync --once` run beside `tierdesk worker` replicas on one PostgreSQL schema, against
both emulators: the one-off cycle takes part like a replica (`connector.replicas`). It pulls only
connections whose leadership it can take, says which ones another worker pulls, and sends only
outbox rows it claimed, so every note lands once and every queued action is answered.

First a `sync --once` leads both connections and two workers start while it pushes (they push
under claims beside it); then, the workers leading, two more `sync --once` runs overlap with them
while customers keep replying.
"""

from __future__ import annotations

import os
import random
import re
import signal
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from connector.store.repository import Store
from tests.e2e.support import (
    ForkServer,
    WorkerRun,
    jira_emulator,
    jira_note_markers,
    note_markers,
    outbox_entries,
    seed_tickets,
    write_mappings,
    zendesk_emulator,
)
from tests.e2e.test_replicas import (
    CONNECTIONS,
    PULLS,
    STALLS,
    _customers_follow_up,
    _latest_leaders,
    _pid_of,
    _queued,
)
from tests.store.conftest import _fresh_pg_schema

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

TICKETS, ISSUES = 120, 40
LEASE_POLL = 0.5
CLAIM_SECONDS = 3.0


def _sent(summary: str) -> int:
    found = re.search(r"\bsent ([\d,]+)", summary)
    assert found, summary
    return int(found.group(1).replace(",", ""))


def test_sync_once_beside_workers_sends_each_note_once_and_loses_nothing(tmp_path: Path) -> None:
    rng = random.Random(7)
    now = datetime.now(UTC).replace(microsecond=0)
    with (
        _fresh_pg_schema() as db_url,
        zendesk_emulator(now - timedelta(days=3)) as zendesk,
        jira_emulator(now - timedelta(days=2), ISSUES) as jira,
    ):
        seed_tickets(zendesk, TICKETS, now - timedelta(hours=1), days=2)
        for site in (zendesk, jira):
            site.app.clock.follow(lambda: datetime.now(UTC))
        zendesk.faults(*STALLS[:2])
        jira.faults(*STALLS[2:])
        interval = {"pull_interval": "10s"}
        mappings = write_mappings(
            tmp_path / "mappings",
            {"zendesk": {**zendesk.connection(), **interval}, "jira": {**jira.connection(), **interval}},
            options={"zendesk": {"job_poll_interval": "0.1"}},
        )
        store = Store.open(db_url)
        for connection in CONNECTIONS:  # served for a month: past crossings are news, not backlog
            store.set_meta(f"started:{connection}", (now - timedelta(days=30)).isoformat())
        store.close()

        server = ForkServer(
            tmp_path,
            env={
                "TIERDESK_LEASE_POLL_SECONDS": str(LEASE_POLL),
                "TIERDESK_CLAIM_SECONDS": str(CLAIM_SECONDS),
            },
        )
        common = ["--mappings", str(mappings), "--db", db_url]
        runs: list[tuple[WorkerRun, Path]] = []

        def start(command: list[str], name: str) -> WorkerRun:
            log = tmp_path / f"{name}.log"
            run = server.run([*command, *common], log)
            runs.append((run, log))
            return run

        workers: list[WorkerRun] = []
        try:
            mark = zendesk.tap.mark()
            first_sync = start(["sync", "--once"], "sync-1")
            assert zendesk.tap.wait_for(mark, PULLS, alive=first_sync.alive, timeout=30)
            workers = [start(["worker"], f"worker-{n}") for n in (1, 2)]
            first_code = first_sync.wait(timeout=300)

            deadline = time.monotonic() + 30
            alive = {w.pid for w in workers}
            while set(_latest_leaders(db_url).values()) - alive and time.monotonic() < deadline:
                time.sleep(0.2)  # the workers take the connections the sync gave up
            later_codes = []
            for round_ in (1, 2):
                _customers_follow_up(zendesk, rng, round_)  # new work for the workers and the syncs
                overlapping = [start(["sync", "--once"], f"sync-{round_ + 1}-{n}") for n in (1, 2)]
                later_codes += [run.wait(timeout=300) for run in overlapping]

            deadline = time.monotonic() + 60
            while _queued(db_url) and time.monotonic() < deadline:
                time.sleep(0.5)
            for run in workers:
                os.kill(run.pid, signal.SIGTERM)
            worker_codes = [run.wait(timeout=30) for run in workers]
        finally:
            for run, _ in runs:
                run.kill()
            server.close()
        zendesk.tap.wait_idle()
        jira.tap.wait_idle()

        entries = outbox_entries(db_url)
        store = Store.open(db_url, upgrade=False)
        leader_log = store.leader_log()
        store.close()
        zendesk_notes = note_markers(zendesk.account)
        jira_notes = jira_note_markers(jira)
        duplicated = {k: n for k, n in (zendesk_notes + jira_notes).items() if n > 1}

    summaries = {
        log.name: next((line for line in log.read_text().splitlines() if line.startswith("pulled ")), "")
        for _, log in runs
        if log.name.startswith("sync")
    }
    statuses = Counter(e.status for e in entries)
    sent_notes = [e for e in entries if e.kind == "add_note" and e.status in ("applied", "already_applied")]
    print(
        f"\n{len(entries)} outbox rows {dict(statuses)}, {len(sent_notes)} notes, "
        f"{len(duplicated)} notes duplicated"
    )
    for name, line in sorted(summaries.items()):
        print(f"{name}: {line}")

    assert first_code == 0 and later_codes == [0, 0, 0, 0], (first_code, later_codes)
    assert set(worker_codes) <= {0, 5}, worker_codes
    # the first sync led the connection it pulled first and sent beside the workers; a connection
    # a worker took while the sync was busy with the first is left to that worker, and named
    first_leaders = {c for c, owner, _ in leader_log if _pid_of(owner) == first_sync.pid}
    assert CONNECTIONS[0] in first_leaders, leader_log
    for connection in CONNECTIONS:
        named = f"{connection}: pulled by another worker" in summaries["sync-1.log"]
        assert named == (connection not in first_leaders), (connection, summaries["sync-1.log"])
    assert _sent(summaries["sync-1.log"]) > 0
    # the later ones found both connections led by a worker and pulled neither
    for name, line in summaries.items():
        if name != "sync-1.log":
            assert "zendesk-main: pulled by another worker" in line, line
            assert "jira-main: pulled by another worker" in line, line
            assert line.startswith("pulled 0,"), line
    assert len(sent_notes) >= 30
    assert statuses["pending"] == 0 and statuses["sending"] == 0  # nothing lost in the queue
    assert statuses["failed"] == 0, [e for e in entries if e.status == "failed"][:3]
    assert duplicated == {}  # each note once per ticket and marker
    on_helpdesk = {marker for _, marker in zendesk_notes} | {marker for _, marker in jira_notes}
    assert {e.marker for e in sent_notes} <= on_helpdesk
