"""Every seam of tierdesk in one place, with its contract.

Adapters: `plugins/<helpdesk>/client.py` implement `Helpdesk`; `connector/store` implements `Store`;
`connector.fakes` holds in-memory fakes used by tests and the demo.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol

from connector.domain.model import Event, Ticket
from connector.domain.policy import ApplyTo
from connector.domain.record import SettledOutcome
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
    `done` is True when the helpdesk has nothing newer right now. `total`, when the helpdesk
    reports it, is how many tickets the whole pull should return (progress and ETA only).
    """

    records: tuple[TicketRecord, ...]
    cursor: str | None
    done: bool
    skipped: tuple[SkippedRecord, ...] = ()
    total: int | None = None  # tickets the whole pull is expected to return, when the helpdesk says


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
    # RETRY only: the send may have reached the helpdesk (timeout, 5xx); the sync should mark the
    # outbox item uncertain so the next push looks for the note's marker before resending.
    uncertain: bool = False
    # RETRY only: the receiver answered that it did not take the action (e.g. a 500 from a chat
    # webhook): the send is certain not to have landed, so the retry is not an uncertain resend.
    not_sent: bool = False


class Notifier(Protocol):
    """Sends NOTIFY actions (`Action.field` = channel name, `value` = message, `values` =
    recipients) to people outside the helpdesk.

    Contract: a channel's address and credentials are looked up at send time, never stored in the
    action, the outbox or a log line. One result per action, in order: APPLIED when the channel
    accepted the message; RETRY (with `not_sent` when the receiver refused it) for transient
    failures; FAILED when the channel is unknown, unconfigured or rejects the message for good.
    Actions in `uncertain` were being sent when a previous run stopped: chat cannot be read back,
    so a channel that delivers at most once answers them FAILED without sending; one that delivers
    at least once resends them with the same `X-Tierdesk-Key` where its URL carries headers.
    """

    def send(
        self, actions: Sequence[Action], uncertain: frozenset[str] = frozenset()
    ) -> list[ActionResult]: ...


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
    - `fetch(ticket_ids, known)` re-reads tickets, batched (after a conflict, and before pushing to
      a ticket whose stored view is old). `known` maps ticket ids to the `updated_at` already
      stored: a ticket still at that instant may come back without its events (the plugin then
      skips reading its history). Tickets the helpdesk no longer shows are left out.
    - `api_calls` counts HTTP requests made, for the cycle summary and benchmarks.
    """

    name: str
    kind: str
    # True when an update carries the view it was planned on and the helpdesk refuses it once the
    # ticket moved on (Zendesk `safe_update`): state diffs may then go out on an older view. Where
    # False (Jira), every write waits for a view at most `verify_within` old.
    refuses_stale_updates: bool

    def pull(self, cursor: str | None, since: datetime | None = None) -> Iterator[PullPage]: ...

    def push(self, actions: Sequence[Action], uncertain: frozenset[str] = frozenset()) -> list[ActionResult]:
        """`uncertain` holds keys of actions whose earlier send may have happened."""
        ...

    def fetch(
        self, ticket_ids: Sequence[str], known: Mapping[str, datetime] | None = None
    ) -> list[TicketRecord]: ...

    @property
    def api_calls(self) -> int: ...


@dataclass(frozen=True, slots=True)
class DirectoryEntry:
    """One thing a helpdesk account holds that mappings refer to (a field, group, user, status,
    brand, project, organization): its id, its name and, for a dropdown field, its option values."""

    id: str
    name: str
    options: tuple[str, ...] = ()
    detail: str = ""  # e.g. a user's e-mail or a field's type, shown next to the name


class HelpdeskDirectory(Protocol):
    """Read-only look-ups of one helpdesk account, for `tierdesk doctor` and for mappings that name
    fields, groups and people instead of giving their ids (`connector.mappings.references`).

    Every method raises `connector.retry.HelpdeskError`: a `TransientError` without a status when
    the helpdesk cannot be reached, a `PermanentError` with status 401/403 when it refuses the
    credentials."""

    kind: str
    url: str

    def account(self) -> DirectoryEntry:
        """The user the credentials belong to (`detail`: its role)."""

    def missing_permissions(
        self, projects: Sequence[str], escalations: Collection[str]
    ) -> list[tuple[str, str]]:
        """What the user may not do that tierdesk needs, as (problem, fix) pairs; empty when fine.
        `escalations` holds the escalation action kinds used on this connection (`assign_group`,
        `assign_assignee`, `add_followers`, ...): permissions only they need are asked for then."""

    def fields(self) -> list[DirectoryEntry]:
        """Ticket/issue fields, with the option values of dropdown fields."""

    def statuses(self) -> list[DirectoryEntry]:
        """Ticket/issue statuses (names as `status_map` writes them)."""

    def groups(self) -> list[DirectoryEntry]:
        """Groups tickets can be assigned to (empty where the helpdesk has none, e.g. Jira)."""

    def users(self, references: Sequence[str]) -> list[DirectoryEntry]:
        """The users among `references` (ids, e-mail addresses or names) that exist."""

    def brands(self) -> list[DirectoryEntry]:
        """Brands (Zendesk; empty elsewhere)."""

    def projects(self) -> list[DirectoryEntry]:
        """Projects, `id` being the key rules and `projects` use (Jira; empty elsewhere)."""

    def organizations(self) -> list[DirectoryEntry]:
        """Customer organizations (`detail`: the external id, if any)."""

    def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class LoadedTicket:
    """A stored ticket as the engine needs it (`Store.load_tickets`)."""

    ticket: Ticket
    events: tuple[Event, ...]
    seen_at: datetime  # when the helpdesk last showed this snapshot as current
    settled: tuple[SettledOutcome, ...]
    # (group id, started at) of the group holds already settled (`ola_hold`): not inserted again
    settled_holds: frozenset[tuple[str, datetime]] = frozenset()


@dataclass(frozen=True, slots=True)
class StoredActivation:
    """A policy activation as stored, with the version's mappings files (None: not kept, a
    version recorded before versions kept their files)."""

    id: int
    version: str
    seen_at: datetime
    effective_from: datetime
    apply_to: ApplyTo
    files: Mapping[str, str] | None


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


class SeenDeliveries(Protocol):
    """Webhook deliveries accepted so far, for replay protection (`connector.webhooks`). The
    store's implementation is shared by every worker on the database
    (`connector.store.webhook_deliveries`); `connector.webhooks.ReplayGuard` is the in-memory one."""

    def first_delivery(
        self, connection: str, keys: Sequence[str], *, expires_at: datetime, now: datetime
    ) -> bool:
        """Record one delivery of `connection` under every key in `keys` (its signature, the
        vendor's delivery id) until `expires_at`; True when none of the keys was recorded before,
        False for a replay. Two callers racing on one key: exactly one gets True."""


class Leadership(Protocol):
    """Which connections this worker pulls and evaluates when several workers share a database
    (`connector.store.leases`). At most one worker holds a connection at a time."""

    def acquire(self, connection: str) -> bool:
        """Hold the leadership of `connection`, taking it if nobody holds it; True when held."""

    def holds(self, connection: str) -> bool:
        """True when this worker still holds `connection`, checked against the coordinator."""

    def close(self) -> None:
        """Give every leadership up."""


class SecretSource(Protocol):
    def get(self, name: str) -> str | None:
        """The secret named `name` (environment variable or `<name>_FILE` file), or None."""


HelpdeskFactory = Mapping[str, type]


if TYPE_CHECKING:
    from collections.abc import Collection, Iterable
    from contextlib import AbstractContextManager

    from connector.domain.results import Evaluation, SlaClock


class Store(Protocol):
    """Durable state: ticket snapshots and events, clocks, the outbox, pull cursors, the audit log.

    Adapter: `connector.store.repository.Store` (SQLite by default, PostgreSQL by URL).
    Contract:
    - Every method is atomic. Inside `with store.transaction():` the calls made on the same thread
      form one unit of work that commits at the end or, on an exception, leaves nothing behind;
      nested blocks join the outermost. The sync writes a page and its cursor, or clock state and
      outbox rows, this way.
    - Ticket keys are `<connection>:<ticket id>` (`Ticket.key`). Instants are timezone-aware in and
      out (read back in UTC); naive datetimes are refused.
    - An outbox key is queued at most once, ever: re-planning an action whose key is already in the
      outbox (pending, sent, applied, failed or skipped) changes nothing. That is what makes a
      threshold crossing fire once.
    - A push is bracketed by `mark_sending` (committed before the HTTP call) and `record_results`.
      If the process dies in between, the actions are offered again by `pending_actions` with
      `uncertain=True`, so the plugin checks the ticket before resending.
    - The SLA record: a settled outcome (`connector.domain.record.SettledOutcome`) is written once
      per (ticket, metric, cycle start) and never changed; every stored ticket knows when the
      helpdesk last showed its snapshot (`seen_at`), which is how fresh the view is that decisions
      rest on. Policy activations are appended, never edited.
    """

    def transaction(self) -> AbstractContextManager[None]:
        """A unit of work (see the class contract)."""
        ...

    def get_cursor(self, connection: str) -> str | None:
        """The cursor stored by the last `save_pull_page` of `connection`, None before the first."""
        ...

    def save_pull_page(
        self, connection: str, records: Sequence[TicketRecord], cursor: str | None
    ) -> list[str]:
        """Store a pulled page and its cursor atomically; return the keys of tickets that changed.

        A snapshot replaces the stored one only if its `updated_at` is newer; events merge by id.
        A ticket changed if its snapshot was replaced or it gained an event; it then needs
        evaluation (see `tickets_needing_evaluation`) until `record_evaluation` runs for it, so a
        crash after the cursor moved loses no change. `cursor=None` keeps the stored cursor.
        """
        ...

    def forget_tickets(self, connection: str, ticket_ids: Sequence[str]) -> int:
        """Drop tickets deleted in the helpdesk (snapshot, events, clocks); their queued actions
        become skipped. Returns how many were stored."""
        ...

    def load_ticket(self, connection: str, ticket_id: str) -> tuple[Ticket, tuple[Event, ...]] | None:
        """The stored snapshot with every stored event, ordered by time then id; None if unknown."""
        ...

    def load_tickets(self, connection: str, ticket_ids: Sequence[str]) -> Mapping[str, LoadedTicket]:
        """What evaluating these tickets needs, batched: snapshot, events, `seen_at`, settled
        outcomes; unknown ids are left out."""
        ...

    def views(self, connection: str, ticket_ids: Sequence[str]) -> Mapping[str, tuple[datetime, datetime]]:
        """(stored `updated_at`, `seen_at`) of each stored ticket of these."""
        ...

    def mark_seen(self, connection: str, ticket_ids: Sequence[str], at: datetime) -> None:
        """A re-read at `at` showed these tickets exactly as stored."""
        ...

    def iter_open_tickets(self, connection: str | None = None) -> Iterator[Ticket]:
        """Every ticket not solved/closed, by connection then id, without holding a transaction."""
        ...

    def tickets_due_before(self, instant: datetime, connection: str | None = None) -> list[str]:
        """Keys of open tickets whose next deadline (from their last evaluation) is at or before
        `instant`, earliest first."""
        ...

    def earliest_deadline(self, connection: str | None = None) -> datetime | None:
        """The soonest next deadline of any open ticket (when the deadline job should fire)."""
        ...

    def tickets_needing_evaluation(self, policy_version: str, connection: str | None = None) -> list[str]:
        """Keys of tickets changed since their last evaluation (open or not) and of open tickets
        last evaluated under a different policy version. Closed tickets keep the version that
        produced their results."""
        ...

    def record_evaluation(self, evaluation: Evaluation, actions_to_enqueue: Sequence[Action]) -> int:
        """Replace the ticket's clocks, store its next deadline, tier, severity and policy version,
        settle the cycles it decided, withdraw queued escalation steps (not in flight, not
        uncertain) whose crossing it no longer has, with the reason, and queue the actions
        (superseded ones as skipped), all in one transaction. Keys already in the outbox are left
        alone. Returns the number of actions newly queued to send (skipped ones not counted).
        KeyError if the ticket is not stored."""
        ...

    def record_evaluations(self, batch: Sequence[tuple[Evaluation, Sequence[Action]]]) -> int:
        """`record_evaluation` for many tickets at once (a policy change), all or nothing."""
        ...

    def load_clocks(self, connection: str, ticket_id: str) -> tuple[SlaClock, ...]:
        """The clocks written by the ticket's last evaluation, by metric then cycle."""
        ...

    def existing_keys(self, keys: Iterable[str]) -> set[str]:
        """The subset of `keys` present in the outbox, whatever their status."""
        ...

    def outbox_statuses(self, keys: Iterable[str]) -> dict[str, str]:
        """The outbox status of each of `keys` that was ever queued (pending, sending, applied,
        already_applied, failed, skipped)."""
        ...

    def pending_actions(
        self, connection: str, limit: int = 100, tickets: Sequence[str] | None = None
    ) -> list[OutboxItem]:
        """Queued actions of `connection` in planned order (oldest evaluation first), including
        those whose push started but never got an outcome (then `uncertain=True`); with
        `tickets`, only the actions of those tickets."""
        ...

    def mark_sending(self, keys: Collection[str]) -> None:
        """Commit, before pushing, that `keys` are being sent: uncertain, one more attempt.
        Refuses to run inside `transaction()` (the mark must be durable before the HTTP call)."""
        ...

    def record_results(self, results: Sequence[ActionResult]) -> None:
        """Store outcomes and audit them. APPLIED / ALREADY_APPLIED / FAILED are final and clear the
        uncertain flag. RETRY and CONFLICT queue the action again: RETRY keeps it uncertain (and
        makes it so when `ActionResult.uncertain`); CONFLICT clears the flag unless
        `ActionResult.uncertain` says something may have been written. Outcomes for actions that
        are already final are audited only."""
        ...

    def outbox_counts(self, connection: str | None = None) -> dict[str, int]:
        """Outbox rows per status: pending, sending, applied, already_applied, failed, skipped."""
        ...

    def outbox_reasons(self, statuses: Collection[str]) -> dict[tuple[str, str | None], int]:
        """Outbox rows per (status, recorded reason) among `statuses` (None: no reason recorded)."""
        ...

    def queued_count(self) -> int:
        """Outbox rows still to send (pending or sending), every connection."""
        ...

    def unsent_tally(self) -> dict[tuple[str, str | None], int]:
        """Outbox rows this store object ended without sending (skipped, withdrawn) since it was
        opened, per (status, recorded reason); committed ones only, counted as they are written."""
        ...

    def record_policy_version(self, version: str, config: dict[str, Any] | None = None) -> bool:
        """Remember a policy version and its canonical configuration; True the first time."""
        ...

    def record_activation(
        self,
        version: str,
        files: Mapping[str, str],
        *,
        seen_at: datetime,
        effective_from: datetime | None = None,
        apply_to: ApplyTo = ApplyTo.NEW,
    ) -> bool:
        """A worker runs `version` (its mappings files kept): appended as an activation unless it
        is the latest one already; True when appended."""
        ...

    def activations(self) -> Sequence[StoredActivation]:
        """Every activation, oldest first."""
        ...

    def settled_outcomes(self, connection: str, ticket_id: str) -> tuple[SettledOutcome, ...]:
        """The ticket's settled outcomes, by metric then start."""
        ...

    def fail_queued(self, connection: str, ticket_ids: Sequence[str], message: str, *, now: datetime) -> int:
        """Answer every pending action of these tickets FAILED with `message`; returns how many."""
        ...

    def close(self) -> None: ...
