"""`tierdesk sync --once` shows long work and counts every outcome: a first sync of a seeded Jira
site, run as a separate process whose output is not a terminal, logs progress events with the
total Jira reports, and its summary line adds up to what the store holds."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from connector.store.repository import Store
from tests.e2e.support import jira_emulator, run_cli, seed_tickets, write_mappings, zendesk_emulator

pytestmark = pytest.mark.e2e

START = datetime(2026, 3, 4, 10, 0, tzinfo=UTC)
ISSUES = 120


def _events(stderr: str) -> list[dict[str, Any]]:
    events = []
    for line in stderr.splitlines():
        if line.startswith("{"):
            events.append(json.loads(line))
    return events


def _counts(summary: str) -> dict[str, int]:
    """`pulled 1,200, sent 3, skipped 4 (superseded 4), ...` -> {"pulled": 1200, "sent": 3, ...}."""
    pairs = re.findall(r"(?:^|, )([a-z][a-z -]*?) (\d[\d,]*\d|\d)(?=,|$| \()", summary)
    return {name: int(value.replace(",", "")) for name, value in pairs}


def test_a_first_sync_logs_progress_with_totals_and_a_summary_of_every_outcome(tmp_path: Path) -> None:
    with jira_emulator(START, ISSUES) as site:
        mappings = write_mappings(tmp_path / "mappings", {"jira": site.connection()})
        db = tmp_path / "t.db"
        ran = run_cli(
            [
                "--log-level",
                "info",
                "sync",
                "--once",
                "--mappings",
                str(mappings),
                "--db",
                f"sqlite:///{db}",
                "--now",
                START.isoformat(),
            ],
            tmp_path,
            timeout=300,
        )
    assert ran.returncode in (0, 2), ran.stderr[-2000:]
    events = _events(ran.stderr)
    progress = [e for e in events if e["event"] == "progress"]
    pulls = [e for e in progress if e["phase"] == "pull"]
    assert pulls[-1]["done"] == pulls[-1]["total"] == ISSUES  # Jira's approximate count is the total
    assert pulls[-1]["connection"] == "jira-main"
    pushes = [e for e in progress if e["phase"] == "push"]
    assert pushes and pushes[-1]["done"] == pushes[-1]["total"] > 0
    assert all(e["rate_per_s"] is not None for e in progress)

    summary = ran.stdout.strip().splitlines()[-1]
    counts = _counts(summary)
    store = Store.open(f"sqlite:///{db}")
    try:
        rows = store.outbox_counts()
    finally:
        store.close()
    assert counts["pulled"] == ISSUES
    assert counts["sent"] == rows["applied"] + rows["already_applied"]
    assert counts["failed"] == rows["failed"]
    assert counts["withdrawn"] == rows["withdrawn"]
    assert counts["left queued"] == rows["pending"] + rows["sending"]
    assert counts["skipped"] == rows["skipped"] > 0  # backlog warnings of a first sync are skipped
    assert "(superseded " in summary
    # every queued action ended somewhere the summary names
    ended = counts["sent"] + counts["failed"] + counts["withdrawn"] + counts["left queued"]
    assert ended + counts["skipped"] == sum(rows.values())
    (cycle,) = [e for e in events if e["event"] == "cycle"]
    assert cycle["skipped"] == counts["skipped"] and cycle["left_queued"] == counts["left queued"]


def test_a_first_zendesk_sync_reports_the_ticket_count_as_its_total(tmp_path: Path) -> None:
    with zendesk_emulator(START) as site:
        seed_tickets(site, 40, START - timedelta(minutes=10))
        site.set_clock(START)
        expected = len(site.info.ticket_ids)
        mappings = write_mappings(tmp_path / "mappings", {"zendesk": site.connection()})
        db = f"sqlite:///{tmp_path / 'z.db'}"
        args = [
            "--log-level",
            "info",
            "sync",
            "--once",
            "--mappings",
            str(mappings),
            "--db",
            db,
            "--now",
            START.isoformat(),
        ]
        first = run_cli(args, tmp_path, timeout=300)
        again = run_cli(args, tmp_path, timeout=300)
    assert first.returncode in (0, 2), first.stderr[-2000:]
    pulls = [e for e in _events(first.stderr) if e["event"] == "progress" and e["phase"] == "pull"]
    assert (pulls[-1]["connection"], pulls[-1]["done"], pulls[-1]["total"]) == (
        "zendesk-main",
        expected,
        expected,
    )
    # a later pull is incremental: it asks for no count and shows no total
    later = [e for e in _events(again.stderr) if e["event"] == "progress" and e["phase"] == "pull"]
    assert all(e["total"] is None for e in later)
