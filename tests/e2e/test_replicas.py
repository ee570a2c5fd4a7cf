"""Three `tierdesk worker` replicas on one PostgreSQL schema, against both emulators, killed with
SIGKILL at random during pulls and pushes and restarted at once: every note lands exactly once,
every queued action is answered, and a connection whose leader died is taken over within the
lease bound (`connector.store.leases`).

The workers are real processes (children of a pre-imported fork server) with real zenpy / jira
clients over HTTP; the emulators follow the wall clock. The store is told tierdesk has served the
connections for a month, so the seeded tickets' past warnings and breaches are sent as notes
(hundreds of actions) instead of being kept as backlog.
"""

from __future__ import annotations

import os
import random
import signal
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from connector.store.repository import Store
from connector.store.tables import outbox
from tests.e2e.support import (
    ForkServer,
    WorkerRun,
    ZendeskSite,
    jira_emulator,
    jira_note_markers,
    note_markers,
    outbox_entries,
    seed_tickets,
    write_mappings,
    zendesk_emulator,
)
from tests.store.conftest import _fresh_pg_schema

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

REPLICAS = 3
TICKETS, ISSUES = 150, 60
KILLS_PER_PHASE = 4  # SIGKILLs of a worker pulling, and of one with actions in flight
KILL_WINDOW = 180.0  # seconds at most; the drill ends as soon as both phases have their kills
PULL_INTERVAL = 10  # seconds between a leader's pulls of one connection (the least a connection takes)
LEASE_POLL = 0.5  # seconds between a follower's attempts to take a connection
CLAIM_SECONDS = 3.0  # a killed worker's claimed rows return to the queue after this
# A connection left without a leader is taken over within LEASE_POLL (see the module docstring of
# `connector.store.leases`); the slack covers a new leader's start on a loaded two-core machine.
TAKEOVER_SLACK = 5.0
STALLS = (  # slow calls: a pull or a push lasts long enough to be killed in the middle
    {"path": r"^/api/v2/incremental/", "timeout_s": 0.15},
    {"path": r"^/api/v2/tickets/update_many", "timeout_s": 0.6},
    {"path": r"^/rest/api/3/search/jql", "method": "POST", "timeout_s": 0.15},
    {"path": r"^/rest/api/3/issue/[^/]+/comment$", "method": "POST", "timeout_s": 0.3},
    {"path": r"^/rest/api/3/issue/[^/]+$", "method": "PUT", "timeout_s": 0.1},
)
PULLS = r"GET /api/v2/incremental/|POST /rest/api/3/search/jql"
PUSHES = r"PUT /api/v2/tickets/update_many|POST /rest/api/3/issue/[^/]+/comment|PUT /rest/api/3/issue/"
CONNECTIONS = ("zendesk-main", "jira-main")


def _pid_of(owner: str) -> int:
    return int(owner.split(":")[-2])


def _leaders(db_url: str) -> list[tuple[str, str, datetime]]:
    store = Store.open(db_url, upgrade=False)
    try:
        return store.leader_log()
    finally:
        store.close()


def _latest_leaders(db_url: str) -> dict[str, int]:
    """The pid of each connection's latest leader."""
    return {c: _pid_of(owner) for c, owner, _ in _leaders(db_url)}


def _senders(db_url: str, *, until: float) -> set[int]:
    """Pids of the workers with outbox rows marked sending, waiting for some until `until`."""
    store = Store.open(db_url, upgrade=False)
    try:
        while True:
            with store.reading() as db:
                owners = db.execute(
                    sa.select(outbox.c.claimed_by).distinct().where(outbox.c.status == "sending")
                ).scalars()
                pids = {_pid_of(owner) for owner in owners if owner}
            if pids or time.monotonic() > until:
                return pids
            time.sleep(0.05)
    finally:
        store.close()


def _all_led(db_url: str, workers: list[WorkerRun]) -> bool:
    """Every connection's latest leader is a running worker."""
    leaders = _latest_leaders(db_url)
    alive = {w.pid for w in workers if w.alive()}
    return all(leaders.get(c) in alive for c in CONNECTIONS)


def _queued(db_url: str) -> int:
    store = Store.open(db_url, upgrade=False)
    try:
        counts = store.outbox_counts()
    finally:
        store.close()
    return counts["pending"] + counts["sending"]


def _customers_follow_up(site: ZendeskSite, rng: random.Random, round_: int) -> None:
    """Customers reply on a few open tickets (their next-reply clocks restart: more write-backs)."""
    account = site.account
    now = int(datetime.now(UTC).timestamp())
    open_ids = [
        t for t in sorted(site.info.ticket_ids) if account.tickets[t].status not in ("solved", "closed")
    ]
    for ticket_id in rng.sample(open_ids, min(10, len(open_ids))):
        change = {"comment": {"body": f"Customer follow-up {round_}", "public": True}}
        account.update_ticket(ticket_id, change, account.tickets[ticket_id].requester_id, now)


def test_three_replicas_killed_at_random_send_each_note_once_and_lose_nothing(tmp_path: Path) -> None:
    rng = random.Random(11)
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
        interval = {"pull_interval": f"{PULL_INTERVAL}s"}
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
        args = ["worker", "--mappings", str(mappings), "--db", db_url]
        started = 0

        def start() -> WorkerRun:
            nonlocal started
            started += 1
            return server.run(args, tmp_path / f"worker-{started}.log")

        workers = [start() for _ in range(REPLICAS)]
        leader_kills: list[tuple[str, datetime]] = []  # (connection, when its leader was killed)
        kills: Counter[str] = Counter()
        try:
            window = time.monotonic() + KILL_WINDOW
            round_ = 0
            missed: str | None = None  # the phase whose last round found nobody to kill
            while min(kills["pull"], kills["push"]) < KILLS_PER_PHASE and time.monotonic() < window:
                round_ += 1
                # the phase behind goes next (pushes first, while the queue is long); after a round
                # that found nobody, the other phase gets a turn if it still needs kills
                phase = "push" if kills["push"] <= kills["pull"] else "pull"
                other = "pull" if phase == "push" else "push"
                if phase == missed and kills[other] < KILLS_PER_PHASE:
                    phase = other
                missed = phase
                _customers_follow_up(zendesk, rng, round_)  # new work for the next pull and push
                if phase == "pull":
                    tap = rng.choice((zendesk.tap, jira.tap))
                    # a leader pulls every PULL_INTERVAL: waiting a little longer always sees one
                    if not tap.wait_for(tap.mark(), PULLS, alive=lambda: True, timeout=PULL_INTERVAL + 2):
                        continue
                    time.sleep(rng.uniform(0.0, 0.2))
                    connection = CONNECTIONS[0] if tap is zendesk.tap else CONNECTIONS[1]
                    suspects = {_latest_leaders(db_url).get(connection)}
                else:  # a worker with actions in flight (marked sending under its claim)
                    suspects = _senders(db_url, until=time.monotonic() + 4)
                leaders = _latest_leaders(db_url)
                victims = [w for w in workers if w.pid in suspects]
                if not victims:
                    continue
                victim = rng.choice(victims)
                killed_at = datetime.now(UTC)
                if victim.kill():
                    kills[phase] += 1
                    missed = None
                    leader_kills.extend((c, killed_at) for c, pid in leaders.items() if pid == victim.pid)
                workers[workers.index(victim)] = start()
            deadline = time.monotonic() + 45
            while (_queued(db_url) or not _all_led(db_url, workers)) and time.monotonic() < deadline:
                time.sleep(0.5)
            for run in workers:  # SIGTERM: each replica stops promptly (exit 0, or 5 if work was left)
                os.kill(run.pid, signal.SIGTERM)
            codes = [run.wait(timeout=30) for run in workers]
        finally:
            for run in workers:
                run.kill()
            server.close()
        zendesk.tap.wait_idle()
        jira.tap.wait_idle()

        entries = outbox_entries(db_url)
        zendesk_notes = note_markers(zendesk.account)
        jira_notes = jira_note_markers(jira)
        leader_log = _leaders(db_url)

    statuses = Counter(e.status for e in entries)
    sent_notes = [e for e in entries if e.kind == "add_note" and e.status in ("applied", "already_applied")]
    print(
        f"\n{started} worker runs, kills {dict(kills)}, {len(entries)} outbox rows {dict(statuses)}, "
        f"{len(sent_notes)} notes, {len(leader_log)} leadership changes"
    )
    # -15: a replica restarted a moment ago, still starting; -9: one hung on SIGTERM and was killed
    assert set(codes) <= {0, 5, -15}, codes
    assert kills["pull"] >= KILLS_PER_PHASE and kills["push"] >= KILLS_PER_PHASE, kills
    assert len(entries) >= 300 and len(sent_notes) >= 50  # hundreds of actions, many of them notes
    assert statuses["pending"] == 0 and statuses["sending"] == 0  # nothing lost in the queue
    assert statuses["failed"] == 0, [e for e in entries if e.status == "failed"][:3]
    duplicated = {k: n for k, n in (zendesk_notes + jira_notes).items() if n > 1}
    assert duplicated == {}  # each note once per ticket and marker
    on_helpdesk = {marker for _, marker in zendesk_notes} | {marker for _, marker in jira_notes}
    assert {e.marker for e in sent_notes} <= on_helpdesk  # every note recorded as sent is there

    gaps = []
    for connection, killed_at in leader_kills:
        taken = [at for c, _, at in leader_log if c == connection and at >= killed_at]
        assert taken, f"{connection} was never taken over after its leader died at {killed_at}"
        gaps.append((min(taken) - killed_at).total_seconds())
    print(f"takeovers after a leader's death (s): {sorted(round(g, 2) for g in gaps)}")
    assert max(gaps, default=0.0) <= LEASE_POLL + TAKEOVER_SLACK
