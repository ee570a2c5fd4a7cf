"""`tierdesk explain` names the calendar the clocks count on: an account's calendar wins over its
tier's, and the holidays listed are that calendar's."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console

from connector.domain.model import Organization, Priority, Status, Ticket
from connector.mappings import load_policy
from connector.ports import TicketRecord
from connector.report.explain import render_explain
from connector.store.repository import Store

EXAMPLES = Path(__file__).resolve().parents[2] / "mappings"
OPENED = datetime(2026, 11, 10, 15, 0, tzinfo=UTC)


def explain(tmp_path: Path, organization: Organization | None) -> list[str]:
    policy = load_policy(EXAMPLES)
    ticket = Ticket(
        connection="zendesk-main",
        id="601",
        created_at=OPENED,
        updated_at=OPENED,
        status=Status.OPEN,
        subject="Invoice export",
        priority=Priority.NORMAL,
        organization=organization,
    )
    store = Store.open(f"sqlite:///{tmp_path / 'tierdesk.db'}")
    try:
        store.save_pull_page("zendesk-main", [TicketRecord(ticket=ticket, events=())], None, now=OPENED)
        console = Console(file=io.StringIO(), width=200, color_system=None)
        assert render_explain(console, store, policy, OPENED, ("zendesk-main", "601"))
    finally:
        store.close()
    return console.file.getvalue().splitlines()  # type: ignore[attr-defined]


def test_explain_prints_the_accounts_calendar_when_the_account_overrides_the_tiers(tmp_path: Path) -> None:
    # Initech (linked by external id) is Priority, whose tier calendar is berlin-extended; the
    # account serves it from the New York desk.
    initech = Organization("361", "Initech", external_id="crm-2001", tags=frozenset({"priority"}))
    shown = explain(tmp_path, initech)
    [calendar] = [line for line in shown if line.startswith("calendar:")]
    assert calendar.startswith(
        "calendar: new-york-office (the account's; tier priority uses berlin-extended)"
    )
    [holidays] = [line for line in shown if line.startswith("holidays in the next 60 days")]
    assert "2026-11-26" in holidays  # Thanksgiving: New York's holiday, not Berlin's
    assert "2026-12-24" not in holidays  # the Berlin company day off is not on this calendar


def test_explain_prints_the_tiers_calendar_alone_without_an_override(tmp_path: Path) -> None:
    shown = explain(tmp_path, None)
    [calendar] = [line for line in shown if line.startswith("calendar:")]
    assert calendar.startswith("calendar: berlin-office;")
