"""The ticket as people left it: what tier and severity rules read.

tierdesk writes priority, tags and fields to the tickets it evaluates. Rules that read those writes
back feed tierdesk's output into its input: an escalation that raises the priority to urgent would
raise the severity through a rule `priority: urgent`. :func:`as_people_left_it` gives the rules the
ticket without tierdesk's writes:

- **priority**: the last value a person set, or the one the ticket was created with (the value
  the first priority change replaced), never a value tierdesk set. Once tierdesk has set the
  priority, the events decide: a value the ticket shows that no event explains yet (an export
  gap) is not taken for a person's. When tierdesk's first change does not say what it replaced
  (events stored before tierdesk read it) and no person set one since, the rules see none.
- **tags**: without tierdesk's managed families (`<prefix>tier_*`, `sev_*`, `sla_*`) and without
  the tags a tierdesk change added, unless a person added them again later. When a change does
  not say which tags it replaced and none before it tells, only the tags escalation steps add are
  taken as tierdesk's.
- **fields**: without the logical fields tierdesk writes (`writeback.fields`) and their ids.

Only what some rule tests is looked at, so most tickets cost a few lookups: the events are read
when the ticket's priority is at or above the lowest one a rule tests, or when it carries a tag a
rule tests. The result differs only where a rule could see a difference; tags and fields no rule
tests are kept.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Final

from connector.domain.formatting import tag_name
from connector.domain.model import TAGS_FIELD, Event, EventKind, Priority, Ticket
from connector.domain.policy import ActionKind, ConditionKind, Policy, normalised

_PRIORITY_CHANGE: Final = EventKind.PRIORITY_CHANGE
_FIELD_CHANGE: Final = EventKind.FIELD_CHANGE
_PRIORITY_BY_VALUE: Final = {p.value: p for p in Priority}
_WRITTEN_FIELDS: Final = ("tier", "sla_due", "sla_state")
_MANAGED_FAMILIES: Final = ("tier_", "sev_", "sla_")


_NORMS: dict[str, str] = {}  # a worker's tickets share a few hundred tags


def _norm(tag: str) -> str:
    """`tag` as rules compare it (stripped, case-folded)."""
    norm = _NORMS.get(tag)
    if norm is None:
        if len(_NORMS) >= 4096:
            _NORMS.clear()
        norm = _NORMS[tag] = normalised(tag)
    return norm


def _order(event: Event) -> tuple[datetime, str]:
    return event.at, event.id


@dataclass(frozen=True, slots=True)
class _Reads:
    """What a policy's tier and severity rules test, and which of it tierdesk writes."""

    policy: Policy  # held so its id() cannot be reused while cached
    priority_rank: int | None  # the lowest priority a rule tests, None when none does
    tags: frozenset[str]  # tags rules test, normalised
    fields: frozenset[str]  # fields rules test
    managed: tuple[str, ...]  # normalised prefixes of tierdesk's tag families
    escalation_tags: frozenset[str]  # tags escalation steps add, normalised
    hidden_fields: dict[str, frozenset[str]] = field(default_factory=dict)  # by connection

    def fields_written(self, connection: str) -> frozenset[str]:
        """Fields rules test that tierdesk writes on `connection`: logical names and their ids."""
        found = self.hidden_fields.get(connection)
        if found is None:
            wb = self.policy.writeback
            conn = next((c for c in self.policy.connections if c.name == connection), None)
            names: set[str] = {
                n for n in _WRITTEN_FIELDS if n in wb.fields and (conn is None or n in conn.fields)
            }
            if conn is not None:
                names |= {conn.fields[n] for n in names}
            found = self.hidden_fields[connection] = frozenset(names & self.fields)
        return found


_READS: dict[int, _Reads] = {}
_READS_MAX: Final = 16


def _reads(policy: Policy) -> _Reads:
    """The policy's `_Reads`; policies are immutable, so it is keyed by identity."""
    reads = _READS.get(id(policy))
    if reads is not None and reads.policy is policy:
        return reads
    if len(_READS) >= _READS_MAX:
        _READS.clear()  # a worker holds one or two policies at a time
    ranks: set[int] = set()
    tags: set[str] = set()
    fields: set[str] = set()
    for rule in (*policy.tier_rules, *policy.severity_rules):
        for condition in rule.conditions:
            if condition.kind is ConditionKind.PRIORITY:
                tested = condition.wanted
                ranks.update(p.rank for p in Priority if p.value in tested)
            elif condition.kind is ConditionKind.TAG:
                tags.update(condition.wanted)
            elif condition.kind is ConditionKind.FIELD and condition.field is not None:
                fields.add(condition.field)
    prefix = policy.writeback.tag_prefix
    reads = _READS[id(policy)] = _Reads(
        policy,
        min(ranks, default=None),
        frozenset(tags),
        frozenset(fields),
        # the family prefixes as tierdesk writes them (`tag_name` folds case and punctuation)
        tuple(tag_name(f"{prefix}{family}x")[:-1] for family in _MANAGED_FAMILIES),
        frozenset(
            _norm(tag)
            for chain in policy.chains.values()
            for level in chain.levels
            for step in level.steps
            if step.kind is ActionKind.ADD_TAGS
            for tag in step.values
        ),
    )
    return reads


def as_people_left_it(ticket: Ticket, events: Sequence[Event], policy: Policy) -> Ticket:
    """`ticket` with the priority, tags and fields people set, as `policy`'s rules should read
    it (see the module docstring); `ticket` itself when no rule could see a difference."""
    reads = _reads(policy)
    priority = ticket.priority
    # tierdesk only ever raises a priority, so below the lowest one a rule tests, the value
    # people set is lower still: no rule matches either
    if priority is not None and reads.priority_rank is not None and priority.rank >= reads.priority_rank:
        priority = _people_priority(priority, events)
    tags = ticket.tags
    if reads.tags and tags:
        tags = _people_tags(tags, events, reads)
    fields = ticket.fields
    if reads.fields and fields:
        written = reads.fields_written(ticket.connection)
        if written and not written.isdisjoint(fields):
            fields = {name: value for name, value in fields.items() if name not in written}
    if priority is ticket.priority and tags is ticket.tags and fields is ticket.fields:
        return ticket
    return replace(ticket, priority=priority, tags=tags, fields=fields)


def _people_priority(shown: Priority, events: Iterable[Event]) -> Priority | None:
    changes = [e for e in events if e.kind is _PRIORITY_CHANGE]
    if not any(e.by_tierdesk for e in changes):
        return shown  # the common case: nobody but people set it
    changes.sort(key=_order)
    # what the first change replaced is what the ticket was created with
    value = changes[0].previous
    for change in changes:
        if not change.by_tierdesk:
            value = change.value
    return _PRIORITY_BY_VALUE.get(value) if value else None


def _people_tags(tags: frozenset[str], events: Iterable[Event], reads: _Reads) -> frozenset[str]:
    wanted, norms = reads.tags, _NORMS
    tested: dict[str, str] = {}
    for tag in tags:
        norm = norms.get(tag) or _norm(tag)
        if norm in wanted:
            tested[tag] = norm
    if not tested:
        return tags
    hidden = {tag for tag, norm in tested.items() if norm.startswith(reads.managed)}
    if len(hidden) < len(tested):
        ours = _tags_tierdesk_added(events, reads.escalation_tags)
        hidden.update(tag for tag, norm in tested.items() if norm in ours)
    return tags - hidden if hidden else tags


def _split(tags: str) -> set[str]:
    return {_norm(tag) for tag in tags.split(",") if tag.strip()}


def _tags_tierdesk_added(events: Iterable[Event], escalation_tags: frozenset[str]) -> frozenset[str]:
    """Normalised tags whose latest addition was a tierdesk change."""
    changes = [e for e in events if e.kind is _FIELD_CHANGE and e.field == TAGS_FIELD]
    if not any(e.by_tierdesk for e in changes):
        return frozenset()
    changes.sort(key=_order)
    added_by_tierdesk: dict[str, bool] = {}
    before: set[str] | None = None  # the tags before the change, when known
    for change in changes:
        after = _split(change.value or "")
        if change.previous is not None:
            before = _split(change.previous)
        if before is not None:
            added = after - before
        elif change.by_tierdesk:
            added = after & escalation_tags  # the only tags but its managed ones tierdesk adds
        else:
            added = set()  # the ticket's first tags: a person's either way
        for tag in added:
            added_by_tierdesk[tag] = change.by_tierdesk
        before = after
    return frozenset(tag for tag, ours in added_by_tierdesk.items() if ours)
