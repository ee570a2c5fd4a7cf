"""Custom ticket statuses as Zendesk keeps them (`/api/v2/custom_statuses`).

Every account has one default status per category (new, open, pending, hold, solved); admins add
their own ("Waiting on vendor", category hold). A ticket carries `custom_status_id`; its `status`
is always the category of that custom status (a closed ticket keeps its solved custom status).
Setting `custom_status_id` moves `status` to its category; setting only `status` moves
`custom_status_id` to that category's default, as Zendesk does.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from plugins.zendesk.emulator.records import CUSTOM_STATUS_IDS, invalid

CATEGORIES = ("new", "open", "pending", "hold", "solved")
_DEFAULT_LABELS = {"new": "New", "open": "Open", "pending": "Pending", "hold": "On-hold", "solved": "Solved"}
FIRST_CUSTOM_STATUS_ID = 37_000_000_001


@dataclass
class CustomStatus:
    id: int
    status_category: str
    agent_label: str
    end_user_label: str
    description: str | None
    active: bool
    default: bool
    created_at: int
    updated_at: int


class CustomStatuses:
    """The account's custom statuses; thread-safe."""

    def __init__(self, now: int) -> None:
        self._lock = threading.Lock()
        self.by_id: dict[int, CustomStatus] = {}
        self._next = FIRST_CUSTOM_STATUS_ID
        for category in CATEGORIES:
            label = _DEFAULT_LABELS[category]
            status_id = CUSTOM_STATUS_IDS[category]
            self.by_id[status_id] = CustomStatus(
                status_id, category, label, label, None, True, True, now, now
            )

    def create(self, raw: Mapping[str, Any], now: int) -> CustomStatus:
        category = raw.get("status_category")
        label = str(raw.get("agent_label") or "").strip()
        errors = []
        if category not in CATEGORIES or category == "new":
            errors.append(f"Status category: {category} is not valid")
        if not label:
            errors.append("Agent label: cannot be blank")
        with self._lock:
            if label and any(s.agent_label.lower() == label.lower() for s in self.by_id.values()):
                errors.append("Agent label: has already been taken")
            if errors:
                raise invalid("; ".join(errors))
            status = CustomStatus(
                self._next,
                str(category),
                label,
                str(raw.get("end_user_label") or label),
                raw.get("description"),
                bool(raw.get("active", True)),
                False,
                now,
                now,
            )
            self._next += 1
            self.by_id[status.id] = status
            return status

    def get(self, status_id: Any) -> CustomStatus:
        """The active custom status with this id; a 422 as Zendesk answers an unknown one."""
        try:
            found = self.by_id.get(int(status_id))
        except (TypeError, ValueError):
            found = None
        if found is None or not found.active:
            raise invalid(f"Custom status: {status_id} is not valid")
        return found

    def default_for(self, status: str) -> int:
        """The default custom status of a ticket status (closed keeps the solved one)."""
        return CUSTOM_STATUS_IDS["solved" if status == "closed" else status]

    def to_json(self, base: str, status: CustomStatus) -> dict[str, Any]:
        return {
            "url": f"{base}/api/v2/custom_statuses/{status.id}.json",
            "id": status.id,
            "status_category": status.status_category,
            "agent_label": status.agent_label,
            "raw_agent_label": status.agent_label,
            "end_user_label": status.end_user_label,
            "raw_end_user_label": status.end_user_label,
            "description": status.description,
            "raw_description": status.description,
            "end_user_description": None,
            "raw_end_user_description": None,
            "active": status.active,
            "default": status.default,
            "created_at": _iso(status.created_at),
            "updated_at": _iso(status.updated_at),
        }


def _iso(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
