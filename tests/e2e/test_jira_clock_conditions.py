"""Clock conditions and group ownership clocks end to end through the Jira emulator with the real
`jira` client: an agent's edits of a date field, a number field, a label and a group picker reach
the engine through the changelog, written the way Jira Cloud writes it (a date field's strings in
the display format `6/Mar/26`, its ISO date in `from`/`to`; a number as `5`)."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from ruamel.yaml import YAML

from connector.bootstrap import build_app
from connector.clock import FixedClock
from connector.domain.policy import Metric
from connector.domain.results import ClockState, SlaClock
from connector.mappings import check, load_policy
from connector.policy_holder import PolicyHolder
from connector.report.explain import render_explain
from connector.report.output import write_report
from connector.scheduler import Worker
from tests.e2e.support import JiraSite, jira_emulator, write_mappings

pytestmark = pytest.mark.e2e

OPENED = datetime(2026, 3, 4, 10, 0, tzinfo=UTC)  # a Wednesday
H = timedelta(hours=1)
REASON = "first response waived: the customer reported by phone to the duty manager"
DATE_FIELD = "com.atlassian.jira.plugin.system.customfieldtypes:datepicker"
NUMBER_FIELD = "com.atlassian.jira.plugin.system.customfieldtypes:float"
GROUP_FIELD = "com.atlassian.jira.plugin.system.customfieldtypes:grouppicker"


def edit_yaml(path: Path, change: Any) -> None:
    yaml = YAML()
    doc = yaml.load(path.read_text(encoding="utf-8"))
    change(doc)
    with path.open("w", encoding="utf-8") as out:
        yaml.dump(doc, out)


@dataclass
class JiraRun:
    site: JiraSite
    mappings: Path
    db_url: str
    clock: FixedClock
    fields: dict[str, str]
    key: str = ""

    @property
    def transport(self) -> Any:
        from plugins.jira import SEED_ADMIN_EMAIL
        from plugins.jira.emulator.seed import SEED_TOKEN, InProcessTransport

        return InProcessTransport(self.site.app, SEED_ADMIN_EMAIL, SEED_TOKEN)

    @property
    def agent(self) -> str:
        return next(iter(self.site.demo.agents))

    def at(self, instant: datetime) -> None:
        self.clock.set(instant)
        self.site.set_clock(instant)

    def agent_edit(self, body: dict[str, Any]) -> None:
        """An agent's edit of the issue in Jira (not tierdesk's integration user)."""
        self.transport.call("PUT", f"/rest/api/3/issue/{self.key}", body, as_email=self.agent)

    def set_field(self, logical: str, value: Any) -> None:
        self.agent_edit({"fields": {self.fields[logical]: value}})

    def open_issue(self, customer: str, summary: str) -> None:
        from plugins.jira.emulator.seed import adf

        body = {
            "fields": {
                "project": {"key": self.site.demo.project},
                "issuetype": {"name": "Service Request"},
                "summary": summary,
                "description": adf("Nobody can pay."),
            }
        }
        self.key = self.transport.call("POST", "/rest/api/3/issue", body, as_email=customer)["key"]

    @property
    def issue_id(self) -> str:
        return str(next(i.id for i in self.site.jira.site.issues.values() if i.key == self.key))

    def changelog_items(self, field_id: str) -> list[dict[str, Any]]:
        page = self.transport.call("GET", f"/rest/api/3/issue/{self.key}/changelog")
        return [item for h in page["values"] for item in h["items"] if item.get("fieldId") == field_id]

    @contextmanager
    def worker(self) -> Iterator[Worker]:
        from plugins.jira import connect as connect_jira
        from plugins.jira.testing import FAST_RETRY

        (config,) = PolicyHolder(self.mappings).policy.connections
        helpdesk = connect_jira(config, retry=FAST_RETRY, sleep=lambda _seconds: None)
        app = build_app(self.mappings, self.db_url, clock=self.clock, helpdesks={config.name: helpdesk})
        try:
            yield Worker(app)
        finally:
            app.close()

    def clocks(self, worker: Worker) -> dict[Metric, SlaClock]:
        return {
            c.metric: c for c in worker.app.store.load_clocks(self.connection, self.issue_id) if c.cycle == 0
        }

    @property
    def connection(self) -> str:
        (config,) = PolicyHolder(self.mappings).policy.connections
        return config.name


@contextmanager
def jira_outage(tmp: Path) -> Iterator[JiraRun]:
    """An Enterprise customer's critical issue ("Checkout is down": 24x7, first response 15 min,
    resolution 8 h) whose resolution target comes from a date field, and an agent's label
    `exempt_sla` exempting first response."""
    with jira_emulator(OPENED - 5 * timedelta(minutes=1), 0) as site:
        from plugins.jira import SEED_ADMIN_EMAIL
        from plugins.jira.emulator.seed import SEED_TOKEN, InProcessTransport, create_field

        transport = InProcessTransport(site.app, SEED_ADMIN_EMAIL, SEED_TOKEN)
        fields = {
            "agreed_date": create_field(transport, "Agreed resolution date", DATE_FIELD),
            "agreed_hours": create_field(transport, "Agreed resolution hours", NUMBER_FIELD),
        }
        connection = site.connection()
        connection["fields"] = {**connection["fields"], **fields}
        mappings = write_mappings(tmp / "mappings", {"jira": connection})
        run = JiraRun(site, mappings, f"sqlite:///{tmp / 't.db'}", FixedClock(OPENED), fields)
        run.at(OPENED)
        run.open_issue("alex@acme.example", "Checkout is down")
        yield run


def target_from(run: JiraRun, field: str, kind: str) -> None:
    def change(doc: Any) -> None:
        enterprise = doc["tiers"]["enterprise"]
        enterprise["clocks"]["resolution"]["target_from"] = {"field": field, "kind": kind}
        enterprise["manual"] = [
            {"exempt": {"tag": "exempt_sla"}, "metrics": ["first_response"], "reason": REASON}
        ]

    edit_yaml(run.mappings / "tiers.yaml", change)
    assert check(run.mappings) == []


def test_a_jira_date_field_an_agent_edits_moves_the_running_resolution_due(tmp_path: Path) -> None:
    with jira_outage(tmp_path) as run:
        target_from(run, "agreed_date", "date")
        with run.worker() as worker:
            run.at(OPENED + timedelta(minutes=1))
            run.set_field("agreed_date", "2026-03-05")
            run.at(OPENED + timedelta(minutes=2))
            worker.pull_job(run.connection)
            first = run.clocks(worker)[Metric.RESOLUTION]
            run.at(OPENED + timedelta(minutes=3))
            run.set_field("agreed_date", "2026-03-06")
            run.at(OPENED + timedelta(minutes=4))
            worker.pull_job(run.connection)
            moved = run.clocks(worker)[Metric.RESOLUTION]
        items = run.changelog_items(run.fields["agreed_date"])

    # the changelog as Jira Cloud writes a date picker: ISO in from/to, display text in the strings
    assert [(i.get("from"), i.get("fromString"), i.get("to"), i.get("toString")) for i in items] == [
        (None, None, "2026-03-05", "5/Mar/26"),
        ("2026-03-05", "5/Mar/26", "2026-03-06", "6/Mar/26"),
    ]
    end_of_5th = datetime(2026, 3, 6, tzinfo=UTC)  # 24x7 counts in UTC: the end of the day
    assert (first.target, first.due_at) == (end_of_5th - OPENED, end_of_5th)
    assert moved.due_at == end_of_5th + 24 * H
    assert moved.state is ClockState.RUNNING


def test_a_jira_number_field_an_agent_edits_moves_the_running_resolution_due(tmp_path: Path) -> None:
    with jira_outage(tmp_path) as run:
        target_from(run, "agreed_hours", "hours")
        with run.worker() as worker:
            run.at(OPENED + timedelta(minutes=1))
            run.set_field("agreed_hours", 2)
            run.at(OPENED + timedelta(minutes=2))
            worker.pull_job(run.connection)
            first = run.clocks(worker)[Metric.RESOLUTION]
            run.at(OPENED + timedelta(minutes=3))
            run.set_field("agreed_hours", 5.5)
            run.at(OPENED + timedelta(minutes=4))
            worker.pull_job(run.connection)
            moved = run.clocks(worker)[Metric.RESOLUTION]
        items = run.changelog_items(run.fields["agreed_hours"])

    assert [(i.get("from"), i.get("fromString"), i.get("to"), i.get("toString")) for i in items] == [
        (None, None, None, "2"),
        (None, "2", None, "5.5"),
    ]
    assert (first.target, first.due_at) == (2 * H, OPENED + 2 * H)
    assert (moved.target, moved.due_at) == (5.5 * H, OPENED + 5.5 * H)


def test_an_agents_jira_label_exempts_first_response_and_explain_gives_the_reason(tmp_path: Path) -> None:
    with jira_outage(tmp_path) as run:
        target_from(run, "agreed_hours", "hours")
        with run.worker() as worker:
            run.at(OPENED + timedelta(minutes=5))
            run.agent_edit({"update": {"labels": [{"add": "exempt_sla"}]}})
            run.at(OPENED + timedelta(minutes=20))  # past the 15 minute first response target
            worker.pull_job(run.connection)
            worker.drain_job()
            first = run.clocks(worker)[Metric.FIRST_RESPONSE]
            console = Console(record=True, width=240)
            assert render_explain(
                console,
                worker.app.store,
                worker.app.policies.policy,
                run.clock.now(),
                (run.connection, run.issue_id),
            )
        issue = next(i for i in run.site.jira.site.issues.values() if i.key == run.key)
        labels = set(issue.labels)
        notes = [json.dumps(c.body) for c in issue.comments]

    assert first.state is ClockState.EXEMPT and first.breached_at is None
    assert "exempt_sla" in labels  # the agent's label, left alone
    assert not any(label.endswith("sla_breached") for label in labels)
    assert not any("first response" in body.lower() and "breach" in body.lower() for body in notes)
    text = console.export_text()
    assert "exempt (tag exempt_sla, at " in text and REASON in text


def test_jira_group_moves_are_settled_once_as_holds_and_reported(tmp_path: Path) -> None:
    """A Standard issue moved by agents between teams of a group picker mapped as `group`:
    Tier 2 holds it 1 h then 2.5 h, against a 2 h OLA on 24x7. Each sync inserts only the holds
    that ended since the last one."""
    start = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
    with jira_emulator(start - timedelta(minutes=5), 0) as site:
        from plugins.jira import SEED_ADMIN_EMAIL
        from plugins.jira.emulator.seed import SEED_TOKEN, InProcessTransport, create_field

        transport = InProcessTransport(site.app, SEED_ADMIN_EMAIL, SEED_TOKEN)
        group_field = create_field(transport, "Owning team", GROUP_FIELD)
        connection = site.connection()
        connection["fields"] = {**connection["fields"], "group": group_field}
        connection["aliases"] = {**connection["aliases"], "tier-2": "Tier 2"}
        mappings = write_mappings(tmp_path / "mappings", {"jira": connection})
        (mappings / "olas.yaml").write_text(
            "olas:\n  tier-2:\n    target: 2h\n    calendar: 24x7\n", encoding="utf-8"
        )
        assert check(mappings) == []
        run = JiraRun(site, mappings, f"sqlite:///{tmp_path / 't.db'}", FixedClock(start), {})
        run.at(start)
        run.open_issue("alex@hooli.example", "Report totals are wrong")

        def move(hours: float, team: str) -> None:
            run.at(start + hours * H)
            run.agent_edit({"fields": {group_field: {"name": team}}})

        with run.worker() as worker:
            store = worker.app.store
            inserted = hold_inserts(store)
            move(1, "Tier 2")
            move(2, "Tier 1")
            run.at(start + 2.5 * H)
            worker.pull_job(run.connection)
            after_first = list(inserted)
            move(3, "Tier 2")
            move(5.5, "Tier 1")
            run.at(start + 6 * H)
            worker.pull_job(run.connection)
            after_second = list(inserted)
            run.at(start + 7 * H)
            worker.app.service.evaluate_keys([f"{run.connection}:{run.issue_id}"], start + 7 * H)
            holds = store.ola_holds(start, start + 24 * H)
            out = tmp_path / "report.txt"
            write_report(store, load_policy(mappings), out, "text", start, start + 24 * H, start + 7 * H)
            text = out.read_text(encoding="utf-8")
            console = Console(file=io.StringIO(), width=200, color_system=None)
            key = (run.connection, run.issue_id)
            assert render_explain(console, store, load_policy(mappings), start + 7 * H, key)
            shown = console.file.getvalue()  # type: ignore[attr-defined]
        items = run.changelog_items(group_field)

    assert [i["toString"] for i in items] == ["Tier 2", "Tier 1", "Tier 2", "Tier 1"]
    # the first sync settles the first hold; the second only the one that ended since; a
    # re-evaluation with nothing new inserts nothing
    assert after_first == [start + H]
    assert after_second == [start + H, start + 3 * H]
    assert list(inserted) == after_second
    assert [(h.ola, h.group_id, h.held, h.target, h.within_target) for h in holds] == [
        ("tier-2", "Tier 2", 1 * H, 2 * H, True),
        ("tier-2", "Tier 2", 2.5 * H, 2 * H, False),
    ]
    [line] = [line for line in text.splitlines() if line.startswith("│ tier-2")]
    cells = [cell.strip() for cell in line.strip("│").split("│")]
    assert cells[:3] == ["tier-2", "1", "2"] and cells[-1] == "50.0%"
    assert sum(1 for line in shown.splitlines() if line.startswith("│ tier-2")) == 2


def hold_inserts(store: Any) -> list[datetime]:
    """The start of every hold row the store asks the database to insert into `ola_hold`."""
    import sqlalchemy as sa

    seen: list[datetime] = []

    def listen(_conn: Any, clause: Any, multiparams: Any, params: Any, _options: Any) -> None:
        if isinstance(clause, sa.Insert) and clause.table.name == "ola_hold":
            rows = [row for group in multiparams for row in (group if isinstance(group, list) else [group])]
            seen.extend(row["started_at"] for row in [*rows, *([params] if params else [])])

    sa.event.listen(store.engine, "before_execute", listen)
    return seen
