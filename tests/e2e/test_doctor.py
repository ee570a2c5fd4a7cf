"""`tierdesk doctor` against both emulators over real HTTP (the plugins' zenpy / jira clients), and
mappings that name fields, groups and people resolved to ids when a sync starts."""

from __future__ import annotations

import logging
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from connector.bootstrap import build_app
from connector.clock import FixedClock
from connector.doctor import exit_code, run_doctor
from connector.emulation.base import EmulatorServer
from connector.mappings import MappingsInvalid, check, load_policy
from connector.secrets import EnvSecrets
from plugins.jira import build_emulator as build_jira
from plugins.jira import seed_demo as seed_jira
from plugins.zendesk import build_emulator as build_zendesk
from plugins.zendesk.emulator import SeedInfo, seed_account
from plugins.zendesk.emulator.seed import INTEGRATION_EMAIL, http_caller
from tests.e2e.support import jira_emulator, seed_tickets, worker_env, write_mappings, zendesk_emulator

pytestmark = pytest.mark.e2e

START = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)
ZENDESK_TOKEN = "zendesk-api-token"
JIRA_EMAIL = "admin@tierdesk.example"
JIRA_TOKEN = "jira-api-token"
CREDENTIALS = {
    "TIERDESK_ZENDESK_EMAIL": INTEGRATION_EMAIL,
    "TIERDESK_ZENDESK_TOKEN": ZENDESK_TOKEN,
    "TIERDESK_JIRA_EMAIL": JIRA_EMAIL,
    "TIERDESK_JIRA_TOKEN": JIRA_TOKEN,
}


@dataclass
class Accounts:
    """A Zendesk and a Jira emulator that accept only `CREDENTIALS`."""

    zendesk_url: str
    zendesk: SeedInfo
    jira_url: str
    jira: Any  # plugins.jira.emulator.seed.DemoSite


@pytest.fixture(scope="module")
def accounts() -> Iterator[Accounts]:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    zendesk_app = build_zendesk("simulated", "empty", f"{INTEGRATION_EMAIL}:{ZENDESK_TOKEN}", 10**6, START)
    info = seed_account(http_caller(zendesk_app, token=ZENDESK_TOKEN))
    jira_app = build_jira("simulated", "empty", f"{JIRA_EMAIL}:{JIRA_TOKEN}", START)
    demo = seed_jira(jira_app, token=JIRA_TOKEN, issues=5)
    zendesk_server = EmulatorServer(zendesk_app).start()
    jira_server = EmulatorServer(jira_app).start()
    try:
        yield Accounts(zendesk_server.url, info, jira_server.url, demo)
    finally:
        zendesk_server.stop()
        jira_server.stop()


def _edit(path: Path, change: Callable[[Any], None]) -> None:
    yaml = YAML()
    doc = yaml.load(path.read_text(encoding="utf-8"))
    change(doc)
    with path.open("w", encoding="utf-8") as out:
        yaml.dump(doc, out)


def _line_of(path: Path, text: str) -> int:
    """The 1-based number of the first line of `path` that contains `text` as a whole line's end."""
    return next(
        number for number, line in enumerate(path.read_text().splitlines(), 1) if line.rstrip().endswith(text)
    )


def correct_mappings(
    target: Path,
    zendesk: Mapping[str, Any],
    jira: Mapping[str, Any],
) -> Path:
    """The example mappings fitted to the seeded accounts: the seeds' field ids only (no data
    sensitivity, regulatory exposure or region fields, nor the rules using them), Jira statuses that
    exist, no PARTNER project."""
    write_mappings(target, {"zendesk": dict(zendesk), "jira": dict(jira)})

    def connections(doc: Any) -> None:
        for connection in doc["connections"]:
            seeded = zendesk if connection["kind"] == "zendesk" else jira
            connection["fields"] = dict(seeded["fields"])
            connection["status_map"].pop("open", None)

    def triage(doc: Any) -> None:
        rules = doc["triage"]["rules"]
        rules[:] = [r for r in rules if r["name"] not in ("security-or-personal-data", "regulatory-exposure")]

    def customers(doc: Any) -> None:
        rules = doc["customers"]["rules"]
        rules[:] = [r for r in rules if r["name"] not in ("priority-us-desk", "jira-partner-project")]

    _edit(target / "connections.yaml", connections)
    _edit(target / "triage.yaml", triage)
    _edit(target / "customers.yaml", customers)
    return target


def zendesk_connection(accounts: Accounts) -> dict[str, Any]:
    groups = accounts.zendesk.groups
    return {
        "url": accounts.zendesk_url,
        "fields": dict(accounts.zendesk.fields),
        "aliases": {
            "duty-managers": str(groups["Escalations"]),
            "tier-2": str(groups["Tier 2"]),
            "sla-watcher": str(accounts.zendesk.agents[0]),
        },
    }


def jira_connection(accounts: Accounts) -> dict[str, Any]:
    return {
        "url": accounts.jira_url,
        "fields": dict(accounts.jira.fields),
        "projects": [accounts.jira.project],
        "aliases": {"sla-watcher": next(iter(accounts.jira.agents.values()))},
    }


def doctor_cli(mappings: Path, env: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "connector", "doctor", "--mappings", str(mappings)],
        cwd=Path(__file__).resolve().parents[2],
        env={**worker_env(), **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def findings_of(mappings: Path, secrets: Mapping[str, str] = CREDENTIALS) -> tuple[list[str], int]:
    findings, _ = run_doctor(load_policy(mappings), EnvSecrets(dict(secrets)))
    return [str(finding) for finding in findings], exit_code(findings)


# ------------------------------------------------------------------------------------ doctor


def test_doctor_passes_mappings_that_fit_both_accounts(tmp_path: Path, accounts: Accounts) -> None:
    mappings = correct_mappings(tmp_path / "m", zendesk_connection(accounts), jira_connection(accounts))

    result = doctor_cli(mappings, CREDENTIALS)

    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines() == [
        "ok: zendesk-main, jira-main reachable, credentials accepted, every reference exists"
    ]


def test_a_refused_token_names_the_variables_to_fix_and_exits_3(tmp_path: Path, accounts: Accounts) -> None:
    mappings = correct_mappings(tmp_path / "m", zendesk_connection(accounts), jira_connection(accounts))

    result = doctor_cli(mappings, {**CREDENTIALS, "TIERDESK_ZENDESK_TOKEN": "not-the-token"})

    assert result.returncode == 3
    assert result.stdout.splitlines() == [
        f"zendesk-main: {accounts.zendesk_url} refused the credentials (HTTP 401) -> check "
        "TIERDESK_ZENDESK_EMAIL (the API user's e-mail) and TIERDESK_ZENDESK_TOKEN (a valid API token)",
        "1 problem found (zendesk-main, jira-main)",
    ]


def test_an_unset_variable_is_named(tmp_path: Path, accounts: Accounts) -> None:
    mappings = correct_mappings(tmp_path / "m", zendesk_connection(accounts), jira_connection(accounts))
    secrets = {k: v for k, v in CREDENTIALS.items() if k != "TIERDESK_JIRA_TOKEN"}

    assert findings_of(mappings, secrets) == (
        [
            "jira-main: TIERDESK_JIRA_TOKEN is not set -> export TIERDESK_JIRA_TOKEN (its API token) before "
            "running tierdesk"
        ],
        1,
    )


def test_an_unreachable_helpdesk_is_one_line_with_its_url(tmp_path: Path, accounts: Accounts) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"  # nothing listens once closed
    mappings = correct_mappings(
        tmp_path / "m", {**zendesk_connection(accounts), "url": closed}, jira_connection(accounts)
    )

    assert findings_of(mappings) == (
        [
            f"zendesk-main: cannot reach {closed} -> check the url in connections.yaml and that this "
            "machine can reach it"
        ],
        3,
    )


def test_planted_reference_mistakes_are_each_found_with_did_you_mean(
    tmp_path: Path, accounts: Accounts
) -> None:
    fields = accounts.zendesk.fields
    mappings = correct_mappings(tmp_path / "m", zendesk_connection(accounts), jira_connection(accounts))

    def plant_connections(doc: Any) -> None:
        zendesk, jira = doc["connections"]
        zendesk["fields"]["sla_state"] = "39000009999"  # a field id that does not exist
        zendesk["aliases"]["duty-managers"] = {"group": "Escalatons"}  # a misspelled group name
        jira["projects"] = [accounts.jira.project, "SUPP"]  # a project that does not exist

    def plant_triage(doc: Any) -> None:
        rule = next(r for r in doc["triage"]["rules"] if r["name"] == "partial-outage")
        rule["when"]["fields"] = {"uptime_impact": "uptime_degarded"}  # a dropdown value that does not exist

    _edit(mappings / "connections.yaml", plant_connections)
    _edit(mappings / "triage.yaml", plant_triage)
    group_line = _line_of(mappings / "connections.yaml", "Escalatons")
    triage_line = _line_of(mappings / "triage.yaml", "name: partial-outage")
    escalations = accounts.zendesk.groups["Escalations"]

    lines, code = findings_of(mappings)

    assert code == 1
    assert sorted(lines) == sorted(
        [
            f"zendesk-main: {mappings}/connections.yaml:{group_line}: connection 'zendesk-main' "
            f"aliases.duty-managers: no group named 'Escalatons' on {accounts.zendesk_url}; did you mean "
            f"'Escalations' ({escalations})? -> write the name exactly as the helpdesk shows it, or the id",
            "zendesk-main: field 'sla_state' is mapped to id 39000009999, which does not exist; did you mean "
            f"'SLA state' ({fields['sla_state']})? -> write the field's id under fields.sla_state in "
            "connections.yaml",
            "jira-main: project 'SUPP' does not exist or the API user cannot see it; did you mean "
            "'Customer Support' (SUP)? -> fix projects in connections.yaml (known: 'Customer Support' (SUP), "
            "'Partner Escalations' (PARTNER))",
            f"zendesk-main: triage rule 'partial-outage' ({mappings}/triage.yaml:{triage_line}) matches "
            f"uptime_impact = 'uptime_degarded', but field 'Uptime impact' ({fields['uptime_impact']}) has no "
            "such option; did you mean 'degraded'? -> use one of the field's values: no_impact, degraded, "
            "full_outage",
            f"jira-main: triage rule 'partial-outage' ({mappings}/triage.yaml:{triage_line}) matches "
            f"uptime_impact = 'uptime_degarded', but field 'Uptime impact' ({accounts.jira.fields['uptime_impact']})"
            " has no such option; did you mean 'Degraded'? -> use one of the field's values: Full outage, "
            "Partial outage, Degraded, No impact",
        ]
    )


# ------------------------------------------------------------------------- named references


def naming_mappings(target: Path, zendesk: Mapping[str, Any], jira: Mapping[str, Any]) -> Path:
    """Correct mappings whose Zendesk connection names its fields, groups and follower, and whose
    Jira connection names its fields and watcher."""
    mappings = correct_mappings(target, zendesk, jira)

    def by_name(doc: Any) -> None:
        zendesk_doc, jira_doc = doc["connections"]
        zendesk_doc["fields"] = {
            "tier": {"name": "Support tier"},
            "sla_due": {"name": "Next SLA due (ISO 8601)"},
            "sla_state": {"name": "sla state"},
            "uptime_impact": {"name": "Uptime impact"},
        }
        zendesk_doc["aliases"] = {
            "duty-managers": {"group": "Escalations"},
            "tier-2": {"group": "Tier 2"},
            "sla-watcher": {"user": "alice@support.example"},
        }
        jira_doc["fields"] = {
            "tier": {"name": "Tier"},
            "sla_due": {"name": "SLA due"},
            "sla_state": {"name": "SLA state"},
            "uptime_impact": {"name": "Uptime impact"},
        }

    _edit(mappings / "connections.yaml", by_name)
    return mappings


def test_check_accepts_fields_groups_and_people_given_by_name(tmp_path: Path) -> None:
    target = tmp_path / "m"
    stand_in = {"url": "http://127.0.0.1:9", "fields": {}, "aliases": {}}
    mappings = naming_mappings(
        target, {**stand_in, "fields": {"tier": "1"}}, {**stand_in, "projects": ["SUP"]}
    )

    assert check(mappings) == []


def test_named_fields_groups_and_people_resolve_at_start_and_sync_with_no_failures(tmp_path: Path) -> None:
    with zendesk_emulator(START) as zendesk, jira_emulator(START, issues=20) as jira:
        seed_tickets(zendesk, 30, START - timedelta(minutes=10))
        zendesk.set_clock(START)  # the export leaves out the last minute
        mappings = naming_mappings(tmp_path / "m", zendesk.connection(), jira.connection())
        alice = next(
            user.id for user in zendesk.account.users.values() if user.email == "alice@support.example"
        )
        app = build_app(mappings, f"sqlite:///{tmp_path / 'tierdesk.db'}", clock=FixedClock(START))
        try:
            resolved = {c.name: c for c in app.policies.policy.connections}
            report = app.service.run_cycle()
        finally:
            app.close()

    named = {"tier", "sla_due", "sla_state", "uptime_impact"}
    assert dict(resolved["zendesk-main"].fields) == {
        k: v for k, v in zendesk.info.fields.items() if k in named
    }
    assert dict(resolved["zendesk-main"].aliases) == {
        "duty-managers": str(zendesk.info.groups["Escalations"]),
        "tier-2": str(zendesk.info.groups["Tier 2"]),
        "sla-watcher": str(alice),
    }
    assert dict(resolved["jira-main"].fields) == {k: v for k, v in jira.demo.fields.items() if k in named}
    assert report.pulled == 30 + 20 and report.pushed > 100
    assert report.failed == 0


def test_an_unknown_name_stops_start_at_its_line_with_did_you_mean(
    tmp_path: Path, accounts: Accounts
) -> None:
    mappings = correct_mappings(tmp_path / "m", zendesk_connection(accounts), jira_connection(accounts))

    def misspell(doc: Any) -> None:
        doc["connections"][0]["fields"]["tier"] = {"name": "Suport tier"}

    _edit(mappings / "connections.yaml", misspell)
    line = next(
        number
        for number, text in enumerate((mappings / "connections.yaml").read_text().splitlines(), 1)
        if "Suport tier" in text
    )

    with pytest.raises(MappingsInvalid) as stopped:
        build_app(mappings, f"sqlite:///{tmp_path / 'tierdesk.db'}", secrets=EnvSecrets(dict(CREDENTIALS)))

    [error] = stopped.value.errors
    assert (error.path, error.line) == (f"{mappings}/connections.yaml", line)
    assert error.message == (
        f"connection 'zendesk-main' fields.tier: no field named 'Suport tier' on {accounts.zendesk_url}; "
        f"did you mean 'Support tier' ({accounts.zendesk.fields['tier']})?"
    )


# ------------------------------------------------------------- permissions and organizations


def test_a_jira_user_without_project_permissions_is_told_what_to_grant(
    tmp_path: Path, accounts: Accounts
) -> None:
    mappings = correct_mappings(tmp_path / "m", zendesk_connection(accounts), jira_connection(accounts))
    customer = next(iter(accounts.jira.customers))  # a JSM customer account: no project permissions
    secrets = {**CREDENTIALS, "TIERDESK_JIRA_EMAIL": customer}

    lines, code = findings_of(mappings, secrets)

    assert code == 1
    assert lines == [
        # no ASSIGN_ISSUES: on Jira the chains assign no one ("-"), they only add followers
        "jira-main: the API user lacks BROWSE_PROJECTS (read its issues), EDIT_ISSUES (set priority, labels "
        "and SLA fields), ADD_COMMENTS (add internal notes), MANAGE_WATCHERS (add followers as watchers) "
        "in project SUP -> grant them to the user in SUP's permission scheme"
    ]


def test_an_organization_a_customer_rule_names_must_exist(tmp_path: Path, accounts: Accounts) -> None:
    mappings = correct_mappings(tmp_path / "m", zendesk_connection(accounts), jira_connection(accounts))

    def add_rule(doc: Any) -> None:
        rule = {"name": "acme", "tier": "enterprise", "when": {"connection": "zendesk-main"}}
        rule["when"]["organization_name"] = "Acme Corp."
        doc["customers"]["rules"].insert(0, rule)

    _edit(mappings / "customers.yaml", add_rule)
    acme = accounts.zendesk.organizations["Acme Corp"]
    rule_line = _line_of(mappings / "customers.yaml", "name: acme")

    lines, code = findings_of(mappings)

    assert code == 1
    [line] = lines
    assert line.startswith(
        f"zendesk-main: customer rule 'acme' ({mappings}/customers.yaml:{rule_line}) names organization name "
        f"'Acme Corp.', which zendesk-main does not have; did you mean 'Acme Corp' ({acme})"
    )


def test_jira_mypermissions_answers_as_jira_cloud(accounts: Accounts) -> None:
    from jira import JIRA, JIRAError

    client = JIRA(server=accounts.jira_url, basic_auth=(JIRA_EMAIL, JIRA_TOKEN), get_server_info=False)
    try:
        granted = client.my_permissions(projectKey="SUP", permissions="EDIT_ISSUES,ADD_COMMENTS")
        with pytest.raises(JIRAError) as unknown_project:
            client.my_permissions(projectKey="NOPE", permissions="EDIT_ISSUES")
        with pytest.raises(JIRAError) as no_keys:
            client.my_permissions(projectKey="SUP")
    finally:
        client.close()  # type: ignore[no-untyped-call]

    assert {key: value["havePermission"] for key, value in granted["permissions"].items()} == {
        "EDIT_ISSUES": True,
        "ADD_COMMENTS": True,
    }
    assert unknown_project.value.status_code == 404
    assert no_keys.value.status_code == 400


def test_zendesk_brands_and_user_search_answer_as_zendesk(accounts: Accounts) -> None:
    import requests

    from plugins.zendesk.client import build_zenpy

    session = requests.Session()
    zenpy = build_zenpy(accounts.zendesk_url, INTEGRATION_EMAIL, ZENDESK_TOKEN, session, 10.0)
    brands = list(zenpy.brands())
    found = session.get(
        f"{accounts.zendesk_url}/api/v2/users/search.json",
        params={"query": "alice@support.example"},
        auth=(f"{INTEGRATION_EMAIL}/token", ZENDESK_TOKEN),
        timeout=10,
    ).json()

    assert [(brand.name, brand.default) for brand in brands] == [("Support", True)]
    assert [user["email"] for user in found["users"]] == ["alice@support.example"]


def test_an_organization_an_account_links_must_exist(tmp_path: Path, accounts: Accounts) -> None:
    mappings = correct_mappings(tmp_path / "m", zendesk_connection(accounts), jira_connection(accounts))

    def misspell(doc: Any) -> None:
        doc["accounts"]["initech"]["organizations"][1]["name"] = "Initek"

    _edit(mappings / "accounts.yaml", misspell)
    link_line = _line_of(mappings / "accounts.yaml", "name: Initek}")

    lines, code = findings_of(mappings)

    assert code == 1
    [line] = lines
    assert line.startswith(
        f"jira-main: account 'initech' ({mappings}/accounts.yaml:{link_line}) links organization name "
        "'Initek', which jira-main does not have; did you mean 'Initech'"
    )
    assert line.endswith(")") and "-> fix the link in accounts.yaml (known: " in line
