"""What `tierdesk doctor` reports: one finding per problem, with the fix."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

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


def described(entry: DirectoryEntry) -> str:
    """`'Customer tier' (360000000001)`; the id alone when it is the name."""
    return f"'{entry.name}'" if entry.name == entry.id else f"'{entry.name}' ({entry.id})"


def closest_entries(word: str, entries: Iterable[DirectoryEntry], n: int = 3) -> list[DirectoryEntry]:
    """The entries whose name (or id) is closest to `word`: close spellings first, then names
    holding it as a word (`tier` finds `Customer tier`)."""
    pool = list(entries)
    wanted = word.replace("_", " ").replace("-", " ").strip().lower()
    by_key: dict[str, DirectoryEntry] = {}
    for entry in pool:
        by_key.setdefault(entry.name.lower(), entry)
        by_key.setdefault(entry.id.lower(), entry)
    chosen: list[DirectoryEntry] = []
    for key in difflib.get_close_matches(wanted, list(by_key), n=n, cutoff=0.6):
        if by_key[key] not in chosen:
            chosen.append(by_key[key])
    for entry in pool:
        if len(chosen) >= n:
            break
        if wanted and wanted in entry.name.lower() and entry not in chosen:
            chosen.append(entry)
    return chosen[:n]


def did_you_mean(word: str, entries: Iterable[DirectoryEntry]) -> str:
    """`; did you mean 'Duty managers' (360000000101)?`, or an empty string."""
    close = closest_entries(word, entries)
    if not close:
        return ""
    return "; did you mean " + " or ".join(described(entry) for entry in close) + "?"


def close_values(word: str, values: Iterable[str], n: int = 3) -> list[str]:
    choices = sorted(set(values))
    lowered = {value.lower(): value for value in choices}
    return [lowered[v] for v in difflib.get_close_matches(word.lower(), list(lowered), n=n, cutoff=0.5)]
