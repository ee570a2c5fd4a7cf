"""Group ownership clocks (OLAs) end to end: tickets moved between groups in the Zendesk emulator,
pulled by the worker's sync, each ended hold settled once in the store with the target in force,
reported beside the customer SLA and shown by `explain`; a later edit of the target changes no
settled hold."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from rich.console import Console

from connector.bootstrap import build_app
from connector.clock import FixedClock
from connector.domain.policy import Policy
from connector.mappings import check, load_policy
from connector.report.explain import render_explain
from connector.report.ola import ola_rows
from connector.report.output import write_report
from connector.store.repository import Store
from plugins.zendesk.emulator.seed import http_caller
from tests.e2e.support import CONNECTION, customer_of, write_mappings, zendesk_emulator

pytestmark = pytest.mark.e2e

START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)  # Monday 09:00 in Berlin
H = timedelta(hours=1)


def olas_file(mappings: Path, target: str) -> None:
    (mappings / "olas.yaml").write_text(
        f"olas:\n  tier-2:\n    target: {target}\n    calendar: berlin-office\n", encoding="utf-8"
    )


def test_holds_are_settled_once_reported_and_explained_and_survive_a_target_edit(tmp_path: Path) -> None:
    with zendesk_emulator(START) as site:
        site.unlimited()
        call = http_caller(site.app)
        tier_1, tier_2 = site.info.groups["Tier 1"], site.info.groups["Tier 2"]
        requester = customer_of(site)
        ticket = {
            "subject": "Report totals are wrong",
            "requester_id": requester,
            "group_id": tier_1,
            "comment": {"body": "Totals differ.", "author_id": requester},
        }
        ticket_id = call("POST", "/api/v2/tickets.json", {"ticket": ticket})["ticket"]["id"]
        # Tier 2 holds it 10:00-13:00 (2.5 h of Berlin office time, lunch 12:30-13:30 excluded:
        # over its 2 h target), then 14:00-15:30 (1.5 h, within).
        for hours, group in ((1, tier_2), (4, tier_1), (5, tier_2), (6.5, tier_1)):
            site.set_clock(START + hours * H)
            call("PUT", f"/api/v2/tickets/{ticket_id}.json", {"ticket": {"group_id": group}})
        mappings = write_mappings(
            tmp_path / "mappings",
            {"zendesk": site.connection()},
            options={"zendesk": {"job_poll_interval": "0.05"}},
        )
        olas_file(mappings, "2h")
        assert check(mappings) == []
        db_url = f"sqlite:///{tmp_path / 't.db'}"

        def sync(at: datetime) -> None:
            site.set_clock(at)
            app = build_app(mappings, db_url, clock=FixedClock(at))
            try:
                assert app.service.run_cycle().failed == 0
            finally:
                app.close()

        sync(START + 7 * H)
        olas_file(mappings, "4h")  # the target is raised later: settled holds keep 2h
        sync(START + 8 * H)

        store = Store.open(db_url)
        try:
            holds = store.ola_holds(START, START + 24 * H)
            assert [(h.ola, h.group_id, h.held, h.target, h.within_target) for h in holds] == [
                ("tier-2", str(tier_2), 2.5 * H, 2 * H, False),
                ("tier-2", str(tier_2), 1.5 * H, 2 * H, True),
            ]
            [row] = ola_rows(holds)
            assert (row.group, row.tickets, row.holds, row.targets, row.within_percent) == (
                "tier-2",
                1,
                2,
                (2 * H,),
                50.0,
            )
            out = tmp_path / "report.txt"
            write_report(
                store,
                app_policy(mappings),
                out,
                "text",
                START,
                START + 24 * H,
                START + 8 * H,
            )
            text = out.read_text(encoding="utf-8")
            assert "group ownership (OLA)" in text
            [line] = [line for line in text.splitlines() if line.startswith("│ tier-2")]
            cells = [cell.strip() for cell in line.strip("│").split("│")]
            assert cells == ["tier-2", "1", "2", "2h", "2h24m", "2h", "50.0%"]

            console = Console(file=io.StringIO(), width=200, color_system=None)
            assert render_explain(
                console, store, app_policy(mappings), START + 8 * H, (CONNECTION, str(ticket_id))
            )
            shown = console.file.getvalue()  # type: ignore[attr-defined]
            rows = [
                [cell.strip() for cell in line.strip("│").split("│")]
                for line in shown.splitlines()
                if line.startswith("│ tier-2")
            ]
            assert [(r[3], r[4], r[5], r[6]) for r in rows] == [
                ("2h30m", "2h", "no", "settled"),
                ("1h30m", "2h", "yes", "settled"),  # settled with 2h, though the mappings now say 4h
            ]
        finally:
            store.close()


def app_policy(mappings: Path) -> Policy:
    return load_policy(mappings)
