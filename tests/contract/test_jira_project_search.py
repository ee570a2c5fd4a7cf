"""`GET /rest/api/3/project/search` answers Jira Cloud's paginated project search (the
`PageBeanProject` of the platform OpenAPI spec: values, startAt, maxResults, total, isLast, nextPage),
not the project with key "search". The installed `jira` client's `projects()` reads `GET /project`
(the plain list), which keeps working beside it; the search is read over plain HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
from jira import JIRA

from plugins.jira.emulator import create_project
from plugins.jira.testing import Harness, running_emulator

pytestmark = pytest.mark.contract

PROJECTS = {
    "SUP": "Support",
    "OPS": "Operations",
    "ACME": "Acme escalations",
    "BILL": "Billing",
    "DEV": "Dev",
}


@pytest.fixture(scope="module")
def harness() -> Iterator[Harness]:
    with running_emulator() as h:
        for key, name in PROJECTS.items():
            create_project(h.transport, key, name, "software" if key == "DEV" else "service_desk")
        yield h


def _search(h: Harness, url: str | None = None, **params: Any) -> requests.Response:
    return requests.get(
        url or h.url + "/rest/api/3/project/search",
        params=params if url is None else None,
        auth=("bot@example.com", "t"),
        timeout=10,
    )


def test_project_search_pages_through_every_project_in_key_order(harness: Harness) -> None:
    response = _search(harness, maxResults=2)
    assert response.status_code == 200, response.text
    pages = [response.json()]
    while not pages[-1]["isLast"]:
        pages.append(_search(harness, pages[-1]["nextPage"]).json())
        assert len(pages) < 10
    assert [p["startAt"] for p in pages] == [0, 2, 4]
    assert all(p["maxResults"] == 2 and p["total"] == 5 for p in pages)
    assert [v["key"] for p in pages for v in p["values"]] == sorted(PROJECTS)
    assert "nextPage" not in pages[-1]


def test_project_search_filters_by_keys_query_and_type(harness: Harness) -> None:
    def keys(**params: Any) -> list[str]:
        return [v["key"] for v in _search(harness, **params).json()["values"]]

    assert keys(keys="SUP,OPS") == ["OPS", "SUP"]
    assert keys(query="acme") == ["ACME"]  # key or name, case-insensitive
    assert keys(query="ort") == ["SUP"]  # "Support"
    assert keys(typeKey="software") == ["DEV"]
    assert keys(orderBy="-key", maxResults=2) == ["SUP", "OPS"]


def test_project_search_caps_max_results_at_100(harness: Harness) -> None:
    assert _search(harness, maxResults=500).json()["maxResults"] == 100


def test_project_search_refuses_an_unknown_order(harness: Harness) -> None:
    response = _search(harness, orderBy="colour")
    assert response.status_code == 400
    assert response.json()["errorMessages"]


def test_the_jira_client_still_lists_projects_and_reads_one_by_key(harness: Harness) -> None:
    jira = JIRA(
        server=harness.url,
        basic_auth=("bot@example.com", "t"),
        options={"rest_api_version": "3"},
        max_retries=0,
    )
    assert sorted(p.key for p in jira.projects()) == sorted(PROJECTS)
    assert jira.project("SUP").name == "Support"
