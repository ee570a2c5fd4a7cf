"""`sync --once --budget` ends a run that the helpdesk would keep waiting (a 429 storm on writes,
an outage on reads): exit 5, with what it left queued counted by kind on stderr, and the actions
still pending in the outbox. `plan --detailed-exitcode` answers 2 while changes are pending and 0
once they are pushed.

The helpdesk is the Zendesk emulator on a free port; `tierdesk` runs as a subprocess.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.support import ROOT, ZendeskSite, customer_of, open_ticket, outbox_entries, write_mappings
from tests.e2e.support import zendesk_emulator as emulator

pytestmark = pytest.mark.e2e

NOW = datetime(2026, 11, 25, 14, 0, tzinfo=UTC)


def tierdesk(args: list[str], cwd: Path, now: datetime = NOW) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TIERDESK_")}
    env.update(PYTHONPATH=str(ROOT), TIERDESK_LOG_FORMAT="console")
    return subprocess.run(
        [sys.executable, "-m", "connector", *args, "--now", now.isoformat()],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def site() -> Iterator[ZendeskSite]:
    with emulator(NOW - timedelta(minutes=30)) as site:
        open_ticket(site, customer_of(site))  # an enterprise outage, 30 minutes old at NOW
        site.set_clock(NOW)
        yield site


@pytest.mark.parametrize(
    ("fault", "left"),
    [
        (
            {"path": "^/api/v2/", "method": "PUT", "status": 429, "retry_after": 100},
            "left queued: 1 add_tags",
        ),
        (
            {"path": "^/api/v2/incremental/", "method": "GET", "status": 503, "retry_after": 60},
            "left queued: nothing",
        ),
    ],
    ids=["429-storm-on-writes", "outage-on-reads"],
)
def test_the_budget_ends_sync_once_with_exit_5_and_says_what_is_left(
    site: ZendeskSite, tmp_path: Path, fault: dict[str, Any], left: str
) -> None:
    mappings = write_mappings(tmp_path / "mappings", {"zendesk": site.connection()})
    db = f"sqlite:///{tmp_path / 'budget.db'}"
    site.faults(fault)
    result = tierdesk(["sync", "--once", "--budget", "2s", "--mappings", str(mappings), "--db", db], tmp_path)
    lines = result.stderr.splitlines()
    assert result.returncode == 5, result.stderr
    assert len(lines) == 1 and "Traceback" not in result.stderr
    assert "stopped: the --budget of 2s was spent" in lines[0]
    assert left in lines[0]
    pending = [e for e in outbox_entries(db) if e.status == "pending"]
    assert bool(pending) == ("nothing" not in left)


def test_plan_detailed_exitcode_is_0_when_nothing_would_change_and_2_when_changes_are_pending(
    site: ZendeskSite, tmp_path: Path
) -> None:
    mappings = write_mappings(tmp_path / "mappings", {"zendesk": site.connection()})
    db = ["--mappings", str(mappings), "--db", f"sqlite:///{tmp_path / 'plan.db'}"]
    later = NOW + timedelta(hours=6)  # resolution thresholds crossed since the sync: steps to take

    synced = tierdesk(["sync", "--once", *db], tmp_path)
    settled = tierdesk(["plan", "--detailed-exitcode", *db], tmp_path)
    pending = tierdesk(["plan", "--detailed-exitcode", *db], tmp_path, now=later)
    plain = tierdesk(["plan", *db], tmp_path, now=later)

    assert synced.returncode == 0, synced.stderr
    assert (settled.returncode, "0 of 1 tickets would change" in settled.stdout) == (0, True)
    assert (pending.returncode, "1 of 1 tickets would change" in pending.stdout) == (2, True)
    assert plain.returncode == 0  # without the flag, a plan that found changes succeeded
