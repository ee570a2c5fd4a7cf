"""Events that arrive before their ticket wait for it; past a bound they wait in a temporary
SQLite file instead of memory. The real zenpy-based adapter against the emulator over HTTP."""

from __future__ import annotations

import glob
import os
import tempfile
from collections import defaultdict
from collections.abc import Iterator

import pytest
from structlog.testing import capture_logs

from connector.ports import PullPage
from plugins.zendesk.emulator import seed_volume
from plugins.zendesk.testing import Harness, running_emulator
from plugins.zendesk.waiting_events import WaitingEvents

pytestmark = pytest.mark.contract


@pytest.fixture
def harness() -> Iterator[Harness]:
    with running_emulator() as h:
        yield h


def _spill_files() -> set[str]:
    return set(glob.glob(os.path.join(tempfile.gettempdir(), "tierdesk-zendesk-events-*.sqlite")))


def test_events_spilled_before_their_ticket_still_reach_it_across_a_restart(harness: Harness) -> None:
    h = harness
    seed_volume(h.app, 1500, clock=h.app.clock, info=h.info)
    # every ticket changes late: the export brings it long after its comments were read
    agent = h.info.agents[0]
    h.advance(60)
    late = int(h.app.clock.now().timestamp())
    for ticket_id in h.info.ticket_ids:
        h.account.update_ticket(ticket_id, {"additional_tags": ["late"]}, agent, late)
    h.advance(120)
    files_before = _spill_files()

    first = h.connect()
    first.spill_after = 200
    pages: list[PullPage] = []
    with capture_logs() as logs:
        for page in first.pull(None):
            pages.append(page)
            if len(pages) == 1:
                break  # the worker stops; the next one resumes from the stored cursor
        second = h.connect()
        second.spill_after = 200
        pages += list(second.pull(pages[-1].cursor))
    assert pages[-1].done
    assert sum(1 for e in logs if e["event"] == "zendesk.waiting_events_spilled") >= 1
    assert _spill_files() == files_before  # each pull removed its file

    delivered: dict[str, set[str]] = defaultdict(set)
    for page in pages:
        for record in page.records:
            delivered[record.ticket.id] |= {e.id for e in record.events}
    expected = {str(t.id): {f"{c.audit_id}:{c.id}" for c in t.comments} for t in h.account.tickets.values()}
    missing = {tid: ids - delivered[tid] for tid, ids in expected.items() if ids - delivered[tid]}
    assert not missing, f"comments never delivered: {list(missing.items())[:3]}"
    assert len(delivered) == 1500


def test_spilled_events_come_back_per_ticket_in_arrival_order() -> None:
    waiting = WaitingEvents(spill_after=3)
    for n in range(5):
        waiting.add("7", {"id": n, "timestamp": 100 + n})
    waiting.add("8", {"id": 99, "timestamp": 50})
    assert waiting.spilled
    assert waiting.oldest() == 50
    assert sorted(waiting.ticket_ids()) == ["7", "8"]
    taken = waiting.take(["7", "9"])
    assert [e["id"] for e in taken["7"]] == [0, 1, 2, 3, 4]
    assert "9" not in taken
    assert len(waiting) == 1
    assert waiting.take_all() == {"8": [{"id": 99, "timestamp": 50}]}
    waiting.close()
