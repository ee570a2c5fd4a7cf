"""Cost of one sync cycle when nothing changed, at 1,000 and at 100,000 open tickets.

The store (SQLite file by default, or `--db URL`) is seeded through the Store API with open tickets
of every tier, evaluated under the example mappings and with their write-back applied (the fake
helpdesk's tickets then show the tags, priority and fields written), so it is in the steady state
of a worker that has caught up. The helpdesk is `connector.fakes.FakeHelpdesk`:
its pull answers "nothing changed". Two cycles are timed per size:

- idle: the same instant as the last evaluation (nothing changed, nothing came due);
- a minute later: nothing changed, but the deadlines of that minute came due (this work grows
  with the number of tickets whose thresholds fall in the minute, not with the ticket count).

Figures: wall time, SQL statements (and rows they wrote), helpdesk API calls, tickets evaluated,
actions pushed.

With `--changed 10 100 1000 10000` the bench also runs the changed-ticket sweep on the largest
size: per count, `--repeat` cycles (7) in which that many stored tickets gained a customer comment
(pulled in pages of 1,000, evaluated, their write-back queued and pushed), each with a fresh
sample. Per changed ticket it prints the median CPU time of this process over those cycles with
the lowest and highest (the machine is shared, so wall time is shown too but is not the figure; on
PostgreSQL the server's own CPU is not in it), and the SQL statements sent in one more such cycle
(counted with a `before_cursor_execute` event; an executemany counts once). The timed cycles run
without the counting listeners, which cost CPU of their own.

After seeding, the process applies `connector.collector.settle_for_sync()`, as `tierdesk worker`
does once built; the fake helpdesk's tickets are frozen with the rest (they stand for the
helpdesk's memory, not the worker's, and would otherwise be walked by every full collection).

`--pg URL` runs everything on a PostgreSQL database the bench creates on that server and drops
afterwards (URL of an existing database to connect to, e.g. `postgresql+psycopg://postgres@127.0.0.1/test`).

    .venv/bin/python bench/cycle.py [--sizes 1000 100000] [--db URL | --pg URL]
        [--changed 10 100 1000 10000] [--repeat 7]

Targets: the idle cycle at 100,000 tickets costs under 2x the one at 1,000; a changed ticket
costs at most 1 ms of CPU per cycle at 100,000 open tickets.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import shutil
import statistics
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from ruamel.yaml import YAML
from sqlalchemy.pool import NullPool

from connector.bootstrap import App, build_app
from connector.clock import FixedClock
from connector.collector import settle_for_sync
from connector.domain.model import Event, EventKind, Organization, Priority, Status, Ticket
from connector.domain.policy import ActionKind
from connector.domain.results import Action
from connector.fakes import FakeHelpdesk
from connector.ports import ActionResult, Outcome, TicketRecord

ROOT = Path(__file__).resolve().parents[1]
CONNECTION = "zendesk-main"
NOW = datetime(2026, 3, 4, 10, 0, tzinfo=UTC)  # a Wednesday morning
ORGS = (
    Organization("1", "Acme", tags=frozenset({"enterprise"})),
    Organization("2", "Initech", tags=frozenset({"priority"})),
    Organization("3", "Hooli", tags=frozenset({"standard"})),
)


def _mappings(target: Path) -> Path:
    shutil.copytree(ROOT / "mappings", target)
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


def _tickets(count: int, rng: random.Random) -> Iterator[TicketRecord]:
    """Open tickets created over the last 10 days, a third answered by an agent."""
    for n in range(count):
        created = NOW - timedelta(seconds=rng.randrange(3600, 10 * 86400))
        events = [
            Event(f"{n}:c", created, EventKind.CREATED, status=Status.NEW, author_id="c"),
            Event(f"{n}:m", created, EventKind.PUBLIC_CUSTOMER_COMMENT, author_id="c"),
        ]
        status = Status.NEW
        if n % 3 == 0:
            events.append(
                Event(f"{n}:r", created + timedelta(minutes=30), EventKind.PUBLIC_AGENT_REPLY, author_id="a")
            )
            events.append(
                Event(f"{n}:s", created + timedelta(minutes=30), EventKind.STATUS_CHANGE, status=Status.OPEN)
            )
            status = Status.OPEN
        ticket = Ticket(
            connection=CONNECTION,
            id=str(100000 + n),
            created_at=created,
            updated_at=max(e.at for e in events),
            status=status,
            subject=f"Ticket {n}",
            requester_id="c",
            organization=ORGS[n % len(ORGS)],
        )
        yield TicketRecord(ticket, tuple(events))


@dataclass
class Counted:
    """SQL statements counted while `listening` (the listeners cost CPU of their own: the changed
    sweep times its cycles without them)."""

    statements: int = 0
    rows_written: int = 0
    sent: int = 0  # statements handed to the driver (`before_cursor_execute`)

    def _before(self, conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool) -> None:
        self.sent += 1

    def _after(self, conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool) -> None:
        self.statements += 1
        if not statement.lstrip().upper().startswith("SELECT"):
            self.rows_written += max(cursor.rowcount, 0)

    @contextlib.contextmanager
    def listening(self, app: App) -> Iterator[None]:
        sa.event.listen(app.store.engine, "before_cursor_execute", self._before)
        sa.event.listen(app.store.engine, "after_cursor_execute", self._after)
        try:
            yield
        finally:
            sa.event.remove(app.store.engine, "before_cursor_execute", self._before)
            sa.event.remove(app.store.engine, "after_cursor_execute", self._after)


@dataclass(frozen=True)
class CycleCost:
    seconds: float
    statements: int
    rows_written: int
    api_calls: int
    evaluated: int
    pushed: int

    def line(self) -> str:
        return (
            f"{self.seconds * 1000:8.1f} ms, {self.statements:4} SQL statements ({self.rows_written} rows "
            f"written), {self.api_calls} API calls, {self.evaluated} tickets evaluated, "
            f"{self.pushed} actions pushed"
        )


def _seed(app: App, helpdesk: FakeHelpdesk, count: int) -> float:
    """Pull `count` tickets through the sync (1,000 per page, each evaluated), then record the
    planned write-back as applied, as if pushed."""
    started = time.perf_counter()
    rng = random.Random(count)
    page: list[TicketRecord] = []
    for record in _tickets(count, rng):
        page.append(record)
        if len(page) == 1000:
            helpdesk.queue_page(page)
            page = []
    if page:
        helpdesk.queue_page(page)
    app.service.pull(CONNECTION)
    app.service.evaluate_due()
    while items := app.store.pending_actions(CONNECTION, limit=50_000):
        app.store.record_results([ActionResult(item.action.key, Outcome.APPLIED) for item in items])
        _show_applied(helpdesk, [item.action for item in items])
    return time.perf_counter() - started


def _show_applied(helpdesk: FakeHelpdesk, actions: list[Action]) -> None:
    """The fake helpdesk's tickets as a helpdesk shows them after the write-back: tags, priority
    and fields as written (what a later pull of a changed ticket carries, and plans against)."""
    for action in actions:
        record = helpdesk.tickets.get(action.ticket_id)
        if record is None:
            continue
        ticket = record.ticket
        if action.kind is ActionKind.ADD_TAGS:
            ticket = replace(ticket, tags=ticket.tags | set(action.values))
        elif action.kind is ActionKind.REMOVE_TAGS:
            ticket = replace(ticket, tags=ticket.tags - set(action.values))
        elif action.kind is ActionKind.SET_PRIORITY and action.value:
            ticket = replace(ticket, priority=Priority(action.value))
        elif action.kind is ActionKind.SET_FIELD and action.field:
            ticket = replace(ticket, fields={**ticket.fields, action.field: action.value or ""})
        else:
            continue
        helpdesk.tickets[action.ticket_id] = TicketRecord(ticket, record.events)


def _timed_cycle(app: App, counted: Counted, helpdesk: FakeHelpdesk) -> CycleCost:
    statements, rows, calls, pushed = (
        counted.statements,
        counted.rows_written,
        helpdesk.api_calls,
        len(helpdesk.pushed),
    )
    with counted.listening(app):
        started = time.perf_counter()
        report = app.service.run_cycle()
        took = time.perf_counter() - started
    return CycleCost(
        seconds=took,
        statements=counted.statements - statements,
        rows_written=counted.rows_written - rows,
        api_calls=helpdesk.api_calls - calls,
        evaluated=report.evaluated,
        pushed=len(helpdesk.pushed) - pushed,
    )


@dataclass(frozen=True)
class ChangedCost:
    changed: int
    cpu_seconds: list[float]  # per timed cycle
    wall_seconds: list[float]
    statements: int
    evaluated: int
    pushed: int

    def line(self) -> str:
        per = max(self.changed, 1)
        cpu = statistics.median(self.cpu_seconds)
        spread = f"{min(self.cpu_seconds) * 1000 / per:.3f}-{max(self.cpu_seconds) * 1000 / per:.3f}"
        return (
            f"{self.changed:>6,} changed: {cpu * 1000 / per:6.3f} ms CPU per changed ticket "
            f"(median of {len(self.cpu_seconds)} cycles, {spread}; {cpu * 1000:8.1f} ms CPU, "
            f"{statistics.median(self.wall_seconds) * 1000:8.1f} ms wall per cycle), "
            f"{self.statements / per:6.3f} SQL statements per changed ticket ({self.statements}), "
            f"{self.evaluated} evaluated, {self.pushed} actions pushed"
        )


def _changed_records(helpdesk: FakeHelpdesk, ids: list[str], at: datetime, tag: str) -> list[TicketRecord]:
    """The stored tickets `ids` as the helpdesk shows them after a customer commented at `at`."""
    changed = []
    for ticket_id in ids:
        record = helpdesk.tickets[ticket_id]
        comment = Event(f"{ticket_id}:{tag}", at, EventKind.PUBLIC_CUSTOMER_COMMENT, author_id="c")
        changed.append(TicketRecord(replace(record.ticket, updated_at=at), (*record.events, comment)))
    return changed


def _changed_sweep(
    app: App,
    counted: Counted,
    helpdesk: FakeHelpdesk,
    clock: FixedClock,
    size: int,
    counts: list[int],
    repeat: int,
) -> list[ChangedCost]:
    """Per count in `counts`: `repeat` timed cycles in which that many tickets changed (a fresh
    sample each time), then one more with the SQL statements counted. The timed cycles run without
    the counting listeners (a worker has none), so their CPU is the worker's."""
    rng = random.Random(size + 1)
    ids = sorted(helpdesk.tickets)
    costs = []
    minute = 0

    def customers_comment(count: int) -> None:
        """A minute later, `count` customers comment (their tickets wait in the helpdesk's pull)."""
        nonlocal minute
        minute += 1
        at = NOW + timedelta(minutes=5 + minute)
        clock.set(at)
        app.service.run_cycle()  # what came due before the comments is not the changed tickets' cost
        records = _changed_records(helpdesk, rng.sample(ids, min(count, len(ids))), at, f"sweep{minute}")
        for start in range(0, len(records), 1000):
            helpdesk.queue_page(records[start : start + 1000])

    for count in counts:
        cpu_seconds, wall_seconds = [], []
        for _ in range(repeat):
            customers_comment(count)
            cpu, wall = time.process_time(), time.perf_counter()
            app.service.run_cycle()
            cpu_seconds.append(time.process_time() - cpu)
            wall_seconds.append(time.perf_counter() - wall)
        customers_comment(count)
        with counted.listening(app):
            sent, pushed = counted.sent, len(helpdesk.pushed)
            report = app.service.run_cycle()
            statements = counted.sent - sent
        costs.append(
            ChangedCost(
                changed=report.changed,
                cpu_seconds=cpu_seconds,
                wall_seconds=wall_seconds,
                statements=statements,
                evaluated=report.evaluated,
                pushed=len(helpdesk.pushed) - pushed,
            )
        )
    return costs


def _summary_cost(app: App, rounds: int = 5) -> str:
    """CPU of what a cycle's summary reads from the store: the counts over the whole outbox
    (skipped and withdrawn by reason, rows per status) against the running tally and the count of
    the queue's index that replaced them."""
    store = app.store
    rows = sum(store.outbox_counts().values())
    cpu = time.process_time()
    for _ in range(rounds):
        store.outbox_reasons(("skipped", "withdrawn"))
        store.outbox_counts()
    grouped = (time.process_time() - cpu) / rounds
    wall = time.perf_counter()
    cpu = time.process_time()
    for _ in range(rounds):
        store.unsent_tally()
        store.queued_count()
    running = (time.process_time() - cpu) / rounds
    running_wall = (time.perf_counter() - wall) / rounds
    return (
        f"cycle summary reads at {rows:,} outbox rows: GROUP BY over the outbox {grouped * 1000:.1f} ms CPU "
        f"per take, running tally + queue count {running * 1000:.2f} ms CPU ({running_wall * 1000:.2f} ms wall)"
    )


@contextlib.contextmanager
def _pg_database(server: str) -> Iterator[str]:
    """A fresh PostgreSQL database on `server`, dropped afterwards."""
    base = sa.make_url(server)
    name = f"tierdesk_cycle_bench_{os.getpid()}"
    admin = sa.create_engine(base, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 100_000])
    parser.add_argument(
        "--db", help="an empty store URL, for one size per run (default: a fresh SQLite file per size)"
    )
    parser.add_argument("--pg", help="a PostgreSQL server URL: each size runs on a database created there")
    parser.add_argument("--rounds", type=int, default=20, help="idle cycles timed per size (best is kept)")
    parser.add_argument(
        "--changed", type=int, nargs="*", default=[], help="changed-ticket sweep on the largest size"
    )
    parser.add_argument(
        "--repeat", type=int, default=7, help="timed cycles per changed count (the median is shown)"
    )
    args = parser.parse_args()
    import structlog

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(30))  # warnings and up
    work = Path(tempfile.mkdtemp(prefix="tierdesk-cycle-"))
    mappings = _mappings(work / "mappings")
    idle: dict[int, float] = {}
    for size in args.sizes:
        with contextlib.ExitStack() as stack:
            if args.pg:
                db = stack.enter_context(_pg_database(args.pg))
            else:
                db = args.db or f"sqlite:///{work / f't{size}.db'}"
            helpdesk = FakeHelpdesk(CONNECTION)
            clock = FixedClock(NOW)
            app = build_app(mappings, db, clock=clock, helpdesks={CONNECTION: helpdesk})
            stack.callback(app.close)
            seeded = _seed(app, helpdesk, size)
            # as `tierdesk worker` does once built; here after seeding, so the fake helpdesk's
            # tickets (the helpdesk's memory, not the worker's) are frozen with the rest
            settle_for_sync()
            counted = Counted()
            best = min(
                (_timed_cycle(app, counted, helpdesk) for _ in range(args.rounds)), key=lambda c: c.seconds
            )
            idle[size] = best.seconds
            clock.set(NOW + timedelta(minutes=1))
            later = _timed_cycle(app, counted, helpdesk)
            print(f"{size:>7,} open tickets on {app.store.dialect} (seeded and caught up in {seeded:.1f} s)")
            print(f"   idle cycle:     {best.line()}")
            print(f"   a minute later: {later.line()} (deadlines of that minute came due)")
            if args.changed and size == max(args.sizes):
                for cost in _changed_sweep(app, counted, helpdesk, clock, size, args.changed, args.repeat):
                    print(f"   {cost.line()}")
            print(f"   {_summary_cost(app)}")
    if len(idle) >= 2:
        small, large = min(idle), max(idle)
        ratio = idle[large] / idle[small]
        print(
            f"idle cycle at {large:,} vs {small:,}: {ratio:.2f}x (target under 2x: {'met' if ratio < 2 else 'NOT met'})"
        )
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
