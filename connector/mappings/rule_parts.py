"""What validation reads off the entries of the mappings: the names a rule references (also from
a rule whose shape is invalid, so all its problems show in one run) and a rule's conditions as
sets, for reachability."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from connector.mappings.errors import Loc
from connector.mappings.rule_models import CustomerRuleModel, TriageRuleModel, WhenModel

# Where a failed model's errors are, as paths below the entry (`()`: the entry itself).
Flagged = frozenset[Loc]


@dataclass(frozen=True, slots=True)
class RuleReferences:
    """What a rule names elsewhere in the mappings: checked for valid rules and, from what is
    written, for rules with a bad value, so every problem of a rule shows in one run."""

    index: int
    result: str | None
    calendar: str | None
    connections: tuple[str, ...]
    fields: tuple[str, ...]

    @classmethod
    def of(cls, index: int, rule: CustomerRuleModel | TriageRuleModel) -> RuleReferences:
        when = rule.when
        return cls(
            index=index,
            result=rule.tier if isinstance(rule, CustomerRuleModel) else rule.severity,
            calendar=rule.calendar if isinstance(rule, CustomerRuleModel) else None,
            connections=tuple(when.connection or []) if when is not None else (),
            fields=tuple(when.fields or {}) if when is not None else (),
        )

    @classmethod
    def written(cls, index: int, item: Any, result_key: str, flagged: Flagged) -> RuleReferences:
        """The references written in a rule that failed validation, leaving out those at or under
        a flagged path (reported already)."""
        written = item if isinstance(item, dict) and () not in flagged else {}
        when = written.get("when")
        connections: list[str] = []
        fields: list[str] = []
        if isinstance(when, dict) and ("when",) not in flagged:
            raw_connections = when.get("connection")
            if not _flagged_under(flagged, ("when", "connection")):
                items = raw_connections if isinstance(raw_connections, list) else [raw_connections]
                connections = [item for item in items if isinstance(item, str)]
            if isinstance(when.get("fields"), dict) and ("when", "fields") not in flagged:
                fields = [str(name) for name in when["fields"]]
        return cls(
            index=index,
            result=written_text(written, result_key, flagged),
            calendar=written_text(written, "calendar", flagged) if result_key == "tier" else None,
            connections=tuple(connections),
            fields=tuple(fields),
        )


def written_text(written: Mapping[str, Any], key: str, flagged: Flagged) -> str | None:
    """The text written under `key` of an entry that failed validation, unless the value itself
    is what failed (then it is reported already)."""
    value = written.get(key)
    return value if isinstance(value, str) and not _flagged_under(flagged, (key,)) else None


def _flagged_under(flagged: Flagged, path: Loc) -> bool:
    return any(found[: len(path)] == path for found in flagged)


def condition_sets(when: WhenModel | None) -> dict[str, frozenset[str]]:
    """A rule's conditions as key -> accepted values (case-folded), for reachability checks."""
    if when is None:
        return {}
    found: dict[str, frozenset[str]] = {}

    def add(key: str, values: Iterable[str]) -> None:
        folded = frozenset(value.casefold() for value in values)
        found[key] = found[key] & folded if key in found else folded

    for key in (
        "organization_name",
        "organization_id",
        "organization_external_id",
        "organization_tags",
        "requester_domain",
        "tags",
        "connection",
    ):
        values = getattr(when, key)
        if values is not None:
            add(key, values)
    for key in ("brand", "project"):
        values = getattr(when, key)
        if values is not None:
            add("brand", values)
    for name, values in (when.fields or {}).items():
        add(f"field:{name}", values)
    if when.priority is not None:
        add("priority", [priority.value for priority in when.priority])
    for key in ("subject_matches", "description_matches"):
        pattern = getattr(when, key)
        if pattern is not None:
            # Equal patterns are the only ones we can compare; keep case to stay exact.
            found[key] = frozenset({pattern})
    return found
