"""The admin mappings: `mappings/*.yaml` loaded, validated and turned into the domain `Policy`.

- `load_policy(directory)` returns the `Policy` or raises `MappingsInvalid` listing every error;
- `check(directory)` returns the errors (empty when valid), each printed as `path:line:col: message`;
- `json_schema()` is the JSON Schema of one mappings file, for editor completion.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from connector.domain.policy import Policy
from connector.mappings.build import build_policy
from connector.mappings.errors import MappingError, MappingsInvalid
from connector.mappings.loader import read_directory
from connector.mappings.models import MappingsFile
from connector.mappings.validate import validate

__all__ = ["MappingError", "MappingsInvalid", "check", "json_schema", "load_policy"]


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
    sections = read_directory(directory)
    errors = list(sections.errors)
    if not sections.sections and errors:
        return None, sorted(errors)
    checked, issues = validate(sections)
    errors.extend(sections.error(issue) for issue in issues)
    if errors or checked is None:
        return None, sorted(set(errors))
    return build_policy(checked), []
