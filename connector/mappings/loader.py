"""Reading `mappings/*.yaml`: parse with positions, merge sections, locate any node by its path.

Files are parsed with ruamel.yaml's round-trip loader, which records the line and column of every
key, value and list item. Validation works on plain Python values; when it reports a problem at a
path such as `("tiers", "standard", "targets", "high", "resolution")`, `Sections.position` walks
the same path through the parsed nodes to find where that node is written.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.constructor import DuplicateKeyError
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from connector.mappings.errors import Anchor, Issue, Loc, MappingError, did_you_mean
from connector.mappings.yaml_errors import duplicate_key_error, syntax_error

SECTIONS = (
    "calendars",
    "severities",
    "tiers",
    "customers",
    "triage",
    "escalations",
    "writeback",
    "connections",
    "changes",
    "channels",
    "accounts",
)
FILE_SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True, slots=True)
class Section:
    """One top-level section: the file it is written in, its parsed node and its plain value."""

    name: str
    path: str
    root: CommentedMap  # the file's top-level mapping (the section is one of its keys)
    value: Any  # plain Python: dict / list / str / int / float / bool / date / None


@dataclass(slots=True)
class Sections:
    """All sections of a mappings directory, plus the errors met while reading it."""

    directory: str
    sections: dict[str, Section] = field(default_factory=dict)
    errors: list[MappingError] = field(default_factory=list)
    unreadable_files: int = 0
    duplicated: set[str] = field(default_factory=set)  # sections written in more than one file

    def raw(self, name: str) -> Any:
        section = self.sections.get(name)
        return None if section is None else section.value

    def error(self, issue: Issue) -> MappingError:
        """Turn a path-located issue into a file:line:col error."""
        if not issue.loc or issue.loc[0] not in self.sections:
            return MappingError(self.directory, 1, 1, issue.message)
        section = self.sections[str(issue.loc[0])]
        line, col = position(section.root, issue.loc, issue.anchor)
        return MappingError(section.path, line + 1, col + 1, issue.message)

    def source(self, loc: Loc) -> str:
        """`file:line` of a node, for rules' `source`."""
        section = self.sections[str(loc[0])]
        line, _ = position(section.root, loc, "value")
        return f"{section.path}:{line + 1}"


def read_directory(directory: str | Path) -> Sections:
    """Parse every `*.yaml` / `*.yml` file of `directory` and merge their sections.

    A path to a single file checks that file alone, as if it were the only file of a directory.
    """
    base = Path(directory)
    result = Sections(directory=str(base))
    if base.is_file():
        _read_file(base, result)
        return result
    if not base.is_dir():
        result.errors.append(
            MappingError(str(base), 1, 1, "mappings directory not found; pass the directory holding *.yaml")
        )
        return result
    files = sorted(path for path in base.iterdir() if path.suffix in FILE_SUFFIXES and path.is_file())
    if not files:
        result.errors.append(
            MappingError(
                str(base),
                1,
                1,
                "no *.yaml files in the mappings directory; start from the example set (mappings/)",
            )
        )
        return result
    for path in files:
        _read_file(path, result)
    return result


def read_texts(files: Mapping[str, str], directory: str = "mappings") -> Sections:
    """`read_directory` of files given as {file name: text}, e.g. a policy version kept in the
    store; errors name `directory/<file name>`."""
    result = Sections(directory=directory)
    for name in sorted(files):
        _read_text(f"{directory}/{name}", files[name], result)
    return result


def directory_texts(directory: str | Path) -> dict[str, str]:
    """The text of every `*.yaml` / `*.yml` file of `directory` by file name (unreadable ones
    left out: `read_directory` reports them)."""
    base = Path(directory)
    texts: dict[str, str] = {}
    if not base.is_dir():
        return texts
    for path in sorted(base.iterdir()):
        if path.suffix in FILE_SUFFIXES and path.is_file():
            try:
                texts[path.name] = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                continue
    return texts


def _read_file(path: Path, result: Sections) -> None:
    shown = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        result.errors.append(MappingError(shown, 1, 1, f"cannot read file: {error}"))
        result.unreadable_files += 1
        return
    _read_text(shown, text, result)


def _read_text(shown: str, text: str, result: Sections) -> None:
    try:
        document = _parse(text)
    except DuplicateKeyError as error:
        result.errors.append(duplicate_key_error(shown, error))
        result.unreadable_files += 1
        return
    except MarkedYAMLError as error:
        result.errors.append(syntax_error(shown, text, error))
        result.unreadable_files += 1
        return
    except YAMLError as error:
        result.errors.append(MappingError(shown, 1, 1, f"YAML syntax error: {error}"))
        result.unreadable_files += 1
        return
    if document is None:
        return  # an empty file, or comments only
    if not isinstance(document, CommentedMap):
        result.errors.append(
            MappingError(
                shown,
                1,
                1,
                "a mappings file holds top-level sections (e.g. 'tiers:'), not a "
                f"{_kind(document)}; sections are: {', '.join(SECTIONS)}",
            )
        )
        result.unreadable_files += 1
        return
    for key in document:
        name = str(key)
        line, col = document.lc.key(key)
        if name not in SECTIONS:
            result.errors.append(
                MappingError(
                    shown,
                    line + 1,
                    col + 1,
                    f"unknown section '{name}'{did_you_mean(name, SECTIONS)} "
                    f"(sections: {', '.join(SECTIONS)})",
                )
            )
            continue
        earlier = result.sections.get(name)
        if earlier is not None:
            result.duplicated.add(name)
            first_line, _ = earlier.root.lc.key(name)
            result.errors.append(
                MappingError(
                    shown,
                    line + 1,
                    col + 1,
                    f"section '{name}' is already defined in {earlier.path}:{first_line + 1}; "
                    "each section may appear in one file only",
                )
            )
            continue
        result.sections[name] = Section(name=name, path=shown, root=document, value=plain(document[key]))


@lru_cache(maxsize=128)
def _parse(text: str) -> Any:
    """Parse one file's text. Cached: the worker re-checks unchanged files on every reload, and
    the round-trip parser is slow. Callers never modify the returned nodes."""
    return YAML(typ="rt").load(text)


def _kind(value: Any) -> str:
    if isinstance(value, list):
        return "list"
    return "mapping" if isinstance(value, dict) else "single value"


def plain(node: Any) -> Any:
    """The parsed YAML as plain Python values (keys as strings, ruamel scalar types unwrapped)."""
    if isinstance(node, Mapping):
        return {str(key): plain(value) for key, value in node.items()}
    if isinstance(node, list):
        return [plain(item) for item in node]
    if isinstance(node, bool) or node is None:
        return node
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    if isinstance(node, str):
        return str(node)
    if isinstance(node, dt.datetime | dt.date):
        return node
    return str(node)


def position(root: CommentedMap, loc: Loc, anchor: Anchor) -> tuple[int, int]:
    """0-based (line, col) of the node at `loc`.

    A key that is not written (a missing required key) is reported where its enclosing mapping or
    list item is named; a key pulled in by a YAML merge (`<<`) where the merge is.
    """
    parts = [part for part in loc if part != "[key]"]
    at_key = anchor == "key" or (bool(loc) and loc[-1] == "[key]")
    node: Any = root
    here = (int(root.lc.line), int(root.lc.col))
    for index, part in enumerate(parts):
        final = index == len(parts) - 1
        if isinstance(node, CommentedMap):
            key = _find_key(node, part)
            if key is None:
                return here
            try:
                key_at, value_at = _pair(node.lc.key(key)), _pair(node.lc.value(key))
            except (KeyError, AttributeError, TypeError):
                return here
            if final:
                return key_at if at_key else value_at
            here, node = key_at, node[key]
        elif isinstance(node, CommentedSeq) and isinstance(part, int) and 0 <= part < len(node):
            try:
                item_at = _pair(node.lc.item(part))
            except (KeyError, AttributeError, TypeError):
                return here
            if final:
                return item_at
            here, node = item_at, node[part]
        else:
            return here
    return here


def _pair(value: Any) -> tuple[int, int]:
    return int(value[0]), int(value[1])


def _find_key(node: CommentedMap, part: str | int) -> Any:
    if part in node:
        return part
    for key in node:
        if str(key) == str(part):
            return key
    return None
