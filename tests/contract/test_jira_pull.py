"""Pull contract: the jira-client adapter against the emulator over real HTTP."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta

import pytest

from connector.domain.model import EventKind, Status
from connector.ports import PullPage
from plugins.jira.client import PullCursor
from plugins.jira.emulator import create_issues, create_project
from plugins.jira.emulator.seed import adf
from plugins.jira.testing import Harness, running_emulator

pytestmark = pytest.mark.contract


@pytest.fixture
def h() -> Iterator[Harness]:
    with running_emulator() as harness:
        create_project(harness.transport, "SUP", "Support")
        create_project(harness.transport, "OPS", "Operations", type_key="software")
        yield harness


def _final_versions(h: Harness, project: str = "SUP") -> dict[str, int]:
    return {str(i.id): i.updated_ms for i in h.jira.site.issues.values() if i.project.key == project}


def _delivered(pages: list[PullPage]) -> Counter[tuple[str, int]]:
    return Counter(
        (r.ticket.id, int(r.ticket.updated_at.timestamp() * 1000)) for page in pages for r in page.records
    )


@pytest.mark.slow
def test_pull_5000_issues_with_a_restart_and_same_instant_updates_delivers_each_version_once(
    h: Harness,
) -> None:
    t = h.transport
    start = h.app.clock.now()
    create_issues(t, "SUP", 2000)  # 2,000 issues share one millisecond
    h.app.clock.set(start + timedelta(seconds=20))  # same minute, 20 s later
    create_issues(t, "SUP", 1500)
    for batch in range(30):  # 1,500 more, 50 per millisecond
        h.app.clock.set(start + timedelta(seconds=21, milliseconds=batch))
        create_issues(t, "SUP", 50)
    create_issues(t, "OPS", 40)  # another project, not synced
    h.app.clock.set(start + timedelta(seconds=40))

    first = h.connect()
    pages: list[PullPage] = []
    for page in first.pull(None):
        pages.append(page)
        if len(pages) == 25:  # crash after 2,500 issues: mid-way through the 20 s group
            break
    stored = pages[-1].cursor
    assert stored is not None and not pages[-1].done
    position = PullCursor.decode(stored)
    assert position.watermark_ms == int((start + timedelta(seconds=20)).timestamp() * 1000)
    assert len(position.seen) == 500  # the 2,000 of the first group are 20 s below: outside the lag window

    # while the worker is down: an issue lands in the very millisecond of the stored position,
    # already-delivered and not-yet-delivered issues change, all within the same minute
    h.app.clock.set(start + timedelta(seconds=20))
    same_instant = create_issues(t, "SUP", 1)[0]
    h.app.clock.set(start + timedelta(seconds=45))
    for key in ("SUP-10", "SUP-2400", "SUP-3900", "SUP-5000"):
        t.call("POST", f"/rest/api/3/issue/{key}/comment", {"body": adf("customer follow-up")})

    second = h.connect()  # a new process: only the stored cursor survives
    rest = list(second.pull(stored))
    assert rest[-1].done and all(not p.done for p in rest[:-1])

    delivered = _delivered(pages + rest)
    final = _final_versions(h)
    assert len(final) == 5001
    assert {version for version in delivered if final.get(version[0]) == version[1]} == set(final.items())
    assert max(delivered.values()) == 1, "no issue version is delivered twice"
    assert same_instant["id"] in {issue_id for issue_id, _ in delivered}
    assert not any(r.ticket.brand == "OPS" for p in pages + rest for r in p.records)
    # restart cost: 4 metadata reads, 1 JSM organization list (no Organizations field values),
    # 26 pages for the 2,504 versions not yet delivered and 5 for the 500 re-read at the stored instant
    assert second.api_calls == 4 + 1 + 26 + 5


def test_same_millisecond_issues_beyond_a_page_are_not_lost_between_pulls(h: Harness) -> None:
    create_issues(h.transport, "SUP", 250)  # one millisecond, 2.5 pages
    helpdesk = h.connect(options={"page_size": "100", "search_lag_seconds": "0"})
    pages = list(helpdesk.pull(None))
    assert sum(len(p.records) for p in pages) == 250
    cursor = pages[-1].cursor
    create_issues(h.transport, "SUP", 3)  # the clock has not moved: same millisecond again
    again = list(helpdesk.pull(cursor))
    assert sorted(r.ticket.fields["key"] for p in again for r in p.records) == [
        "SUP-251",
        "SUP-252",
        "SUP-253",
    ]
    assert next(iter(helpdesk.pull(again[-1].cursor))).records == ()


def test_pull_uses_epoch_millisecond_jql_ordered_by_updated_then_key(h: Harness) -> None:
    create_issues(h.transport, "SUP", 3)
    helpdesk = h.connect()
    list(helpdesk.pull(None, since=h.app.clock.now() - timedelta(hours=1)))
    searches = [r for r in h.app.log.records() if r.path == "/rest/api/3/search/jql"]
    assert [r.method for r in searches] == ["POST"]
    assert h.app.log.count(path_regex=r"/rest/api/3/search$") == 0


def test_events_from_changelog_and_comments_with_public_internal_agent_customer(h: Harness) -> None:
    t = h.transport
    customer = t.call(
        "POST", "/rest/servicedeskapi/customer", {"email": "alex@globex.example", "displayName": "Alex"}
    )
    org = t.call("POST", "/rest/servicedeskapi/organization", {"name": "Globex Corporation"})
    t.call(
        "POST", f"/rest/servicedeskapi/organization/{org['id']}/user", {"accountIds": [customer["accountId"]]}
    )
    t.call("POST", "/rest/api/3/user", {"emailAddress": "ada@tierdesk.example", "displayName": "Ada"})
    created = t.call(
        "POST",
        "/rest/api/3/issue",
        {
            "fields": {
                "project": {"key": "SUP"},
                "issuetype": {"name": "Service Request"},
                "summary": "Export fails",
                "priority": {"name": "Highest"},
            }
        },
        as_email="alex@globex.example",
    )
    key = created["key"]
    h.advance(600)
    t.call(
        "POST", f"/rest/api/3/issue/{key}/comment", {"body": adf("On it")}, as_email="ada@tierdesk.example"
    )
    t.call(
        "POST",
        f"/rest/api/3/issue/{key}/transitions",
        {"transition": {"id": "11"}},
        as_email="ada@tierdesk.example",
    )
    h.advance(600)
    t.call(
        "POST",
        f"/rest/api/3/issue/{key}/comment",
        {"body": adf("Logs attached")},
        as_email="alex@globex.example",
    )
    t.call(
        "POST",
        f"/rest/api/3/issue/{key}/comment",
        {"body": adf("internal"), "properties": [{"key": "sd.public.comment", "value": {"internal": True}}]},
        as_email="ada@tierdesk.example",
    )
    t.call(
        "POST",
        f"/rest/api/3/issue/{key}/transitions",
        {"transition": {"id": "51"}},
        as_email="ada@tierdesk.example",
    )

    record = next(r for p in h.connect().pull(None) for r in p.records)
    kinds = [e.kind for e in record.events]
    assert kinds == [
        EventKind.CREATED,
        EventKind.PUBLIC_AGENT_REPLY,
        EventKind.STATUS_CHANGE,
        EventKind.PUBLIC_CUSTOMER_COMMENT,
        EventKind.INTERNAL_NOTE,
        EventKind.STATUS_CHANGE,
        EventKind.FIELD_CHANGE,  # resolution
    ]
    statuses = [e.status for e in record.events if e.kind == EventKind.STATUS_CHANGE]
    assert statuses == [Status.PENDING, Status.SOLVED]
    # the Organizations field is empty: the reporter's JSM organization decides
    assert record.ticket.organization is not None and record.ticket.organization.name == "Globex Corporation"
    assert record.ticket.status == Status.SOLVED


def test_truncated_changelog_and_comment_lists_are_completed(h: Harness) -> None:
    h.jira.changelog_cap = 5
    h.jira.comment_cap = 3
    create_issues(h.transport, "SUP", 1)
    for n in range(12):
        h.advance(1)
        h.transport.call("PUT", "/rest/api/3/issue/SUP-1", {"update": {"labels": [{"add": f"l{n}"}]}})
        h.transport.call("POST", "/rest/api/3/issue/SUP-1/comment", {"body": adf(f"c{n}")})
    record = next(r for p in h.connect().pull(None) for r in p.records)
    assert sum(1 for e in record.events if e.kind == EventKind.FIELD_CHANGE) == 12
    # the reporter (the admin who created it) wrote them: customer comments
    assert sum(1 for e in record.events if e.kind == EventKind.PUBLIC_CUSTOMER_COMMENT) == 12


def test_malformed_issue_in_a_page_is_skipped_and_reported(h: Harness) -> None:
    create_issues(h.transport, "SUP", 2)
    good = json.loads(h.transport.raw("GET", "/rest/api/3/issue/SUP-1?expand=changelog")[1])
    broken = json.loads(h.transport.raw("GET", "/rest/api/3/issue/SUP-2")[1])
    del broken["fields"]["status"]
    page = {"issues": [good, broken], "isLast": True}
    h.faults({"path": "/search/jql$", "status": 200, "body": json.dumps(page)})
    pages = list(h.connect().pull(None))
    assert [r.ticket.id for r in pages[0].records] == ["10001"]
    assert [(s.ticket_id, "fields.status.name" in s.reason) for s in pages[0].skipped] == [("10002", True)]


def test_fetch_rereads_issues_and_drops_deleted_ones(h: Harness) -> None:
    create_issues(h.transport, "SUP", 3)
    h.transport.call("DELETE", "/rest/api/3/issue/SUP-2")
    records = h.connect().fetch(["10001", "10002", "10003"])
    assert sorted(r.ticket.id for r in records) == ["10001", "10003"]
