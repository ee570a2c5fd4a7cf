"""pydantic's validation errors, rewritten as admin-facing messages located in the mappings."""

from __future__ import annotations

import re
import types
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from connector.domain.model import Priority, Status
from connector.domain.policy import Metric, ReopenMode
from connector.mappings.errors import Issue, Loc, closest, did_you_mean

_CREDENTIAL_KEY_RE = re.compile(
    r"token|password|passwd|secret|api_?key|credential|^email$|^user(name)?$", re.I
)
_MISSING_HINTS = {
    "default_tier": "the tier of customers no rule matches",
    "default_severity": "the severity of tickets no rule matches",
    "calendar": "a calendar name, or 24x7",
    "targets": "durations per severity and metric",
    "tier": "the tier this rule assigns",
    "severity": "the severity this rule assigns",
    "levels": "a list of levels, each with at: and actions:",
    "actions": "a list of actions",
    "at": "a threshold such as 50%, '30m before' or breach",
    "hours": "e.g. {mon-fri: ['09:00-17:00']} or 24x7",
    "name": "a unique name",
    "kind": "zendesk or jira",
    "url": "the helpdesk's base URL",
}


def issues_from(error: ValidationError, prefix: Loc, model_type: type[BaseModel]) -> list[Issue]:
    """One issue per pydantic error; `prefix` locates the validated value in the mappings.

    A misspelt required key shows up twice in pydantic (unknown key + missing key); only the
    unknown key, with its suggestion, is reported.
    """
    details = error.errors(include_url=False)
    missing = {tuple(detail["loc"]) for detail in details if detail["type"] == "missing"}
    misspelt: set[tuple[Any, ...]] = set()
    for detail in details:
        if detail["type"] == "extra_forbidden":
            loc = tuple(detail["loc"])
            meant = closest(str(loc[-1]), allowed_keys(model_type, loc[:-1]))
            if meant is not None and (*loc[:-1], meant) in missing:
                misspelt.add((*loc[:-1], meant))
    return [
        _issue(detail, prefix, model_type)
        for detail in details
        if not (detail["type"] == "missing" and tuple(detail["loc"]) in misspelt)
    ]


def _issue(detail: ErrorDetails, prefix: Loc, model_type: type[BaseModel]) -> Issue:
    loc: Loc = tuple(detail["loc"])
    full = (*prefix, *loc)
    kind = detail["type"]
    names = [part for part in loc if isinstance(part, str) and part != "[key]"]
    key = names[-1] if names else None
    value = detail.get("input")
    on_key = bool(loc) and loc[-1] == "[key]"

    if kind == "missing":
        missing = str(loc[-1])
        hint = _MISSING_HINTS.get(missing)
        return Issue(full, f"missing required key '{missing}'" + (f" ({hint})" if hint else ""))
    if kind == "extra_forbidden":
        extra = str(loc[-1])
        allowed = allowed_keys(model_type, loc[:-1])
        if "connections" in prefix[:1] and _CREDENTIAL_KEY_RE.search(extra):
            return Issue(
                full,
                f"'{extra}' looks like a literal credential; never write credentials in mappings: put "
                "them in environment variables and name those with email_env / token_env",
                "key",
            )
        listing = f" (allowed: {', '.join(allowed)})" if allowed else ""
        return Issue(full, f"unknown key '{extra}'{did_you_mean(extra, allowed)}{listing}", "key")
    if kind in ("literal_error", "enum"):
        expected = str(detail.get("ctx", {}).get("expected", ""))
        choices = re.findall(r"'([^']*)'", expected)
        what = _CHOICE_NOUNS.get(frozenset(choices)) or _describe_choice(key, on_key)
        shown = f"'{value}'" if isinstance(value, str | int | float) else _kind_of(value)
        suggestion = did_you_mean(str(value), choices) if isinstance(value, str) else ""
        return Issue(
            full,
            f"{shown} is not a valid {what}{suggestion} (expected {expected})",
            "key" if on_key else "value",
        )
    if kind in ("value_error", "assertion_error"):
        message = str(detail.get("ctx", {}).get("error", detail["msg"]))
        return Issue(full, message, "key" if on_key else "value")
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return Issue(full, f"expected a mapping (key: value lines), got {_kind_of(value)}")
    if kind in ("list_type", "tuple_type", "set_type"):
        return Issue(full, f"expected a list, got {_kind_of(value)}")
    if kind == "string_type":
        return Issue(full, f"expected text, got {_kind_of(value)}", "key" if on_key else "value")
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return Issue(full, f"expected a whole number, got {_kind_of(value)}")
    if kind in ("float_type", "float_parsing"):
        return Issue(full, f"expected a number, got {_kind_of(value)}")
    if kind in ("bool_type", "bool_parsing"):
        return Issue(full, f"expected true or false, got {_kind_of(value)}")
    if kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        context = detail.get("ctx", {})
        words = {"ge": "at least", "gt": "more than", "le": "at most", "lt": "less than"}
        bound = next((f"{words[name]} {context[name]}" for name in words if name in context), "in range")
        return Issue(full, f"must be {bound}, got {_kind_of(value)}")
    if kind in ("too_short", "too_long"):
        return Issue(full, f"{detail['msg'].replace('List', 'the list').replace('Value', 'the value')}")
    message = detail["msg"].replace("Input should be", "expected")
    return Issue(full, message)


_CHOICE_NOUNS = {
    frozenset(Metric): "metric",
    frozenset(Status): "status",
    frozenset(Priority): "priority",
    frozenset(ReopenMode): "reopen mode",
}


def _describe_choice(key: str | None, on_key: bool) -> str:
    if on_key or key is None:
        return "key here" if on_key else "value"
    return key.replace("_", " ")


def _kind_of(value: Any) -> str:
    if value is None:
        return "nothing (an empty value)"
    if isinstance(value, bool):
        return f"{str(value).lower()}"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, str):
        return "text"
    return type(value).__name__


def allowed_keys(model_type: Any, loc: Loc) -> list[str]:
    """The keys the model allows at `loc` (empty when that is not a model)."""
    current: Any = model_type
    for part in loc:
        current = _unwrap(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            field = current.model_fields.get(str(part))
            if field is None:
                return []
            current = field.annotation
        elif get_origin(current) is dict:
            current = get_args(current)[1]
        elif get_origin(current) in (list, tuple):
            current = get_args(current)[0]
        else:
            return []
    current = _unwrap(current)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return list(current.model_fields)
    return []


def _unwrap(annotation: Any) -> Any:
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin in (Union, types.UnionType):
            options = [arg for arg in get_args(annotation) if arg is not type(None)]
            models = [arg for arg in options if isinstance(arg, type) and issubclass(arg, BaseModel)]
            annotation = models[0] if models else options[0]
        else:
            return annotation
