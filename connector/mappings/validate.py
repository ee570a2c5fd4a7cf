"""Validation of the merged sections: shape (pydantic), then references and rule reachability.

Each calendar, tier, chain, rule and connection is validated on its own, so one broken entry does
not hide the problems of the others; references are checked against every *named* entry, valid or
not, so a broken tier is reported once rather than once per rule that uses it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from connector.domain.calendar import BUILTIN_CALENDARS, BusinessCalendar, CalendarSpecError
from connector.mappings.calendar_check import calendar_problems
from connector.mappings.condition_check import condition_problems
from connector.mappings.connection_models import ChannelModel, ConnectionModel, WritebackModel
from connector.mappings.errors import Anchor, Issue, Loc, MappingError, did_you_mean, unknown_reference
from connector.mappings.ics_feeds import FeedReader, with_feed_dates
from connector.mappings.loader import FILE_SUFFIXES, Sections
from connector.mappings.models import ChangesModel
from connector.mappings.notifications import check_channels, notify_references, repeated_notifications
from connector.mappings.ola_models import OlaModel, alias_names, check_olas
from connector.mappings.pydantic_errors import issues_from
from connector.mappings.rule_models import (
    CustomerRuleModel,
    CustomersModel,
    TriageModel,
    TriageRuleModel,
    WhenModel,
)
from connector.mappings.rule_parts import Flagged, RuleReferences, condition_sets, written_text
from connector.mappings.tier_models import CalendarModel, ChainModel, TierModel
from connector.mappings.values import check_name, uses_days

M = TypeVar("M", bound=BaseModel)

_REQUIRED_SECTIONS = {
    "severities": "the severity names, most severe first",
    "tiers": "the support tiers and their targets",
    "customers": "customer -> tier rules and default_tier",
    "triage": "ticket -> severity rules and default_severity",
}
# A field key that is already a helpdesk field id needs no logical mapping.
_FIELD_ID_RE = re.compile(r"^(\d+|customfield_\d+)$")


@dataclass(frozen=True, slots=True)
class CheckedRule:
    index: int
    name: str
    result: str
    when: WhenModel | None
    model: CustomerRuleModel | TriageRuleModel
    source: str  # "file:line"
    calendar: str | None = None


@dataclass(frozen=True, slots=True)
class Checked:
    """The validated mappings, ready to become a `Policy` (only produced when there are no errors)."""

    calendars: dict[str, BusinessCalendar]
    severities: list[str]
    tiers: dict[str, TierModel]
    default_tier: str
    customer_rules: list[CheckedRule]
    default_severity: str
    triage_rules: list[CheckedRule]
    chains: dict[str, ChainModel]
    writeback: WritebackModel
    connections: list[ConnectionModel]
    changes: ChangesModel
    channels: dict[str, ChannelModel] = field(default_factory=dict)
    olas: dict[str, OlaModel] = field(default_factory=dict)
    ola_sources: dict[str, str] = field(default_factory=dict)  # name -> file:line
    # (connection, section, key) -> where a field / alias given by name is written
    named_at: dict[tuple[str, str, str], MappingError] = field(default_factory=dict)
    # holiday feed texts read, by source: kept with the policy version (`ics_feeds`)
    feeds_used: dict[str, str] = field(default_factory=dict)
    feed_refresh: dict[str, timedelta] = field(default_factory=dict)  # URL feed -> refresh interval
    # (tier, index) -> "file:line" of each manual exemption / pause
    manual_sources: dict[tuple[str, int], str] = field(default_factory=dict)


class _Validation:
    def __init__(self, sections: Sections) -> None:
        self.sections = sections
        self.issues: list[Issue] = []
        self.named_at: dict[tuple[str, str, str], MappingError] = {}
        # With an unreadable file, a section may exist that we could not see: skip checks that
        # would otherwise report it missing.
        self.complete = sections.unreadable_files == 0
        base = Path(sections.directory)
        self.feeds = FeedReader(base.parent if base.suffix in FILE_SUFFIXES else base, sections.feeds)

    # ---------------------------------------------------------------------------- helpers

    def report(self, loc: Loc, message: str, anchor: Anchor = "value") -> None:
        self.issues.append(Issue(loc, message, anchor))

    def model(self, model_type: type[M], raw: Any, loc: Loc) -> M | None:
        return self.model_flagged(model_type, raw, loc)[0]

    def model_flagged(self, model_type: type[M], raw: Any, loc: Loc) -> tuple[M | None, Flagged]:
        """The validated model, or None and where its errors are (paths below `loc`; `()` for the
        entry itself), so the checks that follow can still look at the rest of the entry."""
        try:
            return model_type.model_validate(raw), frozenset()
        except ValidationError as error:
            found = issues_from(error, loc, model_type)
            self.issues.extend(found)
            return None, frozenset(issue.loc[len(loc) :] for issue in found)

    def mapping(self, section: str) -> dict[str, Any] | None:
        raw = self.sections.raw(section)
        if section not in self.sections.sections:
            return None
        if not isinstance(raw, dict):
            self.report((section,), f"'{section}' must be a mapping of names to entries", "key")
            return None
        return raw

    def names(self, section: str, extra: Iterable[str] = ()) -> set[str] | None:
        """Names defined in a section (valid or not), or None when the section may be unseen."""
        raw = self.sections.raw(section)
        if section not in self.sections.sections:
            # A missing required section is reported once, not at every reference to it.
            return set(extra) if self.complete and section not in _REQUIRED_SECTIONS else None
        if section in self.sections.duplicated:
            return None
        if section in ("severities", "connections"):
            if not isinstance(raw, list):
                return None
            if section == "severities":
                return {str(item) for item in raw} | set(extra)
            return {str(item["name"]) for item in raw if isinstance(item, dict) and "name" in item}
        if not isinstance(raw, dict):
            return None
        return set(raw) | set(extra)

    def reference(self, loc: Loc, kind: str, name: str, known: set[str] | None) -> None:
        if known is not None and name not in known:
            self.report(loc, unknown_reference(kind, name, known))

    def entry_names(self, section: str, raw: Mapping[str, Any]) -> None:
        for name in raw:
            try:
                check_name(name)
            except ValueError as error:
                self.report((section, name, "[key]"), str(error), "key")

    # --------------------------------------------------------------------------- sections

    def calendars(self) -> dict[str, BusinessCalendar]:
        built: dict[str, BusinessCalendar] = dict(BUILTIN_CALENDARS)
        raw = self.mapping("calendars")
        if raw is None:
            return built
        self.entry_names("calendars", raw)
        for name, spec in raw.items():
            loc: Loc = ("calendars", name)
            if name in BUILTIN_CALENDARS:
                self.report((*loc, "[key]"), f"'{name}' is built in; give this calendar another name", "key")
                continue
            if isinstance(spec, str):
                try:
                    built[name] = BusinessCalendar.from_spec(spec, name=name)
                except CalendarSpecError as error:
                    self.report((*loc, *error.path), error.message)
                continue
            _, flagged = self.model_flagged(CalendarModel, spec, loc)
            if not isinstance(spec, dict):
                continue
            # Feeds become explicit dates before the domain sees the spec (it does no I/O).
            resolved = (
                spec if any(p[:1] == ("holidays",) for p in flagged) else with_feed_dates(spec, loc, self)
            )
            calendar, problems = calendar_problems(
                resolved, name, flagged={str(p[0]) if p else "" for p in flagged}
            )
            for problem in problems:
                self.report((*loc, *problem.path), problem.message)
            if calendar is not None:
                built[name] = calendar
        return built

    def severities(self) -> list[str]:
        raw = self.sections.raw("severities")
        if "severities" not in self.sections.sections:
            return []
        if not isinstance(raw, list) or not raw:
            self.report(("severities",), "severities must be a list of names, most severe first", "key")
            return []
        result: list[str] = []
        for index, item in enumerate(raw):
            if not isinstance(item, str):
                self.report(("severities", index), "a severity is a name such as critical")
                continue
            try:
                check_name(item)
            except ValueError as error:
                self.report(("severities", index), str(error))
                continue
            if item in result:
                self.report(("severities", index), f"severity '{item}' is listed twice")
                continue
            result.append(item)
        return result

    def tiers(self, calendars: Mapping[str, BusinessCalendar]) -> dict[str, TierModel]:
        raw = self.mapping("tiers")
        if raw is None:
            return {}
        if not raw:
            self.report(("tiers",), "define at least one tier", "key")
        self.entry_names("tiers", raw)
        calendar_names = self.names("calendars", BUILTIN_CALENDARS)
        chain_names = self.names("escalations")
        severity_names = self.names("severities")
        tiers: dict[str, TierModel] = {}
        for name, entry in raw.items():
            loc: Loc = ("tiers", name)
            tier, flagged = self.model_flagged(TierModel, entry, loc)
            if tier is not None:
                tiers[name] = tier
            # A tier with a bad value still has its references checked, from what is written.
            written = entry if isinstance(entry, dict) and () not in flagged else {}
            calendar_name = tier.calendar if tier is not None else written_text(written, "calendar", flagged)
            chain = tier.escalation if tier is not None else written_text(written, "escalation", flagged)
            targets = tier.targets if tier is not None else written.get("targets")
            if calendar_name is not None:
                self.reference((*loc, "calendar"), "calendar", calendar_name, calendar_names)
            if chain is not None:
                self.reference((*loc, "escalation"), "escalation chain", chain, chain_names)
            if severity_names is not None and isinstance(targets, Mapping):
                for severity in targets:
                    if severity not in severity_names:
                        self.report(
                            (*loc, "targets", severity),
                            f"targets for undefined severity '{severity}'"
                            f"{did_you_mean(severity, severity_names)} "
                            f"(severities: {', '.join(sorted(severity_names))})",
                            "key",
                        )
                missing = [s for s in self.sections.raw("severities") or [] if s not in targets]
                if missing and isinstance(self.sections.raw("severities"), list):
                    self.report(
                        (*loc, "targets"),
                        f"tier '{name}' has no targets for severity {', '.join(map(str, missing))}; add them "
                        "(an empty mapping {} means no SLA clocks for that severity)",
                        "key",
                    )
            calendar = calendars.get(calendar_name) if calendar_name is not None else None
            if calendar is not None and not calendar.always_open and isinstance(entry, dict):
                self._day_units(loc, entry, calendar_name or "")
            if tier is None:
                continue
            seen: set[str] = set()
            for index, warning in enumerate(tier.warnings):
                if warning in seen:
                    self.report((*loc, "warnings", index), f"warning '{warning}' is listed twice")
                seen.add(warning)
        return tiers

    def _day_units(self, loc: Loc, entry: Mapping[str, Any], calendar: str) -> None:
        targets = entry.get("targets")
        if not isinstance(targets, dict):
            return
        for severity, metrics in targets.items():
            if not isinstance(metrics, dict):
                continue
            for metric, text in metrics.items():
                if uses_days(text):
                    self.report(
                        (*loc, "targets", severity, metric),
                        f"'{text}' counts days of 24 business hours, which on business-hours calendar "
                        f"'{calendar}' spans several working days; write the business hours you mean "
                        "(e.g. 16h for two 8-hour days)",
                    )

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

    def chains(self) -> dict[str, ChainModel]:
        raw = self.mapping("escalations")
        if raw is None:
            return {}
        self.entry_names("escalations", raw)
        chains: dict[str, ChainModel] = {}
        for name, entry in raw.items():
            loc: Loc = ("escalations", name)
            chain = self.model(ChainModel, entry, loc)
            if chain is None:
                continue
            chains[name] = chain
            seen: dict[tuple[str, frozenset[str] | None], int] = {}
            for index, level in enumerate(chain.levels):
                metrics = frozenset(level.metrics) if level.metrics is not None else None
                key = (level.trigger, metrics)
                if key in seen:
                    self.report(
                        (
                            *loc,
                            "levels",
                            index,
                            "at" if level.at else "on_arrival" if level.on_arrival else "after",
                        ),
                        f"a level at '{level.trigger}' for the same metrics is already level {seen[key] + 1}; "
                        "merge their actions",
                    )
                seen.setdefault(key, index)
        return chains

    def writeback(self) -> WritebackModel | None:
        """The write-back settings (defaults when the section is absent); None when invalid."""
        if "writeback" not in self.sections.sections:
            return WritebackModel()
        model = self.model(WritebackModel, self.sections.raw("writeback"), ("writeback",))
        if model is None:
            return None
        severity_names = self.names("severities")
        for severity in model.priority_from_severity:
            if severity_names is not None and severity not in severity_names:
                self.report(
                    ("writeback", "priority_from_severity", severity),
                    unknown_reference("severity", severity, severity_names),
                    "key",
                )
        return model

    def changes(self) -> ChangesModel | None:
        """When this version takes effect (defaults when the section is absent); None when invalid."""
        if "changes" not in self.sections.sections:
            return ChangesModel()
        return self.model(ChangesModel, self.sections.raw("changes"), ("changes",))

    def connections(self, writeback: WritebackModel | None) -> list[ConnectionModel]:
        if "connections" not in self.sections.sections:
            return []
        raw = self.sections.raw("connections")
        if not isinstance(raw, list):
            self.report(("connections",), "connections must be a list ('- name: ...' items)", "key")
            return []
        connections: list[ConnectionModel] = []
        seen: set[str] = set()
        for index, item in enumerate(raw):
            loc: Loc = ("connections", index)
            name = item.get("name") if isinstance(item, dict) else None
            if isinstance(name, str) and name in seen:
                self.report((*loc, "name"), f"connection name '{name}' is used twice")
            seen.add(str(name))
            connection = self.model(ConnectionModel, item, loc)
            if connection is None:
                continue
            connections.append(connection)
            for section in ("fields", "aliases"):
                for key, value in getattr(connection, section).items():
                    if not isinstance(value, str):
                        where = self.sections.error(Issue((*loc, section, key), ""))
                        self.named_at[(connection.name, section, key)] = where
            unmapped = [
                name for name in (writeback.fields if writeback else []) if name not in connection.fields
            ]
            if unmapped:
                listed = ", ".join(f"'{name}'" for name in unmapped)
                self.report(
                    (*loc, "fields"),
                    f"connection '{connection.name}' has no field id for {listed}, which "
                    "writeback.fields writes; map each here (logical name: helpdesk field id) "
                    "or remove it from writeback.fields",
                    "key",
                )
        return connections

    def mapped_fields(self) -> set[str] | None:
        """Logical field names mapped by any connection, or None when fields are not checked."""
        if "connections" not in self.sections.sections:
            return None
        raw = self.sections.raw("connections")
        names: set[str] = set()
        for item in raw if isinstance(raw, list) else []:
            fields = item.get("fields") if isinstance(item, dict) else None
            if isinstance(fields, dict):
                names.update(fields)
        return names

    def required_sections(self) -> None:
        if not self.complete:
            return
        for name, purpose in _REQUIRED_SECTIONS.items():
            if name not in self.sections.sections:
                self.report((), f"missing section '{name}' ({purpose}); add it to a file such as {name}.yaml")


def validate(sections: Sections) -> tuple[Checked | None, list[Issue]]:
    """Validate every section; return the checked mappings (None if any error) and the issues."""
    run = _Validation(sections)
    calendars = run.calendars()
    severities = run.severities()
    tiers = run.tiers(calendars)
    chains = run.chains()
    writeback = run.writeback()
    connections = run.connections(writeback)
    changes = run.changes()
    channels = check_channels(run.mapping("channels"), run.model)
    olas = check_olas(
        run.mapping("olas"),
        run.model,
        run.report,
        run.names("calendars", BUILTIN_CALENDARS),
        alias_names(run.sections),
    )
    for loc, channel in notify_references(chains):
        run.reference(loc, "notification channel", channel, run.names("channels"))
    for loc, message in repeated_notifications(chains):
        run.report(loc, message)
    fields = run.mapped_fields()
    customers, customer_rules, customer_references = run.rules("customers", CustomersModel, CustomerRuleModel)
    triage, triage_rules, triage_references = run.rules("triage", TriageModel, TriageRuleModel)
    tier_names = run.names("tiers")
    severity_names = run.names("severities")
    if isinstance(customers, CustomersModel):
        run.reference(("customers", "default_tier"), "tier", customers.default_tier, tier_names)
    if isinstance(triage, TriageModel):
        run.reference(("triage", "default_severity"), "severity", triage.default_severity, severity_names)
    run.rule_references("customers", customer_references, "tier", tier_names, fields)
    run.rule_references("triage", triage_references, "severity", severity_names, fields)
    calendar_names = run.names("calendars", BUILTIN_CALENDARS)
    prefix = writeback.tag_prefix if writeback is not None else ""
    for loc, message, anchor in condition_problems(tiers, calendar_names, severity_names, fields, prefix):
        run.report(loc, message, anchor)
    manual_sources = {
        (name, index): sections.source(("tiers", name, "manual", index))
        for name, tier in tiers.items()
        for index in range(len(tier.manual))
    }
    run.required_sections()

    if (
        run.issues
        or not isinstance(customers, CustomersModel)
        or not isinstance(triage, TriageModel)
        or writeback is None
        or changes is None
    ):
        return None, run.issues
    checked = Checked(
        calendars=calendars,
        severities=severities,
        tiers=tiers,
        default_tier=customers.default_tier,
        customer_rules=customer_rules,
        default_severity=triage.default_severity,
        triage_rules=triage_rules,
        chains=chains,
        writeback=writeback,
        connections=connections,
        changes=changes,
        channels=channels,
        olas=olas,
        ola_sources={name: sections.source(("olas", name)) for name in olas},
        named_at=run.named_at,
        feeds_used=dict(run.feeds.used),
        feed_refresh=dict(run.feeds.refresh),
        manual_sources=manual_sources,
    )
    return checked, []
