"""In-memory fakes of our ports, for tests, benchmarks and demos (see `connector.ports`)."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime

from connector.domain.results import Action
from connector.ports import ActionResult, Outcome, PullPage, TicketRecord


class FakeHelpdesk:
    """A `Helpdesk` held in memory.

    `pull` hands out the pages queued with `queue_page`, in order, then reports the helpdesk done;
    with nothing queued it answers one empty page (nothing changed). `push` answers APPLIED for
    every action and keeps them in `pushed`. Each `pull`, `push` and `fetch` counts as one API call.
    """

    kind = "fake"
    refuses_stale_updates = False

    def __init__(self, name: str) -> None:
        self.name = name
        self.pushed: list[Action] = []
        self.tickets: dict[str, TicketRecord] = {}
        self._pages: deque[tuple[TicketRecord, ...]] = deque()
        self._served = 0
        self._calls = 0

    @property
    def api_calls(self) -> int:
        return self._calls

    def queue_page(self, records: Iterable[TicketRecord]) -> None:
        page = tuple(records)
        self._pages.append(page)
        for record in page:
            self.tickets[record.ticket.id] = record

    def pull(self, cursor: str | None, since: datetime | None = None) -> Iterator[PullPage]:
        self._calls += 1
        if not self._pages:
            yield PullPage((), cursor or str(self._served), True)
            return
        while self._pages:
            records = self._pages.popleft()
            self._served += 1
            yield PullPage(records, str(self._served), not self._pages)

    def push(self, actions: Sequence[Action], uncertain: frozenset[str] = frozenset()) -> list[ActionResult]:
        self._calls += 1
        self.pushed.extend(actions)
        return [ActionResult(action.key, Outcome.APPLIED) for action in actions]

    def fetch(
        self, ticket_ids: Sequence[str], known: Mapping[str, datetime] | None = None
    ) -> list[TicketRecord]:
        self._calls += 1
        return [self.tickets[ticket_id] for ticket_id in ticket_ids if ticket_id in self.tickets]
