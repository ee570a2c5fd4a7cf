"""A running worker fetches holiday feed URLs again every `refresh` (default 24h), through the same
last-good-copy logic as a load; a feed whose dates changed is a new policy version, recorded with
the feed text it ran with, as a mappings edit is."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from connector.bootstrap import build_app
from connector.clock import FixedClock
from connector.mappings import check, ics_feeds, policy_from_files
from connector.policy_holder import PolicyHolder
from tests.unit.test_ics_holidays import FEED, FeedServer, forget_fetched_feeds, mappings_with_feed

T0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
H = timedelta(hours=1)
MOVED = FEED.read_bytes().replace(b"20261228", b"20261221")  # the winter break a week earlier


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FeedServer]:
    monkeypatch.setenv("TIERDESK_CACHE_DIR", str(tmp_path / "cache"))
    feed = FeedServer()
    yield feed
    feed.close()
    forget_fetched_feeds()


def closed_days(holder: PolicyHolder) -> list[str]:
    return [str(d) for d in holder.policy.calendars["berlin-office"].to_spec()["holidays"]["dates"]]


def test_a_url_feed_is_fetched_again_after_its_refresh_and_a_change_is_a_new_version(
    tmp_path: Path, server: FeedServer
) -> None:
    directory = mappings_with_feed(tmp_path, f"{{url: {server.url}, refresh: 6h}}")
    clock = FixedClock(T0)
    app = build_app(directory, f"sqlite:///{tmp_path / 't.db'}", clock=clock, helpdesks={})
    try:
        holder, versions = app.policies, app.service.versions
        first = versions.history(T0).current.version
        server.body = MOVED
        clock.set(T0 + 5 * H + 59 * timedelta(minutes=1))
        assert not holder.reload_if_changed()  # not due yet: the URL is not asked
        assert server.requests == 1
        clock.set(T0 + 6 * H)
        assert holder.reload_if_changed()
        assert server.requests == 2
        second = versions.history(clock.now()).current.version
        clock.set(T0 + 7 * H)
        assert not holder.reload_if_changed()  # the next fetch is 6h after this one
        stored = app.store.activations()
    finally:
        app.close()

    assert second != first
    assert "2026-12-21" in closed_days(holder)
    assert [a.version for a in stored] == [first, second]
    # the new version keeps the feed it ran with: rebuilt equal whatever the URL serves later
    assert stored[1].files is not None
    assert stored[1].files[f"{ics_feeds.FEED_PREFIX}{server.url}"] == MOVED.decode()
    server.body = FEED.read_bytes()
    assert policy_from_files(stored[1].files).version == second


def test_a_url_feed_without_refresh_is_fetched_again_after_24_hours(
    tmp_path: Path, server: FeedServer
) -> None:
    clock = FixedClock(T0)
    holder = PolicyHolder(mappings_with_feed(tmp_path, server.url), now=clock.now)
    server.body = MOVED
    clock.set(T0 + 23 * H)
    assert not holder.reload_if_changed()
    clock.set(T0 + 24 * H)
    assert holder.reload_if_changed()
    assert server.requests == 2
    assert "2026-12-21" in closed_days(holder)


def test_a_feed_down_at_its_refresh_keeps_the_last_good_copy_and_the_version(
    tmp_path: Path, server: FeedServer
) -> None:
    clock = FixedClock(T0)
    holder = PolicyHolder(mappings_with_feed(tmp_path, f"{{url: {server.url}, refresh: 1h}}"), now=clock.now)
    before = holder.policy.version
    server.status = 503
    with capture_logs() as logs:
        clock.set(T0 + H)
        assert not holder.reload_if_changed()
        clock.set(T0 + H + 30 * timedelta(minutes=1))
        assert not holder.reload_if_changed()  # a failed fetch waits for the next interval too
    assert server.requests == 2
    assert holder.policy.version == before
    assert [e["event"] for e in logs if e["log_level"] == "warning"] == [
        "holiday feed not fetched; using the last good copy"
    ]
    server.status = 200
    server.body = MOVED
    clock.set(T0 + 2 * H)
    assert holder.reload_if_changed()  # back up: the change lands at the next refresh


def test_only_the_feeds_that_are_due_are_fetched(tmp_path: Path, server: FeedServer) -> None:
    other = FeedServer()
    try:
        listed = f"[{{url: {server.url}, refresh: 1h}}, {{url: {other.url}, refresh: 12h}}]"
        clock = FixedClock(T0)
        holder = PolicyHolder(mappings_with_feed(tmp_path, listed), now=clock.now)
        for hours in (1, 2, 3):
            clock.set(T0 + hours * H)
            holder.reload_if_changed()
        assert (server.requests, other.requests) == (4, 1)
    finally:
        other.close()


def test_a_refresh_that_is_not_a_duration_is_one_error_at_its_line(
    tmp_path: Path, server: FeedServer
) -> None:
    directory = mappings_with_feed(tmp_path, f"{{url: {server.url}, refresh: often}}")
    [error] = check(directory)
    assert str(error).startswith(f"{directory / 'calendars.yaml'}:15:")
    assert error.message.startswith("'often' is not a duration; expected a duration such as 15m")
