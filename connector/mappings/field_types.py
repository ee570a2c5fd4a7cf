"""Field types shared by the mapping models: the strict base model, and annotated types that parse
values in the small languages of `values.py` (durations, thresholds, percentages), check names,
regular expressions, note and message templates and environment variable names, each with the
JSON schema `tierdesk schema` prints for it.
"""

from __future__ import annotations

import re
import string
from datetime import timedelta
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, PlainSerializer, WithJsonSchema

from connector.domain.model import Priority
from connector.domain.policy import NOTE_PLACEHOLDERS, NOTIFY_PLACEHOLDERS
from connector.mappings.errors import did_you_mean
from connector.mappings.values import (
    DURATION_HELP,
    THRESHOLD_HELP,
    check_name,
    format_duration,
    parse_duration,
    parse_percent,
    parse_threshold,
)


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, coerce_numbers_to_str=True)


def _as_list(value: Any) -> Any:
    """A single value where a list is expected means a list of one; numbers become text."""
    items = value if isinstance(value, list) else [value]
    converted: list[Any] = []
    for item in items:
        if isinstance(item, bool):
            converted.append("true" if item else "false")
        elif isinstance(item, int | float):
            converted.append(str(item))
        else:
            converted.append(item)
    return converted


def _one_or_many(description: str) -> WithJsonSchema:
    return WithJsonSchema(
        {
            "description": description,
            "anyOf": [
                {"type": ["string", "number"]},
                {"type": "array", "items": {"type": ["string", "number"]}, "minItems": 1},
            ],
        }
    )


def _non_empty(values: list[str]) -> list[str]:
    cleaned = [value.strip() for value in values]
    if not cleaned or any(not value for value in cleaned):
        raise ValueError("expected at least one non-empty value")
    return cleaned


Name = Annotated[
    str,
    AfterValidator(check_name),
    WithJsonSchema({"type": "string", "pattern": r"^[a-z0-9][a-z0-9_-]*$"}),
]
Values = Annotated[
    list[str],
    BeforeValidator(_as_list),
    AfterValidator(_non_empty),
    _one_or_many("one value or a list of values; any of them matches (case-insensitive)"),
]
Duration = Annotated[
    timedelta,
    BeforeValidator(parse_duration),
    PlainSerializer(format_duration, return_type=str),
    WithJsonSchema(
        {
            "type": "string",
            "description": DURATION_HELP,
            "pattern": r"^(\s*\d+\s*[a-z]+)+\s*$|^P(\d+D)?(T(\d+H)?(\d+M)?(\d+S)?)?$",
        }
    ),
]
WarningThreshold = Annotated[
    str,
    BeforeValidator(lambda value: parse_threshold(value, allow_breach=False)),
    WithJsonSchema({"type": "string", "description": "a warning such as 50%, 90% or '30m before'"}),
]
LevelThreshold = Annotated[
    str,
    BeforeValidator(lambda value: parse_threshold(value, allow_breach=True)),
    WithJsonSchema({"type": "string", "description": THRESHOLD_HELP}),
]
Percent = Annotated[
    float,
    BeforeValidator(parse_percent),
    WithJsonSchema(
        {
            "description": "a percentage such as 5% (or the number 5)",
            "anyOf": [{"type": "number"}, {"type": "string", "pattern": r"^\d+(\.\d+)?\s*%$"}],
        }
    ),
]


def _compile(pattern: str) -> str:
    try:
        re.compile(pattern)
    except re.error as error:
        where = f" at position {error.pos}" if error.pos is not None else ""
        raise ValueError(f"invalid regular expression: {error.msg}{where}") from None
    return pattern


RegexText = Annotated[
    str,
    AfterValidator(_compile),
    WithJsonSchema({"type": "string", "description": "a Python regular expression, case-insensitive"}),
]


def _note_shape(value: Any) -> Any:
    if isinstance(value, dict):
        raise ValueError(
            "YAML read this note as a mapping because it starts with '{'; "
            "quote the template or write it as a block (note: |)"
        )
    return value


def _check_placeholders(
    template: str, known_names: frozenset[str] = NOTE_PLACEHOLDERS, what: str = "note template"
) -> str:
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as error:
        raise ValueError(
            f"{what}: {error}; write {{{{ or }}}} for a literal brace, {{name}} for a placeholder"
        ) from None
    known = sorted(known_names)
    for _, field_name, format_spec, conversion in parsed:
        if field_name is None:
            continue
        if field_name not in known_names:
            shown = field_name or ""
            raise ValueError(
                f"unknown placeholder '{{{shown}}}' in {what}{did_you_mean(shown, known)} "
                f"(placeholders: {', '.join(known)})"
            )
        if format_spec or conversion:
            raise ValueError(
                f"placeholder '{{{field_name}}}' takes no format or conversion; write {{{field_name}}}"
            )
    return template


NoteTemplate = Annotated[
    str,
    BeforeValidator(_note_shape),
    AfterValidator(_check_placeholders),
    WithJsonSchema(
        {
            "type": "string",
            "description": "internal note; placeholders: "
            + ", ".join(f"{{{p}}}" for p in sorted(NOTE_PLACEHOLDERS)),
        }
    ),
]


MessageTemplate = Annotated[
    str,
    BeforeValidator(_note_shape),
    AfterValidator(
        lambda template: _check_placeholders(template, NOTIFY_PLACEHOLDERS, "notification message")
    ),
    WithJsonSchema(
        {
            "type": "string",
            "description": "notification text; placeholders: "
            + ", ".join(f"{{{p}}}" for p in sorted(NOTIFY_PLACEHOLDERS)),
        }
    ),
]


_PRIORITY_NAMES = [priority.value for priority in Priority]
Priorities = Annotated[
    list[Priority],
    BeforeValidator(_as_list),
    WithJsonSchema(
        {
            "description": "one priority or a list; any of them matches",
            "anyOf": [
                {"enum": _PRIORITY_NAMES},
                {"type": "array", "items": {"enum": _PRIORITY_NAMES}, "minItems": 1},
            ],
        }
    ),
]


_ENV_NAME_RE = re.compile(r"^[A-Z_][A-Z0-9_]*$")


def _env_name(value: str) -> str:
    # The value is never echoed: it may be the secret itself.
    if _ENV_NAME_RE.match(value):
        return value
    if "://" in value:
        raise ValueError(
            "this looks like a URL; URLs carry tokens: put it in an environment variable and write "
            "the variable's name here (e.g. TIERDESK_SLACK_URL)"
        )
    if "@" in value:
        raise ValueError(
            "this looks like a literal e-mail address; put it in an environment variable "
            "and write the variable's name here (e.g. ZENDESK_EMAIL)"
        )
    if len(value) >= 16 or re.search(r"[a-z].*\d|\d.*[a-z]", value):
        raise ValueError(
            "this looks like a literal secret; never write credentials in mappings: put it in an "
            "environment variable and write the variable's name here (e.g. ZENDESK_TOKEN)"
        )
    raise ValueError("expected an environment variable name: upper-case letters, digits and '_'")


EnvName = Annotated[
    str,
    AfterValidator(_env_name),
    WithJsonSchema(
        {"type": "string", "pattern": "^[A-Z_][A-Z0-9_]*$", "description": "environment variable name"}
    ),
]
