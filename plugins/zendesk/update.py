"""One ticket's entry in an Update Many Tickets batch, built from its planned actions (pure).

Tags go through `additional_tags` / `remove_tags`, never `tags` (an agent's tags survive);
`custom_fields` are sent as strings, times as full ISO 8601; notes become one internal comment
with their marker lines; `safe_update` with an `updated_stamp` protects against concurrent edits.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from connector.domain.model import Priority
from connector.domain.policy import ActionKind
from connector.domain.results import Action
from plugins.zendesk.translate import PRIORITY_MAP, note_body


def normalise_iso(value: str) -> str:
    """Full ISO 8601 in UTC with a `Z` (`2026-03-04T15:00:00Z`) when `value` is a time; other
    strings unchanged. Zendesk text fields keep what they get, so times are sent complete."""
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    if parsed.tzinfo is None or "T" not in value:
        return value
    return parsed.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _stamp_text(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class TicketUpdate:
    """One ticket's entry in an Update Many Tickets batch, and which actions it carries."""

    ticket_id: int
    payload: dict[str, Any]
    actions: list[Action]  # the actions sent in this payload
    failed: dict[str, str]  # action key -> why it cannot be sent
    applied_without_call: list[str]  # SET_PROPERTY: nothing to send to Zendesk
    stamp: datetime | None = None  # the `updated_stamp` sent (None: no safe update)

    @classmethod
    def build(
        cls,
        ticket_id: int,
        actions: Sequence[Action],
        field_ids: Mapping[str, str],
        *,
        author_id: int | None = None,
        safe_update: bool = True,
        stamp: datetime | None = None,
    ) -> TicketUpdate:
        """Merge one ticket's actions into one payload. Of several priorities the highest wins;
        notes are joined into one internal comment (one comment per update), each with its marker;
        when an action has a basis, `safe_update` is sent with `stamp` or else the newest basis
        (a re-send keeps the stamp of the first send: a rejected update changed nothing)."""
        payload: dict[str, Any] = {"id": ticket_id}
        add: list[str] = []
        remove: list[str] = []
        customs: dict[int, str] = {}
        notes: list[str] = []
        followers: list[int] = []
        sent: list[Action] = []
        failed: dict[str, str] = {}
        no_call: list[str] = []
        best_priority: Priority | None = None
        bases = [a.basis for a in actions if a.basis is not None]
        for action in actions:
            kind = action.kind
            if kind == ActionKind.SET_PROPERTY:
                no_call.append(action.key)
                continue
            if kind == ActionKind.ADD_TAGS:
                add.extend(t.lower() for t in action.values if t.lower() not in add)
            elif kind == ActionKind.REMOVE_TAGS:
                remove.extend(t.lower() for t in action.values if t.lower() not in remove)
            elif kind == ActionKind.SET_PRIORITY:
                priority = PRIORITY_MAP.get((action.value or "").lower())
                if priority is None:
                    failed[action.key] = f"unknown priority {action.value!r}"
                    continue
                if best_priority is None or priority.rank > best_priority.rank:
                    best_priority = priority
            elif kind == ActionKind.SET_FIELD:
                fid = field_ids.get(action.field or "")
                if fid is None or not fid.isdigit():
                    failed[action.key] = f"no Zendesk field id configured for field {action.field!r}"
                    continue
                customs[int(fid)] = normalise_iso(action.value or "")
            elif kind in (ActionKind.ASSIGN_GROUP, ActionKind.ASSIGN_ASSIGNEE):
                if not (action.value or "").isdigit():
                    failed[action.key] = f"{kind.value} needs a numeric Zendesk id, got {action.value!r}"
                    continue
                payload["group_id" if kind == ActionKind.ASSIGN_GROUP else "assignee_id"] = int(
                    action.value or 0
                )
            elif kind == ActionKind.ADD_FOLLOWERS:
                bad = [v for v in action.values if not v.isdigit()]
                if bad:
                    failed[action.key] = f"followers need numeric Zendesk user ids, got {bad}"
                    continue
                followers.extend(int(v) for v in action.values if int(v) not in followers)
            elif kind == ActionKind.ADD_NOTE:
                notes.append(note_body(action.value or "", action.marker))
            else:
                failed[action.key] = f"unsupported action kind {kind!r}"
                continue
            sent.append(action)
        if add:
            payload["additional_tags"] = add
        if remove:
            payload["remove_tags"] = [t for t in remove if t not in add]
        if best_priority is not None:
            payload["priority"] = best_priority.value
        if customs:
            payload["custom_fields"] = [{"id": fid, "value": value} for fid, value in customs.items()]
        if followers:
            payload["followers"] = [{"user_id": uid, "action": "put"} for uid in followers]
        if notes:
            comment: dict[str, Any] = {"body": "\n\n---\n\n".join(notes), "public": False}
            if author_id is not None:
                comment["author_id"] = author_id
            payload["comment"] = comment
        sent_stamp = (stamp or max(bases)) if bases and safe_update else None
        if sent_stamp is not None:
            payload["safe_update"] = True
            payload["updated_stamp"] = _stamp_text(sent_stamp)
        return cls(ticket_id, payload, sent, failed, no_call, sent_stamp)

    @property
    def action_keys(self) -> list[str]:
        return [a.key for a in self.actions]

    @property
    def note_keys(self) -> list[str]:
        return [a.key for a in self.actions if a.kind == ActionKind.ADD_NOTE]

    @property
    def has_changes(self) -> bool:
        return any(k not in ("id", "safe_update", "updated_stamp") for k in self.payload)
