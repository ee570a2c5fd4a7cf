"""Zendesk's word on an invalid ticket update: which steps it points at, and what the admin fixes
(pure).

Zendesk rejects an invalid update as a whole and says why. A failed ticket of an Update Many job
carries `error: "RecordInvalid"` and `details`, the validation messages as text ("Follower: is
invalid"; several joined); a 422 carries `details: {<key>: [{description, ...}]}` where the key is
`base` (recorded) or the attribute (`assignee`, `requester` in public reports) and a custom
field's entry has its `ticket_field_id`. Each message opens with the label of what it rejects:
`Group:`, `Assignee:`, `Follower:` / `Collaborator:`, `Priority:`, `Comment:` / `Author:` (the
note), or a custom field's title (`Next SLA due:`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from connector.domain.policy import ActionKind
from connector.domain.results import Action
from connector.retry import PermanentError

# The job-result errors that mean "invalid update": RecordInvalid, and the `<Record>UpdateError`
# form public job results show for other records (`UserUpdateError`).
VALIDATION_ERRORS = re.compile(r"^(RecordInvalid|\w+UpdateError)$")

LABEL_KINDS: Mapping[str, ActionKind] = {
    "group": ActionKind.ASSIGN_GROUP,
    "assignee": ActionKind.ASSIGN_ASSIGNEE,
    "follower": ActionKind.ADD_FOLLOWERS,
    "followers": ActionKind.ADD_FOLLOWERS,
    "collaborator": ActionKind.ADD_FOLLOWERS,
    "collaborators": ActionKind.ADD_FOLLOWERS,
    "priority": ActionKind.SET_PRIORITY,
    "comment": ActionKind.ADD_NOTE,
    "author": ActionKind.ADD_NOTE,
}
ZENDESK_PRIORITIES = "low, normal, high, urgent"


@dataclass(frozen=True)
class Rejection:
    """One validation message, with what Zendesk named beside it."""

    message: str
    key: str | None = None  # the `details` key of a 422 (`base`, `assignee`, ...)
    field_id: str | None = None  # a custom field's id, when Zendesk gives it

    @property
    def label(self) -> str:
        """What the message opens with (`Follower` of `Follower: is invalid`), lower case."""
        head, colon, _ = self.message.partition(":")
        return head.strip().lower() if colon else ""


def from_job_result(error: str, details: str) -> list[Rejection] | None:
    """The messages of a failed job result, None when it is not a validation rejection."""
    if not VALIDATION_ERRORS.match(error):
        return None
    parts = [p.strip() for p in re.split(r";\s+|\n", details) if p.strip()]
    return [Rejection(p) for p in parts] or [Rejection(error)]


def from_error_body(body: Any) -> list[Rejection] | None:
    """The messages of a 422 body, None when it is not a validation rejection."""
    if not isinstance(body, Mapping) or not VALIDATION_ERRORS.match(str(body.get("error") or "")):
        return None
    found: list[Rejection] = []
    details = body.get("details")
    for key, entries in (details or {}).items() if isinstance(details, Mapping) else ():
        for entry in entries if isinstance(entries, list) else ():
            if isinstance(entry, Mapping) and entry.get("description"):
                field_id = entry.get("ticket_field_id")
                found.append(
                    Rejection(str(entry["description"]), str(key), str(field_id) if field_id else None)
                )
    return found or [Rejection(str(body.get("description") or body.get("error")))]


def culprits(
    rejections: Sequence[Rejection],
    actions: Sequence[Action],
    field_ids: Mapping[str, str],
    field_titles: Mapping[str, str],
) -> dict[str, list[Rejection]]:
    """Action key -> the messages that point at it. `field_ids` maps logical field names to
    Zendesk field ids (the connection's `fields`), `field_titles` lower-case titles to ids."""
    found: dict[str, list[Rejection]] = {}
    for rejection in rejections:
        for action in actions:
            if _points_at(rejection, action, field_ids, field_titles):
                found.setdefault(action.key, []).append(rejection)
    return found


def names_no_known_step(rejection: Rejection) -> bool:
    """The message opens with no fixed label: it may name a custom field by its title."""
    return rejection.label not in LABEL_KINDS and (rejection.key or "base").lower() not in LABEL_KINDS


def _points_at(
    rejection: Rejection, action: Action, field_ids: Mapping[str, str], field_titles: Mapping[str, str]
) -> bool:
    kind = ActionKind(action.kind)
    if kind == ActionKind.SET_FIELD:
        field_id = field_ids.get(action.field or "")
        if field_id is None:
            return False
        named = rejection.field_id or field_titles.get(rejection.label)
        return named == field_id or re.search(rf"\b{re.escape(field_id)}\b", rejection.message) is not None
    labels = {rejection.label, (rejection.key or "").lower()}
    return any(LABEL_KINDS.get(label) == kind for label in labels)


@dataclass(frozen=True)
class FixContext:
    """What a fix names: the connection, its escalation aliases and its field ids."""

    connection: str
    aliases: Mapping[str, str]  # alias -> Zendesk id (connections.yaml `aliases`)
    field_ids: Mapping[str, str]  # logical field -> Zendesk field id (connections.yaml `fields`)


def rejected_message(
    action: Action, rejections: Iterable[Rejection], context: FixContext, *, pointed: bool = True
) -> str:
    """FAILED text for a step Zendesk rejected: what, Zendesk's words, and the admin's fix.
    `pointed=False`: the step was rejected sent on its own, by a message that does not name it."""
    vendor = "; ".join(r.message for r in rejections)
    what = _what(action, context)
    if not pointed:
        return f"Zendesk rejected {what} sent on its own ({vendor}); if that is about it, fix: {_fix(action, context)}"
    return f"Zendesk rejected {what} ({vendor}); fix: {_fix(action, context)}"


class RejectedUpdate(PermanentError):
    """A 422 naming why Zendesk found the submitted update invalid."""

    def __init__(self, message: str, rejections: Sequence[Rejection]) -> None:
        super().__init__(message, 422)
        self.rejections = list(rejections)


def ticket_refused_message(ticket_id: int, rejections: Iterable[Rejection]) -> str:
    vendor = "; ".join(r.message for r in rejections)
    return (
        f"Zendesk rejected the update of ticket {ticket_id} even with only its notes and tags "
        f"({vendor}); the ticket itself refuses it (e.g. closed, or a required field), no mapping names it"
    )


def _what(action: Action, context: FixContext) -> str:
    kind = ActionKind(action.kind)
    if kind == ActionKind.ASSIGN_GROUP:
        return f"group {action.value}"
    if kind == ActionKind.ASSIGN_ASSIGNEE:
        return f"assignee {action.value}"
    if kind == ActionKind.ADD_FOLLOWERS:
        return ("followers " if len(action.values) > 1 else "follower ") + ", ".join(action.values)
    if kind == ActionKind.SET_PRIORITY:
        return f"priority {action.value}"
    if kind == ActionKind.SET_FIELD:
        return f"field {action.field} (id {context.field_ids.get(action.field or '')}) value {action.value!r}"
    if kind == ActionKind.ADD_NOTE:
        return "the internal note"
    return f"{kind.value} {', '.join(action.values) or action.value}"


def _fix(action: Action, context: FixContext) -> str:
    kind = ActionKind(action.kind)
    check = "then run `tierdesk check`"
    if kind == ActionKind.ASSIGN_GROUP:
        return f"{_alias_fix(action, context, 'an existing group id')}, {check}"
    if kind in (ActionKind.ASSIGN_ASSIGNEE, ActionKind.ADD_FOLLOWERS):
        return f"{_alias_fix(action, context, 'an existing agent user id')}, {check}"
    if kind == ActionKind.SET_PRIORITY:
        return (
            f"use a Zendesk priority ({ZENDESK_PRIORITIES}) for `raise_priority` in escalations.yaml "
            f"or the severity's priority, {check}"
        )
    if kind == ActionKind.SET_FIELD:
        return (
            f"point `fields.{action.field}` in connections.yaml (connection `{context.connection}`) at the "
            f"Zendesk field meant, one that accepts this value, {check}"
        )
    if kind == ActionKind.ADD_NOTE:
        return (
            f"the credentials of connection `{context.connection}` must belong to an agent or admin who "
            "may add internal notes to this ticket"
        )
    return f"correct the {kind.value} step in the mappings, {check}"


def _alias_fix(action: Action, context: FixContext, target: str) -> str:
    ids = list(action.values) if action.values else [action.value or ""]
    names = sorted(alias for alias, value in context.aliases.items() if value in ids)
    where = f"connections.yaml `aliases` (connection `{context.connection}`)"
    if names:
        quoted = ", ".join(f"`{n}`" for n in names)
        return f"point the alias {quoted} in {where} at {target}"
    return f"name {target} in escalations.yaml, or an alias from {where} that points at one"
