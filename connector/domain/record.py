"""The SLA record: outcomes that later evaluations never change, and policy versions over time.

Settled outcomes
    A clock cycle is *decided* when it is met (stopped within its target) or breached. The engine
    reports a decided cycle as a :class:`SettledOutcome` once the view of the ticket it evaluated
    is at least as new as the deciding instant: a met cycle's stop is an event the helpdesk showed;
    a running clock's breach is a fact only when the helpdesk, read at or after the breach instant,
    showed no stop before it (a view older than that may lack the reply that met it). The caller
    stores the outcomes and passes them back into every later evaluation, which then keeps them:
    met stays met and a breach stays a breach whatever later edits of policy, tier or severity do
    to the targets. A cycle is identified by its metric and start instant, so a settled outcome
    finds its cycle again even when an earlier cycle appears later (a late event).

Policy history
    A mappings edit takes effect from an instant (`effective_from`, by default when a worker first
    runs it). Its targets, warnings, calendars and clock settings apply to clock cycles that start
    from then on; with ``apply_to: running`` also to cycles still running (never to decided ones).
    Older cycles keep the version in effect when they started. Tier and severity rules, escalation
    chains and write-back settings are always those of the running version: who is told what at a
    threshold follows the current configuration.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Final

from connector.domain.clocks import ClockRecord, ClockRule
from connector.domain.formatting import human, iso, iso_us
from connector.domain.policy import ApplyTo, Metric, Policy
from connector.domain.results import ClockState, Evaluation, fast_constructor, new_clock, new_crossing
from connector.domain.timeline import History, to_us

_ONE_US: Final = timedelta(microseconds=1)


@dataclass(frozen=True, slots=True)
class SettledOutcome:
    """How one clock cycle ended (or breached): the record reports and credits read.

    `decided_at` is the stop instant of a met cycle and the breach instant of a breached one.
    `observed_at` is the instant of the helpdesk view that confirmed it. `policy_version` is the
    version whose target the cycle was judged against. `group_id` and `assignee_id` are the
    ticket's on that view (None: unassigned, or settled before tierdesk recorded them).
    """

    metric: Metric
    started_at: datetime
    cycle: int
    state: ClockState  # MET or BREACHED
    decided_at: datetime
    target: timedelta
    elapsed: timedelta  # business time counted until the stop, or the breach if still running then
    stopped_at: datetime | None  # None: the cycle was still running when its breach was settled
    breached_at: datetime | None
    policy_version: str
    tier: str
    severity: str
    calendar: str
    reason: str
    observed_at: datetime
    group_id: str | None = None
    assignee_id: str | None = None

    @property
    def key(self) -> tuple[Metric, datetime]:
        return self.metric, self.started_at


new_outcome = fast_constructor(SettledOutcome)


@dataclass(frozen=True, slots=True)
class Activation:
    """A policy version as it took effect: from `effective_from`, for the cycles `apply_to` says."""

    policy: Policy
    effective_from: datetime
    apply_to: ApplyTo = ApplyTo.NEW
    seen_at: datetime | None = None  # when a worker first ran this version (None: not yet)

    @property
    def version(self) -> str:
        return self.policy.version


class PolicyHistory:
    """The activations of the policy in the order they were made; the last one is running.

    `for_cycle(start)` is the activation whose targets a cycle started at `start` runs on while it
    is not decided: the newest activation that took effect at or before `start`, or that applies to
    running cycles; the oldest when none did (cycles older than every recorded version).
    """

    __slots__ = ("_effective", "_running", "activations", "cache")

    def __init__(self, activations: Sequence[Activation]) -> None:
        if not activations:
            raise ValueError("a policy history needs at least the running version")
        self.activations = tuple(activations)
        self._effective = [to_us(a.effective_from) for a in self.activations]
        self._running = [a.apply_to is ApplyTo.RUNNING for a in self.activations]
        self.cache: dict[object, Any] = {}  # what the engine derives from these versions

    @classmethod
    def single(cls, policy: Policy, effective_from: datetime) -> PolicyHistory:
        return cls([Activation(policy, effective_from)])

    @property
    def current(self) -> Policy:
        return self.activations[-1].policy

    def __len__(self) -> int:
        return len(self.activations)

    def __iter__(self) -> Iterator[Activation]:
        return iter(self.activations)

    def index_for_cycle(self, start_us: int) -> int:
        """Index of the activation that applies to a cycle started at `start_us` (UTC µs)."""
        effective, running = self._effective, self._running
        for index in range(len(effective) - 1, -1, -1):
            if running[index] or effective[index] <= start_us:
                return index
        return 0

    def for_cycle(self, start: datetime) -> Activation:
        return self.activations[self.index_for_cycle(to_us(start))]

    def with_edit(self, activation: Activation) -> PolicyHistory:
        """This history with one more activation (what `tierdesk plan` previews)."""
        return PolicyHistory([*self.activations, activation])


def settled_index(outcomes: Iterable[SettledOutcome]) -> dict[tuple[Metric, int], SettledOutcome]:
    """Settled outcomes by (metric, start instant in UTC µs), as the engine looks them up."""
    return {(o.metric, to_us(o.started_at)): o for o in outcomes}


# ------------------------------------------------------------------ the engine's use of the record


def retarget(rule: ClockRule, target: timedelta) -> ClockRule:
    """`rule` with another target: a settled cycle is measured against the target it was judged by,
    so its thresholds fall where they fell then."""
    marks = tuple(
        replace(mark, offset=offset // _ONE_US, offset_delta=offset)
        for mark, offset in (
            (m, m.threshold.offset(target) if m.threshold else m.offset_delta) for m in rule.marks
        )
    )
    return ClockRule(rule.metric, target, target // _ONE_US, rule.on_reopen, rule.noncounting, marks)


def settle_record(record: ClockRecord, outcome: SettledOutcome, rule: ClockRule) -> ClockRecord:
    """The clock record of a settled cycle: the recomputed clock where it agrees with the outcome,
    else the outcome's state, stop and breach instant (a calendar edit or a late event cannot turn
    a met cycle into a breach, or erase one)."""
    clock, crossings, crossed_at, _, stop, _ = record
    if outcome.state is ClockState.MET:
        if clock.state is ClockState.MET and clock.stopped_at == outcome.stopped_at:
            return record
        assert outcome.stopped_at is not None
        stop_us = to_us(outcome.stopped_at)
        kept = [(c, at) for c, at in zip(crossings, crossed_at, strict=True) if at < stop_us]
        clock = replace(
            clock,
            state=ClockState.MET,
            stopped_at=outcome.stopped_at,
            elapsed=outcome.elapsed,
            due_at=None,
            breached_at=None,
        )
        return clock, tuple(c for c, _ in kept), [at for _, at in kept], None, stop_us, None
    breached_at = outcome.breached_at or outcome.decided_at
    if clock.state is ClockState.BREACHED and clock.breached_at == breached_at:
        return record
    breach_us = to_us(breached_at)
    pairs = [(c, at) for c, at in zip(crossings, crossed_at, strict=True) if not c.is_breach]
    breach_mark = next((m for m in rule.marks if m.is_breach), None)
    pairs.append(
        (
            new_crossing(
                clock.metric,
                clock.cycle,
                breach_mark.label if breach_mark else "breach",
                breached_at,
                True,
                breach_mark.level if breach_mark else None,
                outcome.target,
            ),
            breach_us,
        )
    )
    clock = replace(clock, state=ClockState.BREACHED, breached_at=breached_at, due_at=breached_at)
    return clock, tuple(c for c, _ in pairs), [at for _, at in pairs], breach_us, stop, None


def orphan_record(outcome: SettledOutcome) -> ClockRecord:
    """A settled cycle the current rules no longer compute (its metric is not tracked for the
    ticket's tier and severity any more): kept as a stopped clock, so a breach still shows."""
    clock = new_clock(
        outcome.metric,
        outcome.cycle,
        outcome.started_at,
        outcome.stopped_at,
        outcome.target,
        outcome.elapsed,
        (),
        outcome.breached_at,
        outcome.breached_at,
        outcome.state,
        outcome.calendar,
    )
    breach = None if outcome.breached_at is None else to_us(outcome.breached_at)
    return clock, (), [], breach, to_us(outcome.stopped_at or outcome.decided_at), None


def decided_outcome(
    record: ClockRecord,
    h: History,
    observed: datetime,
    observed_us: int,
    policy_version: str,
    tier: str,
    severity: str,
    group_id: str | None = None,
    assignee_id: str | None = None,
) -> SettledOutcome | None:
    """The outcome of a met or breached cycle whose deciding instant the view covers, else None."""
    clock, _, _, due, stop, _ = record
    state = clock.state
    if state is ClockState.MET:
        assert stop is not None and clock.stopped_at is not None
        if stop > observed_us:
            return None
        decided, elapsed = clock.stopped_at, clock.elapsed
        reason = f"met: {_stop_kind(h, stop)} at {iso_us(stop)}"
    elif state is ClockState.BREACHED:
        assert due is not None and clock.breached_at is not None
        if due > observed_us:
            return None  # the view may lack a reply that came before the breach
        decided = clock.breached_at
        elapsed = clock.target if stop is None else clock.elapsed
        if stop is None:
            reason = f"breached at {iso_us(due)}: not stopped on the helpdesk's view of {iso_us(observed_us)}"
        else:
            reason = f"breached at {iso_us(due)}; {_stop_kind(h, stop)} at {iso_us(stop)}"
    else:
        return None
    return new_outcome(
        clock.metric,
        clock.started_at,
        clock.cycle,
        state,
        decided,
        clock.target,
        elapsed,
        clock.stopped_at,
        clock.breached_at,
        policy_version,
        tier,
        severity,
        clock.calendar,
        reason,
        observed,
        group_id,
        assignee_id,
    )


def _stop_kind(h: History, stop: int) -> str:
    for instants, kind in ((h.agent, "public agent reply"), (h.solves, "solved")):
        index = bisect_left(instants, stop)
        if index < len(instants) and instants[index] == stop:
            return kind
    return "stopped"


def withdrawal_reason(evaluation: Evaluation, ref: str) -> str:
    """Why the escalation step answering crossing `ref` is withdrawn: what the ticket, as read, says
    about that clock cycle instead."""
    if ref.startswith("arrival:"):
        return f"the ticket is now tier {evaluation.tier.value}, not {ref.removeprefix('arrival:')}"
    metric_text, _, rest = ref.partition(":")
    cycle_text, _, threshold = rest.partition(":")
    metric = metric_text.replace("_", " ")
    clock = next(
        (c for c in evaluation.clocks if c.metric.value == metric_text and str(c.cycle) == cycle_text), None
    )
    if clock is None:
        return (
            f"{metric} cycle {cycle_text} no longer runs for this ticket "
            f"(tier {evaluation.tier.value}, severity {evaluation.severity.value})"
        )
    if clock.state is ClockState.MET:
        return f"{metric} was met at {iso(clock.stopped_at)}, before it reached {threshold}"
    return (
        f"{metric} has not reached {threshold}: {human(clock.elapsed)} of {human(clock.target)} "
        f"used ({clock.state.value}, tier {evaluation.tier.value}, severity {evaluation.severity.value})"
    )
