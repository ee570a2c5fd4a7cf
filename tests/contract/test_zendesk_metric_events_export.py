"""The ticket metric events export answers in both of Zendesk's shapes, and every incremental export
refuses a decimal `start_time`.

Sources: the Zendesk Support OpenAPI spec (`ListTicketMetricEvents`: "Cursor pagination returns a
maximum of 100 records per page ... If the results are not paginated, events will be returned as a
time-based incremental export"; `start_time` is `type: integer` on every incremental export, "a Unix
epoch time in seconds" in the export guide) and the recorded cursor-paginated bodies (`meta` +
`links`, `links.next` present on the last page too). Every recorded `start_time` is an integer and
zenpy sends `int(...)`; no recording shows the body Zendesk answers to a decimal, so the emulator's
400 `InvalidValue` body is its own wording.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from plugins.zendesk.emulator import seed_volume
from plugins.zendesk.emulator.ratelimit import RateLimiter
from plugins.zendesk.testing import Harness, running_emulator

pytestmark = pytest.mark.contract

PATH = "/api/v2/incremental/ticket_metric_events.json"


@pytest.fixture(scope="module")
def harness() -> Iterator[Harness]:
    with running_emulator() as h:
        seed_volume(h.app, 30, clock=h.app.clock, info=h.info)
        h.advance(120)  # out of the most recent minute, which no export includes
        # the clock stands still, so every request would draw from one minute's incremental budget
        # (rate limits have contract tests of their own)
        h.app.vendor.limits = RateLimiter(per_minute=10**9, incremental_per_minute=10**9)  # type: ignore[attr-defined]
        yield h


@pytest.fixture(scope="module")
def http() -> requests.Session:
    session = requests.Session()
    session.auth = ("tierdesk@example.com/token", "emulator")
    return session


def _chronological_ids(h: Harness) -> list[int]:
    return [event_id for _time, event_id in h.account.metric_index.keys]


def test_page_size_pages_by_cursor_through_every_event_in_chronological_order(
    harness: Harness, http: requests.Session
) -> None:
    h = harness
    url: str | None = h.url + PATH + "?start_time=0&page[size]=25"
    pages: list[dict[str, Any]] = []
    while url is not None:
        response = http.get(url)
        assert response.status_code == 200, response.text[:300]
        pages.append(response.json())
        url = pages[-1]["links"]["next"] if pages[-1]["meta"]["has_more"] else None
        assert len(pages) < 50
    ids = [e["id"] for page in pages for e in page["ticket_metric_events"]]
    total = len(h.account.metric_events)
    assert total > 100  # several pages
    assert ids == _chronological_ids(h)
    assert [len(p["ticket_metric_events"]) for p in pages[:-1]] == [25] * (len(pages) - 1)
    assert len(pages) == -(-total // 25)
    last = pages[-1]
    assert last["meta"]["has_more"] is False
    assert last["meta"]["after_cursor"] and last["links"]["next"]  # as recorded: present on the last page
    for page in pages:
        assert set(page) == {"ticket_metric_events", "meta", "links"}  # no time-based keys
        assert "start_time=0" in page["links"]["next"]  # the next page keeps the query


def test_cursor_pages_hold_at_most_100_events(harness: Harness, http: requests.Session) -> None:
    body = http.get(harness.url + PATH, params={"start_time": 0, "page[size]": 500}).json()
    assert len(body["ticket_metric_events"]) == 100
    assert body["meta"]["has_more"] is True


def test_cursor_pages_start_at_start_time(harness: Harness, http: requests.Session) -> None:
    h = harness
    times = sorted({t for t, _ in h.account.metric_index.keys})
    middle = times[len(times) // 2]
    body = http.get(h.url + PATH, params={"start_time": middle, "page[size]": 100}).json()
    expected = [i for t, i in h.account.metric_index.keys if t >= middle][:100]
    assert [e["id"] for e in body["ticket_metric_events"]] == expected


def test_without_page_size_the_export_is_time_based(harness: Harness, http: requests.Session) -> None:
    h = harness
    body = http.get(h.url + PATH, params={"start_time": 0}).json()
    assert set(body) == {"ticket_metric_events", "count", "end_of_stream", "next_page", "end_time"}
    assert body["count"] == len(h.account.metric_events)
    assert [e["id"] for e in body["ticket_metric_events"]] == _chronological_ids(h)


def test_zenpy_reads_the_time_based_export(harness: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    from zenpy import Zenpy

    h = harness
    monkeypatch.setenv("ZENPY_FORCE_NETLOC", h.url.removeprefix("http://"))
    monkeypatch.setenv("ZENPY_FORCE_SCHEME", "http")
    zenpy = Zenpy(subdomain="acme", email="tierdesk@example.com", token="any", disable_cache=True)
    events = list(zenpy.ticket_metric_events(start_time=0))
    assert [e.id for e in events] == _chronological_ids(h)


@pytest.mark.parametrize(
    ("path", "extra"),
    [
        ("/api/v2/incremental/tickets/cursor.json", {}),
        ("/api/v2/incremental/tickets.json", {}),
        ("/api/v2/incremental/ticket_events.json", {}),
        (PATH, {}),
        (PATH, {"page[size]": "10"}),
    ],
)
def test_a_decimal_start_time_is_refused_with_400(
    harness: Harness, http: requests.Session, path: str, extra: dict[str, str]
) -> None:
    response = http.get(harness.url + path, params={"start_time": "1700000000.5", **extra})
    assert response.status_code == 400
    assert response.json() == {"error": "InvalidValue", "description": "start_time must be an integer"}
