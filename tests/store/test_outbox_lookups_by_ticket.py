"""Re-evaluating a few tickets reads only their outbox rows, however long the queue is.

Each evaluation looks up the queued rows of its tickets twice (retiring replaced state diffs,
withdrawing escalation steps a fresh view denies), and a ticket the helpdesk no longer shows has
its queued rows failed. On a first sync the queue holds tens of thousands of pending rows: a lookup
that walked the connection's pending rows instead of the tickets' would make every page cost as
much as the queue is long (quadratic over the sync). Counted in SQLite virtual-machine steps (the
progress handler), not in time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from connector.domain.policy import ActionKind
from connector.domain.results import Action
from connector.store.repository import Store
from tests.store.test_store_contract import CONN, T0, evaluation, note, record, ticket
from tests.store.test_store_record import step

STEP_EVERY = 100  # VM instructions per progress-handler call


def _store_with_queue(tmp: Path, queued: int) -> Store:
    """A store whose outbox holds `queued` pending notes of other tickets, plus ten tickets with a
    pending state diff and a pending escalation step each."""
    store = Store.open(f"sqlite:///{tmp / f'q{queued}.db'}")
    others = [f"o{n:06}" for n in range(queued)]
    mine = [f"m{n:02}" for n in range(10)]
    store.save_pull_page(CONN, [record(ticket(i)) for i in others + mine], None, now=T0)
    store.record_evaluations([(evaluation(i), [note(f"{i}:n", i)]) for i in others])
    store.record_evaluations([(evaluation(i), _plan(i)) for i in mine])
    return store


def _plan(ticket_id: str) -> list[Action]:
    tags = Action(f"{ticket_id}:tags", CONN, ticket_id, ActionKind.ADD_TAGS, values=("tier_gold",), basis=T0)
    breach = replace(step(f"{ticket_id}:breach", "first_response:0:breach"), ticket_id=ticket_id)
    return [tags, breach]


def _steps(store: Store, work: Callable[[], object]) -> int:
    """SQLite VM steps (in units of STEP_EVERY) that `work` costs on the store's connections."""
    counted = [0]

    def tick() -> int:
        counted[0] += 1
        return 0

    def attach(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.set_progress_handler(tick, STEP_EVERY)

    sa.event.listen(store.engine, "connect", attach)
    store.engine.dispose()  # new connections get the handler
    work()
    return counted[0]


def _re_evaluate(store: Store) -> Callable[[], object]:
    mine = [f"m{n:02}" for n in range(10)]

    def run() -> None:
        # a newer plan: the tags diff is replaced, the breach step withdrawn (no crossing any more)
        store.record_evaluations([(evaluation(i), []) for i in mine])
        store.fail_queued(CONN, mine, "gone", now=T0)

    return run


def test_re_evaluating_ten_tickets_costs_the_same_with_a_long_queue(tmp_path: Path) -> None:
    short, long = _store_with_queue(tmp_path, 200), _store_with_queue(tmp_path, 20_000)
    try:
        short_steps = _steps(short, _re_evaluate(short))
        long_steps = _steps(long, _re_evaluate(long))
        statuses = long.outbox_statuses([f"m{n:02}:{k}" for n in range(10) for k in ("tags", "breach")])
    finally:
        short.close()
        long.close()

    assert set(statuses.values()) == {"skipped", "withdrawn"}  # the work was done
    # a 100x longer queue: the same lookups (B-tree depth adds a little), not 100x the rows
    assert long_steps < 2 * short_steps, (short_steps, long_steps)
