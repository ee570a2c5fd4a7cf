"""`tierdesk report --account ACME --month 2026-11`: the customer-safe monthly health report.

A generated history with known answers: Acme (Enterprise, 24x7: first response 4h, resolution
3d at normal severity; credit by adherence band, USD 25,000 a month) has five November tickets
and one October ticket; Globex (no account) has a November breach that must not count. The
expected figures are worked out below from the ticket list, not read from the report code.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from connector.cli import app
from connector.domain.engine import evaluate
from connector.domain.model import Event, EventKind, Organization, Status, Ticket
from connector.domain.policy import Metric, Policy
from connector.domain.record import Activation, PolicyHistory
from connector.mappings import load_policy
from connector.ports import TicketRecord
from connector.report.account_html import render_account_html
from connector.report.account_report import AccountReport, build_account_report, find_account
from connector.report.account_rows import Judging
from connector.report.pdf import pdf_engine_problem, render_pdf
from connector.store.repository import Store

H = timedelta(hours=1)
NOW = datetime(2026, 12, 1, tzinfo=UTC)
CONNECTION = "zendesk-main"
ACME = Organization(
    id="77", name="Acme Corp", external_id="crm-1001"
)  # accounts.yaml links it by external id
GLOBEX = Organization(id="88", name="Globex")
SECRET = "PLANTED-INTERNAL-7731"  # text only agents may see: must never reach the customer


@dataclass(frozen=True)
class Spec:
    ticket_id: str
    created: datetime
    reply_after: timedelta | None
    solve_after: timedelta | None
    organization: Organization = ACME


SPECS = (
    # November, Acme
    Spec("101", datetime(2026, 11, 2, 9, tzinfo=UTC), H, 10 * H),  # both met
    Spec("102", datetime(2026, 11, 3, 9, tzinfo=UTC), 6 * H, 30 * H),  # first response 2h late
    Spec("103", datetime(2026, 11, 4, 9, tzinfo=UTC), 2 * H, 100 * H),  # resolution 28h late
    Spec("104", datetime(2026, 11, 5, 9, tzinfo=UTC), 3 * H, 20 * H),  # both met
    Spec("105", datetime(2026, 11, 29, 0, tzinfo=UTC), H / 2, None),  # open: resolution 48h of 72h on 1 Dec
    # October, Acme: first response 1h late, resolution met
    Spec("90", datetime(2026, 10, 12, 9, tzinfo=UTC), 5 * H, 10 * H),
    # November, Globex (no account): a breach that is not Acme's
    Spec("201", datetime(2026, 11, 6, 9, tzinfo=UTC), 9 * H, 200 * H, GLOBEX),
)


def store_ticket(store: Store, policy: Policy, spec: Spec) -> None:
    events = [
        Event(id="created", at=spec.created, kind=EventKind.CREATED),
        # an agent's internal note: agents only (its text lives in the description of tickets opened privately)
        Event(id="note", at=spec.created + H / 4, kind=EventKind.INTERNAL_NOTE, author_id="agent-1"),
    ]
    if spec.reply_after is not None:
        events.append(
            Event(id="reply", at=spec.created + spec.reply_after, kind=EventKind.PUBLIC_AGENT_REPLY)
        )
    if spec.solve_after is not None:
        solved = spec.created + spec.solve_after
        events.append(Event(id="solved", at=solved, kind=EventKind.STATUS_CHANGE, status=Status.SOLVED))
    ticket = Ticket(
        connection=CONNECTION,
        id=spec.ticket_id,
        created_at=spec.created,
        updated_at=max(e.at for e in events),
        status=Status.OPEN if spec.solve_after is None else Status.SOLVED,
        subject=f"Export fails ({spec.ticket_id})",
        description=f"{SECRET} opened by phone, customer angry",
        organization=spec.organization,
        tags=frozenset({f"{SECRET.lower()}-tag"}),
        fields={"360001": f"{SECRET} agent-only field"},
        group_id="g-secret",
        assignee_id="agent-secret",
        url=f"https://acme.zendesk.com/agent/tickets/{spec.ticket_id}",
    )
    store.save_pull_page(CONNECTION, [TicketRecord(ticket, tuple(events))], None, now=NOW)
    store.record_evaluation(evaluate(ticket, events, policy, NOW), ())


@pytest.fixture(scope="module")
def policy() -> Policy:
    return load_policy(Path("mappings"))


@pytest.fixture(scope="module")
def db_url(policy: Policy, tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('acme')}/t.db"
    store = Store.open(url)
    for spec in SPECS:
        store_ticket(store, policy, spec)
    store.close()
    return url


@pytest.fixture(scope="module")
def report(policy: Policy, db_url: str) -> Iterator[AccountReport]:
    store = Store.open(db_url)
    account = find_account(policy, "ACME")
    assert account is not None
    yield build_account_report(store, policy, account, month="2026-11", zone=UTC, now=NOW, trend_months=3)
    store.close()


def acme_november() -> list[Spec]:
    return [s for s in SPECS if s.organization is ACME and s.created.month == 11]


def test_adherence_per_metric_counts_the_accounts_decided_cycles_of_the_month(report: AccountReport) -> None:
    november = acme_november()
    first_met = sum(1 for s in november if s.reply_after is not None and s.reply_after <= 4 * H)
    first_late = sum(1 for s in november if s.reply_after is not None and s.reply_after > 4 * H)
    solved = [s.solve_after for s in november if s.solve_after is not None]
    resolution_met = sum(1 for d in solved if d <= 72 * H)
    resolution_late = sum(1 for d in solved if d > 72 * H)
    rows = {m.metric: (m.met, m.breached, m.in_progress, m.adherence_percent) for m in report.metrics}

    assert (first_met, first_late, resolution_met, resolution_late) == (4, 1, 3, 1)
    assert rows[Metric.FIRST_RESPONSE] == (4, 1, 0, 80.0)
    assert rows[Metric.RESOLUTION] == (3, 1, 1, 75.0)  # 105 still open
    assert report.adherence_percent == round(100 * 7 / 9, 1)
    assert report.goal_percent == 95.0
    assert report.tickets_created == 5
    targets = dict(next(m for m in report.metrics if m.metric is Metric.FIRST_RESPONSE).targets)
    assert targets["normal"] == 4 * H and targets["critical"] == timedelta(minutes=15)


def test_breaches_name_the_metric_and_how_late(report: AccountReport) -> None:
    assert [(b.ticket, b.metric, b.late_by, b.resolved_late) for b in report.breaches] == [
        ("102", Metric.FIRST_RESPONSE, 2 * H, True),
        ("103", Metric.RESOLUTION, 28 * H, True),
    ]
    assert "201" not in {b.ticket for b in report.breaches}  # Globex is not Acme


def test_distributions_and_durations_of_the_month(report: AccountReport) -> None:
    first = dict(zip(report.first_response_buckets, report.first_response_counts, strict=True))
    resolution = dict(zip(report.resolution_buckets, report.resolution_counts, strict=True))

    assert (first["≤30m"], first["≤1h"], first["≤2h"], first["≤4h"], first["≤8h"]) == (1, 1, 1, 1, 1)
    assert (resolution["≤1d"], resolution["≤2d"], resolution["≤5d"]) == (2, 1, 1)  # 10h 20h | 30h | 100h
    assert (report.first_response.median, report.resolution.median) == (2 * H, 25 * H)


def test_credit_follows_the_adherence_band_of_the_contract(report: AccountReport) -> None:
    # 7 of 9 credited cycles met = 77.8%: below 99, 95 and 90; the lowest band (below 90%) gives 20%
    assert report.credit is not None
    assert (report.credit.breaches, report.credit.decided) == (2, 9)
    assert (report.credit.percent, report.credit.capped) == (Decimal(20), False)
    assert (report.credit.amount, report.credit.currency) == (Decimal("5000.00"), "USD")


def test_a_contract_edited_after_the_month_closed_keeps_that_months_credit_unless_rejudged(
    policy: Policy, db_url: str, tmp_path: Path
) -> None:
    # On 1 December 06:00, after November closed, the admin lowers the below-90% band to 12%.
    edited_dir = tmp_path / "mappings"
    shutil.copytree(Path("mappings"), edited_dir)
    accounts = edited_dir / "accounts.yaml"
    text = accounts.read_text(encoding="utf-8")
    assert "{below: 90%, credit: 20%}" in text
    accounts.write_text(
        text.replace("{below: 90%, credit: 20%}", "{below: 90%, credit: 12%}"), encoding="utf-8"
    )
    edited = load_policy(edited_dir)
    history = PolicyHistory(
        [
            Activation(policy, datetime(2026, 1, 1, tzinfo=UTC)),
            Activation(edited, datetime(2026, 12, 1, 6, tzinfo=UTC)),
        ]
    )
    account = find_account(edited, "ACME")
    assert account is not None
    store = Store.open(db_url)
    try:

        def november(rejudge: bool) -> AccountReport:
            return build_account_report(
                store,
                edited,
                account,
                month="2026-11",
                zone=UTC,
                now=datetime(2026, 12, 1, 12, tzinfo=UTC),
                trend_months=1,
                judging=Judging(history, datetime(2026, 12, 1, 12, tzinfo=UTC), rejudge),
            )

        kept, rejudged = november(False).credit, november(True).credit
    finally:
        store.close()
    assert kept is not None and rejudged is not None
    # 77.8% adherence falls below 90% either way; the band's credit is what the edit changed
    assert (kept.percent, kept.amount) == (Decimal(20), Decimal("5000.00"))  # the terms November ended under
    assert (rejudged.percent, rejudged.amount) == (Decimal(12), Decimal("3000.00"))  # the edited terms


def test_allowance_use_and_chronic_overuse(report: AccountReport) -> None:
    assert report.allowance is not None
    assert (report.allowance.tickets, report.allowance.allowance_tickets) == (5, 400)
    assert (report.allowance.over_allowance, report.chronic_overuse) == (False, False)


def test_trend_compares_with_the_previous_months(report: AccountReport) -> None:
    overall = {p.month: (p.met, p.breached, p.adherence_percent) for p in report.trend if p.metric is None}

    assert overall == {"2026-09": (0, 0, None), "2026-10": (1, 1, 50.0), "2026-11": (7, 2, 77.8)}


def test_open_tickets_at_risk_are_past_the_first_warning(report: AccountReport) -> None:
    # 105: resolution 48h of 72h (66.7%) is past Enterprise's first warning at 50%
    assert [(r.ticket, r.metric, r.elapsed, r.used_percent, r.breached) for r in report.at_risk] == [
        ("105", Metric.RESOLUTION, 48 * H, 66.7, False)
    ]


def test_nothing_agents_only_reaches_the_report(report: AccountReport) -> None:
    page = render_account_html(report)

    for hidden in (
        SECRET,
        SECRET.lower(),
        "g-secret",
        "agent-secret",
        "/agent/tickets",
        "customer angry",
        "Globex",
    ):
        assert hidden not in page
    assert "Export fails (102)" in page and "Acme Corp" in page


def test_account_report_cli_writes_customer_safe_json(db_url: str, tmp_path: Path) -> None:
    out = tmp_path / "acme.json"
    result = CliRunner().invoke(
        app,
        [
            "report",
            "--db",
            db_url,
            "--now",
            NOW.isoformat(),
            "--account",
            "ACME",
            "--month",
            "2026-11",
            "--out",
            str(out),
        ],
    )

    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    assert SECRET not in text and "g-secret" not in text
    document = json.loads(text)
    assert (document["account_id"], document["month"], document["credit"]["amount"]) == (
        "acme",
        "2026-11",
        "5000.00",
    )


def test_account_report_cli_names_the_known_accounts_for_an_unknown_one(db_url: str) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "connector",
            "report",
            "--db",
            db_url,
            "--account",
            "Umbrella",
            "--month",
            "2026-11",
        ],
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode == 1
    assert "no account 'Umbrella' in the mappings" in result.stderr + result.stdout
    assert "acme" in result.stderr + result.stdout
    assert "Traceback" not in result.stderr


@pytest.mark.skipif(pdf_engine_problem() is not None, reason=f"no PDF engine here: {pdf_engine_problem()}")
@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="pdftotext (poppler-utils) is not installed")
def test_pdf_has_the_figures_on_its_pages_and_nothing_agents_only(
    report: AccountReport, tmp_path: Path
) -> None:
    pdf = tmp_path / "acme.pdf"
    pdf.write_bytes(render_pdf(render_account_html(report)))

    pages = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    # page 1: summary, targets and charts; page 2: missed targets, credit, allowance, trend, risk
    assert re.search(r"^Pages:\s+2$", pages, re.MULTILINE), pages
    assert "Page 1 of 2" in text and "Page 2 of 2" in text
    for figure in (
        "Acme Corp",
        "Service report 2026-11",
        "77.8%",
        "USD 5,000.00",
        "Export fails (103)",
        "1d4h",
    ):
        assert figure in text
    assert SECRET not in text


def test_a_metric_judged_on_another_target_than_the_contracts_is_flagged(
    policy: Policy, tmp_path: Path
) -> None:
    # Initech's contract from July promises a 20m critical first response, and the clocks run on
    # it: a 25m reply is a breach. Renegotiated later to 15m in the mappings, the settled cycle keeps
    # the 20m it was judged on, and the report says the row was measured on another target.
    initech = Organization(id="78", name="Initech", external_id="crm-2001")
    store = Store.open(f"sqlite:///{tmp_path}/t.db")
    created = datetime(2026, 8, 4, 15, tzinfo=UTC)  # 11:00 in New York, inside office hours
    events = [
        Event(id="created", at=created, kind=EventKind.CREATED),
        Event(id="reply", at=created + timedelta(minutes=25), kind=EventKind.PUBLIC_AGENT_REPLY),
    ]
    ticket = Ticket(
        connection=CONNECTION,
        id="301",
        created_at=created,
        updated_at=events[-1].at,
        status=Status.OPEN,
        subject="Checkout is down",
        organization=initech,
    )
    store.save_pull_page(CONNECTION, [TicketRecord(ticket, tuple(events))], None, now=NOW)
    store.record_evaluation(evaluate(ticket, events, policy, NOW), ())
    account = find_account(policy, "Initech")
    assert account is not None
    august = build_account_report(store, policy, account, month="2026-08", zone=UTC, now=NOW)
    first = next(m for m in august.metrics if m.metric is Metric.FIRST_RESPONSE)
    assert (first.met, first.breached, dict(first.targets)["critical"]) == (0, 1, timedelta(minutes=20))
    assert not first.other_targets

    renegotiated = replace(
        account.contracts[-1],
        targets={"critical": {Metric.FIRST_RESPONSE: timedelta(minutes=15)}},
    )
    edited_account = replace(account, contracts=(*account.contracts[:-1], renegotiated))
    edited = replace(policy, accounts={**policy.accounts, account.id: edited_account})
    later = build_account_report(store, edited, edited_account, month="2026-08", zone=UTC, now=NOW)
    store.close()

    first = next(m for m in later.metrics if m.metric is Metric.FIRST_RESPONSE)
    assert (first.met, first.breached, dict(first.targets)["critical"]) == (0, 1, timedelta(minutes=15))
    assert first.other_targets
    assert "measured against the target in force" in render_account_html(later)
