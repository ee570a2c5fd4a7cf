"""Settling sends whose outcome is unknown from the tickets' current state (pure).

A timed-out Update Many (or a crash after the send started) leaves its actions uncertain. Before
anything of such a ticket is sent again, the ticket is read back with the others in one
show_many, and each uncertain action is judged from what the ticket shows:

- a tag, field, priority, group, assignee or follower change the ticket shows is ALREADY_APPLIED;
  one it does not show is sent again (these changes are idempotent);
- a note: when the ticket has not changed since the note was planned (`updated_at` not after
  its basis), the note cannot be there (a comment always moves `updated_at`) and is sent; when the
  ticket shows every uncertain change that travelled with the note, among them a tag added or a
  field set (values an agent does not type by hand), the update landed, and Zendesk applies an
  update as a whole, so the note is there too (ALREADY_APPLIED); otherwise only the ticket's
  comments can tell, and the caller searches them for the note's marker.

A re-send carries the first send's `updated_stamp`: if the earlier request is still in flight
and lands later, Zendesk refuses it (409) once the re-send has moved `updated_at`, so a note is
not posted twice.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from connector.domain.policy import ActionKind
from connector.domain.results import Action
from plugins.zendesk.accessors import MalformedRecord, parse_time
from plugins.zendesk.translate import PRIORITY_MAP
from plugins.zendesk.update import normalise_iso


@dataclass
class Verdict:
    """What one ticket's uncertain actions need."""

    already: list[Action] = field(default_factory=list)  # the ticket shows them
    send: list[Action] = field(default_factory=list)  # not there: send (again)
    search: list[Action] = field(default_factory=list)  # notes only the comments can tell about


def raw_updated_at(raw: Mapping[str, Any]) -> datetime | None:
    """A vendor ticket's `updated_at`, None when it is missing or not a time."""
    value = raw.get("updated_at")
    if not isinstance(value, str):
        return None
    try:
        return parse_time(value, "ticket.updated_at")
    except MalformedRecord:
        return None


def shows(action: Action, ticket: Mapping[str, Any], field_ids: Mapping[str, str]) -> bool | None:
    """Whether `ticket` (a vendor ticket object) shows `action`'s change; None when it cannot
    say (a note, an unknown field)."""
    kind = action.kind
    if kind == ActionKind.ADD_TAGS:
        return {t.lower() for t in action.values} <= set(ticket.get("tags") or ())
    if kind == ActionKind.REMOVE_TAGS:
        return not ({t.lower() for t in action.values} & set(ticket.get("tags") or ()))
    if kind == ActionKind.SET_FIELD:
        fid = field_ids.get(action.field or "")
        if fid is None or not fid.isdigit():
            return None
        values = {str(f.get("id")): f.get("value") for f in ticket.get("custom_fields") or ()}
        return fid in values and values[fid] == normalise_iso(action.value or "")
    if kind == ActionKind.SET_PRIORITY:
        wanted = PRIORITY_MAP.get((action.value or "").lower())
        current = PRIORITY_MAP.get(str(ticket.get("priority") or "").lower())
        return wanted is not None and current is not None and current.rank >= wanted.rank
    if kind in (ActionKind.ASSIGN_GROUP, ActionKind.ASSIGN_ASSIGNEE):
        key = "group_id" if kind == ActionKind.ASSIGN_GROUP else "assignee_id"
        return str(ticket.get(key)) == (action.value or "")
    if kind == ActionKind.ADD_FOLLOWERS:
        if "follower_ids" not in ticket:
            return None
        return {str(u) for u in action.values} <= {str(u) for u in ticket.get("follower_ids") or ()}
    return None


def judge(
    doubtful: Sequence[Action],
    ticket: Mapping[str, Any],
    updated_at: datetime | None,
    field_ids: Mapping[str, str],
) -> Verdict:
    """Judge one ticket's uncertain actions against the ticket as it is now (see module doc)."""
    verdict = Verdict()
    changes = [a for a in doubtful if a.kind != ActionKind.ADD_NOTE]
    seen = {a.key: shows(a, ticket, field_ids) for a in changes}
    for action in changes:
        (verdict.already if seen[action.key] else verdict.send).append(action)
    # tierdesk's own tags and field values are the evidence: an agent may well raise a priority or
    # reassign meanwhile, but does not set `tier_enterprise` or the SLA due instant by hand
    evidence = any(a.kind in (ActionKind.ADD_TAGS, ActionKind.SET_FIELD) for a in changes)
    landed_with_changes = evidence and all(seen.values())
    for note in (a for a in doubtful if a.kind == ActionKind.ADD_NOTE):
        unchanged = updated_at is not None and note.basis is not None and updated_at <= note.basis
        if unchanged or not note.marker:
            verdict.send.append(note)  # not there; a note without marker cannot be checked anyway
        elif landed_with_changes:
            verdict.already.append(note)
        else:
            verdict.search.append(note)
    return verdict
