"""A webhook's tickets go ahead of the queue: their queued actions are read, claimed and pushed on
their own (`tickets=`), and a push working through a backlog gives way after its current batch
when a delivery waits (`SyncService.yield_push`), so an agent's reply does not wait behind a
first sync's thousands of write-backs."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from connector.bootstrap import App, build_app
from connector.clock import FixedClock
from connector.fakes import FakeHelpdesk
from connector.ports import PullPage
from connector.stopping import StopSignal
from connector.store.repository import Store
from tests.store.test_cycle_statements import CONNECTION, NOW, _one_connection, _record
from tests.store.test_store_contract import CONN
from tests.store.test_store_leases import _queue

BACKLOG = 300  # tickets whose write-backs wait in the queue


@pytest.fixture
def backlog(store_url: str, tmp_path: Path) -> Iterator[tuple[App, FakeHelpdesk]]:
    """A worker that pulled `BACKLOG` new tickets and queued their write-backs, none sent yet."""
    helpdesk = FakeHelpdesk(CONNECTION)
    app = build_app(
        _one_connection(tmp_path / "mappings"),
        store_url,
        clock=FixedClock(NOW),
        helpdesks={CONNECTION: helpdesk},
    )
    app.service.push_batch = 100
    helpdesk.queue_page(_record(n) for n in range(BACKLOG))
    app.service.pull(CONNECTION)
    assert app.store.outbox_counts(CONNECTION)["pending"] >= BACKLOG  # a write-back per ticket at least
    try:
        yield app, helpdesk
    finally:
        app.close()


def test_a_push_of_named_tickets_sends_only_their_actions_and_leaves_the_backlog_queued(
    backlog: tuple[App, FakeHelpdesk],
) -> None:
    app, helpdesk = backlog
    queued = app.store.outbox_counts(CONNECTION)["pending"]
    last = str(100_000 + BACKLOG - 1)  # the newest ticket: the end of the queue

    report = app.service.push(CONNECTION, tickets=[last])

    assert helpdesk.pushed and {a.ticket_id for a in helpdesk.pushed} == {last}
    assert report.pushed == len(helpdesk.pushed)
    assert app.store.pending_actions(CONNECTION, limit=10, tickets=[last]) == []
    assert app.store.outbox_counts(CONNECTION)["pending"] == queued - len(helpdesk.pushed)


def test_a_backlog_push_gives_way_after_one_batch_when_a_delivery_waits(
    backlog: tuple[App, FakeHelpdesk],
) -> None:
    app, helpdesk = backlog
    calls = helpdesk.api_calls

    def delivery_arrives_after_the_first_batch() -> bool:
        return helpdesk.api_calls > calls

    app.service.yield_push = delivery_arrives_after_the_first_batch
    app.service.push(CONNECTION)

    assert helpdesk.api_calls - calls == 1  # one batch, then the push stopped
    assert 0 < len(helpdesk.pushed) <= app.service.push_batch
    assert app.store.outbox_counts(CONNECTION)["pending"] > 0  # the rest waits for the next job

    app.service.yield_push = None
    app.service.push(CONNECTION, max_batches=100)
    assert app.store.outbox_counts(CONNECTION)["pending"] == 0


def test_queued_actions_of_named_tickets_are_read_in_planned_order(store: Store) -> None:
    _queue(store)  # two queued notes on each of t0..t5
    keys = [item.action.key for item in store.pending_actions(CONN, 10, tickets=["t4", "t1"])]
    assert keys == ["t1-a", "t1-b", "t4-a", "t4-b"]
    assert store.pending_actions(CONN, 10, tickets=["nobody"]) == []


@pytest.mark.parametrize("backend", [pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_a_claim_of_named_tickets_takes_only_theirs_and_skips_rows_another_worker_holds(store: Store) -> None:
    _queue(store)
    held = [i.action.key for i in store.claim_actions(CONN, "a", limit=4, ttl=60)]  # t0 and t1
    assert held == ["t0-a", "t0-b", "t1-a", "t1-b"]

    mine = store.claim_actions(CONN, "b", limit=20, ttl=60, tickets=["t1", "t5"])

    assert [i.action.key for i in mine] == ["t5-a", "t5-b"]  # t1 is worker a's until answered


def _pages(helpdesk: FakeHelpdesk, first: int, pages: int, size: int = 10) -> None:
    for page in range(pages):
        helpdesk.queue_page(_record(first + page * size + n) for n in range(size))


def test_a_pull_gives_way_after_a_stored_page_and_the_next_pull_goes_on_from_its_cursor(
    backlog: tuple[App, FakeHelpdesk],
) -> None:
    app, helpdesk = backlog
    _pages(helpdesk, BACKLOG, pages=3)
    stored_before = len(app.store.views(CONNECTION, [str(100_000 + n) for n in range(BACKLOG + 30)]))
    app.service.yield_pull = lambda: True

    report = app.service.pull(CONNECTION)

    assert report.pulled == 10 and report.pull_yielded == [CONNECTION]
    assert app.store.get_cursor(CONNECTION) == "2"  # the page it stored, with its cursor
    app.service.yield_pull = None
    rest = app.service.pull(CONNECTION)
    assert rest.pulled == 20 and rest.pull_yielded == []
    stored = app.store.views(CONNECTION, [str(100_000 + n) for n in range(BACKLOG + 30)])
    assert len(stored) == stored_before + 30  # every ticket of the three pages, once


def test_a_worker_pull_gives_way_to_a_waiting_webhook_and_plans_its_own_resumption(
    backlog: tuple[App, FakeHelpdesk],
) -> None:
    from connector.scheduler import Worker

    app, helpdesk = backlog
    worker = Worker(app)
    _pages(helpdesk, BACKLOG, pages=3)
    worker.nudges.add(CONNECTION, ["100001"])  # a verified delivery waits (the scheduler is not started)
    pushed = len(helpdesk.pushed)

    worker.pull_job(CONNECTION)

    assert app.store.get_cursor(CONNECTION) == "2"  # one page stored, then the pull gave way
    assert len(helpdesk.pushed) == pushed  # nothing pushed ahead of the webhook's tickets
    worker.pull_job(CONNECTION)  # the resumed pull gives way again: the delivery still waits
    assert app.store.get_cursor(CONNECTION) == "3"
    # each resumption is a job of its own: one due while a job of the same id runs is skipped
    resumes = [job.id for job in worker.scheduler.get_jobs() if job.id.startswith("pull-resume:")]
    assert len(set(resumes)) == 2, resumes

    worker.nudges.take()
    worker.pull_job(CONNECTION)  # nothing waits any more: the pull goes to the end and pushes
    assert app.store.get_cursor(CONNECTION) == "4"
    assert len(helpdesk.pushed) > pushed


def test_a_worker_pull_gives_way_once_to_a_deadline_that_has_come(backlog: tuple[App, FakeHelpdesk]) -> None:
    from connector.scheduler import Worker

    app, helpdesk = backlog
    worker = Worker(app)
    worker._deadline = app.clock.now()  # planned, and come
    _pages(helpdesk, BACKLOG, pages=3)

    worker.pull_job(CONNECTION)
    assert app.store.get_cursor(CONNECTION) == "2"

    worker.pull_job(CONNECTION)  # the same deadline, still planned: no second cut
    assert app.store.get_cursor(CONNECTION) == "4"


class _RateLimitedExport(FakeHelpdesk):
    """Serves its first page, then waits out a 30 s Retry-After on the retry layer's sleep (the
    app's `StopSignal`) before the next one, as a rate-limited export does."""

    def __init__(self, name: str, sleep: StopSignal) -> None:
        super().__init__(name)
        self.sleep = sleep

    def pull(self, cursor: str | None, since: datetime | None = None) -> Iterator[PullPage]:
        first = True
        for page in super().pull(cursor, since):
            if not first:
                self.sleep(30.0)
            first = False
            yield page


def test_a_pull_waiting_out_a_rate_limit_gives_way_at_once_to_waiting_work(
    store_url: str, tmp_path: Path
) -> None:
    stop = StopSignal()
    helpdesk = _RateLimitedExport(CONNECTION, stop)
    app = build_app(
        _one_connection(tmp_path / "mappings"),
        store_url,
        clock=FixedClock(NOW),
        helpdesks={CONNECTION: helpdesk},
    )
    try:
        app.service.waits = stop
        _pages(helpdesk, 0, pages=2)
        started = time.monotonic()
        app.service.yield_pull = lambda: time.monotonic() - started > 0.2  # a delivery arrives

        report = app.service.pull(CONNECTION)

        assert time.monotonic() - started < 5  # not the 30 s Retry-After
        assert report.pulled == 10 and report.pull_yielded == [CONNECTION]
        assert app.store.get_cursor(CONNECTION) == "1"  # the first page, stored with its cursor
    finally:
        app.close()
