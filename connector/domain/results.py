"""What the engine computes for one ticket: decisions, clocks, crossings and the write-back plan."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from connector.domain.policy import ActionKind, Metric


class ClockState(StrEnum):
    RUNNING = "running"
    PAUSED = "paused"
    MET = "met"  # stopped within target
    BREACHED = "breached"  # past target (still running, paused, or stopped late)


@dataclass(frozen=True, slots=True)
class Decision:
    """A tier or severity, with the rule that chose it (`rule` None = the default applied)."""

    value: str
    rule: str | None
    source: str = ""
    unmatched: bool = False
    calendar: str | None = None  # a customer rule's calendar override (the customer's time zone)


@dataclass(frozen=True, slots=True)
class Span:
    start: datetime
    end: datetime | None  # None = still open at `now`


@dataclass(frozen=True, slots=True)
class SlaClock:
    metric: Metric
    cycle: int  # 0-based; next_response / periodic_update / restarted resolution have several
    started_at: datetime
    stopped_at: datetime | None
    target: timedelta
    elapsed: timedelta  # business time counted (pauses excluded) up to stop or `now`
    paused_spans: tuple[Span, ...]
    due_at: datetime | None  # breach instant; None while paused and not yet breached
    breached_at: datetime | None
    state: ClockState
    calendar: str

    @property
    def remaining(self) -> timedelta:
        return self.target - self.elapsed


@dataclass(frozen=True, slots=True)
class Crossing:
    """A threshold of a clock cycle that was reached at `at` (at or before `now`)."""

    metric: Metric
    cycle: int
    threshold: str
    at: datetime
    is_breach: bool
    level: int | None  # index of the escalation level it triggers, if any
    offset: timedelta = timedelta(0)  # business time from the cycle's start to the threshold


@dataclass(frozen=True, slots=True)
class Action:
    """One write-back step with its deterministic idempotency key.

    Kinds and payloads: ADD_TAGS / REMOVE_TAGS / ADD_FOLLOWERS -> `values`; SET_PRIORITY,
    ASSIGN_GROUP, ASSIGN_ASSIGNEE -> `value`; SET_FIELD -> `field` (logical name) + `value`;
    ADD_NOTE -> `value` (body) + `marker` (a short token the plugin embeds invisibly so an uncertain
    send can be looked up on the ticket before resending); SET_PROPERTY -> `field` (property key) +
    `value` (JSON), used by helpdesks with issue properties (Jira) for the issue panel, a no-op
    answered APPLIED elsewhere.

    `superseded` notes belong to a threshold that a later threshold of the same cycle has already
    passed at evaluation time; the sync records them as skipped instead of posting stale warnings.
    """

    key: str
    connection: str
    ticket_id: str
    kind: ActionKind
    value: str | None = None
    values: tuple[str, ...] = ()
    field: str | None = None
    marker: str | None = None
    reason: str = ""
    superseded: bool = False
    basis: datetime | None = None  # the ticket's updated_at the diff was planned against
    at: datetime | None = None  # for escalation steps: the instant their threshold was crossed


@dataclass(frozen=True, slots=True)
class Evaluation:
    ticket_key: str
    policy_version: str
    now: datetime
    tier: Decision
    severity: Decision
    clocks: tuple[SlaClock, ...]
    crossings: tuple[Crossing, ...]
    actions: tuple[Action, ...]
    desired_tags: frozenset[str]
    desired_fields: Mapping[str, str] = field(default_factory=dict)
    next_deadline: datetime | None = None  # next future threshold instant of any running clock
