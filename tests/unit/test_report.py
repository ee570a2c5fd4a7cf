"""`tierdesk report`: figures from the clocks stored in a real SQLite store, and their renderings."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from connector.domain.engine import evaluate
from connector.domain.model import Event, EventKind, Organization, Status, Ticket
from connector.domain.policy import Metric, Policy
from connector.mappings import load_policy
from connector.ports import TicketRecord
from connector.report.html import render_html
from connector.report.output import report_from_json, report_to_json, write_report
from connector.report.report import SlaReport, build_report
from connector.report.text import render_text
from connector.store.repository import Store

H = timedelta(hours=1)
BERLIN = ZoneInfo("Europe/Berlin")
START = datetime(2026, 3, 1, tzinfo=UTC)
END = datetime(2026, 4, 1, tzinfo=UTC)
NOW = datetime(2026, 4, 1, 12, 0, tzinfo=UTC)
CONNECTION = "zendesk-main"

ACME = Organization(id="1", name="Acme Corp", tags=frozenset({"enterprise"}))
WAYNE = Organization(id="5", name="Wayne Enterprises")  # no tier rule matches: standard, flagged unmatched


@pytest.fixture(scope="module")
def policy() -> Policy:
    """The example mappings, with a Standard allowance small enough to exceed in a test."""
    loaded = load_policy(Path("mappings"))
    standard = replace(loaded.tiers["standard"], monthly_allowance=2)
    return replace(loaded, tiers={**loaded.tiers, "standard": standard})


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store.open(f"sqlite:///{tmp_path}/t.db")
    yield opened
    opened.close()


def put(
    store: Store,
    policy: Policy,
    ticket_id: str,
    *,
    created: datetime,
    reply_after: timedelta | None = None,
    solve_after: timedelta | None = None,
    organization: Organization | None = None,
    subject: str = "Export fails",
    tags: frozenset[str] = frozenset(),
    evaluated_at: datetime = NOW,
    evaluate_it: bool = True,
) -> None:
    """Store a ticket with its events through the pull API, then evaluate it and store the clocks."""
    events = [Event(id="created", at=created, kind=EventKind.CREATED)]
    if reply_after is not None:
        events.append(Event(id="reply", at=created + reply_after, kind=EventKind.PUBLIC_AGENT_REPLY))
    if solve_after is not None:
        events.append(
            Event(id="solved", at=created + solve_after, kind=EventKind.STATUS_CHANGE, status=Status.SOLVED)
        )
    ticket = Ticket(
        connection=CONNECTION,
        id=ticket_id,
        created_at=created,
        updated_at=max(e.at for e in events),
        status=Status.OPEN if solve_after is None else Status.SOLVED,
        subject=subject,
        organization=organization,
        tags=tags,
        url=f"https://acme.zendesk.com/agent/tickets/{ticket_id}",
    )
    store.save_pull_page(CONNECTION, [TicketRecord(ticket, tuple(events))], None, now=evaluated_at)
    if evaluate_it:
        store.record_evaluation(evaluate(ticket, events, policy, evaluated_at), ())


def march(day: int, hour: int = 10, minute: int = 0, zone: ZoneInfo | None = None) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=zone or UTC)


@pytest.fixture(scope="module")
def month(policy: Policy, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """March 2026 for Acme (Enterprise, 24x7: FR 4h, resolution 3d), Wayne and a customer without an
    organization (both Standard by default), plus tickets outside the period. Tests only read it."""
    store = Store.open(f"sqlite:///{tmp_path_factory.mktemp('month')}/t.db")
    acme = [  # (reply after, solve after): business time equals wall time on 24x7
        (1 * H, 10 * H),  # both met
        (5 * H, 20 * H),  # first response breached by 1h
        (2 * H, 96 * H),  # resolution breached by 24h
        (6 * H, 30 * H),
        (7 * H, 40 * H),
        (8 * H, 50 * H),
        (9 * H, None),  # still open on 1 April: resolution breached and running
    ]
    for index, (reply, solve) in enumerate(acme):
        put(
            store,
            policy,
            f"a{index + 1}",
            created=march(2 + index),
            reply_after=reply,
            solve_after=solve,
            organization=ACME,
        )
    for index in range(3):  # Mon-Wed 10:00 Berlin: reply at 11:00, solved at 12:00 local
        put(
            store,
            policy,
            f"h{index + 1}",
            created=march(2 + index, 10, zone=BERLIN),
            reply_after=H,
            solve_after=2 * H,
            organization=WAYNE,
        )
    put(store, policy, "n1", created=march(5, 10, zone=BERLIN), reply_after=H / 2, solve_after=1.5 * H)
    put(store, policy, "u1", created=march(6), evaluate_it=False)  # pulled, not evaluated yet
    # Outside the period: a February breach and an April ticket.
    put(
        store,
        policy,
        "feb",
        created=datetime(2026, 2, 27, 10, tzinfo=UTC),
        reply_after=9 * H,
        organization=ACME,
    )
    put(
        store,
        policy,
        "apr",
        created=datetime(2026, 4, 1, 1, tzinfo=UTC),
        reply_after=9 * H,
        organization=ACME,
    )
    yield store
    store.close()


def report_of(store: Store, policy: Policy, **kw: datetime) -> SlaReport:
    return build_report(store, policy, start=kw.get("start", START), end=kw.get("end", END), now=NOW)


def metric_figures(report: SlaReport, tier_name: str, metric: Metric) -> tuple[int, int, int, float | None]:
    segment = next(s for s in report.by_tier if s.tier == tier_name)
    m = next(m for m in segment.metrics if m.metric is metric)
    return m.met, m.breached, m.in_progress, m.adherence_percent


def test_adherence_counts_met_and_breached_clocks_per_tier_and_metric(month: Store, policy: Policy) -> None:
    report = report_of(month, policy)

    assert metric_figures(report, "enterprise", Metric.FIRST_RESPONSE) == (2, 5, 0, 28.6)
    assert metric_figures(report, "enterprise", Metric.RESOLUTION) == (5, 2, 0, 71.4)
    assert metric_figures(report, "standard", Metric.FIRST_RESPONSE) == (4, 0, 0, 100.0)
    assert [s.tier for s in report.by_tier] == ["enterprise", "standard"]
    assert report.overall.adherence_percent == round(100 * 15 / 22, 1)


def test_ticket_counts_cover_tickets_created_in_the_period(month: Store, policy: Policy) -> None:
    report = report_of(month, policy)

    assert report.overall.tickets == 12  # 7 Acme + 3 Wayne + 1 without organization + 1 unevaluated
    assert [(s.tier, s.tickets) for s in report.by_tier] == [("enterprise", 7), ("standard", 4)]
    assert report.unevaluated_tickets == 1
    assert [(s.tier, s.severity, s.tickets) for s in report.by_tier_severity] == [
        ("enterprise", "normal", 7),
        ("standard", "normal", 4),
    ]


def test_medians_and_p90_come_from_stopped_clocks_in_business_time(month: Store, policy: Policy) -> None:
    report = report_of(month, policy)
    enterprise = next(s for s in report.by_tier if s.tier == "enterprise")
    standard = next(s for s in report.by_tier if s.tier == "standard")

    # first responses 1,2,5,6,7,8,9 h; resolutions 10,20,30,40,50,96 h (the open ticket has none)
    assert (enterprise.first_response.count, enterprise.first_response.median) == (7, 6 * H)
    assert enterprise.first_response.p90 == 9 * H
    assert (enterprise.resolution.count, enterprise.resolution.median) == (6, 35 * H)
    assert enterprise.resolution.p90 == 96 * H
    # Berlin office hours with a 12:30-13:30 lunch: solved at 12:00 local is 2h of business time
    assert (standard.first_response.median, standard.first_response.p90) == (H, H)
    assert standard.resolution.median == 2 * H


def test_breaches_list_each_breached_cycle_with_its_overrun(month: Store, policy: Policy) -> None:
    report = report_of(month, policy)

    assert len(report.breaches) == 7
    first = report.breaches[0]
    assert (first.ticket, first.metric, first.cycle) == (f"{CONNECTION}:a2", Metric.FIRST_RESPONSE, 0)
    assert (first.breached_at, first.target, first.elapsed, first.overrun) == (march(3, 14), 4 * H, 5 * H, H)
    assert (first.organization, first.tier, first.severity, first.stopped) == (
        "Acme Corp",
        "enterprise",
        "normal",
        True,
    )
    late = next(b for b in report.breaches if b.ticket.endswith(":a3") and b.metric is Metric.RESOLUTION)
    assert late.overrun == 24 * H
    assert "feb" not in " ".join(b.ticket for b in report.breaches)


def test_running_clock_counts_as_of_its_last_evaluation(month: Store, policy: Policy) -> None:
    report = build_report(month, policy, start=START, end=END, now=NOW + 30 * 24 * H)
    running = next(b for b in report.breaches if b.ticket.endswith(":a7") and b.metric is Metric.RESOLUTION)

    assert not running.stopped
    assert running.elapsed == NOW - march(8)  # as stored at NOW, not recomputed at generation time


def test_service_credit_multiplies_credited_breaches_and_stops_at_the_cap(
    month: Store, policy: Policy
) -> None:
    report = report_of(month, policy)

    (credit,) = report.service_credits  # only Enterprise has credit terms
    assert (credit.organization, credit.month, credit.tier) == ("Acme Corp", "2026-03", "enterprise")
    assert (credit.breaches, credit.percent_per_breach, credit.cap_percent) == (7, 5.0, 25.0)
    assert (credit.credit_percent, credit.capped) == (25.0, True)


def test_service_credit_below_the_cap_is_per_breach_times_breaches(store: Store, policy: Policy) -> None:
    put(store, policy, "a1", created=march(2), reply_after=5 * H, solve_after=10 * H, organization=ACME)
    put(store, policy, "a2", created=march(3), reply_after=6 * H, solve_after=10 * H, organization=ACME)

    (credit,) = report_of(store, policy).service_credits
    assert (credit.breaches, credit.credit_percent, credit.capped) == (2, 10.0, False)


def test_allowance_flags_organizations_over_their_monthly_tickets(month: Store, policy: Policy) -> None:
    report = report_of(month, policy)

    rows = {(a.organization, a.tier): a for a in report.allowance}
    assert set(rows) == {("Acme Corp", "enterprise"), ("Wayne Enterprises", "standard")}
    wayne = rows[("Wayne Enterprises", "standard")]
    assert (wayne.month, wayne.tickets, wayne.allowance, wayne.over_allowance) == ("2026-03", 3, 2, True)
    assert not wayne.partial_month
    acme = rows[("Acme Corp", "enterprise")]
    assert (acme.tickets, acme.allowance, acme.over_allowance) == (7, None, False)


def test_allowance_marks_months_the_period_covers_in_part(month: Store, policy: Policy) -> None:
    report = report_of(month, policy, start=march(2), end=march(4))

    assert {a.partial_month for a in report.allowance} == {True}


def test_unmatched_counts_tickets_that_fell_back_to_the_default_tier(month: Store, policy: Policy) -> None:
    assert report_of(month, policy).unmatched_tickets == 4  # 3 Wayne + 1 without organization


def test_clocks_of_an_older_policy_version_are_named_and_their_unmatched_flag_read_from_tags(
    store: Store, policy: Policy
) -> None:
    older = replace(policy, version="0ld0ld0ld0ld")
    put(
        store,
        older,
        "o1",
        created=march(2),
        reply_after=H,
        organization=WAYNE,
        tags=frozenset({"tier_unmatched"}),
    )
    put(store, older, "o2", created=march(3), reply_after=H, organization=WAYNE)
    put(store, policy, "c1", created=march(4), reply_after=H, organization=ACME)

    report = report_of(store, policy)

    assert report.policy_version == policy.version
    assert [(v.version, v.tickets, v.current) for v in report.versions] == [
        ("0ld0ld0ld0ld", 2, False),
        (policy.version, 1, True),
    ]
    assert report.unmatched_tickets == 1  # o1 shows the flag; o2 does not yet, c1 matched a rule
    assert "0ld0ld0ld0ld" in render_html(report)


def test_breaches_per_day_use_the_period_start_time_zone(store: Store, policy: Policy) -> None:
    # 23:30 UTC on 2 March is 00:30 on 3 March in Berlin; first response target 4h on 24x7
    put(
        store,
        policy,
        "a1",
        created=march(2, 19, 30),
        reply_after=5 * H,
        solve_after=10 * H,
        organization=ACME,
    )

    in_utc = report_of(store, policy)
    in_berlin = report_of(
        store, policy, start=datetime(2026, 3, 1, tzinfo=BERLIN), end=datetime(2026, 4, 1, tzinfo=BERLIN)
    )

    assert {d.day.day: d.breaches for d in in_utc.breaches_per_day if d.breaches} == {2: 1}
    assert {d.day.day: d.breaches for d in in_berlin.breaches_per_day if d.breaches} == {3: 1}
    assert len(in_berlin.breaches_per_day) == 31
    assert in_berlin.time_zone == "Europe/Berlin"


def test_first_response_distribution_buckets_stopped_cycles_by_tier(month: Store, policy: Policy) -> None:
    report = report_of(month, policy)
    counts = {
        d.tier: dict(zip(report.first_response_buckets, d.counts, strict=True))
        for d in report.first_response_distribution
    }

    assert counts["enterprise"]["≤1h"] == 1
    assert counts["enterprise"]["≤2h"] == 1
    assert counts["enterprise"]["≤8h"] == 4  # 5, 6, 7, 8 h
    assert counts["enterprise"]["≤1d"] == 1  # 9 h
    assert counts["standard"]["≤30m"] == 1
    assert counts["standard"]["≤1h"] == 3


def test_html_shows_the_figures_with_well_formed_svg_charts(month: Store, policy: Policy) -> None:
    page = render_html(report_of(month, policy))

    for figure in ("28.6%", "71.4%", "Acme Corp", "capped", "over by 1", policy.version, "2026-03-03 14:00"):
        assert figure in page
    charts = re.findall(r"<svg\b.*?</svg>", page, flags=re.DOTALL)
    assert len(charts) == 5  # adherence, breaches per day, trend, first response, resolution
    for chart in charts:
        root = ET.fromstring(chart)
        assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert "<script" not in page and "http://" not in page.replace("http://www.w3.org/2000/svg", "")


def test_html_escapes_organization_names(store: Store, policy: Policy) -> None:
    evil = Organization(id="9", name="<b>Evil & Co</b>", tags=frozenset({"enterprise"}))
    put(store, policy, "e1", created=march(2), reply_after=5 * H, solve_after=10 * H, organization=evil)

    page = render_html(report_of(store, policy))

    assert "&lt;b&gt;Evil &amp; Co&lt;/b&gt;" in page
    assert "<b>Evil" not in page


def test_empty_period_renders_without_figures(store: Store, policy: Policy) -> None:
    report = report_of(store, policy)

    assert (report.overall.tickets, report.breaches, report.versions) == (0, (), ())
    assert report.overall.adherence_percent is None
    page = render_html(report)
    assert "No breaches in this period." in page
    assert len(re.findall(r"<svg\b", page)) == 5
    assert "breaches 0" in render_text(report)


def test_json_output_round_trips_to_an_equal_report(month: Store, policy: Policy) -> None:
    report = report_of(month, policy)

    text = report_to_json(report)

    assert report_from_json(text) == report
    document = json.loads(text)
    assert document["breaches"][0]["overrun"] == 3600.0
    assert document["breaches"][0]["metric"] == "first_response"


def test_text_output_lists_tiers_breaches_and_credits(month: Store, policy: Policy) -> None:
    text = render_text(report_of(month, policy))

    assert "Enterprise" in text and "28.6% 2/5" in text
    assert f"{CONNECTION}:a2" in text
    assert "25% (capped)" in text
    assert "OVER by 1" in text


@pytest.mark.parametrize("fmt", ["html", "text", "json"])
def test_write_report_writes_the_chosen_format(
    month: Store, policy: Policy, tmp_path: Path, fmt: str
) -> None:
    out = tmp_path / "reports" / f"sla.{fmt}"

    report = write_report(month, policy, out, fmt, START, END, NOW)  # type: ignore[arg-type]

    written = out.read_text(encoding="utf-8")
    assert report.overall.tickets == 12
    assert not list(out.parent.glob(".*partial"))
    if fmt == "html":
        assert written.startswith("<!DOCTYPE html>")
    elif fmt == "json":
        assert report_from_json(written) == report
    else:
        assert written.startswith("SLA report 2026-03-01 00:00")


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (datetime(2026, 3, 1), END),
        (END, START),
    ],
)
def test_build_report_refuses_naive_or_empty_periods(
    store: Store, policy: Policy, start: datetime, end: datetime
) -> None:
    with pytest.raises(ValueError):
        build_report(store, policy, start=start, end=end, now=NOW)
