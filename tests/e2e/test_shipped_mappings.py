"""The README's first path: both emulators started with `--seed demo`, the shipped `mappings/`, the
emulators' demo credentials and one `tierdesk sync --once`. Only the connection URLs change (the
emulators bind free ports here instead of 8081 / 8082); field ids, projects, aliases and rules are
used exactly as shipped.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa

from connector.domain.policy import ConnectionConfig
from connector.domain.rules import first_match
from connector.emulation.base import EmulatorApp, EmulatorServer
from connector.mappings import load_policy
from connector.store.repository import Store
from connector.store.tables import tickets
from plugins.jira import build_emulator as build_jira
from plugins.jira import emulator_of
from plugins.jira.emulator.seed import DEMO_ORGANIZATIONS, PARTNER_PROJECT
from plugins.zendesk import build_emulator as build_zendesk
from plugins.zendesk.emulator.app import ZendeskAPI
from plugins.zendesk.emulator.store import Account
from tests.e2e.support import EXAMPLE_MAPPINGS, OutboxEntry, outbox_entries

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

# What the README tells a new admin to export for the demo emulators.
DEMO_CREDENTIALS = {
    "TIERDESK_ZENDESK_EMAIL": "tierdesk@example.com",
    "TIERDESK_ZENDESK_TOKEN": "emulator",
    "TIERDESK_JIRA_EMAIL": "admin@tierdesk.example",
    "TIERDESK_JIRA_TOKEN": "seed-token",
}
SHIPPED_URLS = {"zendesk": "http://127.0.0.1:8081", "jira": "http://127.0.0.1:8082"}
TIERS = ("enterprise", "priority", "standard")
JIRA_ORGANIZATIONS_FIELD = "customfield_10002"


@dataclass
class Synced:
    zendesk: EmulatorApp
    jira: EmulatorApp
    mappings: Path
    db_url: str
    run: subprocess.CompletedProcess[str]

    @property
    def account(self) -> Account:
        vendor = self.zendesk.vendor
        assert isinstance(vendor, ZendeskAPI)
        return vendor.account

    def outbox(self) -> list[OutboxEntry]:
        return outbox_entries(self.db_url)


def _shipped_mappings_at(target: Path, urls: dict[str, str]) -> Path:
    """The shipped mappings with only the emulator URLs replaced, as text (nothing else moves)."""
    shutil.copytree(EXAMPLE_MAPPINGS, target)
    path = target / "connections.yaml"
    text = path.read_text(encoding="utf-8")
    for kind, shipped in SHIPPED_URLS.items():
        assert text.count(f"url: {shipped}\n") == 1, f"the shipped {kind} URL is {shipped}"
        text = text.replace(f"url: {shipped}\n", f"url: {urls[kind]}\n")
    path.write_text(text, encoding="utf-8")
    return target


@pytest.fixture(scope="module")
def synced(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Synced]:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    work = tmp_path_factory.mktemp("shipped")
    zendesk = build_zendesk("real", "demo")
    jira = build_jira("real", "demo")
    servers = [EmulatorServer(zendesk).start(), EmulatorServer(jira).start()]
    try:
        mappings = _shipped_mappings_at(
            work / "mappings", {"zendesk": servers[0].url, "jira": servers[1].url}
        )
        db_url = f"sqlite:///{work / 'tierdesk.db'}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("TIERDESK_")}
        env.update(DEMO_CREDENTIALS, PYTHONUNBUFFERED="1")
        run = subprocess.run(
            [
                sys.executable,
                "-m",
                "connector",
                "sync",
                "--once",
                "--mappings",
                str(mappings),
                "--db",
                db_url,
            ],
            cwd=work,
            env=env,
            capture_output=True,
            text=True,
            timeout=240,
            check=False,
        )
        yield Synced(zendesk=zendesk, jira=jira, mappings=mappings, db_url=db_url, run=run)
    finally:
        for server in servers:
            server.stop()


def test_sync_once_with_the_shipped_mappings_fails_no_action_on_either_helpdesk(synced: Synced) -> None:
    assert synced.run.returncode == 0, synced.run.stdout[-2000:] + synced.run.stderr[-2000:]
    assert "Traceback" not in synced.run.stdout + synced.run.stderr
    outcomes = Counter((e.connection, e.status) for e in synced.outbox())
    assert outcomes[("zendesk-main", "failed")] == 0 and outcomes[("jira-main", "failed")] == 0
    assert outcomes[("zendesk-main", "applied")] > 1000 and outcomes[("jira-main", "applied")] > 1000
    assert "failed 0" in " ".join(synced.run.stdout.split())


def test_zendesk_organizations_get_the_tier_their_tags_name(synced: Synced) -> None:
    account = synced.account
    seen: Counter[str] = Counter()
    for ticket in account.tickets.values():
        assert ticket.organization_id is not None
        org = account.organizations[ticket.organization_id]
        meant = next((t for t in TIERS if t in org.tags), None)
        if meant is None:  # the seed's organization that no rule names
            assert "tier_unmatched" in ticket.tags, ticket.id
            seen["unmatched"] += 1
        else:
            assert f"tier_{meant}" in ticket.tags and "tier_unmatched" not in ticket.tags, (
                ticket.id,
                org.name,
            )
            seen[meant] += 1
    assert all(seen[t] > 50 for t in TIERS) and seen["unmatched"] > 10, seen


def test_jira_organizations_get_the_tier_the_seed_means_and_partner_requests_priority(synced: Synced) -> None:
    site = emulator_of(synced.jira).site
    meant_by_name = dict(DEMO_ORGANIZATIONS)
    seen: Counter[tuple[str, str]] = Counter()
    for issue in site.issues.values():
        org_ids = issue.custom[JIRA_ORGANIZATIONS_FIELD]
        name = site.organizations[int(org_ids[0])].name
        meant = meant_by_name[name]
        if issue.project.key == PARTNER_PROJECT:
            meant = "enterprise" if meant == "enterprise" else "priority"
        if meant is None:
            assert "tier_unmatched" in issue.labels, issue.key
            seen[(issue.project.key, "unmatched")] += 1
        else:
            assert f"tier_{meant}" in issue.labels and "tier_unmatched" not in issue.labels, (issue.key, name)
            seen[(issue.project.key, meant)] += 1
    assert all(seen[("SUP", t)] > 50 for t in TIERS) and seen[("SUP", "unmatched")] > 10, seen
    assert seen[("PARTNER", "priority")] > 5, seen


def _connection(synced: Synced, kind: str) -> ConnectionConfig:
    return next(c for c in load_policy(synced.mappings).connections if c.kind == kind)


def _rule_values(synced: Synced, rule: str, field: str) -> set[str]:
    policy = load_policy(synced.mappings)
    (found,) = [r for r in policy.severity_rules if r.name == rule]
    return {v for c in found.conditions if c.field == field for v in c.values}


def test_every_zendesk_id_the_shipped_connection_names_exists_in_the_demo_seed(synced: Synced) -> None:
    connection = _connection(synced, "zendesk")
    account = synced.account
    assert {name: account.fields[int(fid)].key for name, fid in connection.fields.items()} == {
        name: name for name in connection.fields
    }
    agents = {uid for uid, user in account.users.items() if user.role in ("agent", "admin")}
    for alias, target in connection.aliases.items():
        assert int(target) in set(account.groups) | agents, alias
    # the dropdown value the Outage option stores is one the full-outage rule lists
    uptime = account.fields[int(connection.fields["uptime_impact"])]
    (outage,) = [o["value"] for o in uptime.options if o["name"] == "Outage"]
    assert outage in _rule_values(synced, "full-outage", "uptime_impact")


def test_every_jira_id_the_shipped_connection_names_exists_in_the_demo_seed(synced: Synced) -> None:
    connection = _connection(synced, "jira")
    site = emulator_of(synced.jira).site
    assert set(connection.projects) == set(site.projects_by_key) == {"SUP", PARTNER_PROJECT}
    assert all(fid in site.fields for fid in connection.fields.values())
    uptime = site.fields[connection.fields["uptime_impact"]]
    assert "Full outage" in set(uptime.options.values()) & _rule_values(
        synced, "full-outage", "uptime_impact"
    )
    for alias, target in connection.aliases.items():
        assert target == "-" or target in site.users, alias


def _helpdesk_tags(synced: Synced, connection: str, ticket_id: str) -> list[str]:
    """The tags (Jira: labels) the helpdesk shows on a ticket after the sync."""
    if connection == "zendesk-main":
        return synced.account.tickets[int(ticket_id)].tags
    return emulator_of(synced.jira).site.issues[int(ticket_id)].labels


@pytest.mark.parametrize("connection", ["zendesk-main", "jira-main"])
def test_the_outage_triage_rule_matches_the_seeded_outage_tickets(synced: Synced, connection: str) -> None:
    policy = load_policy(synced.mappings)
    store = Store.open(synced.db_url)
    outages = 0
    try:
        with store.reading() as db:
            rows = db.execute(
                sa.select(tickets.c.ticket_id, tickets.c.severity).where(tickets.c.connection == connection)
            ).all()
        for ticket_id, severity in rows:
            loaded = store.load_ticket(connection, ticket_id)
            assert loaded is not None
            ticket = loaded[0]
            if ticket.fields.get("uptime_impact", "").casefold() not in ("full_outage", "full outage"):
                continue
            outages += 1
            decision = first_match(policy.severity_rules, ticket, policy.default_severity)
            assert (decision.rule, decision.value, severity) == ("full-outage", "critical", "critical"), (
                ticket_id
            )
            assert "sev_critical" in _helpdesk_tags(synced, connection, ticket_id), ticket_id
    finally:
        store.close()
    assert outages >= 5
