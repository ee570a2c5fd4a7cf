"""The admin mappings: `mappings/*.yaml` loaded, validated and turned into the domain `Policy`.

- `load_policy(directory)` returns the `Policy` or raises `MappingsInvalid` listing every error;
- `check(directory)` returns the errors (empty when valid), each printed as `path:line:col: message`;
- `json_schema()` is the JSON Schema of one mappings file, for editor completion;
- `load_policy_files(directory)` is the policy with the file texts it was read from, and
  `policy_from_files(files)` rebuilds a policy from such texts (a version kept in the store).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from connector.domain.policy import Policy
from connector.mappings.build import build_policy
from connector.mappings.errors import MappingError, MappingsInvalid
from connector.mappings.ics_feeds import feed_files
from connector.mappings.loader import Sections, directory_texts, read_directory, read_texts
from connector.mappings.models import MappingsFile
from connector.mappings.validate import validate

__all__ = [
    "MappingError",
    "MappingsInvalid",
    "check",
    "json_schema",
    "load_policy",
    "load_policy_files",
    "policy_from_files",
]


def check(directory: str | Path) -> list[MappingError]:
    """Every error in the mappings directory (or one mappings file), in file and line order;
    empty when valid."""
    return _load(directory)[1]


def load_policy(directory: str | Path) -> Policy:
    """The validated policy of a mappings directory; raises `MappingsInvalid` with every error."""
    policy, errors = _load(directory)
    if policy is None:
        raise MappingsInvalid(errors)
    return policy


def load_policy_files(
    directory: str | Path, kept_feeds: Mapping[str, str] | None = None
) -> tuple[Policy, dict[str, str]]:
    """The validated policy of a directory and the text of each file it was built from, read once
    (an edit landing mid-read cannot pair one version's policy with another's texts).
    `kept_feeds` (source -> text) are holiday feeds used as they are instead of fetched again."""
    base = Path(directory)
    if not base.is_dir():
        return load_policy(base), {}
    files = directory_texts(base)
    sections = read_texts(files, str(base)) if files else read_directory(base)
    sections.feeds.update(kept_feeds or {})
    errors = list(sections.errors)
    checked, issues = validate(sections) if sections.sections or not errors else (None, [])
    errors.extend(sections.error(issue) for issue in issues)
    if errors or checked is None:
        raise MappingsInvalid(sorted(set(errors)))
    # The holiday feeds read are kept with the YAML texts: a stored version is rebuilt from them.
    return build_policy(checked), {**files, **feed_files(checked.feeds_used)}


def policy_from_files(files: Mapping[str, str]) -> Policy:
    """The policy built from mappings file texts; raises `MappingsInvalid` if they are not valid."""
    policy, errors = _from_sections(read_texts(files))
    if policy is None:
        raise MappingsInvalid(errors)
    return policy


def json_schema() -> dict[str, Any]:
    """JSON Schema (2020-12) of one mappings file; every section is optional in a single file."""
    schema = MappingsFile.model_json_schema()
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        **schema,
        "description": "A tierdesk mappings file (mappings/*.yaml). All files of the directory are merged; "
        "each section may appear in one file only.",
    }


def _load(directory: str | Path) -> tuple[Policy | None, list[MappingError]]:
    return _from_sections(read_directory(directory))


def _from_sections(sections: Sections) -> tuple[Policy | None, list[MappingError]]:
    errors = list(sections.errors)
    if not sections.sections and errors:
        return None, sorted(errors)
    checked, issues = validate(sections)
    errors.extend(sections.error(issue) for issue in issues)
    if errors or checked is None:
        return None, sorted(set(errors))
    return build_policy(checked), []
