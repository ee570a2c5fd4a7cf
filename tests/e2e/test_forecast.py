"""`tierdesk forecast` over a history pulled from the Zendesk emulator: a generated history with a
known weekly volume and hour-of-week profile is imported, `sync --once` stores it (tier and
severity from the shipped mappings), and the forecast reads it back from the store. Forecast
accuracy on such histories is pinned in tests/unit/test_forecast.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from connector.forecast.arrivals import Arrival
from connector.forecast.capacity import build_capacity
from connector.forecast.output import render_json
from connector.mappings import load_policy
from plugins.zendesk.emulator.history import HistoryTicket, seed_history
from tests.e2e.support import ROOT, write_mappings
from tests.e2e.support import zendesk_emulator as emulator

pytestmark = pytest.mark.e2e

NOW = datetime(2026, 11, 30, 6, 0, tzinfo=UTC)  # a Monday morning: the history ends with a whole week
WEEKS = 8
SCALE = 0.2  # about 300 tickets: enough for a trend, quick to sync


def tierdesk(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TIERDESK_")}
    env.update(PYTHONPATH=str(ROOT), TIERDESK_LOG_FORMAT="console")
    return subprocess.run(
        [sys.executable, "-m", "connector", *args, "--now", NOW.isoformat()],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )


@pytest.fixture(scope="module")
def synced(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, str, list[HistoryTicket]]:
    tmp = tmp_path_factory.mktemp("forecast")
    with emulator(NOW - timedelta(minutes=5)) as site:
        site.unlimited()
        _, history = seed_history(site.app, WEEKS, clock=site.app.clock, info=site.info, scale=SCALE)
        site.set_clock(NOW)  # the export leaves out the last minute
        mappings = write_mappings(tmp / "mappings", {"zendesk": site.connection()})
        db = f"sqlite:///{tmp / 'history.db'}"
        result = tierdesk(["sync", "--once", "--mappings", str(mappings), "--db", db], tmp)
        assert result.returncode == 0, result.stderr
    staffing = tmp / "staffing.yaml"
    staffing.write_text(
        "service_level: 90%\n"
        "handle_time: {standard: 20m}\n"
        "tiers:\n"
        "  standard:\n"
        '    - {days: mon-fri, hours: "09:00-12:00", agents: 1}\n',
        encoding="utf-8",
    )
    return tmp, mappings, db, history


def test_forecast_reads_every_ticket_of_the_synced_history_under_its_generated_tier_and_severity(
    synced: tuple[Path, Path, str, list[HistoryTicket]],
) -> None:
    tmp, mappings, db, history = synced
    result = tierdesk(
        ["forecast", "--weeks", "2", "--format", "json", "--mappings", str(mappings), "--db", db], tmp
    )
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    # the same forecast as from the generated arrivals themselves: nothing lost or re-triaged on the way
    arrivals = [Arrival(t.tier, t.severity, t.created_at) for t in history]
    expected = json.loads(render_json(build_capacity(arrivals, load_policy(mappings), now=NOW, weeks=2)))
    assert document["weekly"] == expected["weekly"]
    assert len(document["weekly"]) == 12 * 2  # 3 tiers x 4 severities x 2 weeks
    assert document["notes"] == [
        "Holt: damped trend, no yearly seasonality (less than 104 weeks of history): 12 series"
    ]


def test_forecast_shows_the_windows_the_stated_staffing_leaves_short(
    synced: tuple[Path, Path, str, list[HistoryTicket]],
) -> None:
    tmp, mappings, db, _ = synced
    staffing = tmp / "staffing.yaml"
    result = tierdesk(
        ["forecast", "--format", "csv", "--staffing", str(staffing), "--mappings", str(mappings), "--db", db],
        tmp,
    )
    assert result.returncode == 0, result.stderr
    header, *rows = result.stdout.splitlines()
    assert (
        header
        == "tier,window,tickets,agents_needed_peak,agents_stated_fewest,shortfall,hours_short,busiest_week"
    )
    windows = {(r.split(",")[0], r.split(",")[1]): r.split(",") for r in rows}
    # one agent in the mornings only: every afternoon hour of every standard window is short
    standard = [w for (tier, _), w in windows.items() if tier == "standard"]
    assert [w[1] for w in standard] == [f"{day} 09:00-17:00" for day in ("Mon", "Tue", "Wed", "Thu", "Fri")]
    assert all(w[3] == "1" and w[4] == "0" and w[5] == "1" and w[6] == "5" for w in standard), standard
    # enterprise is 24x7 and not in the staffing file: every window is short by all it needs
    assert all(w[4] == "0" and w[5] == w[3] for (tier, _), w in windows.items() if tier == "enterprise")


def test_a_staffing_file_naming_an_unknown_tier_is_refused_in_one_line(
    synced: tuple[Path, Path, str, list[HistoryTicket]],
) -> None:
    tmp, mappings, db, _ = synced
    wrong = tmp / "wrong.yaml"
    wrong.write_text(
        'tiers:\n  gold:\n    - {days: mon-fri, hours: "09:00-17:00", agents: 2}\n', encoding="utf-8"
    )
    result = tierdesk(["forecast", "--staffing", str(wrong), "--mappings", str(mappings), "--db", db], tmp)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"error: {wrong}: tiers.gold: no such tier; tiers are enterprise, priority, standard"
    ]
