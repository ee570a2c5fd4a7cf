"""Policy edits, downgrades and the record, end to end through the Zendesk emulator.

Three Acme (Enterprise, 24x7, normal severity: first response 4h) tickets are synced: one answered
after two minutes, one answered four and a half hours late, one opened half an hour ago and not
answered yet. The admin then cuts the first-response target to one minute:
- `tierdesk plan` shows what the edit would do before any worker runs it: no met clock turns
  breached, the running one would breach, Acme's credited breaches would go from 1 to 2;
- with `apply_to: running` the next sync breaches the running clock only; the met one stays met,
  without `sla_breached`, and the report's credits count what was decided;
- without it (`apply_to: new`, the default) running clocks keep 4h and only a ticket opened after
  the edit gets one minute.
A severity downgrade of a breached outage ticket keeps the breach (tag, report, credit).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from connector.bootstrap import build_app
from connector.clock import FixedClock
from connector.domain.policy import Metric
from connector.domain.results import ClockState
from connector.mappings import load_policy
from connector.report.report import build_report
from connector.store.repository import Store
from plugins.zendesk.emulator.seed import http_caller
from tests.e2e.support import (
    CONNECTION,
    ZendeskSite,
    customer_of,
    run_cli,
    write_mappings,
    zendesk_emulator,
)

pytestmark = pytest.mark.e2e

START = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)  # a Wednesday
M = timedelta(minutes=1)
H = timedelta(hours=1)


@dataclass
class Account:
    site: ZendeskSite
    mappings: Path
    db_url: str
    requester: int
    tickets: dict[str, str]  # name -> ticket id

    def open_ticket(self, subject: str, at: datetime, reply_after: timedelta | None = None) -> str:
        self.site.set_clock(at)
        call = http_caller(self.site.app)
        ticket_id = call(
            "POST",
            "/api/v2/tickets.json",
            {"ticket": {"subject": subject, "requester_id": self.requester, "comment": {"body": "Help."}}},
        )["ticket"]["id"]
        if reply_after is not None:
            change = {"comment": {"body": "Looking into it.", "public": True}, "status": "open"}
            agent = self.site.info.agents[0]
            self.site.account.update_ticket(ticket_id, change, agent, int((at + reply_after).timestamp()))
        return str(ticket_id)

    def sync(self, at: datetime) -> None:
        self.site.set_clock(at)
        app = build_app(self.mappings, self.db_url, clock=FixedClock(at))
        try:
            assert app.service.run_cycle().failed == 0
        finally:
            app.close()

    def edit(self, *, first_response: str, apply_to: str | None = None) -> None:
        yaml = YAML()
        path = self.mappings / "tiers.yaml"
        doc = yaml.load(path.read_text(encoding="utf-8"))
        doc["tiers"]["enterprise"]["targets"]["normal"]["first_response"] = first_response
        with path.open("w", encoding="utf-8") as out:
            yaml.dump(doc, out)
        if apply_to is not None:
            (self.mappings / "changes.yaml").write_text(
                f"changes:\n  apply_to: {apply_to}\n", encoding="utf-8"
            )

    def clock(self, name: str, metric: Metric = Metric.FIRST_RESPONSE) -> tuple[ClockState, timedelta]:
        store = Store.open(self.db_url)
        try:
            (found,) = [c for c in store.load_clocks(CONNECTION, self.tickets[name]) if c.metric is metric]
        finally:
            store.close()
        return found.state, found.target

    def tags(self, name: str) -> list[str]:
        return self.site.account.tickets[int(self.tickets[name])].tags

    def acme_credited_breaches(self, at: datetime) -> int:
        store = Store.open(self.db_url)
        try:
            report = build_report(store, load_policy(self.mappings), start=START - 10 * H, end=at, now=at)
        finally:
            store.close()
        return sum(c.breaches for c in report.service_credits if c.organization == "Acme Corp")


@contextmanager
def acme(tmp: Path) -> Iterator[Account]:
    with zendesk_emulator(START - 6 * H) as site:
        site.unlimited()
        requester = customer_of(site)
        mappings = write_mappings(
            tmp / "mappings", {"zendesk": site.connection()}, options={"zendesk": {"job_poll_interval": "0"}}
        )
        account = Account(site, mappings, f"sqlite:///{tmp / 't.db'}", requester, {})
        account.tickets["met"] = account.open_ticket("Export question", START - 3 * H, reply_after=2 * M)
        account.tickets["late"] = account.open_ticket(
            "Report question", START - 5 * H, reply_after=4 * H + 30 * M
        )
        account.tickets["running"] = account.open_ticket("Invoice question", START - 30 * M)
        account.sync(START)
        yield account


def test_plan_shows_what_an_edit_would_change_before_a_worker_runs_it(tmp_path: Path) -> None:
    with acme(tmp_path) as account:
        account.edit(first_response="1m", apply_to="running")
        at = (START + M).isoformat()
        shown = run_cli(
            ["plan", "--mappings", str(account.mappings), "--db", account.db_url, "--now", at], tmp_path
        )
        explained = run_cli(
            [
                "explain",
                f"{CONNECTION}:{account.tickets['met']}",
                "--mappings",
                str(account.mappings),
                "--db",
                account.db_url,
                "--now",
                at,
            ],
            tmp_path,
            columns=400,
        )
        still = account.clock("running")

    assert shown.returncode == 0, shown.stderr
    text = " ".join(shown.stdout.split())
    assert "pending edit" in text and "applies to running clocks" in text
    assert "met -> breached 0 (decided clocks never change), running -> breached 1" in text
    assert f"zendesk-main:{account.tickets['running']}" in text and "4h -> 1m" in text
    assert "Acme Corp" in text and "1 -> 2" in text
    assert still == (ClockState.RUNNING, 4 * H)  # plan pushed and stored nothing
    assert explained.returncode == 0, explained.stderr
    assert (
        "are not running yet" in explained.stdout and "settled: met: public agent reply" in explained.stdout
    )


def test_an_edit_for_running_clocks_breaches_those_past_the_new_target_and_leaves_decided_ones(
    tmp_path: Path,
) -> None:
    with acme(tmp_path) as account:
        before = account.acme_credited_breaches(START + M)
        account.edit(first_response="1m", apply_to="running")
        account.sync(START + 2 * M)
        met, late, running = (account.clock(name) for name in ("met", "late", "running"))
        met_tags, running_tags = account.tags("met"), account.tags("running")
        after = account.acme_credited_breaches(START + 3 * M)

    assert met == (ClockState.MET, 4 * H)
    assert "sla_breached" not in met_tags
    assert late == (ClockState.BREACHED, 4 * H)
    assert running == (ClockState.BREACHED, M)
    assert "sla_breached" in running_tags
    assert (before, after) == (1, 2)


def test_by_default_an_edit_applies_to_clocks_that_start_after_it(tmp_path: Path) -> None:
    with acme(tmp_path) as account:
        account.edit(first_response="1m")
        account.sync(START + 2 * M)  # the worker runs the edit from here
        account.tickets["new"] = account.open_ticket("Another question", START + 3 * M)
        account.sync(START + 10 * M)
        running, new, met = account.clock("running"), account.clock("new"), account.clock("met")

    assert running == (ClockState.RUNNING, 4 * H)
    assert new == (ClockState.BREACHED, M)
    assert met == (ClockState.MET, 4 * H)


def test_a_severity_downgrade_keeps_the_breach(tmp_path: Path) -> None:
    with acme(tmp_path) as account:
        account.tickets["outage"] = account.open_ticket("Checkout is down", START + M)  # critical: 15m
        account.sync(START + 20 * M)
        breached = account.clock("outage")
        account.site.set_clock(START + 25 * M)
        account.site.account.update_ticket(
            int(account.tickets["outage"]),
            {"subject": "Checkout slow for some users"},
            account.site.info.agents[0],
            int((START + 25 * M).timestamp()),
        )
        account.sync(START + 27 * M)
        downgraded = account.clock("outage")
        tags = account.tags("outage")
        credited = account.acme_credited_breaches(START + 30 * M)

    assert breached == (ClockState.BREACHED, 15 * M)
    assert downgraded == (ClockState.BREACHED, 15 * M)  # the target it breached against
    assert "sev_normal" in tags and "sla_breached" in tags
    assert credited == 2  # the late reply and the outage
