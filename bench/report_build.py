"""CPU time and peak memory of the SLA reports on a generated six-month history.

Run: ``.venv/bin/python bench/report_build.py [--tickets-per-month 2000]``. Tickets of the example
organizations (Acme Corp is the `acme` account) are stored and evaluated through the store API, as
the worker does, on a SQLite file; then each report is built a few times and the best CPU time
(process time, not wall time: the machine may be shared) is printed with the process's peak RSS.
"""

from __future__ import annotations

import argparse
import random
import resource
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from connector.domain.accounts import account_index
from connector.domain.engine import evaluate
from connector.domain.model import Event, EventKind, Organization, Status, Ticket
from connector.mappings import load_policy
from connector.ports import TicketRecord
from connector.report.account_html import render_account_html
from connector.report.account_report import build_account_report, find_account
from connector.report.csv_export import write_csv_tables
from connector.report.html import render_html
from connector.report.pdf import pdf_engine_problem, render_pdf
from connector.report.report import build_report
from connector.store.repository import Store

CONNECTION = "zendesk-main"
FIRST_MONTH = datetime(2026, 6, 1, tzinfo=UTC)
NOW = datetime(2026, 12, 1, tzinfo=UTC)
ORGANIZATIONS = (
    Organization(id="77", name="Acme Corp", external_id="crm-1001"),
    Organization(id="78", name="Initech", external_id="crm-2001"),
    Organization(id="79", name="Globex"),
)


def seed(store: Store, per_month: int) -> int:
    policy = load_policy(Path("mappings"))
    rng = random.Random(7)
    span = (NOW - FIRST_MONTH).total_seconds()
    count = per_month * 6
    batch: list[tuple[Ticket, list[Event]]] = []
    for number in range(count):
        created = FIRST_MONTH + timedelta(seconds=rng.uniform(0, span - 7 * 86400))
        events = [Event(id="created", at=created, kind=EventKind.CREATED)]
        events.append(
            Event(
                id="reply",
                at=created + timedelta(minutes=rng.expovariate(1 / 180)),
                kind=EventKind.PUBLIC_AGENT_REPLY,
            )
        )
        solved = rng.random() < 0.9
        if solved:
            at = created + timedelta(hours=rng.expovariate(1 / 30))
            events.append(Event(id="solved", at=at, kind=EventKind.STATUS_CHANGE, status=Status.SOLVED))
        ticket = Ticket(
            connection=CONNECTION,
            id=str(number + 1),
            created_at=created,
            updated_at=max(e.at for e in events),
            status=Status.SOLVED if solved else Status.OPEN,
            subject=f"Ticket {number + 1}",
            organization=ORGANIZATIONS[number % len(ORGANIZATIONS)],
            group_id=f"g{number % 4}",
            assignee_id=f"a{number % 17}",
        )
        batch.append((ticket, events))
        if len(batch) == 500 or number == count - 1:
            store.save_pull_page(CONNECTION, [TicketRecord(t, tuple(e)) for t, e in batch], None, now=NOW)
            store.record_evaluations([(evaluate(t, e, policy, NOW), ()) for t, e in batch])
            batch = []
    return count


def best_cpu(run: Callable[[], object], rounds: int = 3) -> float:
    best = float("inf")
    for _ in range(rounds):
        started = time.process_time()
        run()
        best = min(best, time.process_time() - started)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tickets-per-month", type=int, default=2000)
    args = parser.parse_args()
    policy = load_policy(Path("mappings"))
    with tempfile.TemporaryDirectory() as directory:
        store = Store.open(f"sqlite:///{directory}/bench.db")
        tickets = seed(store, args.tickets_per_month)
        account = find_account(policy, "acme")
        assert account is not None
        account_index(policy)
        month = dict(start=datetime(2026, 11, 1, tzinfo=UTC), end=NOW, now=NOW)
        print(f"{tickets} tickets over 6 months on SQLite ({args.tickets_per_month} a month)")
        figures = {
            "global report, 1 month, no trend (trend_months=1)": lambda: build_report(
                store, policy, trend_months=1, **month
            ),
            "global report, 1 month, 6-month trend": lambda: build_report(store, policy, **month),
            "  + render HTML": lambda: render_html(build_report(store, policy, **month)),
            "  + write CSV tables": lambda: write_csv_tables(
                build_report(store, policy, **month), Path(directory) / "csv"
            ),
            "account report (acme, 2026-11)": lambda: build_account_report(
                store, policy, account, month="2026-11", zone=UTC, now=NOW
            ),
        }
        if pdf_engine_problem() is None:
            report = build_account_report(store, policy, account, month="2026-11", zone=UTC, now=NOW)
            figures["account report HTML -> PDF (WeasyPrint)"] = lambda: render_pdf(
                render_account_html(report)
            )
        for name, run in figures.items():
            print(f"{name:<52} {best_cpu(run) * 1000:8.0f} ms CPU")
        store.close()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS {peak:.0f} MB")


if __name__ == "__main__":
    main()
