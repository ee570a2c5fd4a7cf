"""`GET /rest/api/3/mypermissions`: which of the asked permissions the caller holds.

Licensed (atlassian) accounts hold every project permission on every project; customer and app
accounts hold none. As Jira Cloud, `permissions` is required (400 without it), an unknown key is a
400 naming it, and an unknown `projectKey` is a 404."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from plugins.jira.emulator.model import JiraSite, User

PROJECT_PERMISSIONS: dict[str, tuple[str, str]] = {
    "BROWSE_PROJECTS": ("10", "Browse Projects"),
    "CREATE_ISSUES": ("11", "Create Issues"),
    "EDIT_ISSUES": ("12", "Edit Issues"),
    "ASSIGN_ISSUES": ("13", "Assign Issues"),
    "ASSIGNABLE_USER": ("17", "Assignable User"),
    "TRANSITION_ISSUES": ("46", "Transition Issues"),
    "ADD_COMMENTS": ("15", "Add Comments"),
    "MANAGE_WATCHERS": ("32", "Manage Watchers"),
    "SCHEDULE_ISSUES": ("28", "Schedule Issues"),
}


def _error(status: int, message: str) -> tuple[dict[str, Any], int]:
    return {"errorMessages": [message], "errors": {}}, status


def answer(site: JiraSite, caller: User, args: Mapping[str, str]) -> tuple[dict[str, Any], int]:
    """The response body and status of `GET /mypermissions` with query `args`."""
    asked = [key.strip() for key in (args.get("permissions") or "").split(",") if key.strip()]
    if not asked:
        return _error(400, "The 'permissions' parameter is required.")
    unknown = [key for key in asked if key not in PROJECT_PERMISSIONS]
    if unknown:
        return _error(400, f"Unrecognized permission keys: {', '.join(unknown)}")
    project_key = args.get("projectKey")
    if project_key and site.project_by_ref(project_key) is None:
        return _error(404, f"No project could be found with key '{project_key}'.")
    granted = caller.account_type == "atlassian" and caller.active
    permissions = {
        key: {
            "id": PROJECT_PERMISSIONS[key][0],
            "key": key,
            "name": PROJECT_PERMISSIONS[key][1],
            "type": "PROJECT",
            "description": f"Ability to {PROJECT_PERMISSIONS[key][1].lower()}.",
            "havePermission": granted,
        }
        for key in asked
    }
    return {"permissions": permissions}, 200
