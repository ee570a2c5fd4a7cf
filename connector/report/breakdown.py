"""Adherence by helpdesk group and by assignee: who held the ticket when each cycle was decided.

A decided cycle counts for the group and assignee recorded with its settled outcome (the view of
the ticket that settled it); a cycle still in progress for the ticket's current ones. Groups and
assignees are helpdesk ids, so each row names its connection too; `holder_name` is the name the
connection's `aliases` give that id (the admin's name for it), else None and the id is shown.
Cycles without one (unassigned, or settled before tierdesk recorded the assignment) are one row
with `holder_id` None.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from connector.domain.engine import METRIC_ORDER
from connector.domain.policy import Policy
from connector.domain.results import ClockState
from connector.report.queries import StoredClock, StoredTicket


def percent_of(part: int, whole: int) -> float | None:
    return None if whole == 0 else round(100.0 * part / whole, 1)


@dataclass(frozen=True, slots=True)
class HolderMetric:
    metric: str  # Metric value
    met: int
    breached: int
    adherence_percent: float | None


@dataclass(frozen=True, slots=True)
class HolderFigures:
    """Clock cycles of one group (or assignee) of one connection."""

    connection: str
    holder_id: str | None
    met: int
    breached: int
    in_progress: int
    adherence_percent: float | None  # every metric together
    metrics: tuple[HolderMetric, ...]
    holder_name: str | None = None  # the connection's alias for the id, if it has one


def alias_names(policy: Policy) -> dict[tuple[str, str], str]:
    """(connection, helpdesk id) -> the alias naming it in the connection's `aliases` (the first
    alphabetically when several do; `-`, "not on this helpdesk", names nothing). Read from the
    mappings alone, so offline reports name groups and people without asking the helpdesk."""
    names: dict[tuple[str, str], str] = {}
    for config in policy.connections:
        for alias, helpdesk_id in sorted(config.aliases.items()):
            if helpdesk_id != "-":
                names.setdefault((config.name, helpdesk_id), alias)
    return names


def _holder(clock: StoredClock, owner: StoredTicket, kind: str) -> str | None:
    if clock.settled:
        return clock.group_id if kind == "group" else clock.assignee_id
    return owner.ticket.group_id if kind == "group" else owner.ticket.assignee_id


def by_holder(
    clocks: Sequence[tuple[StoredClock, StoredTicket]],
    kind: str,
    names: Mapping[tuple[str, str], str] | None = None,
) -> tuple[HolderFigures, ...]:
    """Figures per (connection, group id) for `kind` "group", per assignee id for "assignee",
    named by `names` ((connection, id) -> name) where it knows the id; ordered by connection then
    id, the row without a holder last."""
    states: dict[tuple[str, str | None], Counter[tuple[str, ClockState]]] = {}
    for clock, owner in clocks:
        key = (owner.ticket.connection, _holder(clock, owner, kind))
        states.setdefault(key, Counter())[(clock.metric.value, clock.state)] += 1
    known = names or {}
    rows = [
        _figures(connection, holder, counts, None if holder is None else known.get((connection, holder)))
        for (connection, holder), counts in states.items()
    ]
    return tuple(sorted(rows, key=lambda r: (r.connection, r.holder_id is None, r.holder_id or "")))


def _figures(
    connection: str, holder: str | None, counts: Counter[tuple[str, ClockState]], name: str | None
) -> HolderFigures:
    metrics = []
    for metric in METRIC_ORDER:
        met, breached = counts[(metric.value, ClockState.MET)], counts[(metric.value, ClockState.BREACHED)]
        if met or breached:
            metrics.append(HolderMetric(metric.value, met, breached, percent_of(met, met + breached)))
    met = sum(m.met for m in metrics)
    breached = sum(m.breached for m in metrics)
    in_progress = sum(
        n for (_, state), n in counts.items() if state in (ClockState.RUNNING, ClockState.PAUSED)
    )
    return HolderFigures(
        connection=connection,
        holder_id=holder,
        met=met,
        breached=breached,
        in_progress=in_progress,
        adherence_percent=percent_of(met, met + breached),
        metrics=tuple(metrics),
        holder_name=name,
    )
