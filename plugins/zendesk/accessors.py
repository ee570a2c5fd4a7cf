"""Typed accessors for Zendesk JSON: each names the failing path (`tickets[3].custom_fields[2].id`)
when a record does not have the expected shape, raising `MalformedRecord`."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any


class MalformedRecord(ValueError):
    """A vendor record lacks a field or has the wrong type at `path`."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem


def field_of(raw: Mapping[str, Any], key: str, path: str) -> Any:
    if type(raw) is not dict and not isinstance(raw, Mapping):
        raise MalformedRecord(path, f"expected an object, got {type(raw).__name__}")
    if key not in raw:
        raise MalformedRecord(f"{path}.{key}", "missing")
    return raw[key]


def req_int(raw: Mapping[str, Any], key: str, path: str) -> int:
    value = field_of(raw, key, path)
    if isinstance(value, bool) or not isinstance(value, int):
        raise MalformedRecord(f"{path}.{key}", f"expected an integer, got {value!r}")
    return value


def opt_int(raw: Mapping[str, Any], key: str, path: str) -> int | None:
    value = raw.get(key) if type(raw) is dict or isinstance(raw, Mapping) else None
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise MalformedRecord(f"{path}.{key}", f"expected an integer or null, got {value!r}")
    return value


def req_str(raw: Mapping[str, Any], key: str, path: str) -> str:
    value = field_of(raw, key, path)
    if not isinstance(value, str):
        raise MalformedRecord(f"{path}.{key}", f"expected a string, got {value!r}")
    return value


def opt_str(raw: Mapping[str, Any], key: str, path: str) -> str | None:
    value = raw.get(key) if type(raw) is dict or isinstance(raw, Mapping) else None
    if value is None:
        return None
    if not isinstance(value, str):
        raise MalformedRecord(f"{path}.{key}", f"expected a string or null, got {value!r}")
    return value


def req_time(raw: Mapping[str, Any], key: str, path: str) -> datetime:
    value = field_of(raw, key, path)
    if isinstance(value, int) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, UTC)
    if not isinstance(value, str):
        raise MalformedRecord(f"{path}.{key}", f"expected an ISO 8601 time, got {value!r}")
    return parse_time(value, f"{path}.{key}")


def parse_time(value: str, path: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)  # Python 3.11 reads the trailing Z
    except ValueError:
        raise MalformedRecord(path, f"expected an ISO 8601 time, got {value!r}") from None
    if parsed.tzinfo is None:
        raise MalformedRecord(path, f"time without offset: {value!r}")
    return parsed.astimezone(UTC)


def str_list(raw: Mapping[str, Any], key: str, path: str) -> list[str]:
    value = raw.get(key) if type(raw) is dict or isinstance(raw, Mapping) else None
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise MalformedRecord(f"{path}.{key}", f"expected a list of strings, got {value!r}")
    return list(value)


def field_value(value: Any) -> str | None:
    """A custom field value as the string the domain stores (lists joined with commas)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return str(value)
