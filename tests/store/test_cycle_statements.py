"""What a sync cycle asks of the database when tickets changed, on SQLite and PostgreSQL: the
statements it sends grow with the pages and chunks of the work, not with each changed ticket.
Counted with SQLAlchemy's `before_cursor_execute` event (an executemany counts once)."""

from __future__ import annotations

import random
import shutil
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from ruamel.yaml import YAML

from connector.bootstrap import App, build_app
from connector.clock import FixedClock
from connector.domain.model import Event, EventKind, Organization, Status, Ticket
from connector.domain.results import Action
from connector.fakes import FakeHelpdesk
from connector.ports import ActionResult, Outcome, TicketRecord

MAPPINGS = Path(__file__).resolve().parents[2] / "mappings"
CONNECTION = "zendesk-main"
NOW = datetime(2026, 3, 4, 10, 0, tzinfo=UTC)  # a Wednesday morning
STORED = 1_000
ORGS = (
    Organization("1", "Acme", tags=frozenset({"enterprise"})),
    Organization("2", "Initech", tags=frozenset({"priority"})),
    Organization("3", "Hooli", tags=frozenset({"standard"})),
)


def _one_connection(target: Path) -> Path:
    shutil.copytree(MAPPINGS, target)
    yaml = YAML()
    path = target / "connections.yaml"
    doc = yaml.load(path.read_text(encoding="utf-8"))
    doc["connections"] = [c for c in doc["connections"] if c["name"] == CONNECTION]
    with path.open("w", encoding="utf-8") as out:
        yaml.dump(doc, out)
    customers = target / "customers.yaml"
    rules = yaml.load(customers.read_text(encoding="utf-8"))
    rules["customers"]["rules"] = [
        r for r in rules["customers"]["rules"] if r.get("when", {}).get("connection") in (None, CONNECTION)
    ]
    with customers.open("w", encoding="utf-8") as out:
        yaml.dump(rules, out)
    (target / "accounts.yaml").unlink()  # the shipped accounts link jira-main, which is dropped here
    return target


def _record(n: int) -> TicketRecord:
    created = NOW - timedelta(hours=2, minutes=n % 600)
    events = (
        Event(f"{n}:c", created, EventKind.CREATED, status=Status.NEW, author_id="c"),
        Event(f"{n}:m", created, EventKind.PUBLIC_CUSTOMER_COMMENT, author_id="c"),
    )
    ticket = Ticket(
        connection=CONNECTION,
        id=str(100_000 + n),
        created_at=created,
        updated_at=created,
        status=Status.NEW,
        subject=f"Ticket {n}",
        requester_id="c",
        organization=ORGS[n % len(ORGS)],
    )
    return TicketRecord(ticket, events)


@pytest.fixture
def caught_up(store_url: str, tmp_path: Path) -> Iterator[tuple[App, FakeHelpdesk, FixedClock]]:
    """A worker whose store holds `STORED` open tickets, evaluated and their write-back applied."""
    helpdesk = FakeHelpdesk(CONNECTION)
    clock = FixedClock(NOW)
    app = build_app(
        _one_connection(tmp_path / "mappings"), store_url, clock=clock, helpdesks={CONNECTION: helpdesk}
    )
    try:
        records = [_record(n) for n in range(STORED)]
        for start in range(0, STORED, 500):
            helpdesk.queue_page(records[start : start + 500])
        app.service.pull(CONNECTION)
        app.service.evaluate_due()
        while items := app.store.pending_actions(CONNECTION, limit=10_000):
            app.store.record_results([ActionResult(i.action.key, Outcome.APPLIED) for i in items])
        yield app, helpdesk, clock
    finally:
        app.close()


def _statements_of_a_cycle(
    app: App, helpdesk: FakeHelpdesk, clock: FixedClock, changed: int, tag: str
) -> int:
    """Statements of one cycle in which `changed` stored tickets gained a customer comment."""
    at = clock.now() + timedelta(minutes=1)
    clock.set(at)
    app.service.run_cycle()  # what came due in that minute is not the changed tickets' work
    ids = random.Random(changed).sample(sorted(helpdesk.tickets), changed)
    pulled = []
    for ticket_id in ids:
        stored = helpdesk.tickets[ticket_id]
        comment = Event(f"{ticket_id}:{tag}", at, EventKind.PUBLIC_CUSTOMER_COMMENT, author_id="c")
        pulled.append(TicketRecord(replace(stored.ticket, updated_at=at), (*stored.events, comment)))
    helpdesk.queue_page(pulled)
    sent = 0

    def count(*_: object) -> None:
        nonlocal sent
        sent += 1

    sa.event.listen(app.store.engine, "before_cursor_execute", count)
    try:
        report = app.service.run_cycle()
    finally:
        sa.event.remove(app.store.engine, "before_cursor_execute", count)
    assert report.changed == changed and report.pushed > changed  # each changed ticket was written back
    return sent


def test_a_cycle_sends_statements_per_chunk_of_changed_tickets_not_per_ticket(
    caught_up: tuple[App, FakeHelpdesk, FixedClock],
) -> None:
    app, helpdesk, clock = caught_up

    few = _statements_of_a_cycle(app, helpdesk, clock, 5, "few")
    many = _statements_of_a_cycle(app, helpdesk, clock, 400, "many")

    # measured: 40 and 82 on SQLite, 29 and 55 on PostgreSQL (one read of a chunk's pending outbox
    # rows serves both withdrawn steps and replaced diffs). 400 tickets plan about 2,000 actions,
    # pushed in four batches of 500 with about ten statements each (queue read, views, sending
    # mark, results, audit)
    assert few <= 42, f"a cycle with 5 changed tickets sent {few} statements"
    assert many <= few + 60, f"5 changed: {few} statements, 400 changed: {many}"
    assert many / 400 <= 0.25


class _AnswersRetryOnce(FakeHelpdesk):
    """Answers the first action of its first push RETRY, everything else APPLIED."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.retried = False

    def push(self, actions: Sequence[Action], uncertain: frozenset[str] = frozenset()) -> list[ActionResult]:
        results = super().push(actions, uncertain)
        if not self.retried and results:
            self.retried = True
            results[0] = ActionResult(results[0].key, Outcome.RETRY, "HTTP 503")
        return results


def _queue_reads_of_a_push(app: App, helpdesk: FakeHelpdesk) -> int:
    """Reads of the push queue (`pending_actions`) while the connection's queue is pushed."""
    reads = 0

    def count(conn: object, cursor: object, statement: str, *rest: object) -> None:
        nonlocal reads
        reads += "FROM outbox" in statement and "ORDER BY outbox.created_at" in statement

    sa.event.listen(app.store.engine, "before_cursor_execute", count)
    try:
        app.service.push(CONNECTION)
    finally:
        sa.event.remove(app.store.engine, "before_cursor_execute", count)
    return reads


@contextmanager
def _five_tickets_queued(helpdesk: FakeHelpdesk, store_url: str, tmp_path: Path) -> Iterator[tuple[App, int]]:
    """A worker that pulled 5 new tickets and queued their write-backs (how many: the int)."""
    app = build_app(
        _one_connection(tmp_path / "m"), store_url, clock=FixedClock(NOW), helpdesks={CONNECTION: helpdesk}
    )
    try:
        helpdesk.queue_page(_record(n) for n in range(5))
        app.service.pull(CONNECTION)
        yield app, app.store.outbox_counts(CONNECTION)["pending"]
    finally:
        app.close()


def test_a_push_whose_first_batch_held_the_whole_queue_reads_the_queue_once(
    store_url: str, tmp_path: Path
) -> None:
    helpdesk = FakeHelpdesk(CONNECTION)
    with _five_tickets_queued(helpdesk, store_url, tmp_path) as (app, queued):
        assert 0 < queued < app.service.push_batch

        assert _queue_reads_of_a_push(app, helpdesk) == 1
        assert len(helpdesk.pushed) == queued
        assert app.store.outbox_counts(CONNECTION).get("pending", 0) == 0


def test_a_push_reads_the_queue_again_when_an_answer_queued_an_action_again(
    store_url: str, tmp_path: Path
) -> None:
    helpdesk = _AnswersRetryOnce(CONNECTION)
    with _five_tickets_queued(helpdesk, store_url, tmp_path) as (app, queued):
        assert _queue_reads_of_a_push(app, helpdesk) >= 2
        assert len(helpdesk.pushed) == queued + 1  # the retried action went again in the same push
        assert app.store.outbox_counts(CONNECTION).get("pending", 0) == 0
