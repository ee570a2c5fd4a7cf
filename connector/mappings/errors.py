"""Errors of the admin mappings, each pointing at a file, line and column."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

# A location inside the merged mappings: section name, then keys and list indices. `[key]` after a
# mapping key means "the key itself" (its spelling), not its value.
Loc = tuple[str | int, ...]
Anchor = Literal["value", "key"]


@dataclass(frozen=True, slots=True, order=True)
class MappingError:
    """One problem in the mappings. `line` and `col` are 1-based."""

    path: str
    line: int
    col: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.col}: {self.message}"


class MappingsInvalid(Exception):
    """The mappings have errors; `errors` lists every one of them, in file order."""

    def __init__(self, errors: Sequence[MappingError]) -> None:
        self.errors: tuple[MappingError, ...] = tuple(errors)
        super().__init__("\n".join(str(error) for error in self.errors))


@dataclass(frozen=True, slots=True)
class Issue:
    """A problem found while validating, located by its path in the merged mappings.

    `anchor` says whether the line/column should be those of the key (unknown keys, misspelt
    names) or of its value (bad values, missing keys inside it).
    """

    loc: Loc
    message: str
    anchor: Anchor = "value"


def closest(word: str, candidates: Iterable[str]) -> str | None:
    """The candidate `word` was most likely meant to be, if any is close enough."""
    choices = sorted({str(candidate) for candidate in candidates})
    lowered = {choice.lower(): choice for choice in choices}
    if word.lower() in lowered:
        return lowered[word.lower()]
    matches = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return matches[0] if matches else None


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    """`; did you mean 'x'?` for the closest candidate, or an empty string."""
    match = closest(word, candidates)
    return f"; did you mean '{match}'?" if match else ""


def unknown_reference(kind: str, name: str, known: Iterable[str]) -> str:
    """`unknown calendar 'x'; did you mean 'y'? (known: a, b)`."""
    names = sorted({str(candidate) for candidate in known})
    listing = ", ".join(names) if names else "none defined"
    return f"unknown {kind} '{name}'{did_you_mean(name, names)} (known: {listing})"
