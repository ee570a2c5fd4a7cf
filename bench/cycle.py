"""Cost of one sync cycle when nothing changed, at 1,000 and at 100,000 open tickets.

The store (SQLite file by default, or `--db URL`) is seeded through the Store API with open tickets
of every tier, evaluated under the example mappings and with their write-back applied, so it is in
the steady state of a worker that has caught up. The helpdesk is `connector.fakes.FakeHelpdesk`:
its pull answers "nothing changed". Two cycles are timed per size:

- idle: the same instant as the last evaluation (nothing changed, nothing came due);
- a minute later: nothing changed, but the deadlines of that minute came due (this work grows
  with the number of tickets whose thresholds fall in the minute, not with the ticket count).

Figures: wall time, SQL statements (and rows they wrote), helpdesk API calls, tickets evaluated,
actions pushed.

    .venv/bin/python bench/cycle.py [--sizes 1000 100000] [--db URL]

Target (issue #5): the idle cycle at 100,000 tickets costs under 2x the one at 1,000.
"""

from __future__ import annotations

import argparse
import random
import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from ruamel.yaml import YAML

from connector.bootstrap import App, build_app
from connector.clock import FixedClock
from connector.domain.model import Event, EventKind, Organization, Status, Ticket
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
    statements: int = 0
    rows_written: int = 0


def _count_sql(app: App) -> Counted:
    counted = Counted()

    def after(conn: Any, cursor: Any, statement: str, params: Any, context: Any, executemany: bool) -> None:
        counted.statements += 1
        if not statement.lstrip().upper().startswith("SELECT"):
            counted.rows_written += max(cursor.rowcount, 0)

    sa.event.listen(app.store.engine, "after_cursor_execute", after)
    return counted


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
    return time.perf_counter() - started


def _timed_cycle(app: App, counted: Counted, helpdesk: FakeHelpdesk) -> CycleCost:
    statements, rows, calls, pushed = (
        counted.statements,
        counted.rows_written,
        helpdesk.api_calls,
        len(helpdesk.pushed),
    )
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 100_000])
    parser.add_argument(
        "--db", help="an empty store URL, for one size per run (default: a fresh SQLite file per size)"
    )
    parser.add_argument("--rounds", type=int, default=20, help="idle cycles timed per size (best is kept)")
    args = parser.parse_args()
    import structlog

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(30))  # warnings and up
    work = Path(tempfile.mkdtemp(prefix="tierdesk-cycle-"))
    mappings = _mappings(work / "mappings")
    idle: dict[int, float] = {}
    for size in args.sizes:
        db = args.db or f"sqlite:///{work / f't{size}.db'}"
        helpdesk = FakeHelpdesk(CONNECTION)
        clock = FixedClock(NOW)
        app = build_app(mappings, db, clock=clock, helpdesks={CONNECTION: helpdesk})
        try:
            seeded = _seed(app, helpdesk, size)
            counted = _count_sql(app)
            best = min(
                (_timed_cycle(app, counted, helpdesk) for _ in range(args.rounds)), key=lambda c: c.seconds
            )
            idle[size] = best.seconds
            clock.set(NOW + timedelta(minutes=1))
            later = _timed_cycle(app, counted, helpdesk)
        finally:
            app.close()
        print(f"{size:>7,} open tickets (seeded and caught up in {seeded:.1f} s)")
        print(f"   idle cycle:     {best.line()}")
        print(f"   a minute later: {later.line()} (deadlines of that minute came due)")
    if len(idle) >= 2:
        small, large = min(idle), max(idle)
        ratio = idle[large] / idle[small]
        print(
            f"idle cycle at {large:,} vs {small:,}: {ratio:.2f}x (target under 2x: {'met' if ratio < 2 else 'NOT met'})"
        )
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
