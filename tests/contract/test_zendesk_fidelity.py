"""Emulator fidelity: responses checked against the Zendesk OpenAPI spec and the recorded real
exchanges (tests/contract/zendesk_fixtures/recorded_exchanges.json), and driven by unchanged zenpy."""

from __future__ import annotations

import base64
import functools
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from connector.emulation.base import FaultRule
from plugins.zendesk.emulator import seed_volume
from plugins.zendesk.testing import Harness, running_emulator

pytestmark = pytest.mark.contract

FIXTURES = Path(__file__).parent / "zendesk_fixtures"
RECORDED: dict[str, Any] = json.loads((FIXTURES / "recorded_exchanges.json").read_text())
SHARED = Path(__file__).parents[2] / ".." / "shared"
OAS = SHARED / "fixtures" / "zendesk_oas" / "zendesk_support_oas_src.yaml"


@pytest.fixture(scope="module")
def harness() -> Iterator[Harness]:
    with running_emulator() as h:
        seed_volume(h.app, 120, clock=h.app.clock, info=h.info)
        h.advance(120)
        yield h


@pytest.fixture(scope="module")
def http(harness: Harness) -> requests.Session:
    session = requests.Session()
    session.auth = ("tierdesk@example.com/token", "emulator")
    return session


def _get(h: Harness, http: requests.Session, path: str, **params: Any) -> requests.Response:
    response = http.get(h.url + path, params=params)
    assert "X-Rate-Limit" in response.headers and "X-Rate-Limit-Remaining" in response.headers
    return response


# ----------------------------------------------------------------------------------- OpenAPI
@functools.cache
def _spec() -> dict[str, Any]:
    import yaml

    class Loader(yaml.CSafeLoader):
        pass

    # the spec uses the YAML `=` value tag in one example
    Loader.add_constructor("tag:yaml.org,2002:value", lambda loader, node: loader.construct_scalar(node))
    with OAS.open() as handle:
        return yaml.load(handle, Loader=Loader)


# Known errata of the published spec, each contradicted by the real recordings.
NULLABLE_ERRATA = {
    "value",
    "external_id",
    "problem_id",
    "forum_topic_id",
    "group_id",
    "assignee_id",
    "type",
    "priority",
    "organization_id",
    "due_at",
    "recipient",
    "default_group_id",
    "alias",
    "details",
    "notes",
    "signature",
    "last_login_at",
    "two_factor_auth_enabled",
    "role_type",
    "email",
    "custom_status_id",
    "description",
    "satisfaction_rating",
    "message",
    "results",
    "progress",
    "tag",
    "key",
    "agent_description",
    "regexp_for_validation",
    "ticket_restriction",
    "locale_id",
    "custom_role_id",
    "shared_phone_number",
    "phone",
    "photo",
    "organization_fields",
    "raw_description",
}


# A real failed bulk-job result carries `"status": "Failed"` next to `error` and `details` (public
# job results), so it matches both UpdateResourceResult and FailedResult: the spec's `oneOf` over
# the result shapes cannot hold, `anyOf` does.
ANY_OF_ERRATA = ("JobStatusResultObject",)


def _relax(schema: Any) -> Any:
    """Deep copy of a schema with the errata fixed: listed properties may be null."""
    if isinstance(schema, dict):
        out = {k: _relax(v) for k, v in schema.items()}
        props = out.get("properties")
        if isinstance(props, dict):
            for name in NULLABLE_ERRATA & set(props):
                if isinstance(props[name], dict) and "$ref" not in props[name]:
                    props[name] = {**props[name], "nullable": True}
                    if "enum" in props[name]:
                        props[name]["enum"] = [*props[name]["enum"], None]
        return out
    if isinstance(schema, list):
        return [_relax(v) for v in schema]
    return schema


def _validate(path: str, method: str, status: int, body: Any) -> None:
    if not OAS.exists():
        pytest.skip(f"Zendesk OpenAPI spec not found at {OAS} (the shared fixtures are not beside the repo)")
    from openapi_schema_validator import OAS30Validator

    spec = _spec()
    operation = spec["paths"][path][method]
    schema = operation["responses"][str(status)]["content"]["application/json"]["schema"]
    components = _relax(spec["components"])
    for name in ANY_OF_ERRATA:
        erratum = components["schemas"][name]
        erratum["anyOf"] = erratum.pop("oneOf")
    document = {"components": components, **_relax(schema)}
    OAS30Validator(document).validate(body)


def _check(h: Harness, http: requests.Session, spec_path: str, path: str, **params: Any) -> dict[str, Any]:
    response = _get(h, http, path, **params)
    assert response.status_code == 200, response.text[:300]
    body = response.json()
    _validate(spec_path, "get", 200, body)
    return body


def test_endpoints_tierdesk_reads_match_the_openapi_spec(harness: Harness, http: requests.Session) -> None:
    h = harness
    ids = ",".join(str(i) for i in list(h.account.tickets)[:5])
    _check(
        h,
        http,
        "/api/v2/incremental/tickets/cursor",
        "/api/v2/incremental/tickets/cursor.json",
        start_time=0,
        include="users,organizations",
    )
    _check(h, http, "/api/v2/incremental/tickets", "/api/v2/incremental/tickets.json", start_time=0)
    _check(
        h,
        http,
        "/api/v2/incremental/ticket_events",
        "/api/v2/incremental/ticket_events.json",
        start_time=0,
        include="comment_events",
    )
    _check(
        h,
        http,
        "/api/v2/incremental/ticket_metric_events",
        "/api/v2/incremental/ticket_metric_events.json",
        start_time=0,
    )
    _check(h, http, "/api/v2/tickets/show_many", "/api/v2/tickets/show_many.json", ids=ids)
    _check(h, http, "/api/v2/tickets/{ticket_id}", "/api/v2/tickets/1.json")
    _check(h, http, "/api/v2/tickets/{ticket_id}/comments", "/api/v2/tickets/1/comments.json")
    _check(h, http, "/api/v2/tickets/{ticket_id}/audits", "/api/v2/tickets/1/audits.json")
    _check(h, http, "/api/v2/tickets/{ticket_id}/tags", "/api/v2/tickets/1/tags.json")
    users = ",".join(str(u) for u in h.info.agents)
    _check(h, http, "/api/v2/users/show_many", "/api/v2/users/show_many.json", ids=users)
    _check(h, http, "/api/v2/users/me", "/api/v2/users/me.json")
    orgs = ",".join(str(o) for o in h.info.organizations.values())
    _check(h, http, "/api/v2/organizations/show_many", "/api/v2/organizations/show_many.json", ids=orgs)
    _check(h, http, "/api/v2/groups", "/api/v2/groups.json")
    _check(h, http, "/api/v2/ticket_fields", "/api/v2/ticket_fields.json")


def test_writes_tierdesk_makes_match_the_openapi_spec(harness: Harness, http: requests.Session) -> None:
    h = harness
    put = http.put(
        h.url + "/api/v2/tickets/update_many.json",
        json={"tickets": [{"id": 2, "additional_tags": ["tier_standard"]}, {"id": 999999}]},
    )
    assert put.status_code == 200
    _validate("/api/v2/tickets/update_many", "put", 200, put.json())
    job_id = put.json()["job_status"]["id"]
    for _ in range(2):
        polled = _get(h, http, f"/api/v2/job_statuses/{job_id}.json").json()
        _validate("/api/v2/job_statuses/{job_status_id}", "get", 200, polled)
    many = _get(h, http, "/api/v2/job_statuses/show_many.json", ids=job_id).json()
    _validate("/api/v2/job_statuses/show_many", "get", 200, many)
    results = polled["job_status"]["results"]
    assert results[1] == {
        "id": 999999,
        "action": "update",
        "success": False,
        "status": "Failed",
        "error": "RecordNotFound",
        "details": "Not found",
    }
    single = http.put(
        h.url + "/api/v2/tickets/3.json", json={"ticket": {"comment": {"body": "x", "public": False}}}
    )
    _validate("/api/v2/tickets/{ticket_id}", "put", 200, single.json())


# ----------------------------------------------------------------------------------- recordings
def _keys(obj: dict[str, Any]) -> set[str]:
    return set(obj)


def test_cursor_export_page_has_the_recorded_shape_and_cursor_format(
    harness: Harness, http: requests.Session
) -> None:
    h = harness
    recorded = RECORDED["cursor_export"]["body"]
    ours = _get(h, http, "/api/v2/incremental/tickets/cursor.json", start_time=0).json()
    assert _keys(ours) == _keys(recorded)
    assert _keys(ours["tickets"][0]) == _keys(recorded["tickets"][0])
    assert len(ours["tickets"]) >= 100
    last = ours["tickets"][-1]
    decoded = base64.b64decode(ours["after_cursor"]).decode()
    assert decoded == f"{last['generated_timestamp']}.0||{last['id']}|"
    assert (
        base64.b64decode(recorded["after_cursor"]).decode() == "1695062724.0||1601|"
        or "||" in base64.b64decode(recorded["after_cursor"]).decode()
    )
    assert ours["after_url"].startswith(h.url + "/api/v2/incremental/tickets/cursor.json?cursor=")
    assert ours["before_url"] is None and ours["before_cursor"] is None and ours["end_of_stream"] is True
    # a raw, unencoded '=' in the cursor (as zenpy sends it) resumes right after the page
    resumed = http.get(f"{h.url}/api/v2/incremental/tickets/cursor.json?cursor={ours['after_cursor']}").json()
    assert resumed["tickets"] == [] and resumed["after_cursor"] == ours["after_cursor"]
    one = _get(h, http, "/api/v2/incremental/tickets/cursor.json", start_time=0, per_page=1).json()
    assert len(one["tickets"]) == 1 and one["end_of_stream"] is False
    assert "per_page=1" in one["after_url"]


def test_exports_leave_out_the_last_minute_and_keep_generated_timestamp_apart(
    harness: Harness, http: requests.Session
) -> None:
    h = harness
    h.account.update_ticket(7, {"priority": "urgent"}, h.info.agents[0], int(h.app.clock.now().timestamp()))
    fresh = _get(h, http, "/api/v2/incremental/tickets/cursor.json", start_time=0).json()
    assert 7 not in [t["id"] for t in fresh["tickets"][-5:]] or fresh["tickets"][-1]["id"] != 7
    h.advance(61)
    later = _get(h, http, "/api/v2/incremental/tickets/cursor.json", start_time=0).json()
    assert later["tickets"][-1]["id"] == 7
    imported = later["tickets"][
        0
    ]  # imported tickets: updated_at is history, generated_timestamp is import time
    assert imported["generated_timestamp"] > int(
        __import__("datetime").datetime.fromisoformat(imported["updated_at"]).timestamp()
    )


def test_time_based_export_has_the_recorded_keys_and_boundary_semantics(
    harness: Harness, http: requests.Session
) -> None:
    h = harness
    recorded = RECORDED["time_export"]["body"]
    ours = _get(h, http, "/api/v2/incremental/tickets.json", start_time=0).json()
    assert _keys(ours) == _keys(recorded)
    assert ours["end_of_stream"] is True and ours["end_time"] == ours["tickets"][-1]["generated_timestamp"]
    too_recent = _get(
        h, http, "/api/v2/incremental/tickets.json", start_time=int(h.app.clock.now().timestamp())
    )
    assert too_recent.status_code == 400 and too_recent.json()["error"] == "StartTimeTooRecent"


def test_update_many_job_moves_queued_working_completed_like_the_recording(
    harness: Harness, http: requests.Session
) -> None:
    h = harness
    recorded = RECORDED["update_many_job"]
    assert [s["body"]["job_status"]["status"] for s in recorded] == [
        "queued",
        "working",
        "working",
        "completed",
    ]
    put = http.put(
        h.url + "/api/v2/tickets/update_many.json",
        json={"tickets": [{"id": 10, "priority": "high"}, {"id": 11, "priority": "high"}]},
    ).json()
    states = [put["job_status"]]
    for _ in range(2):
        states.append(
            _get(h, http, f"/api/v2/job_statuses/{put['job_status']['id']}.json").json()["job_status"]
        )
    assert [s["status"] for s in states] == ["queued", "working", "completed"]
    for ours, theirs in zip(states, (recorded[0], recorded[1], recorded[-1]), strict=True):
        assert _keys(ours) == _keys(theirs["body"]["job_status"])
    assert ours["id"].startswith("V3-") and len(ours["id"]) == len(theirs["body"]["job_status"]["id"])
    assert _keys(states[-1]["results"][0]) == _keys(recorded[-1]["body"]["job_status"]["results"][0])
    assert states[-1]["message"].startswith("Completed at ")
    same = http.put(
        h.url + "/api/v2/tickets/update_many.json",
        params={"ids": "12,13"},
        json={"ticket": {"additional_tags": ["bulk"]}},
    )
    assert same.status_code == 200
    assert "bulk" in h.account.tickets[12].tags and "bulk" in h.account.tickets[13].tags
    too_many = http.put(
        h.url + "/api/v2/tickets/update_many.json", json={"tickets": [{"id": i} for i in range(1, 102)]}
    )
    assert too_many.status_code == 400 and too_many.json() == RECORDED["error_too_many"]["body"]


@pytest.mark.parametrize(
    ("name", "path", "key"),
    [
        ("users_me", "/api/v2/users/me.json", "user"),
        ("users_show_many", "/api/v2/users/show_many.json?ids={agent}", "users"),
        ("organizations_show_many", "/api/v2/organizations/show_many.json?ids={org}", "organizations"),
        ("tickets_show_many", "/api/v2/tickets/show_many.json?ids=1", "tickets"),
        ("comments", "/api/v2/tickets/1/comments.json?page[size]=100", "comments"),
    ],
)
def test_read_endpoints_have_the_recorded_key_sets(
    harness: Harness, http: requests.Session, name: str, path: str, key: str
) -> None:
    h = harness
    url = path.format(agent=h.info.agents[0], org=next(iter(h.info.organizations.values())))
    ours = http.get(h.url + url).json()
    recorded = RECORDED[name]["body"]
    assert _keys(ours) == _keys(recorded)
    item, theirs = (
        (ours[key], recorded[key]) if isinstance(ours[key], dict) else (ours[key][0], recorded[key][0])
    )
    assert _keys(item) == _keys(theirs)
    if name == "comments":
        assert _keys(ours["meta"]) == _keys(recorded["meta"]) and _keys(ours["links"]) == _keys(
            recorded["links"]
        )
        assert json.loads(base64.b64decode(ours["meta"]["after_cursor"]))["o"] == "created_at,id"


def test_errors_have_the_recorded_bodies(harness: Harness, http: requests.Session) -> None:
    h = harness
    missing = http.put(h.url + "/api/v2/tickets/999999.json", json={"ticket": {"subject": "x"}})
    assert missing.status_code == 404 and missing.json() == RECORDED["error_404"]["body"]
    update = http.put(h.url + "/api/v2/tickets/20.json", json={"ticket": {"subject": "renamed"}}).json()
    assert _keys(update) == _keys(RECORDED["ticket_update"]["body"])
    assert _keys(update["audit"]) == _keys(RECORDED["ticket_update"]["body"]["audit"])
    stale = http.put(
        h.url + "/api/v2/tickets/20.json",
        json={"ticket": {"priority": "low", "safe_update": True, "updated_stamp": "2020-01-01T00:00:00Z"}},
    )
    assert stale.status_code == 409 and stale.json()["error"] == "UpdateConflict"


def test_unknown_dropdown_values_are_dropped_and_known_ones_tag_the_ticket(
    harness: Harness, http: requests.Session
) -> None:
    h = harness
    fid = int(h.info.fields["uptime_impact"])
    http.put(
        h.url + "/api/v2/tickets/30.json", json={"ticket": {"custom_fields": [{"id": fid, "value": "bogus"}]}}
    )
    assert h.account.tickets[30].custom_fields.get(fid) is None
    http.put(
        h.url + "/api/v2/tickets/30.json",
        json={"ticket": {"custom_fields": [{"id": fid, "value": "full_outage"}]}},
    )
    assert (
        h.account.tickets[30].custom_fields[fid] == "full_outage"
        and "full_outage" in h.account.tickets[30].tags
    )


def test_tags_endpoints_add_set_and_remove(harness: Harness, http: requests.Session) -> None:
    h = harness
    url = h.url + "/api/v2/tickets/40/tags.json"
    assert http.put(url, json={"tags": ["a1"]}).status_code == 200
    assert "a1" in http.get(url).json()["tags"]
    assert http.delete(url, json={"tags": ["a1"]}).status_code == 204
    created = http.post(url, json={"tags": ["only"]})
    assert created.status_code == 201 and created.json() == {"tags": ["only"]}


def test_rate_limits_answer_429_with_an_integer_retry_after_on_the_simulated_clock() -> None:
    with running_emulator(rate_limit_per_minute=30) as h:
        h.advance(60)  # a fresh one-minute window after seeding
        session = requests.Session()
        session.auth = ("someone@example.com/token", "x")
        statuses = [session.get(h.url + "/api/v2/users/me.json") for _ in range(31)]
        assert [r.status_code for r in statuses[:30]] == [200] * 30
        limited = statuses[30]
        assert limited.status_code == 429 and limited.headers["Retry-After"].isdigit()
        assert limited.headers["X-Rate-Limit"] == "30" and limited.headers["X-Rate-Limit-Remaining"] == "0"
        h.advance(int(limited.headers["Retry-After"]))
        assert session.get(h.url + "/api/v2/users/me.json").status_code == 200
    with running_emulator() as h:
        session = requests.Session()
        session.auth = ("someone@example.com/token", "x")
        h.advance(3600)
        codes = [
            session.get(
                h.url + "/api/v2/incremental/tickets/cursor.json", params={"start_time": 0}
            ).status_code
            for _ in range(11)
        ]
        assert codes == [200] * 10 + [429]


def test_credentials_restrict_logins_like_the_real_service() -> None:
    with running_emulator(credentials="ops@example.com:s3cret") as h:
        good = requests.get(h.url + "/api/v2/users/me.json", auth=("ops@example.com/token", "s3cret"))
        bad = requests.get(h.url + "/api/v2/users/me.json", auth=("ops@example.com/token", "nope"))
        assert good.status_code == 200
        assert bad.status_code == 401 and bad.json() == {"error": "Couldn't authenticate you"}


def test_unchanged_zenpy_works_through_its_environment_overrides(harness: Harness, monkeypatch: Any) -> None:
    from zenpy import Zenpy
    from zenpy.lib.api_objects import Comment, Ticket
    from zenpy.lib.exception import APIException, RecordNotFoundException, TooManyValuesException

    h = harness
    monkeypatch.setenv("ZENPY_FORCE_NETLOC", h.url.removeprefix("http://"))
    monkeypatch.setenv("ZENPY_FORCE_SCHEME", "http")
    h.advance(61)
    zenpy = Zenpy(subdomain="acme", email="tierdesk@example.com", token="any", disable_cache=True)
    assert zenpy.users.me().email == "tierdesk@example.com"
    exported = list(zenpy.tickets.incremental(start_time=0, per_page=50))  # follows after_url across pages
    assert len({t.id for t in exported}) == len(h.account.tickets)
    events = zenpy.tickets.events(start_time=0, include="comment_events")
    assert any(c.get("event_type") == "Comment" for e in events.values for c in e.child_events)
    created = zenpy.tickets.create(Ticket(subject="From zenpy", comment=Comment(body="hello")))
    ticket = created.ticket
    ticket.comment = Comment(body="internal", public=False)
    zenpy.tickets.update(ticket)
    job = zenpy.tickets.update([Ticket(id=ticket.id, additional_tags=["z"])])
    assert zenpy.job_status(id=job.id).status == "working"
    assert zenpy.job_status(id=job.id).status == "completed"
    assert [c.public for c in zenpy.tickets.comments(ticket=ticket.id)] == [True, False]
    with pytest.raises(RecordNotFoundException):
        zenpy.tickets(id=987654)
    with pytest.raises(TooManyValuesException):
        zenpy.tickets.update([Ticket(id=i, priority="low") for i in range(1, 102)])
    stale = Ticket(id=ticket.id, priority="high")
    stale.safe_update = True
    stale.updated_stamp = "2020-01-01T00:00:00Z"
    with pytest.raises(APIException) as conflict:
        zenpy.tickets.update(stale)
    assert conflict.value.response.status_code == 409


def test_injected_faults_use_the_vendor_error_shapes(harness: Harness, http: requests.Session) -> None:
    h = harness
    h.app.faults.set_rules([FaultRule(path="/api/v2/users/me", status=429)])
    plain = http.get(h.url + "/api/v2/users/me.json")
    h.app.faults.set_rules([FaultRule(path="/api/v2/users/me", status=429, retry_after=9)])
    with_wait = http.get(h.url + "/api/v2/users/me.json")
    h.app.faults.clear()
    assert plain.status_code == 429 and "Retry-After" not in plain.headers
    assert plain.headers["Content-Type"].startswith("text/plain")
    assert with_wait.headers["Retry-After"] == "9" and with_wait.json()["error"] == "APIRateLimitExceeded"


def test_os_environment_is_left_alone() -> None:
    assert "ZENPY_FORCE_NETLOC" not in os.environ
