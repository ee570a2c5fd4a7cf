"""Section checks of `calendars` (holiday feeds resolved to dates), `severities` and `tiers`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from connector.domain.calendar import BUILTIN_CALENDARS, BusinessCalendar, CalendarSpecError
from connector.mappings.calendar_check import calendar_problems
from connector.mappings.errors import Loc, did_you_mean
from connector.mappings.ics_feeds import with_feed_dates
from connector.mappings.rule_parts import written_text
from connector.mappings.tier_models import CalendarModel, TierModel
from connector.mappings.validation_run import ValidationRun
from connector.mappings.values import check_name, uses_days


class CalendarSections(ValidationRun):
    """Calendars (holiday feeds become dates first), severities and tiers."""

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
