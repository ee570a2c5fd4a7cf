"""Invalid mappings never run: the worker refuses to start with the `check` errors, and a running
worker that sees a broken edit keeps its last good policy, says why, and takes the next valid edit.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from connector.bootstrap import build_app
from connector.clock import FixedClock
from connector.policy_holder import PolicyHolder
from connector.scheduler import Worker
from plugins.zendesk import connect
from plugins.zendesk.testing import FAST_RETRY
from tests.e2e.support import (
    CONNECTION,
    run_cli,
    seed_tickets,
    write_mappings,
    zendesk_emulator,
)

pytestmark = pytest.mark.e2e

START = datetime(2026, 3, 4, 10, 0, tzinfo=UTC)
EDITS = {
    "tiers.yaml": ("critical: {first_response: 15m,", "critical: {first_response: 15 minutes please,"),
    "customers.yaml": ("default_tier: standard", "default_tier: platinum"),
}


def _break(mappings: Path) -> list[str]:
    """Two errors in two files (a target that is no duration, an unknown default tier); returns the
    `path:line:col: message` lines `tierdesk check` prints for them."""
    for name, (good, bad) in EDITS.items():
        path = mappings / name
        path.write_text(path.read_text(encoding="utf-8").replace(good, bad), encoding="utf-8")
    checked = run_cli(["check", str(mappings)], mappings)
    assert checked.returncode == 1
    lines = checked.stdout.strip().splitlines()
    assert [line.split(":")[0] for line in lines] == [
        str(mappings / "customers.yaml"),
        str(mappings / "tiers.yaml"),
    ]
    return lines


def _fix(mappings: Path) -> None:
    """Valid again, with one change: the enterprise critical first-response target is now 20m."""
    for name, (good, bad) in EDITS.items():
        path = mappings / name
        text = path.read_text(encoding="utf-8").replace(bad, good)
        path.write_text(text.replace("{first_response: 15m,", "{first_response: 20m,"), encoding="utf-8")


def test_the_worker_refuses_invalid_mappings_with_the_check_errors(tmp_path: Path) -> None:
    mappings = write_mappings(tmp_path / "mappings", {"zendesk": {"url": "http://127.0.0.1:9"}})
    expected = _break(mappings)
    db = tmp_path / "never.db"

    refused = run_cli(
        ["worker", "--mappings", str(mappings), "--db", f"sqlite:///{db}"], tmp_path, timeout=60
    )

    assert refused.returncode == 1
    # the worker's stderr is its JSON log stream: one error event per mappings error
    events = [json.loads(line) for line in refused.stderr.splitlines()]
    printed = [event["event"] for event in events]
    assert {(event["level"], event["exit_code"]) for event in events} == {("error", 1)}
    assert sorted(printed) == sorted(expected)  # each error whole, as `tierdesk check` prints it
    assert not db.exists()  # nothing was started, not even the store


def test_a_running_worker_keeps_its_last_good_policy_on_a_broken_edit_then_takes_the_next_valid_one(
    tmp_path: Path,
) -> None:
    with zendesk_emulator(START) as site:
        seed_tickets(site, 30, START - timedelta(minutes=10))
        mappings = write_mappings(tmp_path / "mappings", {"zendesk": site.connection()})
        clock = FixedClock(START)
        (config,) = PolicyHolder(mappings).policy.connections
        helpdesk = connect(config, retry=FAST_RETRY, sleep=lambda _seconds: None)
        app = build_app(
            mappings, f"sqlite:///{tmp_path / 't.db'}", clock=clock, helpdesks={CONNECTION: helpdesk}
        )
        worker = Worker(app)
        try:
            worker.pull_job(CONNECTION)
            good = app.policies.policy.version

            errors = _break(mappings)
            clock.set(START + timedelta(minutes=5))
            site.set_clock(START + timedelta(minutes=5))
            with capture_logs() as broken_logs:
                worker.pull_job(CONNECTION)
            kept = app.policies.policy.version
            behind_good = app.store.tickets_needing_evaluation(good)

            _fix(mappings)
            clock.set(START + timedelta(minutes=10))
            site.set_clock(START + timedelta(minutes=10))
            with capture_logs() as fixed_logs:
                worker.pull_job(CONNECTION)
            fixed = app.policies.policy.version
            behind_fixed = app.store.tickets_needing_evaluation(fixed)
            seen = [version for version, _ in app.store.policy_versions_seen()]
        finally:
            app.close()

    # the broken edit: the job ran on the last good policy and the log says why
    assert kept == good
    (complaint,) = [e for e in broken_logs if e["event"] == "mappings invalid; keeping last good policy"]
    assert complaint["log_level"] == "error"
    assert complaint["kept_version"] == good
    assert complaint["errors"] == errors
    assert any(e["event"] == "cycle" for e in broken_logs)
    assert behind_good == []

    # the next valid edit is taken and every open ticket is evaluated under it
    assert fixed != good
    (reloaded,) = [e for e in fixed_logs if e["event"] == "policy reloaded"]
    assert reloaded["version"] == fixed
    assert behind_fixed == []
    assert seen == [good, fixed]
