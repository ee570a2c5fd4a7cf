"""Section checks of the `customers` and `triage` rules: shape, reachability and references."""

from __future__ import annotations

import re

from pydantic import BaseModel

from connector.domain.calendar import BUILTIN_CALENDARS
from connector.mappings.checked import CheckedRule
from connector.mappings.errors import Loc, did_you_mean
from connector.mappings.rule_models import (
    CustomerRuleModel,
    CustomersModel,
    TriageModel,
    TriageRuleModel,
)
from connector.mappings.rule_parts import RuleReferences, condition_sets
from connector.mappings.validation_run import ValidationRun

# A field key that is already a helpdesk field id needs no logical mapping.
_FIELD_ID_RE = re.compile(r"^(\d+|customfield_\d+)$")


class RuleSections(ValidationRun):
    """Customer and triage rules, each checked on its own; rules no earlier rule shadows."""

    def rules(
        self,
        section: str,
        envelope_model: type[CustomersModel] | type[TriageModel],
        rule_model: type[CustomerRuleModel] | type[TriageRuleModel],
    ) -> tuple[BaseModel | None, list[CheckedRule], list[RuleReferences]]:
        """The envelope, the valid rules, and the references of every rule (valid or not)."""
        references: list[RuleReferences] = []
        raw = self.mapping(section)
        if raw is None:
            return None, [], references
        envelope_raw = {key: value for key, value in raw.items() if key != "rules"}
        envelope = self.model(envelope_model, envelope_raw, (section,))
        rules_raw = raw.get("rules", [])
        if rules_raw is None:
            rules_raw = []
        if not isinstance(rules_raw, list):
            self.report((section, "rules"), "rules must be a list ('- name: ...' items)")
            return envelope, [], references
        rules: list[CheckedRule] = []
        names: dict[str, int] = {}
        result_key = "tier" if section == "customers" else "severity"
        for index, item in enumerate(rules_raw):
            loc: Loc = (section, "rules", index)
            rule, flagged = self.model_flagged(rule_model, item, loc)
            if rule is None:
                references.append(RuleReferences.written(index, item, result_key, flagged))
                continue
            references.append(RuleReferences.of(index, rule))
            name = rule.name or f"rule {index + 1}"
            if name in names:
                self.report(
                    (*loc, "name"), f"rule name '{name}' is used twice (first at rule {names[name] + 1})"
                )
            names.setdefault(name, index)
            source = self.sections.source(loc)
            if isinstance(rule, CustomerRuleModel):
                rules.append(CheckedRule(index, name, rule.tier, rule.when, rule, source, rule.calendar))
            elif isinstance(rule, TriageRuleModel):
                rules.append(CheckedRule(index, name, rule.severity, rule.when, rule, source))
        self._reachability(section, rules)
        return envelope, rules, references

    def _reachability(self, section: str, rules: list[CheckedRule]) -> None:
        conditions = [(rule, condition_sets(rule.when)) for rule in rules]
        for position, (rule, mine) in enumerate(conditions):
            for earlier, theirs in conditions[:position]:
                if not all(key in mine and mine[key] <= theirs[key] for key in theirs):
                    continue
                where = self.sections.source((section, "rules", earlier.index))
                line = where.rpartition(":")[2]
                if not theirs:
                    reason = (
                        f"rule '{earlier.name}' (line {line}) above has no conditions and matches everything"
                    )
                elif theirs == mine:
                    reason = f"it has the same conditions as rule '{earlier.name}' (line {line}) above"
                else:
                    reason = (
                        f"rule '{earlier.name}' (line {line}) above matches every ticket this one matches "
                        "(its conditions are a subset of this rule's)"
                    )
                self.report(
                    (section, "rules", rule.index),
                    f"unreachable rule '{rule.name}': {reason}; move it above or remove it",
                )
                break

    def rule_references(
        self,
        section: str,
        rules: list[RuleReferences],
        kind: str,
        known: set[str] | None,
        fields: set[str] | None,
    ) -> None:
        calendar_names = self.names("calendars", BUILTIN_CALENDARS)
        connection_names = self.names("connections")
        result_key = "tier" if section == "customers" else "severity"
        for rule in rules:
            loc: Loc = (section, "rules", rule.index)
            if rule.result is not None:
                self.reference((*loc, result_key), kind, rule.result, known)
            if rule.calendar is not None:
                self.reference((*loc, "calendar"), "calendar", rule.calendar, calendar_names)
            for connection in rule.connections:
                self.reference((*loc, "when", "connection"), "connection", connection, connection_names)
            for name in rule.fields if fields is not None else ():
                if fields is not None and name not in fields and not _FIELD_ID_RE.match(name):
                    self.report(
                        (*loc, "when", "fields", name),
                        f"field '{name}' is not mapped by any connection{did_you_mean(name, fields)} "
                        "(add it under a connection's fields: logical name -> helpdesk field id)",
                        "key",
                    )
