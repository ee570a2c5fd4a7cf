"""The global report's text form carries the monthly trend and the by-group / by-assignee tables
(named by the connection's aliases where they name the id, else the id), and its service-credit
tables (HTML, text, CSV) show the credit amount in the contract's currency and, for credit by
adherence band, the band that applied."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from connector.domain.engine import evaluate
from connector.domain.model import Event, EventKind, Organization, Status, Ticket
from connector.domain.policy import Policy
from connector.mappings import load_policy
from connector.ports import TicketRecord
from connector.report.csv_export import write_csv_tables
from connector.report.html import render_html
from connector.report.report import SlaReport, build_report
from connector.report.text import render_text
from connector.store.repository import Store

H = timedelta(hours=1)
NOW = datetime(2026, 4, 2, tzinfo=UTC)
CONNECTION = "zendesk-main"
EXAMPLES = Path(__file__).resolve().parents[2] / "mappings"
# The Acme account (accounts.yaml, linked by external id): Enterprise, USD 25,000 a month, credit by
# adherence band (below 99% 5%, below 95% 10%, below 90% 20%, cap 20%).
ACME = Organization(id="77", name="Acme Corp", external_id="crm-1001")
# No account: the Enterprise tier's own terms (5% per breach, cap 25%, no fee, so no amount).
UMBRELLA = Organization(id="99", name="Umbrella", tags=frozenset({"enterprise"}))
# connections.yaml aliases on zendesk-main: duty-managers -> group 38000000003, sla-watcher -> agent
# 36000000005; g2 and a2 have no alias.
G1, A1 = "38000000003", "36000000005"


def put(
    store: Store,
    policy: Policy,
    ticket_id: str,
    organization: Organization,
    created: datetime,
    reply_after: timedelta,
    solve_after: timedelta,
    group: str,
    assignee: str,
) -> None:
    events = [
        Event(id="created", at=created, kind=EventKind.CREATED),
        Event(id="reply", at=created + reply_after, kind=EventKind.PUBLIC_AGENT_REPLY),
        Event(id="solved", at=created + solve_after, kind=EventKind.STATUS_CHANGE, status=Status.SOLVED),
    ]
    ticket = Ticket(
        connection=CONNECTION,
        id=ticket_id,
        created_at=created,
        updated_at=created + solve_after,
        status=Status.SOLVED,
        subject="Export fails",
        organization=organization,
        group_id=group,
        assignee_id=assignee,
    )
    store.save_pull_page(CONNECTION, [TicketRecord(ticket, tuple(events))], None, now=NOW)
    store.record_evaluation(evaluate(ticket, events, policy, NOW), ())


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SlaReport]:
    policy = load_policy(EXAMPLES)
    store = Store.open(f"sqlite:///{tmp_path_factory.mktemp('credits')}/t.db")
    march = datetime(2026, 3, 2, 9, tzinfo=UTC)
    # Acme: t1 both met, t2 first response 1h late, t3 resolution 1d late: 4 of 6 met = 66.7%
    put(store, policy, "t1", ACME, march, H, 10 * H, G1, A1)
    put(store, policy, "t2", ACME, march + 24 * H, 5 * H, 20 * H, G1, "a2")
    put(store, policy, "t3", ACME, march + 48 * H, 2 * H, 96 * H, "g2", A1)
    # Umbrella: one first response breach
    put(store, policy, "u1", UMBRELLA, march, 6 * H, 10 * H, "g2", "a2")
    yield build_report(
        store,
        policy,
        start=datetime(2026, 3, 1, tzinfo=UTC),
        end=datetime(2026, 4, 1, tzinfo=UTC),
        now=NOW,
        trend_months=2,
    )
    store.close()


def rows_of(table: str) -> list[list[str]]:
    """The body rows of a rich table as cell texts."""
    return [
        [cell.strip() for cell in line.strip("│").split("│")]
        for line in table.splitlines()
        if line.startswith("│")
    ]


def section(text: str, title: str) -> str:
    """The lines of the text report from the table titled `title` up to the next table's title."""
    start = text.index(title)
    following = re.search(r"\n[a-z][^\n│┃┏┡└]*\n┏", text[start + len(title) :])
    return text[start : start + len(title) + following.start()] if following else text[start:]


def test_text_report_shows_the_monthly_trend_per_metric(report: SlaReport) -> None:
    trend = rows_of(section(render_text(report), "monthly trend"))

    # March: first response 2 met 2 breached (t2, u1), resolution 3 met 1 breached (t3)
    assert trend == [
        ["2026-02", "— 0/0", "— 0/0", "— 0/0"],
        ["2026-03", "50% 2/2", "75% 3/1", "62.5% 5/3"],
    ]


def test_text_report_shows_adherence_by_group_and_by_assignee_named_by_the_aliases(report: SlaReport) -> None:
    text = render_text(report)

    by_group = rows_of(section(text, "by group"))
    assert by_group == [
        ["zendesk-main", "duty-managers (38000000003)", "50% 1/1", "100% 2/0", "75% 3/1", "0"],
        ["zendesk-main", "g2", "50% 1/1", "50% 1/1", "50% 2/2", "0"],
    ]
    by_assignee = rows_of(section(text, "by assignee"))
    assert by_assignee == [
        ["zendesk-main", "sla-watcher (36000000005)", "100% 2/0", "50% 1/1", "75% 3/1", "0"],
        ["zendesk-main", "a2", "0% 0/2", "100% 2/0", "50% 2/2", "0"],
    ]


def test_html_credit_table_shows_the_band_and_the_amount_in_the_contracts_currency(report: SlaReport) -> None:
    page = render_html(report)
    table = re.search(r"<h2>Service credits</h2>.*?</table>", page, re.DOTALL)
    assert table is not None
    acme, umbrella = (
        [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.DOTALL)]
        for row in table.group(0).split("<tr>")[2:]
    )
    # Acme: 66.7% adherence falls below 90%, whose band gives 20% of USD 25,000
    assert acme[1] == "Acme Corp" and acme[4] == "66.7%"
    assert acme[5] == "below 90%: 20%"
    assert acme[8] == "5,000.00 USD"
    # Umbrella: the tier's per-breach terms and no monthly fee, so no amount
    assert umbrella[1] == "Umbrella" and umbrella[5] == "5% per breach"
    assert umbrella[8] == "—"


def test_text_and_csv_credit_rows_name_the_band_and_the_amount(report: SlaReport, tmp_path: Path) -> None:
    credits = rows_of(section(render_text(report), "service credits"))
    assert (
        credits[0][1] == "Acme Corp" and credits[0][5] == "below 90%: 20%" and credits[0][8] == "5,000.00 USD"
    )

    write_csv_tables(report, tmp_path)
    with (tmp_path / "service_credits.csv").open(encoding="utf-8", newline="") as f:
        acme = next(r for r in csv.DictReader(f) if r["organization"] == "Acme Corp")
    assert (acme["mode"], acme["band_below_percent"], acme["amount"], acme["currency"]) == (
        "bands",
        "90.0",
        "5000.00",
        "USD",
    )


def test_html_and_csv_name_groups_and_assignees_by_the_connections_aliases(
    report: SlaReport, tmp_path: Path
) -> None:
    assert [(r.holder_id, r.holder_name) for r in report.by_group] == [(G1, "duty-managers"), ("g2", None)]
    page = render_html(report)
    assert re.search(r'<td>duty-managers <code class="sub">38000000003</code></td>', page)
    assert "<td><code>g2</code></td>" in page  # no alias: the id

    write_csv_tables(report, tmp_path)
    with (tmp_path / "by_assignee.csv").open(encoding="utf-8", newline="") as f:
        names = {(r["assignee_id"], r["name"]) for r in csv.DictReader(f)}
    assert names == {(A1, "sla-watcher"), ("a2", "")}
