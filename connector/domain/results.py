"""What the engine computes for one ticket: decisions, clocks, crossings and the write-back plan."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, TypeVar, cast

from connector.domain.policy import ActionKind, Metric

if TYPE_CHECKING:
    from connector.domain.record import SettledOutcome


class ClockState(StrEnum):
    RUNNING = "running"
    PAUSED = "paused"
    MET = "met"  # stopped within target
    BREACHED = "breached"  # past target (still running, paused, or stopped late)
    EXEMPT = "exempt"  # not measured: a manual exemption held before the cycle was decided


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
    # what besides status and calendar shaped the clock (a target from a field, a manual exemption
    # or pause with its reason), for `tierdesk explain`; "" for none
    condition: str = ""

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
    crossing: str | None = None  # for escalation steps: the crossing they answer (`crossing_ref`)


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
    # cycles decided on this view and not settled before: the caller records them
    decided: tuple[SettledOutcome, ...] = ()

    @property
    def crossing_refs(self) -> frozenset[str]:
        """`crossing_ref` of every threshold reached, running and stopped clocks alike, and the
        arrival of the ticket in its tier (`arrival_ref`: routing on arrival answers it)."""
        refs = {crossing_ref(c.metric, c.cycle, c.threshold) for c in self.crossings}
        refs.add(arrival_ref(self.tier.value))
        return frozenset(refs)


def arrival_ref(tier: str) -> str:
    """How an on-arrival step names what it answers: the ticket got tier `tier`."""
    return f"arrival:{tier}"


def crossing_ref(metric: Metric, cycle: int, threshold: str) -> str:
    """How an escalation step names the crossing it answers: `<metric>:<cycle>:<threshold>`."""
    return f"{metric.value}:{cycle}:{threshold}"


# ------------------------------------------------------------------------- fast construction

_T = TypeVar("_T")


def fast_constructor(cls: type[_T]) -> type[_T]:
    """A constructor for the frozen, slotted dataclass `cls` taking the same arguments, about four
    times faster; for the engine's hot paths, which build a few dozen results per ticket.

    A frozen dataclass's ``__init__`` stores each field through ``object.__setattr__`` (its own
    ``__setattr__`` refuses), a slow call per field. The returned class is a plain (mutable)
    slotted dataclass with the same fields and defaults, whose ``__init__`` stores fields directly;
    ``__post_init__`` then turns the new instance into a `cls` by ``__class__`` assignment, which
    Python allows between classes with identical slots. What the caller gets is an ordinary,
    frozen `cls` instance, equal to (and hashing like) one built by ``cls(...)``.

    Call it only: it is typed as `cls` for argument checking, but is not `cls` (``isinstance``
    against it is always False).
    """

    def __post_init__(self: object) -> None:
        self.__class__ = cls

    own_fields = dataclasses.fields(cls)  # type: ignore[arg-type]
    if "__slots__" not in vars(cls) or any(not f.init for f in own_fields):
        raise TypeError(f"{cls.__name__}: a slotted dataclass whose fields are all __init__ arguments")
    fields = []
    for f in own_fields:
        if f.default is not dataclasses.MISSING:
            spec = dataclasses.field(default=f.default)
        elif f.default_factory is not dataclasses.MISSING:
            spec = dataclasses.field(default_factory=f.default_factory)
        else:
            spec = dataclasses.field()
        fields.append((f.name, f.type, spec))
    builder = dataclasses.make_dataclass(
        f"_Fast{cls.__name__}",
        fields,
        namespace={"__post_init__": __post_init__, "__module__": cls.__module__},
        eq=False,
        repr=False,
        match_args=False,
        slots=True,
    )
    return cast(type[_T], builder)


new_span = fast_constructor(Span)
new_clock = fast_constructor(SlaClock)
new_crossing = fast_constructor(Crossing)
new_action = fast_constructor(Action)
new_evaluation = fast_constructor(Evaluation)
