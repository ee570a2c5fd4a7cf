"""Every seam of tierdesk in one place, with its contract.

Adapters: `plugins/<helpdesk>/client.py` implement `Helpdesk`; `connector/store` implements `Store`;
`connector.fakes` holds in-memory fakes used by tests and the demo.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from connector.domain.model import Event, Ticket
from connector.domain.results import Action


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware."""


@dataclass(frozen=True, slots=True)
class TicketRecord:
    """One pulled ticket: its current state and every event the helpdesk has for it so far
    (plugins may return only new events; the store merges by `Event.id`)."""

    ticket: Ticket
    events: tuple[Event, ...]


@dataclass(frozen=True, slots=True)
class SkippedRecord:
    """A vendor record that could not be normalised (malformed) or is gone (deleted)."""

    ticket_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class PullPage:
    """One page of an incremental pull.

    `cursor` is an opaque string the adapter understands; the sync stores it in the same
    transaction as the page's tickets, so a restart resumes right after the last stored page.
    `done` is True when the helpdesk has nothing newer right now.
    """

    records: tuple[TicketRecord, ...]
    cursor: str | None
    done: bool
    skipped: tuple[SkippedRecord, ...] = ()


class Outcome(StrEnum):
    APPLIED = "applied"
    ALREADY_APPLIED = "already_applied"  # e.g. a note whose marker was found on the ticket
    RETRY = "retry"  # transient (429/5xx/timeout after retries): keep in outbox, try next cycle
    CONFLICT = "conflict"  # the ticket changed under us (409): re-read and re-plan
    FAILED = "failed"  # permanent (4xx): recorded with the message, never retried


@dataclass(frozen=True, slots=True)
class ActionResult:
    key: str
    outcome: Outcome
    message: str = ""


class Helpdesk(Protocol):
    """A helpdesk connection (Zendesk, Jira ...).

    Contract:
    - `pull(cursor)` yields pages of tickets changed since `cursor` (None = from `since`), in order,
      never skipping a change; a change may be seen twice (the store de-duplicates on
      (ticket id, updated_at) and event ids).
    - `push(actions)` applies actions grouped per ticket with as few calls as the API allows and
      returns exactly one `ActionResult` per action. It retries transient errors itself (one
      tenacity layer, honouring Retry-After) within a bounded budget; what still fails is RETRY.
      Before re-sending a note whose previous send was uncertain, it looks for the note's marker on
      the ticket and answers ALREADY_APPLIED if found. It never replaces tags (add/remove only),
      never lowers priority, never posts anything public.
    - `fetch(ticket_ids)` re-reads tickets (after a conflict).
    - `api_calls` counts HTTP requests made, for the cycle summary and benchmarks.
    """

    name: str
    kind: str

    def pull(self, cursor: str | None, since: datetime | None = None) -> Iterator[PullPage]: ...

    def push(self, actions: Sequence[Action], uncertain: frozenset[str] = frozenset()) -> list[ActionResult]:
        """`uncertain` holds keys of actions whose earlier send may have happened."""
        ...

    def fetch(self, ticket_ids: Sequence[str]) -> list[TicketRecord]: ...

    @property
    def api_calls(self) -> int: ...


@dataclass(frozen=True, slots=True)
class OutboxItem:
    action: Action
    attempts: int = 0
    uncertain: bool = False  # a send was started and its outcome is unknown (crash, timeout)


@dataclass(slots=True)
class CycleStats:
    pulled: int = 0
    changed: int = 0
    pushed: int = 0
    failed: int = 0
    api_calls: int = 0
    extra: dict[str, int] = field(default_factory=dict)


class SecretSource(Protocol):
    def get(self, name: str) -> str | None:
        """The secret named `name` (environment variable or `<name>_FILE` file), or None."""


HelpdeskFactory = Mapping[str, type]
