"""The Jira emulator behaves like Jira Cloud for the real `jira` client over HTTP."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from jira import JIRA, JIRAError
from werkzeug.test import Client

from plugins.jira import build_emulator, emulator_of, seed_demo
from plugins.jira.emulator import RateLimits, create_issues, create_project
from plugins.jira.emulator.seed import DEMO_ORGANIZATIONS, adf
from plugins.jira.testing import Harness, running_emulator

pytestmark = pytest.mark.contract
ERRORS = json.loads((Path(__file__).parent / "jira_fixtures" / "observed_error_bodies.json").read_text())[
    "jira_cloud"
]


@pytest.fixture
def h() -> Iterator[Harness]:
    with running_emulator() as harness:
        create_project(harness.transport, "SUP", "Support")
        yield harness


def _client(h: Harness, version: str = "3", email: str = "bot@example.com", token: str = "t") -> JIRA:
    return JIRA(server=h.url, basic_auth=(email, token), options={"rest_api_version": version}, max_retries=0)


def _error(status: int) -> dict[str, Any]:
    return next(e["body"] for e in ERRORS if e["status"] == status)


def test_client_starts_against_emulator_as_cloud_and_reads_myself_time_zone(h: Harness) -> None:
    jira = _client(h)
    assert jira.deploymentType == "Cloud"
    me = jira.myself()
    assert me["timeZone"] == "America/Los_Angeles"
    assert me["accountType"] == "atlassian"
    fields = {f["id"]: f for f in jira.fields()}
    assert fields["customfield_10002"]["clauseNames"] == ["cf[10002]", "Organizations"]


def test_enhanced_search_pages_with_next_page_token_absent_on_the_last_page(h: Harness) -> None:
    create_issues(h.transport, "SUP", 7)
    jira = _client(h)
    raw = requests.get(
        f"{h.url}/rest/api/3/search/jql",
        params={"jql": "project = SUP ORDER BY key", "maxResults": 3},
        timeout=5,
    )
    first = raw.json()
    assert first["issues"] == [{"id": "10001"}, {"id": "10002"}, {"id": "10003"}]  # default fields = id
    assert first["isLast"] is False and first["nextPageToken"]
    keys: list[str] = []
    token = None
    while True:
        page = jira.enhanced_search_issues(
            "project = SUP ORDER BY key ASC",
            nextPageToken=token,
            maxResults=3,
            fields="key",
            json_result=True,
        )
        keys.extend(i["key"] for i in page["issues"])
        token = page.get("nextPageToken")
        if token is None:
            assert page["isLast"] is True
            break
    assert keys == [f"SUP-{n}" for n in range(1, 8)]
    everything = jira.enhanced_search_issues("project = SUP", maxResults=0, fields="summary", use_post=True)
    assert len(everything) == 7


def test_unbounded_jql_is_refused_and_the_old_search_answers_410(h: Harness) -> None:
    jira = _client(h)
    with pytest.raises(JIRAError) as unbounded:
        jira.enhanced_search_issues("ORDER BY key DESC", json_result=True)
    assert unbounded.value.status_code == 400
    old = requests.get(f"{h.url}/rest/api/2/search", params={"jql": "project = SUP"}, timeout=5)
    assert old.status_code == 410
    assert old.json() == _error(410)


def test_minute_literals_are_read_in_the_callers_time_zone_and_epoch_ms_is_exact(h: Harness) -> None:
    start = h.app.clock.now()  # 2026-03-02 09:00 UTC = 01:00 in Los Angeles
    h.app.clock.set(start + timedelta(seconds=10, milliseconds=123))
    first = create_issues(h.transport, "SUP", 1)[0]
    h.app.clock.set(start + timedelta(seconds=40))
    second = create_issues(h.transport, "SUP", 1)[0]
    jira = _client(h)

    def keys(jql: str) -> list[str]:
        return [i["key"] for i in jira.enhanced_search_issues(jql, fields="key", json_result=True)["issues"]]

    assert keys('project = SUP AND updated >= "2026-03-02 01:00" ORDER BY key') == [
        first["key"],
        second["key"],
    ]
    # `>` a minute literal starts after that whole minute: both updates inside 01:00 are skipped
    assert keys('project = SUP AND updated > "2026-03-02 01:00" ORDER BY key') == []
    # the same wall time read as UTC would be 8 hours off
    assert keys('project = SUP AND updated >= "2026/03/02 09:00"') == []
    exact = int((start + timedelta(seconds=10, milliseconds=123)).timestamp() * 1000)
    assert keys(f"project = SUP AND updated > {exact} ORDER BY key") == [second["key"]]
    assert keys(f"project = SUP AND updated >= {exact} ORDER BY key") == [first["key"], second["key"]]


def test_jql_subset_and_or_parentheses_labels_status_and_errors(h: Harness) -> None:
    create_issues(h.transport, "SUP", 4, extra_fields=lambda n: {"labels": ["vip"] if n % 2 else []})
    jira = _client(h)
    jira.transition_issue("SUP-1", "51")
    found = jira.enhanced_search_issues(
        '(labels = vip OR status = "Resolved") AND project in (SUP) ORDER BY key DESC',
        fields="key",
        json_result=True,
    )
    assert [i["key"] for i in found["issues"]] == ["SUP-4", "SUP-2", "SUP-1"]
    assert jira.approximate_issue_count("statusCategory = Done") == 1
    with pytest.raises(JIRAError, match="Field 'nosuch' does not exist"):
        jira.enhanced_search_issues("nosuch = 1", json_result=True)
    with pytest.raises(JIRAError, match="The value 'NOPE' does not exist for the field 'project'"):
        jira.enhanced_search_issues("project = NOPE", json_result=True)


def test_issue_edit_labels_priority_assignee_and_datetime_field(h: Harness) -> None:
    due = h.transport.call(
        "POST",
        "/rest/api/3/field",
        {"name": "SLA due", "type": "com.atlassian.jira.plugin.system.customfieldtypes:datetime"},
    )["id"]
    create_issues(h.transport, "SUP", 1, extra_fields=lambda n: {"labels": ["agent_note"]})
    jira = _client(h)
    agent = h.jira.site.add_user("ada@tierdesk.example", "Ada Agent", "atlassian").account_id
    issue = jira.issue("SUP-1")
    assert issue.raw["self"].endswith("/rest/api/3/issue/10001")
    issue.update(
        fields={
            "priority": {"name": "High"},
            "assignee": {"accountId": agent},
            due: "2026-03-02T17:30:00.000+0000",
        },
        update={"labels": [{"add": "tier_enterprise"}, {"remove": "missing"}]},
    )
    fresh = jira.issue("10001", expand="changelog")
    assert fresh.fields.labels == ["agent_note", "tier_enterprise"]
    assert fresh.fields.priority.name == "High"
    assert fresh.fields.assignee.accountId == agent
    assert getattr(fresh.fields, due) == "2026-03-02T09:30:00.000-0800"
    items = {i["fieldId"] for h_ in fresh.raw["changelog"]["histories"] for i in h_["items"]}
    assert items == {"priority", "assignee", due, "labels"}
    with pytest.raises(JIRAError) as bad:
        issue.update(fields={due: "2026-03-02T17:30:00Z"})
    assert bad.value.status_code == 400 and due in bad.value.response.json()["errors"]
    unknown = requests.put(
        f"{h.url}/rest/api/3/issue/SUP-1", json={"fields": {"customfield_99999": "x"}}, timeout=5
    )
    assert unknown.json() == {
        "errorMessages": [],
        "errors": {
            "customfield_99999": "Field 'customfield_99999' cannot be set. It is not on the appropriate "
            "screen, or unknown."
        },
    }
    missing = requests.get(f"{h.url}/rest/api/3/issue/SUP-99", timeout=5)
    assert missing.status_code == 404 and missing.json() == _error(404)


def test_v3_comments_need_adf_v2_take_text_and_internal_notes_are_not_public(h: Harness) -> None:
    create_issues(h.transport, "SUP", 1)
    v3, v2 = _client(h, "3"), _client(h, "2")
    with pytest.raises(JIRAError) as plain:
        v3.add_comment("SUP-1", "plain text")
    assert plain.value.status_code == 400 and plain.value.response.json() == _error(400)
    public = v3.add_comment("SUP-1", adf("Looking into it"))
    internal = v3.add_comment("SUP-1", adf("Only agents"), is_internal=True)
    assert public.raw["jsdPublic"] is True and internal.raw["jsdPublic"] is False
    v2_comment = v2.add_comment("SUP-1", "Plain for v2")
    assert v2_comment.raw["body"] == "Plain for v2"
    assert [c.raw["body"] for c in v2.comments("SUP-1")] == ["Looking into it", "Only agents", "Plain for v2"]
    jsm = requests.get(f"{h.url}/rest/servicedeskapi/request/SUP-1/comment", timeout=5).json()
    assert [c["public"] for c in jsm["values"]] == [True, False, True]


def test_transitions_set_status_and_resolution_and_latest_alias_assigns(h: Harness) -> None:
    create_issues(h.transport, "SUP", 1)
    jira = _client(h)
    names = {t["name"] for t in jira.transitions("SUP-1")}
    assert {"Respond to customer", "Resolve this issue"} <= names
    jira.transition_issue("SUP-1", "Resolve this issue")
    issue = jira.issue("SUP-1")
    assert issue.fields.status.name == "Resolved" and issue.fields.resolution.name == "Done"
    with pytest.raises(JIRAError) as invalid:
        jira.transition_issue("SUP-1", "51")
    assert invalid.value.status_code == 400
    agent = h.jira.site.add_user("ada@tierdesk.example", "Ada Agent", "atlassian").account_id
    assert jira.assign_issue("SUP-1", agent)
    assert h.app.log.count("PUT", r"^/rest/api/latest/issue/SUP-1/assignee$") == 1


def test_entity_properties_round_trip(h: Harness) -> None:
    create_issues(h.transport, "SUP", 1)
    jira = _client(h)
    jira.add_issue_property("SUP-1", "tierdesk", {"tier": "enterprise", "due": ["x"]})
    assert jira.issue_property("SUP-1", "tierdesk").value.tier == "enterprise"
    assert [p.key for p in jira.issue_properties("SUP-1")] == ["tierdesk"]


def test_credentials_are_enforced_with_the_real_401() -> None:
    app = build_emulator("simulated", credentials="bot@corp.example:s3cret")
    browser = Client(app)
    ok = browser.get(
        "/rest/api/3/myself", headers={"Authorization": "Basic Ym90QGNvcnAuZXhhbXBsZTpzM2NyZXQ="}
    )
    assert ok.status_code == 200 and ok.json["emailAddress"] == "bot@corp.example"
    bad = browser.get(
        "/rest/api/3/myself", headers={"Authorization": "Basic Ym90QGNvcnAuZXhhbXBsZTp3cm9uZw=="}
    )
    assert (
        bad.status_code == 401
        and bad.get_data(as_text=True) == "Client must be authenticated to access this resource."
    )
    assert bad.headers["X-Seraph-LoginReason"] == "AUTHENTICATED_FAILED"
    assert browser.get("/rest/api/3/myself").status_code == 401


def test_burst_limit_answers_429_with_rate_limit_headers() -> None:
    with running_emulator(rate_limits=RateLimits(burst=3, per_second=0.5, issue_writes_per_second=None)) as h:
        codes = [requests.get(f"{h.url}/rest/api/3/serverInfo", timeout=5) for _ in range(4)]
        assert [r.status_code for r in codes] == [200, 200, 200, 429]
        limited = codes[-1]
        assert int(limited.headers["Retry-After"]) >= 1
        assert limited.headers["RateLimit-Reason"] == "jira-burst-based"
        assert limited.headers["X-RateLimit-Limit"] == "3" and limited.headers["X-RateLimit-Remaining"] == "0"
        assert limited.json()["errorMessages"]


def test_injected_faults_use_the_vendor_error_shapes(h: Harness) -> None:
    h.faults(
        {"path": "^/rest/servicedeskapi/", "status": 429, "retry_after": 3},
        {"path": "^/rest/api/", "status": 503},
    )
    jsm = requests.get(f"{h.url}/rest/servicedeskapi/organization", timeout=5)
    assert (
        jsm.status_code == 429 and set(jsm.json()) == {"errorMessage"} and jsm.headers["Retry-After"] == "3"
    )
    assert jsm.headers["RateLimit-Reason"] == "jira-burst-based"
    platform = requests.get(f"{h.url}/rest/api/3/serverInfo", timeout=5)
    assert platform.status_code == 503 and set(platform.json()) == {"errorMessages", "errors"}
    assert "Retry-After" not in platform.headers


def test_jsm_organizations_users_and_sla(h: Harness) -> None:
    t = h.transport
    org = t.call("POST", "/rest/servicedeskapi/organization", {"name": "Globex Corporation"})
    customer = t.call(
        "POST", "/rest/servicedeskapi/customer", {"email": "alex@globex.example", "displayName": "Alex"}
    )
    t.call(
        "POST", f"/rest/servicedeskapi/organization/{org['id']}/user", {"accountIds": [customer["accountId"]]}
    )
    orgs = requests.get(f"{h.url}/rest/servicedeskapi/organization", timeout=5).json()
    assert orgs["values"][0]["name"] == "Globex Corporation" and orgs["isLastPage"] is True
    users = requests.get(f"{h.url}/rest/servicedeskapi/organization/{org['id']}/user", timeout=5).json()
    assert users["values"][0]["accountId"].startswith("qm:")
    created = t.call(
        "POST",
        "/rest/api/3/issue",
        {
            "fields": {
                "project": {"key": "SUP"},
                "issuetype": {"name": "Service Request"},
                "summary": "Down",
                "priority": {"name": "Highest"},
                "customfield_10002": [int(org["id"])],
            }
        },
        as_email="alex@globex.example",
    )
    issue = _client(h).issue(created["key"])
    assert issue.raw["fields"]["customfield_10002"][0]["name"] == "Globex Corporation"
    h.advance(2 * 3600)
    sla = requests.get(f"{h.url}/rest/servicedeskapi/request/{created['key']}/sla", timeout=5).json()
    first = sla["values"][0]
    assert first["name"] == "Time to first response"
    assert first["ongoingCycle"]["breached"] is True  # Highest: 1 h goal, 2 h elapsed
    assert first["ongoingCycle"]["elapsedTime"]["millis"] == 2 * 3600 * 1000
    missing = requests.get(f"{h.url}/rest/servicedeskapi/organization/999", timeout=5)
    assert missing.status_code == 404 and "errorMessage" in missing.json()


def test_updated_follows_the_simulated_clock(h: Harness) -> None:
    create_issues(h.transport, "SUP", 1)
    created = h.jira.site.issues[10001].updated_ms
    h.advance(90)
    _client(h).add_comment("SUP-1", adf("later"))
    assert h.jira.site.issues[10001].updated_ms == created + 90_000


def test_demo_seed_is_fast_and_covers_tiers_histories_and_comment_kinds() -> None:
    started = time.perf_counter()
    app = build_emulator("simulated", "demo")
    elapsed = time.perf_counter() - started
    site = emulator_of(app).site
    assert elapsed < 5.0
    projects = Counter(i.project.key for i in site.issues.values())
    assert projects == {"SUP": 300, "PARTNER": 25}
    assert {o.name for o in site.organizations.values()} == {name for name, _ in DEMO_ORGANIZATIONS}
    comments = [c for i in site.issues.values() for c in i.comments]
    authors = {site.users[c.author].account_type for c in comments}
    assert authors == {"atlassian", "customer"}
    assert any(c.internal for c in comments)
    statuses = {site.statuses[i.status_id].name for i in site.issues.values()}
    assert {"Waiting for customer", "Resolved", "Waiting for support"} <= statuses
    reopened = [
        i
        for i in site.issues.values()
        if any(item.get("toString") == "Resolved" for hist in i.histories for item in hist.items)
        and site.statuses[i.status_id].category != "done"
    ]
    assert reopened, "some resolved issues were reopened"
    created = sorted(i.created_ms for i in site.issues.values())
    now_ms = int(app.clock.now().timestamp() * 1000)
    assert created[-1] <= now_ms and now_ms - created[0] <= 7 * 86_400_000


def test_seed_demo_over_http_reaches_a_running_emulator_and_restores_its_clock() -> None:
    with running_emulator() as h:
        before = h.app.clock.now()
        site = seed_demo(h.url, issues=20)
        assert site.project == "SUP" and len(site.issues) == 21  # and one PARTNER issue
        assert site.issues[:20] == [f"SUP-{n}" for n in range(1, 21)] and site.issues[20] == "PARTNER-1"
        assert site.fields["sla_due"] == "customfield_10051"
        assert h.app.clock.now() == before
        assert len(h.jira.site.issues) == 21
