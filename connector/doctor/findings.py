"""What `tierdesk doctor` reports: one finding per problem, with the fix."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from connector.mappings.references import close_values, closest_entries, described
from connector.ports import DirectoryEntry


class FindingKind(StrEnum):
    INVALID = "invalid"  # the mappings or the account need a change (exit 1)
    UNREACHABLE = "unreachable"  # the helpdesk could not be reached or refused the credentials (exit 3)


@dataclass(frozen=True, slots=True)
class Finding:
    connection: str
    problem: str
    fix: str
    kind: FindingKind = FindingKind.INVALID

    def __str__(self) -> str:
        return f"{self.connection}: {self.problem} -> {self.fix}"


def did_you_mean(word: str, entries: Iterable[DirectoryEntry]) -> str:
    """`; did you mean 'Duty managers' (360000000101)?`, or an empty string."""
    close = closest_entries(word, entries)
    if not close:
        return ""
    return "; did you mean " + " or ".join(described(entry) for entry in close) + "?"


__all__ = ["Finding", "FindingKind", "close_values", "closest_entries", "described", "did_you_mean"]
