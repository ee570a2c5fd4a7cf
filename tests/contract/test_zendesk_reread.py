"""Re-reading tickets before sending (verify before acting): `fetch(ids, known)` over real HTTP.

A ticket still at the `updated_at` the store knows comes back without its history, read through
one `show_many` per 100 tickets; only tickets that changed cost an audits read each, and their
events are the same as the pull's."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from plugins.zendesk.emulator import seed_volume
from plugins.zendesk.testing import Harness, running_emulator

pytestmark = pytest.mark.contract


@pytest.fixture
def harness() -> Iterator[Harness]:
    with running_emulator() as h:
        yield h


def test_a_re_read_reads_the_history_of_changed_tickets_only(harness: Harness) -> None:
    h = harness
    seed_volume(h.app, 150, clock=h.app.clock, info=h.info)
    h.advance(120)
    helpdesk = h.connect()
    pulled = {r.ticket.id: r for page in helpdesk.pull(None) for r in page.records}
    assert len(pulled) == 150
    changed = sorted(pulled, key=int)[:3]
    h.advance(30)
    for ticket_id in changed:
        change = {"comment": {"body": "Any news?", "public": True}}
        requester = h.account.tickets[int(ticket_id)].requester_id
        h.account.update_ticket(int(ticket_id), change, requester, int(h.app.clock.now().timestamp()))
    known = {ticket_id: record.ticket.updated_at for ticket_id, record in pulled.items()}
    log_mark = len(h.app.log.records())

    records = helpdesk.fetch(sorted(pulled, key=int), known=known)

    calls = [r.path for r in h.app.log.records()[log_mark:]]
    by_id = {r.ticket.id: r for r in records}
    assert sorted(by_id, key=int) == sorted(pulled, key=int)
    assert calls.count("/api/v2/tickets/show_many.json") == 2  # 150 tickets, 100 a call
    assert sorted(p for p in calls if p.endswith("/audits.json")) == sorted(
        f"/api/v2/tickets/{t}/audits.json" for t in changed
    )
    for ticket_id, record in by_id.items():
        if ticket_id in changed:
            assert record.ticket.updated_at > known[ticket_id]
            assert {e.id for e in pulled[ticket_id].events} < {e.id for e in record.events}
        else:
            assert (record.ticket.updated_at, record.events) == (known[ticket_id], ())
