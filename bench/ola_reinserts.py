"""What a re-evaluation of tickets whose group holds are already settled costs the store: before,
every ended hold was sent to `ola_hold` again (each ignored as a duplicate); now the keys of the
settled holds come with the tickets' other stored state (`Store.load_tickets`) and only new holds
are inserted.

Run: ``.venv/bin/python bench/ola_reinserts.py``. SQLite file in a temporary directory. Figures are
CPU time of this process (``time.process_time``), not wall time, so a loaded machine does not
inflate them; peak RSS from ``resource.getrusage``.
"""

from __future__ import annotations

import resource
import sys
import tempfile
import time
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from connector.domain.group_clocks import Ola
from connector.mappings import load_policy
from connector.ola_clocks import ended_holds
from connector.ports import TicketRecord
from connector.store import ola_record
from connector.store.repository import Store

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the moved tickets of holidays_olas.py

from holidays_olas import START, moved_ticket

TICKETS, MOVES, ROUNDS = 500, 20, 5
CONNECTION = "zendesk-main"  # the example mappings' Zendesk connection: tier-2 is group "38000000002"


def main() -> None:
    base = load_policy(Path(__file__).resolve().parents[1] / "mappings")
    policy = replace(base, olas={"tier-2": Ola("tier-2", timedelta(hours=4), "berlin-office")})
    now = START + timedelta(days=5)
    records = []
    for index in range(TICKETS):
        ticket, events = moved_ticket(index, MOVES)
        events = [
            replace(e, value="38000000002" if e.value == "2" else "38000000001", previous=None)
            for e in events
        ]
        records.append(TicketRecord(ticket=replace(ticket, connection=CONNECTION), events=tuple(events)))
    with tempfile.TemporaryDirectory() as directory:
        store = Store.open(f"sqlite:///{directory}/bench.db")
        try:
            store.save_pull_page(CONNECTION, records, None, now=now)
            ids = [r.ticket.id for r in records]
            loaded = store.load_tickets(CONNECTION, ids)
            ended = [
                h
                for i in ids
                for h in ended_holds(CONNECTION, loaded[i].ticket, loaded[i].events, policy, now)
            ]
            store.record_ola_holds(ended, policy.version, now)  # the first evaluation settles them

            began = time.process_time()
            for _ in range(ROUNDS):
                store.record_ola_holds(ended, policy.version, now)  # what every re-evaluation sent
            resend = (time.process_time() - began) / ROUNDS

            began = time.process_time()
            for _ in range(ROUNDS):
                with store.engine.connect() as db:
                    ola_record.hold_keys_of(db, CONNECTION, ids)
            keys = (time.process_time() - began) / ROUNDS

            began = time.process_time()
            for _ in range(ROUNDS):
                loaded = store.load_tickets(CONNECTION, ids)
                new = [
                    h
                    for i in ids
                    for h in ended_holds(CONNECTION, loaded[i].ticket, loaded[i].events, policy, now)
                    if (h[2].group_id, h[2].started_at) not in loaded[i].settled_holds
                ]
            load_and_filter = (time.process_time() - began) / ROUNDS
        finally:
            store.close()
    print(
        f"{TICKETS} tickets x {MOVES} group moves, {len(ended)} settled holds, re-evaluated:\n"
        f"  before: {len(ended)} rows sent to ola_hold per re-evaluation (all ignored), "
        f"{resend * 1000:.0f} ms CPU\n"
        f"  now: {len(new)} rows sent; reading the settled keys with the tickets costs "
        f"{keys * 1000:.0f} ms CPU (the whole load + hold measurement + filter: "
        f"{load_and_filter * 1000:.0f} ms)"
    )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS {peak:.0f} MB")


if __name__ == "__main__":
    main()
