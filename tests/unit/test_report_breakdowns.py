"""The global report's additions: adherence by group and assignee, goal line, monthly trend,
time-to-resolution distribution, CSV tables and `--tz`, on a real SQLite store."""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from connector.cli import app
from connector.domain.engine import evaluate
from connector.domain.model import Event, EventKind, Organization, Status, Ticket
from connector.domain.policy import Policy
from connector.domain.record import SettledOutcome
from connector.mappings import load_policy
from connector.ports import TicketRecord
from connector.report.breakdown import HolderFigures
from connector.report.csv_export import write_csv_tables
from connector.report.html import render_html
from connector.report.output import report_to_json
from connector.report.report import SlaReport, build_report
from connector.store.repository import Store

H = timedelta(hours=1)
START = datetime(2026, 3, 1, tzinfo=UTC)
END = datetime(2026, 4, 1, tzinfo=UTC)
NOW = datetime(2026, 3, 31, 12, 0, tzinfo=UTC)
CONNECTION = "zendesk-main"
ACME = Organization(
    id="1", name="Acme Corp", tags=frozenset({"enterprise"})
)  # Enterprise: 24x7, FR 4h, res 3d


@pytest.fixture(scope="module")
def policy() -> Policy:
    return load_policy(Path("mappings"))


def put(
    store: Store,
    policy: Policy,
    ticket_id: str,
    *,
    created: datetime,
    reply_after: timedelta | None = None,
    solve_after: timedelta | None = None,
    group: str | None = None,
    assignee: str | None = None,
    evaluated_at: datetime = NOW,
    settled: Sequence[SettledOutcome] = (),
) -> tuple[SettledOutcome, ...]:
    """Store the ticket as the helpdesk shows it at `evaluated_at` (events up to then), evaluate
    and store the clocks; returns every outcome settled so far."""
    events = [Event(id="created", at=created, kind=EventKind.CREATED)]
    if reply_after is not None:
        events.append(Event(id="reply", at=created + reply_after, kind=EventKind.PUBLIC_AGENT_REPLY))
    if solve_after is not None:
        events.append(
            Event(id="solved", at=created + solve_after, kind=EventKind.STATUS_CHANGE, status=Status.SOLVED)
        )
    events = [e for e in events if e.at <= evaluated_at]
    ticket = Ticket(
        connection=CONNECTION,
        id=ticket_id,
        created_at=created,
        updated_at=max(e.at for e in events),
        status=Status.SOLVED if any(e.status is Status.SOLVED for e in events) else Status.OPEN,
        subject="Export fails",
        organization=ACME,
        group_id=group,
        assignee_id=assignee,
    )
    store.save_pull_page(CONNECTION, [TicketRecord(ticket, tuple(events))], None, now=evaluated_at)
    evaluation = evaluate(ticket, events, policy, evaluated_at, settled=settled)
    store.record_evaluation(evaluation, ())
    return (*settled, *evaluation.decided)


@pytest.fixture(scope="module")
def assigned(policy: Policy, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """Four Acme tickets in March with known groups and assignees, and one open unassigned one.

    t4 is held by a1 when its first response is met and by a2 when its resolution breaches."""
    store = Store.open(f"sqlite:///{tmp_path_factory.mktemp('assigned')}/t.db")
    put(
        store,
        policy,
        "t1",
        created=datetime(2026, 3, 2, 9, tzinfo=UTC),
        reply_after=H,
        solve_after=10 * H,
        group="g1",
        assignee="a1",
    )
    put(
        store,
        policy,
        "t2",
        created=datetime(2026, 3, 3, 9, tzinfo=UTC),
        reply_after=5 * H,
        solve_after=20 * H,
        group="g1",
        assignee="a2",
    )
    put(
        store,
        policy,
        "t3",
        created=datetime(2026, 3, 4, 9, tzinfo=UTC),
        reply_after=2 * H,
        solve_after=96 * H,
        group="g2",
        assignee="a1",
    )
    t4 = datetime(2026, 3, 9, 9, tzinfo=UTC)
    early = put(
        store,
        policy,
        "t4",
        created=t4,
        reply_after=H,
        solve_after=80 * H,
        group="g1",
        assignee="a1",
        evaluated_at=t4 + 2 * H,
    )
    put(
        store,
        policy,
        "t4",
        created=t4,
        reply_after=H,
        solve_after=80 * H,
        group="g1",
        assignee="a2",
        settled=early,
    )
    put(store, policy, "t5", created=datetime(2026, 3, 31, 11, tzinfo=UTC))  # FR running 1h of 4h at NOW
    yield store
    store.close()


def report_of(store: Store, policy: Policy) -> SlaReport:
    return build_report(store, policy, start=START, end=END, now=NOW, trend_months=3)


def figures(rows: Sequence[HolderFigures]) -> dict[str | None, tuple[int, int, int, float | None]]:
    return {r.holder_id: (r.met, r.breached, r.in_progress, r.adherence_percent) for r in rows}


def test_adherence_by_assignee_counts_each_cycle_for_its_holder_when_it_was_decided(
    assigned: Store, policy: Policy
) -> None:
    report = report_of(assigned, policy)

    # a1: t1 FR+res met, t3 FR met / res breached, t4 FR met; a2: t2 FR breached / res met, t4 res breached
    assert figures(report.by_assignee) == {
        "a1": (4, 1, 0, 80.0),
        "a2": (1, 2, 0, 33.3),
        None: (0, 0, 2, None),  # t5's running clocks, for its current (no) assignee
    }
    a1 = next(r for r in report.by_assignee if r.holder_id == "a1")
    assert [(m.metric, m.met, m.breached) for m in a1.metrics] == [
        ("first_response", 3, 0),
        ("resolution", 1, 1),
    ]


def test_adherence_by_group_counts_settled_cycles_of_each_group(assigned: Store, policy: Policy) -> None:
    report = report_of(assigned, policy)

    assert figures(report.by_group) == {"g1": (4, 2, 0, 66.7), "g2": (1, 1, 0, 50.0), None: (0, 0, 2, None)}
    assert {r.connection for r in report.by_group} == {CONNECTION}


def test_resolution_distribution_buckets_business_time_to_resolution(assigned: Store, policy: Policy) -> None:
    report = report_of(assigned, policy)

    (enterprise,) = report.resolution_distribution
    counts = dict(zip(report.resolution_buckets, enterprise.counts, strict=True))
    assert counts["≤1d"] == 2  # 10h, 20h
    assert counts["≤5d"] == 2  # 80h, 96h
    assert sum(enterprise.counts) == 4


def test_monthly_trend_gives_adherence_per_metric_per_month(assigned: Store, policy: Policy) -> None:
    report = report_of(assigned, policy)

    points = {(p.month, p.metric): (p.met, p.breached, p.adherence_percent) for p in report.trend}
    assert [month for month, metric in points if metric is None] == ["2026-01", "2026-02", "2026-03"]
    assert points[("2026-03", "first_response")] == (3, 1, 75.0)
    assert points[("2026-03", "resolution")] == (2, 2, 50.0)
    assert points[("2026-03", None)] == (5, 3, 62.5)
    assert points[("2026-02", None)] == (0, 0, None)


def test_adherence_chart_draws_each_tiers_goal_line(assigned: Store, policy: Policy) -> None:
    report = report_of(assigned, policy)
    enterprise = next(s for s in report.by_tier if s.tier == "enterprise")

    assert enterprise.goal_percent == 95.0  # target_adherence in mappings/tiers.yaml
    page = render_html(report)
    adherence_svg = re.search(r'<svg[^>]*aria-label="Adherence by tier and metric".*?</svg>', page, re.DOTALL)
    assert adherence_svg is not None
    # plot 260 - 30 - 40 = 190 px high from y=30: 95% sits 9.5 px below the top
    assert re.search(r'<line [^>]*y1="39\.5"[^>]*stroke-dasharray', adherence_svg.group(0))
    assert "Enterprise goal 95%" in adherence_svg.group(0)


def test_csv_tables_carry_the_figures_of_the_json_report(
    assigned: Store, policy: Policy, tmp_path: Path
) -> None:
    report = report_of(assigned, policy)
    document = json.loads(report_to_json(report))

    written = write_csv_tables(report, tmp_path / "csv")

    assert {p.name for p in written} >= {
        "by_tier.csv",
        "by_tier_severity.csv",
        "monthly_trend.csv",
        "by_group.csv",
        "by_assignee.csv",
        "breaches.csv",
        "breaches_per_day.csv",
        "first_response_distribution.csv",
        "resolution_distribution.csv",
        "service_credits.csv",
        "allowance.csv",
        "policy_versions.csv",
    }

    def rows(name: str) -> list[dict[str, str]]:
        with (tmp_path / "csv" / f"{name}.csv").open(encoding="utf-8", newline="") as f:
            return list(csv.DictReader(f))

    by_tier = rows("by_tier")
    assert [(r["tier_label"], r["adherence_percent"], r["goal_percent"]) for r in by_tier] == [
        (s["tier_label"], str(s["adherence_percent"]), str(s["goal_percent"] or ""))
        for s in [*document["by_tier"], document["overall"]]
    ]
    assert by_tier[0]["first_response_median_s"] == str(
        round(document["by_tier"][0]["first_response"]["median"])
    )
    breaches = rows("breaches")
    assert [(b["ticket"], b["metric"], int(b["overrun_s"])) for b in breaches] == [
        (b["ticket"], b["metric"], round(b["overrun"])) for b in document["breaches"]
    ]
    assert [datetime.fromisoformat(b["breached_at"]) for b in breaches] == [
        datetime.fromisoformat(b["breached_at"]) for b in document["breaches"]
    ]
    assignees = {
        (r["assignee_id"], r["metric"]): (int(r["met"]), int(r["breached"])) for r in rows("by_assignee")
    }
    for holder in document["by_assignee"]:
        assert assignees[(holder["holder_id"] or "", "all")] == (holder["met"], holder["breached"])
    trend = {(r["month"], r["metric"]): r["adherence_percent"] for r in rows("monthly_trend")}
    for point in document["trend"]:
        expected = "" if point["adherence_percent"] is None else str(point["adherence_percent"])
        assert trend[(point["month"], point["metric"] or "all")] == expected
    (credit,) = rows("service_credits")
    assert (credit["breaches"], credit["credit_percent"]) == (
        str(document["service_credits"][0]["breaches"]),
        str(document["service_credits"][0]["credit_percent"]),
    )
    resolution = [int(r["cycles"]) for r in rows("resolution_distribution")]
    assert resolution == document["resolution_distribution"][0]["counts"]


def test_report_cli_tz_moves_a_ticket_across_the_month_boundary(policy: Policy, tmp_path: Path) -> None:
    store = Store.open(f"sqlite:///{tmp_path}/t.db")
    now = datetime(2026, 5, 1, tzinfo=UTC)
    put(
        store,
        policy,
        "m1",
        created=datetime(2026, 3, 10, 9, tzinfo=UTC),
        reply_after=5 * H,
        solve_after=10 * H,
        evaluated_at=now,
    )
    # 23:30 UTC on 31 March is 01:30 on 1 April in Berlin (CEST, UTC+2)
    put(
        store,
        policy,
        "late",
        created=datetime(2026, 3, 31, 23, 30, tzinfo=UTC),
        reply_after=H,
        solve_after=2 * H,
        evaluated_at=now,
    )
    store.close()

    def trend(zone: str) -> dict[str, float | None]:
        result = CliRunner().invoke(
            app,
            [
                "report",
                "--db",
                f"sqlite:///{tmp_path}/t.db",
                "--now",
                now.isoformat(),
                "--format",
                "json",
                "--out",
                "-",
                "--start",
                "2026-03-01",
                "--end",
                "2026-05-01",
                "--tz",
                zone,
                "--trend-months",
                "2",
            ],
        )
        assert result.exit_code == 0, result.output
        document = json.loads(result.stdout)
        assert document["time_zone"] == zone
        return {p["month"]: p["adherence_percent"] for p in document["trend"] if p["metric"] is None}

    assert trend("UTC") == {"2026-03": 75.0, "2026-04": None}  # m1: 1 met 1 breached; late: 2 met
    assert trend("Europe/Berlin") == {"2026-03": 50.0, "2026-04": 100.0}


def test_report_cli_refuses_an_unknown_time_zone_in_one_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["report", "--db", f"sqlite:///{tmp_path}/t.db", "--tz", "Mars/Olympus"])

    assert result.exit_code == 2
    assert "'Mars/Olympus' is not an IANA time zone" in result.output
    assert "Traceback" not in result.output


def test_settled_outcome_without_group_is_a_row_of_its_own(policy: Policy, tmp_path: Path) -> None:
    store = Store.open(f"sqlite:///{tmp_path}/t.db")
    put(store, policy, "u1", created=datetime(2026, 3, 2, 9, tzinfo=UTC), reply_after=H, solve_after=2 * H)
    report = report_of(store, policy)
    store.close()

    assert figures(report.by_group) == {None: (2, 0, 0, 100.0)}
