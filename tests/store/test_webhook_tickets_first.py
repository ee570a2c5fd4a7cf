"""A webhook's tickets go ahead of the queue: their queued actions are read, claimed and pushed on
their own (`tickets=`), and a push working through a backlog gives way after its current batch
when a delivery waits (`SyncService.yield_push`), so an agent's reply does not wait behind a
first sync's thousands of write-backs."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from connector.bootstrap import App, build_app
from connector.clock import FixedClock
from connector.domain.results import Action
from connector.fakes import FakeHelpdesk
from connector.ports import ActionResult, PullPage
from connector.stopping import StopSignal
from connector.store.repository import Store
from connector.store.unit import split_ticket_key
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


def test_a_pull_serves_waiting_work_between_its_pages_and_goes_on(backlog: tuple[App, FakeHelpdesk]) -> None:
    app, helpdesk = backlog
    _pages(helpdesk, BACKLOG, pages=3)
    served: list[str | None] = []
    app.service.waiting_work = lambda: served.append(app.store.get_cursor(CONNECTION))

    report = app.service.pull(CONNECTION)

    assert report.pulled == 30  # the whole pull, in one go
    assert served == ["2", "3"]  # after each stored page but the last, its cursor stored


class _RateLimitedExport(FakeHelpdesk):
    """Waits out a Retry-After on the retry layer's sleep (the app's `StopSignal`) before each
    page after the first, as a rate-limited export does."""

    def __init__(self, name: str, sleep: StopSignal, wait: float) -> None:
        super().__init__(name)
        self.sleep = sleep
        self.wait = wait

    def pull(self, cursor: str | None, since: datetime | None = None) -> Iterator[PullPage]:
        for n, page in enumerate(super().pull(cursor, since)):
            if n:
                self.sleep(self.wait)
            yield page


def test_a_pull_waiting_out_a_rate_limit_serves_waiting_work_during_the_wait(
    store_url: str, tmp_path: Path
) -> None:
    stop = StopSignal()
    helpdesk = _RateLimitedExport(CONNECTION, stop, wait=1.0)
    app = build_app(
        _one_connection(tmp_path / "mappings"),
        store_url,
        clock=FixedClock(NOW),
        helpdesks={CONNECTION: helpdesk},
    )
    try:
        app.service.waits = stop
        _pages(helpdesk, 0, pages=2)
        served: list[float] = []
        started = time.monotonic()
        app.service.waiting_work = lambda: served.append(time.monotonic() - started)

        report = app.service.pull(CONNECTION)

        assert report.pulled == 20
        during_the_wait = [t for t in served if t < 1.0]
        assert len(during_the_wait) >= 3, served  # every 0.1 s, not only once the wait is over
        assert stop(0.05) is None  # outside the pull, a wait is a plain wait again
    finally:
        app.close()


def test_a_worker_pull_pushes_a_webhooks_tickets_between_its_pages(backlog: tuple[App, FakeHelpdesk]) -> None:
    from connector.scheduler import Worker

    app, helpdesk = backlog
    worker = Worker(app)
    _pages(helpdesk, BACKLOG, pages=3)
    nudged = str(100_000 + BACKLOG + 5)  # a ticket of the first page
    order: list[str] = []
    pull = helpdesk.pull

    def pull_noting_pages(cursor: str | None, since: datetime | None = None) -> Iterator[PullPage]:
        for page in pull(cursor, since):
            order.append(f"page {page.cursor}")
            if page.cursor == "2":
                worker.nudges.add(CONNECTION, [nudged])  # a verified delivery arrives meanwhile
            yield page

    helpdesk.pull = pull_noting_pages  # type: ignore[method-assign]
    push = helpdesk.push

    def push_noting_tickets(
        actions: Sequence[Action], uncertain: frozenset[str] = frozenset()
    ) -> list[ActionResult]:
        order.append("push " + ",".join(sorted({a.ticket_id for a in actions})))
        return push(actions, uncertain)

    helpdesk.push = push_noting_tickets  # type: ignore[method-assign]

    worker.pull_job(CONNECTION)

    assert order[:3] == ["page 2", f"push {nudged}", "page 3"]  # its push went between the pages
    assert len(worker.nudges) == 0
    assert app.store.get_cursor(CONNECTION) == "4"  # and the pull went to its end


def test_a_worker_pull_serves_a_deadline_that_came_between_its_pages_once(
    backlog: tuple[App, FakeHelpdesk],
) -> None:
    from connector.scheduler import Worker

    app, helpdesk = backlog
    worker = Worker(app)
    deadline = app.store.earliest_deadline()
    assert deadline is not None
    clock = app.clock
    assert isinstance(clock, FixedClock)
    clock.set(deadline + timedelta(seconds=1))
    due = {split_ticket_key(key)[1] for key in app.store.tickets_due_before(clock.now())}
    worker._deadline = deadline  # planned before the pull started, and now come
    _pages(helpdesk, BACKLOG, pages=3)
    order: list[str] = []
    pull, push = helpdesk.pull, helpdesk.push

    def pull_noting_pages(cursor: str | None, since: datetime | None = None) -> Iterator[PullPage]:
        for page in pull(cursor, since):
            order.append("page")
            yield page

    def push_noting_tickets(
        actions: Sequence[Action], uncertain: frozenset[str] = frozenset()
    ) -> list[ActionResult]:
        order.append("due" if {a.ticket_id for a in actions} <= due else "other")
        return push(actions, uncertain)

    helpdesk.pull = pull_noting_pages  # type: ignore[method-assign]
    helpdesk.push = push_noting_tickets  # type: ignore[method-assign]

    worker.pull_job(CONNECTION)

    assert due and order[:3] == ["page", "due", "page"]  # the due tickets' push, between two pages
    assert order.count("due") == 1  # once, though the deadline job itself has not run yet
    assert app.store.get_cursor(CONNECTION) == "4"
