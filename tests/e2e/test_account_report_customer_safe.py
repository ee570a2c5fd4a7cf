"""The account health report is customer-safe: internal notes never reach it.

Tickets of Acme Corp are opened and worked through the Zendesk API (the emulator), agents write
internal notes (one ticket is opened with a private comment, so its description is the note),
and the real worker cycle (zenpy over HTTP) syncs them into the store. The monthly report of the
account, as HTML and PDF, shows the tickets and their SLA figures and none of the notes' text.
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from connector.bootstrap import build_app
from connector.clock import FixedClock
from connector.report.pdf import pdf_engine_problem
from plugins.zendesk.emulator.seed import AGENTS, http_caller
from tests.e2e.support import customer_of, open_ticket, write_mappings, zendesk_emulator

pytestmark = pytest.mark.e2e

START = datetime(2026, 11, 3, 9, 0, tzinfo=UTC)
NOTE = "INTERNAL-ONLY refund fraud suspected 5512"
PRIVATE_OPENING = "INTERNAL-ONLY caller was abusive 8890"


def report(mappings: Path, db_url: str, out: Path) -> str:
    result = subprocess.run(
        [
            sys.executable, "-m", "connector", "report", "--mappings", str(mappings), "--db", db_url,
            "--now", "2026-12-01T00:00:00Z", "--account", "acme", "--month", "2026-11", "--out", str(out),
        ],
        capture_output=True,
        text=True,
        check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_internal_notes_never_appear_in_the_account_report(tmp_path: Path) -> None:
    with zendesk_emulator(START - timedelta(hours=1)) as site:
        site.unlimited()
        _, agent_email = AGENTS[0]
        agent = site.info.agents[0]
        as_agent = http_caller(site.app, email=agent_email)
        requester = customer_of(site, "Acme Corp")
        site.set_clock(START)
        late = open_ticket(
            site, requester, subject="Export to CSV fails", body="The export button does nothing."
        )
        logged = as_agent(
            "POST",
            "/api/v2/tickets.json",
            {
                "ticket": {
                    "subject": "Phone call: invoices missing",
                    "requester_id": requester,
                    "comment": {"body": PRIVATE_OPENING, "author_id": agent, "public": False},
                }
            },
        )["ticket"]["id"]
        site.set_clock(START + timedelta(minutes=20))
        as_agent(
            "PUT", f"/api/v2/tickets/{late}.json", {"ticket": {"comment": {"body": NOTE, "public": False}}}
        )
        site.set_clock(START + timedelta(hours=6))  # Enterprise normal: first response due after 4h
        for ticket_id in (late, logged):
            as_agent(
                "PUT",
                f"/api/v2/tickets/{ticket_id}.json",
                {"ticket": {"comment": {"body": "We are looking into it.", "public": True}}},
            )
        mappings = write_mappings(
            tmp_path / "mappings",
            {"zendesk": site.connection()},
            options={"zendesk": {"job_poll_interval": "0.05"}},
        )
        db_url = f"sqlite:///{tmp_path / 't.db'}"
        synced_at = START + timedelta(hours=7)
        site.set_clock(synced_at)
        app = build_app(mappings, db_url, clock=FixedClock(synced_at))
        try:
            assert app.service.run_cycle().failed == 0
        finally:
            app.close()

    # the store does hold agent-only text (the private opening comment is the ticket's description)
    with sqlite3.connect(tmp_path / "t.db") as db:
        stored = " ".join(row[0] for row in db.execute("SELECT data FROM ticket_snapshot"))
    assert PRIVATE_OPENING in stored

    html = tmp_path / "acme.html"
    report(mappings, db_url, html)
    page = html.read_text(encoding="utf-8")
    assert "Export to CSV fails" in page and "Phone call: invoices missing" in page
    assert 'Missed targets <span class="sub">(2)</span>' in page  # both first responses 6h > 4h
    for secret in (NOTE, PRIVATE_OPENING, "INTERNAL-ONLY"):
        assert secret not in page

    if pdf_engine_problem() is None and shutil.which("pdftotext"):
        pdf = tmp_path / "acme.pdf"
        report(mappings, db_url, pdf)
        text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
        assert "Export to CSV fails" in text
        assert "INTERNAL-ONLY" not in text
