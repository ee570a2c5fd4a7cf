"""What a FAILED step says when Jira rejects it: the step, Jira's words, and the admin's fix in
`mappings/connections.yaml` (pure).

Jira checks every field of an edit before applying any and names the rejected ones in `errors`
(`{"assignee": "User 'x' does not exist."}`); a watcher is added one account per call.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from connector.domain.model import Priority
from connector.domain.policy import ActionKind
from connector.domain.results import Action
from plugins.jira.translate import jira_priority_name


@dataclass(frozen=True)
class FixContext:
    """What a fix names: the connection, its escalation aliases, field ids and priority names."""

    connection: str
    aliases: Mapping[str, str]  # alias -> Atlassian account id / group name (connections.yaml `aliases`)
    fields: Mapping[str, str]  # logical field -> Jira field id (connections.yaml `fields`)
    priority_map: Mapping[str, Priority]  # Jira priority name -> tierdesk priority


def rejected_message(action: Action, vendor: str, context: FixContext, *, pointed: bool = True) -> str:
    """FAILED text for a step Jira rejected. `pointed=False`: the step was rejected sent on its
    own, by a message that names no field."""
    what = _what(action, context)
    if not pointed:
        return f"Jira rejected {what} sent on its own ({vendor}); if that is about it, fix: {_fix(action, context)}"
    return f"Jira rejected {what} ({vendor}); fix: {_fix(action, context)}"


def _what(action: Action, context: FixContext) -> str:
    kind = ActionKind(action.kind)
    if kind == ActionKind.ASSIGN_ASSIGNEE:
        return f"assignee {action.value}"
    if kind == ActionKind.ASSIGN_GROUP:
        return f"group {action.value}"
    if kind == ActionKind.ADD_FOLLOWERS:
        return ("watchers " if len(action.values) > 1 else "watcher ") + ", ".join(action.values)
    if kind == ActionKind.SET_PRIORITY:
        return f"priority {action.value}"
    if kind == ActionKind.SET_FIELD:
        field_id = context.fields.get(action.field or "", action.field)
        return f"field {action.field} ({field_id}) value {action.value!r}"
    if kind in (ActionKind.ADD_TAGS, ActionKind.REMOVE_TAGS):
        return "labels " + ", ".join(action.values)
    return f"{kind.value} {action.field or action.value}"


def _fix(action: Action, context: FixContext) -> str:
    kind = ActionKind(action.kind)
    where = f"connections.yaml (connection `{context.connection}`)"
    check = "then run `tierdesk check`"
    if kind in (ActionKind.ASSIGN_ASSIGNEE, ActionKind.ADD_FOLLOWERS):
        return f"{_alias_fix(action, context, 'an existing Atlassian account id')}, {check}"
    if kind == ActionKind.ASSIGN_GROUP:
        return f"{_alias_fix(action, context, 'an existing Jira group name')}, {check}"
    if kind == ActionKind.SET_PRIORITY:
        try:
            sent = jira_priority_name(Priority(str(action.value).lower()), context.priority_map)
        except ValueError:
            sent = str(action.value)
        return (
            f"map tierdesk priority `{action.value}` to an existing Jira priority under `priority_map` in "
            f"{where} (it was sent as `{sent}`), {check}"
        )
    if kind == ActionKind.SET_FIELD:
        field_id = context.fields.get(action.field or "", action.field)
        return (
            f"point `fields.{action.field}` ({field_id}) in {where} at a field on the issue's edit screen "
            f"that takes this value (an existing option of a select field), {check}"
        )
    if kind in (ActionKind.ADD_TAGS, ActionKind.REMOVE_TAGS):
        return f"correct the tag names in the mappings (Jira labels have no spaces), {check}"
    return f"correct the {kind.value} step in the mappings, {check}"


def _alias_fix(action: Action, context: FixContext, target: str) -> str:
    ids = list(action.values) if action.values else [action.value or ""]
    names = sorted(alias for alias, value in context.aliases.items() if value in ids)
    where = f"connections.yaml `aliases` (connection `{context.connection}`)"
    if names:
        quoted = ", ".join(f"`{n}`" for n in names)
        return f"point the alias {quoted} in {where} at {target}"
    return f"name {target} in escalations.yaml, or an alias from {where} that points at one"
