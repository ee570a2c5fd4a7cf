"""The state and helpers shared by the section checks of one validation (`validate`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from connector.mappings.errors import Anchor, Issue, Loc, MappingError, unknown_reference
from connector.mappings.ics_feeds import FeedReader
from connector.mappings.loader import FILE_SUFFIXES, Sections
from connector.mappings.pydantic_errors import issues_from
from connector.mappings.rule_parts import Flagged
from connector.mappings.values import check_name

M = TypeVar("M", bound=BaseModel)

REQUIRED_SECTIONS = {
    "severities": "the severity names, most severe first",
    "tiers": "the support tiers and their targets",
    "customers": "customer -> tier rules and default_tier",
    "triage": "ticket -> severity rules and default_severity",
}


class ValidationRun:
    """One validation of the merged sections: the issues found so far and the helpers every
    section check uses (models with file:line errors, names of entries, references)."""

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
            return set(extra) if self.complete and section not in REQUIRED_SECTIONS else None
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
