"""Holidays from iCalendar feeds: all-day events close whole days, files and URLs, the last good
copy of a feed that cannot be fetched, and stored policy versions rebuilt from the feed they ran on."""

from __future__ import annotations

import io
import shutil
import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from rich.console import Console
from structlog.testing import capture_logs

from connector.domain.ics_holidays import holidays_from_ics
from connector.domain.model import Priority, Status, Ticket
from connector.mappings import check, ics_feeds, load_policy, load_policy_files, policy_from_files
from connector.policy_holder import PolicyHolder
from connector.ports import TicketRecord
from connector.report.explain import render_explain
from connector.store.repository import Store

HERE = Path(__file__).resolve().parent
FEED = HERE / "ics" / "company-holidays.ics"
EXAMPLES = HERE.parents[1] / "mappings"
BERLIN_HOLIDAYS = "      country: DE\n      subdivision: BE\n      dates: [2026-12-24, 2026-12-31]\n"


def mappings_with_feed(tmp_path: Path, source: str) -> Path:
    """The example mappings with berlin-office also taking its holidays from `source`."""
    target = tmp_path / "mappings"
    shutil.copytree(EXAMPLES, target)
    calendars = target / "calendars.yaml"
    text = calendars.read_text()
    assert BERLIN_HOLIDAYS in text
    calendars.write_text(text.replace(BERLIN_HOLIDAYS, BERLIN_HOLIDAYS + f"      ics: {source}\n", 1))
    return target


class FeedServer:
    """A local HTTP server standing in for a published holiday feed; `status` makes it fail."""

    def __init__(self) -> None:
        self.body = FEED.read_bytes()
        self.status = 200
        self.requests = 0
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                owner.requests += 1
                self.send_response(owner.status)
                self.send_header("Content-Type", "text/calendar")
                body = owner.body if owner.status == 200 else b"down"
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/holidays.ics"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def feed_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FeedServer]:
    monkeypatch.setenv("TIERDESK_CACHE_DIR", str(tmp_path / "cache"))
    server = FeedServer()
    yield server
    server.close()
    forget_fetched_feeds()


def forget_fetched_feeds() -> None:
    """What a restarted worker knows: nothing in memory, only the copies under the cache dir."""
    ics_feeds._last_good.clear()
    ics_feeds._failing.clear()


def test_all_day_events_close_every_day_they_cover_and_timed_events_are_left_out() -> None:
    found = holidays_from_ics(FEED.read_text())
    in_2026_2028 = sorted(day for day in found.dates if day.year <= 2028)
    assert in_2026_2028 == [
        date(2026, 5, 1),  # yearly, COUNT=3, 2027 excluded by EXDATE
        date(2026, 6, 12),  # yearly RRULE
        date(2026, 12, 28),  # DTEND is exclusive: 28, 29, 30 December
        date(2026, 12, 29),
        date(2026, 12, 30),
        date(2027, 6, 12),
        date(2028, 5, 1),
        date(2028, 6, 12),
    ]
    assert date(2026, 9, 3) not in found.dates  # the timed offsite closes no day
    assert date(2026, 7, 15) not in found.dates  # STATUS:CANCELLED
    assert found.timed_events == 1


def test_calendar_with_an_ics_file_is_closed_on_the_feed_days(tmp_path: Path) -> None:
    directory = mappings_with_feed(tmp_path, "company-holidays.ics")  # relative to the mappings
    shutil.copy(FEED, directory / "company-holidays.ics")
    calendar = load_policy(directory).calendars["berlin-office"]
    # Mon 28 Dec 2026: the feed closes 28-30 Dec, 31 Dec is an explicit date, 1 Jan a Berlin
    # public holiday, then the weekend: the first open hour is Mon 4 Jan 09:00 Berlin (08:00 UTC).
    start = datetime(2026, 12, 28, 8, 0, tzinfo=UTC)
    assert calendar.elapsed(start, datetime(2027, 1, 4, 8, 0, tzinfo=UTC)) == timedelta(0)
    assert calendar.add(start, timedelta(hours=1)) == datetime(2027, 1, 4, 9, 0, tzinfo=UTC)
    # Without the feed, 28 Dec is an ordinary Monday.
    plain = load_policy(EXAMPLES).calendars["berlin-office"]
    assert plain.add(start, timedelta(hours=1)) == datetime(2026, 12, 28, 9, 0, tzinfo=UTC)


def test_missing_ics_file_is_one_error_at_the_ics_line(tmp_path: Path) -> None:
    directory = mappings_with_feed(tmp_path, "no-such-feed.ics")
    errors = check(directory)
    assert len(errors) == 1
    line = next(
        number
        for number, text in enumerate((directory / "calendars.yaml").read_text().splitlines(), 1)
        if "ics:" in text
    )
    assert (errors[0].path, errors[0].line) == (str(directory / "calendars.yaml"), line)
    assert "cannot read holiday feed" in errors[0].message
    assert "-> give a path relative to the mappings directory" in errors[0].message


def test_a_file_that_is_not_ics_is_rejected_with_the_fix(tmp_path: Path) -> None:
    directory = mappings_with_feed(tmp_path, "notes.ics")
    (directory / "notes.ics").write_text("just some notes\n")
    [error] = check(directory)
    assert "not an iCalendar feed" in error.message
    assert error.message.endswith("-> point ics at an .ics file or feed")


def test_ics_url_keeps_the_last_good_copy_when_the_feed_is_down_and_says_so_once(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    directory = mappings_with_feed(tmp_path, feed_server.url)
    good = load_policy(directory)
    assert date(2026, 12, 29).isoformat() in good.calendars["berlin-office"].to_spec()["holidays"]["dates"]

    feed_server.status = 503
    with capture_logs() as logs:
        again = load_policy(directory)
        once_more = load_policy(directory)
    assert again.version == once_more.version == good.version
    warnings = [entry for entry in logs if entry["log_level"] == "warning"]
    assert [(w["event"], w["reason"]) for w in warnings] == [
        ("holiday feed not fetched; using the last good copy", "HTTP 503")
    ]
    assert feed_server.requests == 3  # fetched at every load, never skipped

    forget_fetched_feeds()  # a restart during the outage still has the copy kept on disk
    assert load_policy(directory).version == good.version


def test_ics_url_never_fetched_is_an_error_naming_the_feed(tmp_path: Path, feed_server: FeedServer) -> None:
    feed_server.status = 404
    [error] = check(mappings_with_feed(tmp_path, feed_server.url))
    assert error.message.startswith(f"cannot fetch holiday feed {feed_server.url}: HTTP 404 -> ")


def test_stored_version_is_rebuilt_from_the_feed_it_ran_with_not_what_the_url_serves_later(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    policy, files = load_policy_files(mappings_with_feed(tmp_path, feed_server.url))
    assert files[f"{ics_feeds.FEED_PREFIX}{feed_server.url}"] == FEED.read_text()

    feed_server.body = FEED.read_bytes().replace(b"20261228", b"20261221")  # the feed is edited
    rebuilt = policy_from_files(files)
    assert rebuilt.version == policy.version
    assert rebuilt.calendars["berlin-office"] == policy.calendars["berlin-office"]
    edited = load_policy(tmp_path / "mappings")
    assert edited.version != policy.version  # the edit is a new version, effective-dated as any


def test_a_worker_reloads_when_a_feed_file_beside_the_mappings_changes(tmp_path: Path) -> None:
    directory = mappings_with_feed(tmp_path, "company-holidays.ics")
    feed = directory / "company-holidays.ics"
    shutil.copy(FEED, feed)
    holder = PolicyHolder(directory)
    before = holder.policy
    feed.write_bytes(FEED.read_bytes().replace(b"20261228", b"20261221"))
    assert holder.reload_if_changed()
    spec_dates = holder.policy.calendars["berlin-office"].to_spec()["holidays"]["dates"]
    assert "2026-12-21" in spec_dates  # the break now starts a week earlier
    assert "2026-12-21" not in before.calendars["berlin-office"].to_spec()["holidays"]["dates"]
    assert holder.policy.version != before.version


def test_explain_lists_the_feed_holidays_ahead_on_the_tickets_calendar(tmp_path: Path) -> None:
    directory = mappings_with_feed(tmp_path, "company-holidays.ics")
    shutil.copy(FEED, directory / "company-holidays.ics")
    policy = load_policy(directory)
    opened = datetime(2026, 12, 10, 9, 0, tzinfo=UTC)
    ticket = Ticket(
        connection="zendesk-main",
        id="501",
        created_at=opened,
        updated_at=opened,
        status=Status.OPEN,
        subject="Invoice export",
        priority=Priority.NORMAL,
        requester_email="sam@unknown.example",
    )
    store = Store.open(f"sqlite:///{tmp_path / 'tierdesk.db'}")
    try:
        store.save_pull_page("zendesk-main", [TicketRecord(ticket=ticket, events=())], None, now=opened)
        console = Console(file=io.StringIO(), width=200, color_system=None)
        assert render_explain(console, store, policy, opened, ("zendesk-main", "501"))
    finally:
        store.close()
    shown = console.file.getvalue()  # type: ignore[attr-defined]
    [line] = [line for line in shown.splitlines() if line.startswith("holidays in the next 60 days")]
    assert "2026-12-24, 2026-12-25, 2026-12-26, 2026-12-28, 2026-12-29, 2026-12-30, 2026-12-31" in line
