"""Fidelity: the emulator's responses validate against the Jira Cloud OpenAPI spec, and its comment
objects have the shape of real recorded v3 comments.

The spec (2.45 MB, `../shared/fixtures/jira_openapi/`) is reduced to the response schemas of the
endpoints tierdesk uses, committed as `jira_fixtures/jira_openapi_subset.json`; when the shared
folder is present the subset is checked against the full spec, so the two cannot drift apart.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from jira import JIRA
from openapi_schema_validator import OAS30ReadValidator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from plugins.jira.emulator import create_field, create_issues, create_project
from plugins.jira.emulator.seed import DATETIME_FIELD, SELECT_FIELD, adf
from plugins.jira.testing import Harness, running_emulator

pytestmark = pytest.mark.contract

FIXTURES = Path(__file__).parent / "jira_fixtures"
SUBSET = FIXTURES / "jira_openapi_subset.json"
RECORDED = json.loads((FIXTURES / "issue_comments.json").read_text())["comments"]
SHARED_SPEC = (
    Path(__file__).resolve().parents[2].parent
    / "shared/fixtures/jira_openapi/jira_platform_swagger-v3.v3.json"
)

# (method, path template, status) of every endpoint tierdesk's adapter and seeding use
ENDPOINTS: tuple[tuple[str, str, str], ...] = (
    ("get", "/rest/api/3/serverInfo", "200"),
    ("get", "/rest/api/3/myself", "200"),
    ("get", "/rest/api/3/field", "200"),
    ("post", "/rest/api/3/field", "201"),
    ("get", "/rest/api/3/field/{fieldId}/context", "200"),
    ("get", "/rest/api/3/field/{fieldId}/context/{contextId}/option", "200"),
    ("get", "/rest/api/3/status", "200"),
    ("get", "/rest/api/3/priority", "200"),
    ("get", "/rest/api/3/project", "200"),
    ("get", "/rest/api/3/project/search", "200"),
    ("get", "/rest/api/3/user/search", "200"),
    ("get", "/rest/api/3/search/jql", "200"),
    ("post", "/rest/api/3/search/jql", "200"),
    ("post", "/rest/api/3/issue", "201"),
    ("post", "/rest/api/3/issue/bulk", "201"),
    ("get", "/rest/api/3/issue/{issueIdOrKey}", "200"),
    ("get", "/rest/api/3/issue/{issueIdOrKey}/changelog", "200"),
    ("get", "/rest/api/3/issue/{issueIdOrKey}/comment", "200"),
    ("post", "/rest/api/3/issue/{issueIdOrKey}/comment", "201"),
    ("get", "/rest/api/3/issue/{issueIdOrKey}/transitions", "200"),
    ("get", "/rest/api/3/issue/{issueIdOrKey}/properties", "200"),
    ("get", "/rest/api/3/issue/{issueIdOrKey}/properties/{propertyKey}", "200"),
    ("get", "/rest/api/3/issue/{issueIdOrKey}/watchers", "200"),
)
DROPPED_KEYS = {"description", "example", "xml", "externalDocs"}


def _strip(node: Any, names: bool = False) -> Any:
    """Drop annotations; keep every key of a `properties` map (a property may be named
    `description`)."""
    if isinstance(node, dict):
        return {
            k: _strip(v, names=k == "properties" and not names)
            for k, v in node.items()
            if names or k not in DROPPED_KEYS
        }
    if isinstance(node, list):
        return [_strip(v) for v in node]
    return node


def build_subset(spec: dict[str, Any]) -> dict[str, Any]:
    """Response schemas of ENDPOINTS plus every component schema they reference."""
    schemas = spec["components"]["schemas"]
    responses: dict[str, Any] = {}
    needed: set[str] = set()

    def collect(node: Any) -> None:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
                name = ref.rsplit("/", 1)[-1]
                if name not in needed:
                    needed.add(name)
                    collect(schemas[name])
            for value in node.values():
                collect(value)
        elif isinstance(node, list):
            for value in node:
                collect(value)

    for method, path, status in ENDPOINTS:
        schema = spec["paths"][path][method]["responses"][status]["content"]["application/json"]["schema"]
        responses[f"{method.upper()} {path} {status}"] = _strip(schema)
        collect(schema)
    return {
        "source": "jarekbird/jira-api-mcp-wrapper swagger-v3.v3.json @9a9e84d (Jira Cloud platform REST API), "
        "reduced to the response schemas tierdesk uses; descriptions and examples dropped",
        "responses": responses,
        "components": {"schemas": {name: _strip(schemas[name]) for name in sorted(needed)}},
    }


SPEC = json.loads(SUBSET.read_text())
REGISTRY: Registry[Any] = Registry().with_resource(
    "urn:jira", Resource.from_contents({"components": SPEC["components"]}, default_specification=DRAFT4)
)


def _check(method: str, template: str, status: str, body: Any) -> None:
    schema = json.loads(
        json.dumps(SPEC["responses"][f"{method} {template} {status}"]).replace('"#/', '"urn:jira#/')
    )
    validator = OAS30ReadValidator(schema, registry=REGISTRY)
    errors = sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path))
    assert not errors, f"{method} {template}: " + "; ".join(
        f"{'/'.join(map(str, e.absolute_path))}: {e.message[:200]}" for e in errors[:5]
    )


def test_the_committed_subset_matches_the_full_jira_spec() -> None:
    if not SHARED_SPEC.exists():
        pytest.skip(
            f"full Jira OpenAPI spec not found at {SHARED_SPEC} (the shared fixtures folder is absent)"
        )
    assert build_subset(json.loads(SHARED_SPEC.read_text())) == SPEC


@pytest.fixture(scope="module")
def site() -> Iterator[tuple[Harness, dict[str, str]]]:
    with running_emulator() as h:
        t = h.transport
        create_project(t, "SUP", "Support")
        fields = {
            "due": create_field(t, "SLA due", DATETIME_FIELD),
            "tier": create_field(t, "Tier", SELECT_FIELD, ("Standard", "Enterprise")),
        }
        org = t.call("POST", "/rest/servicedeskapi/organization", {"name": "Globex Corporation"})
        t.call(
            "POST", "/rest/servicedeskapi/customer", {"email": "alex@globex.example", "displayName": "Alex"}
        )
        t.call(
            "POST", "/rest/api/3/user", {"emailAddress": "ada@tierdesk.example", "displayName": "Ada Agent"}
        )
        create_issues(
            t,
            "SUP",
            3,
            extra_fields=lambda n: {
                "labels": ["vip"],
                fields["tier"]: {"value": "Enterprise"},
                "customfield_10002": [int(org["id"])],
                "description": adf("It is down"),
            },
            as_email="alex@globex.example",
        )
        h.advance(60)
        t.call(
            "PUT",
            "/rest/api/3/issue/SUP-1",
            {
                "fields": {fields["due"]: "2026-03-02T17:00:00.000+0000"},
                "update": {"labels": [{"add": "tier_enterprise"}]},
            },
        )
        t.call(
            "POST", "/rest/api/3/issue/SUP-1/comment", {"body": adf("On it")}, as_email="ada@tierdesk.example"
        )
        t.call(
            "POST", "/rest/api/3/issue/SUP-1/comment", {"body": adf("Thanks")}, as_email="alex@globex.example"
        )
        t.call("POST", "/rest/api/3/issue/SUP-1/transitions", {"transition": {"id": "11"}})
        t.call("PUT", "/rest/api/3/issue/SUP-1/properties/tierdesk", {"tier": "enterprise"})
        t.call("POST", "/rest/api/3/issue/SUP-1/watchers", t.call("GET", "/rest/api/3/myself")["accountId"])
        yield h, fields


def _get(h: Harness, path: str, **params: Any) -> Any:
    response = requests.get(h.url + path, params=params, auth=("bot@example.com", "t"), timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def test_site_metadata_endpoints_validate(site: tuple[Harness, dict[str, str]]) -> None:
    h, fields = site
    _check("GET", "/rest/api/3/serverInfo", "200", _get(h, "/rest/api/3/serverInfo"))
    _check("GET", "/rest/api/3/myself", "200", _get(h, "/rest/api/3/myself"))
    _check("GET", "/rest/api/3/field", "200", _get(h, "/rest/api/3/field"))
    _check("GET", "/rest/api/3/status", "200", _get(h, "/rest/api/3/status"))
    _check("GET", "/rest/api/3/priority", "200", _get(h, "/rest/api/3/priority"))
    _check("GET", "/rest/api/3/project", "200", _get(h, "/rest/api/3/project"))
    _check("GET", "/rest/api/3/project/search", "200", _get(h, "/rest/api/3/project/search", maxResults=1))
    _check("GET", "/rest/api/3/user/search", "200", _get(h, "/rest/api/3/user/search", query="ada"))
    contexts = _get(h, f"/rest/api/3/field/{fields['tier']}/context")
    _check("GET", "/rest/api/3/field/{fieldId}/context", "200", contexts)
    options = _get(h, f"/rest/api/3/field/{fields['tier']}/context/{contexts['values'][0]['id']}/option")
    _check("GET", "/rest/api/3/field/{fieldId}/context/{contextId}/option", "200", options)


def test_search_and_issue_endpoints_validate(site: tuple[Harness, dict[str, str]]) -> None:
    h, _fields = site
    jql = "project = SUP ORDER BY updated ASC, key ASC"
    _check("GET", "/rest/api/3/search/jql", "200", _get(h, "/rest/api/3/search/jql", jql=jql, maxResults=2))
    full = requests.post(
        h.url + "/rest/api/3/search/jql",
        json={
            "jql": "project = SUP ORDER BY updated DESC",
            "fields": ["*all"],
            "expand": "changelog,names,transitions",
            "properties": ["tierdesk"],
            "maxResults": 2,
        },
        timeout=10,
    ).json()
    assert full["nextPageToken"] and any(issue["changelog"]["histories"] for issue in full["issues"])
    _check("POST", "/rest/api/3/search/jql", "200", full)
    _check(
        "GET",
        "/rest/api/3/issue/{issueIdOrKey}",
        "200",
        _get(h, "/rest/api/3/issue/SUP-1", expand="changelog"),
    )
    _check(
        "GET",
        "/rest/api/3/issue/{issueIdOrKey}/changelog",
        "200",
        _get(h, "/rest/api/3/issue/SUP-1/changelog"),
    )
    comments = _get(h, "/rest/api/3/issue/SUP-1/comment", expand="properties")
    _check("GET", "/rest/api/3/issue/{issueIdOrKey}/comment", "200", comments)
    _check(
        "GET",
        "/rest/api/3/issue/{issueIdOrKey}/transitions",
        "200",
        _get(h, "/rest/api/3/issue/SUP-1/transitions"),
    )
    _check(
        "GET",
        "/rest/api/3/issue/{issueIdOrKey}/properties",
        "200",
        _get(h, "/rest/api/3/issue/SUP-1/properties"),
    )
    _check(
        "GET",
        "/rest/api/3/issue/{issueIdOrKey}/properties/{propertyKey}",
        "200",
        _get(h, "/rest/api/3/issue/SUP-1/properties/tierdesk"),
    )
    _check(
        "GET", "/rest/api/3/issue/{issueIdOrKey}/watchers", "200", _get(h, "/rest/api/3/issue/SUP-1/watchers")
    )


def test_write_responses_validate(site: tuple[Harness, dict[str, str]]) -> None:
    h, _fields = site
    jira = JIRA(
        server=h.url, basic_auth=("bot@example.com", "t"), options={"rest_api_version": "3"}, max_retries=0
    )
    created = requests.post(
        h.url + "/rest/api/3/issue",
        json={"fields": {"project": {"key": "SUP"}, "issuetype": {"name": "Task"}, "summary": "x"}},
        timeout=10,
    )
    assert created.status_code == 201
    _check("POST", "/rest/api/3/issue", "201", created.json())
    bulk = requests.post(
        h.url + "/rest/api/3/issue/bulk",
        json={
            "issueUpdates": [
                {"fields": {"project": {"key": "SUP"}, "issuetype": {"name": "Task"}, "summary": "y"}},
                {"fields": {"project": {"key": "SUP"}, "issuetype": {"name": "Task"}}},
            ]
        },
        timeout=10,
    )
    _check("POST", "/rest/api/3/issue/bulk", "201", bulk.json())
    assert bulk.json()["errors"][0]["elementErrors"]["errors"] == {
        "summary": "You must specify a summary of the issue."
    }
    comment = jira.add_comment("SUP-2", adf("internal"), is_internal=True)
    _check("POST", "/rest/api/3/issue/{issueIdOrKey}/comment", "201", comment.raw)
    field = requests.post(
        h.url + "/rest/api/3/field",
        json={"name": "SLA state", "type": "com.atlassian.jira.plugin.system.customfieldtypes:textfield"},
        timeout=10,
    )
    _check("POST", "/rest/api/3/field", "201", field.json())


def test_comment_objects_have_the_recorded_key_sets(site: tuple[Harness, dict[str, str]]) -> None:
    h, _fields = site
    recorded_keys = {frozenset(c) for c in RECORDED}
    recorded_user_keys = {frozenset(c["author"]) for c in RECORDED}
    comments = _get(h, "/rest/api/3/issue/SUP-1/comment")["comments"]
    assert comments
    for comment in comments:
        assert frozenset(comment) in recorded_keys
        assert frozenset(comment["author"]) in recorded_user_keys
        assert frozenset(comment["updateAuthor"]) in recorded_user_keys
        assert comment["body"]["type"] == "doc" and comment["body"]["version"] == 1
        for stamp in (comment["created"], comment["updated"], RECORDED[0]["created"]):
            assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d{4}", stamp)
        assert comment["self"].endswith(f"/rest/api/3/issue/10001/comment/{comment['id']}")
    embedded = _get(h, "/rest/api/3/issue/SUP-1", fields="comment")["fields"]["comment"]
    assert set(embedded) == {"comments", "self", "maxResults", "total", "startAt"}
    assert [frozenset(c) for c in embedded["comments"]] == [frozenset(c) for c in comments]


def test_jsm_objects_have_the_documented_shapes(site: tuple[Harness, dict[str, str]]) -> None:
    h, _fields = site
    orgs = _get(h, "/rest/servicedeskapi/organization")
    assert set(orgs) == {"size", "start", "limit", "isLastPage", "values", "_links"}
    assert set(orgs["values"][0]) == {"id", "name", "_links"}
    sla = _get(h, "/rest/servicedeskapi/request/SUP-1/sla")["values"]
    assert {s["name"] for s in sla} == {"Time to first response", "Time to resolution"}
    for item in sla:
        assert {"id", "name", "_links", "completedCycles", "slaDisplayFormat"} <= set(item)
        cycles = item["completedCycles"] + ([item["ongoingCycle"]] if "ongoingCycle" in item else [])
        for cycle in cycles:
            assert set(cycle["startTime"]) == {"iso8601", "jira", "friendly", "epochMillis"}
            assert set(cycle["goalDuration"]) == {"millis", "friendly"}
