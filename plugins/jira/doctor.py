"""The Jira side of `tierdesk doctor` and of mappings that name things: `JiraDirectory`
implements `connector.ports.HelpdeskDirectory` over the plugin's own `JiraHelpdesk` plumbing
(the `jira` client, its session and the one retry layer)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from connector.domain.policy import ConnectionConfig
from connector.ports import DirectoryEntry
from connector.retry import PermanentError
from plugins.jira.client import JiraHelpdesk, RetryPolicy

# What tierdesk does to an issue: read it, set fields/priority/labels, comment; assign and watch
# only when escalations do.
NEEDED_PERMISSIONS: dict[str, str] = {
    "BROWSE_PROJECTS": "read its issues",
    "EDIT_ISSUES": "set priority, labels and SLA fields",
    "ADD_COMMENTS": "add internal notes",
}
ESCALATION_PERMISSIONS: dict[str, tuple[str, str]] = {
    "assign_assignee": ("ASSIGN_ISSUES", "assign escalations"),
    "add_followers": ("MANAGE_WATCHERS", "add followers as watchers"),
}


class JiraDirectory:
    kind = "jira"

    def __init__(self, config: ConnectionConfig, email: str, token: str, retry: RetryPolicy) -> None:
        self.url = config.url.rstrip("/")
        self.config = config
        self._jira = JiraHelpdesk(config, email, token, retry=retry)

    def account(self) -> DirectoryEntry:
        me: dict[str, Any] = self._jira._get("myself", "myself")
        return DirectoryEntry(
            id=str(me.get("accountId", "")),
            name=str(me.get("displayName") or me.get("emailAddress") or ""),
            detail=str(me.get("accountType") or ""),
        )

    def missing_permissions(
        self, projects: Sequence[str], escalations: Collection[str]
    ) -> list[tuple[str, str]]:
        needed = dict(NEEDED_PERMISSIONS)
        needed.update(
            dict(ESCALATION_PERMISSIONS[kind] for kind in escalations if kind in ESCALATION_PERMISSIONS)
        )
        missing: list[tuple[str, str]] = []
        keys = ",".join(needed)
        for project in projects:
            try:
                answer: dict[str, Any] = self._jira._get(
                    "my permissions", "mypermissions", {"projectKey": project, "permissions": keys}
                )
            except PermanentError as exc:
                if exc.status == 404:
                    continue  # the project check names it
                raise
            held = answer.get("permissions") or {}
            lacking = [key for key in needed if not (held.get(key) or {}).get("havePermission")]
            if lacking:
                what = ", ".join(f"{key} ({needed[key]})" for key in lacking)
                missing.append(
                    (
                        f"the API user lacks {what} in project {project}",
                        f"grant them to the user in {project}'s permission scheme",
                    )
                )
        return missing

    def fields(self) -> list[DirectoryEntry]:
        raw_fields: list[dict[str, Any]] = self._jira._get("fields", "field")
        entries: list[DirectoryEntry] = []
        for raw in raw_fields:
            schema = raw.get("schema") or {}
            field_id = str(raw["id"])
            options: tuple[str, ...] = ()
            if raw.get("custom") and "option" in (schema.get("type"), schema.get("items")):
                options = self._options(field_id)
            entries.append(
                DirectoryEntry(
                    id=field_id,
                    name=str(raw.get("name", "")),
                    options=options,
                    detail=str(schema.get("type", "")),
                )
            )
        return entries

    def _options(self, field_id: str) -> tuple[str, ...]:
        values: list[str] = []
        contexts = self._jira._get("field contexts", f"field/{field_id}/context")
        for context in contexts.get("values") or []:
            for option in self._jira._paged(
                f"field/{field_id}/context/{context['id']}/option", "values", "options"
            ):
                values.append(str(option["value"]))
        return tuple(dict.fromkeys(values))

    def statuses(self) -> list[DirectoryEntry]:
        raw: list[dict[str, Any]] = self._jira._get("statuses", "status")
        return [DirectoryEntry(id=str(s.get("id", "")), name=str(s.get("name", ""))) for s in raw]

    def groups(self) -> list[DirectoryEntry]:
        return []  # Jira issues have no assignee group

    def users(self, references: Sequence[str]) -> list[DirectoryEntry]:
        found: dict[str, DirectoryEntry] = {}
        for reference in references:
            params = {"query": reference} if "@" in reference or " " in reference else {}
            try:
                if params:
                    matches: list[dict[str, Any]] = self._jira._get("user search", "user/search", params)
                else:
                    matches = [self._jira._get("user", "user", {"accountId": reference})]
            except PermanentError as exc:
                if exc.status == 404:
                    continue
                raise
            for user in matches:
                entry = DirectoryEntry(
                    id=str(user.get("accountId", "")),
                    name=str(user.get("displayName", "")),
                    detail=str(user.get("emailAddress") or ""),
                )
                found[entry.id] = entry
        return list(found.values())

    def brands(self) -> list[DirectoryEntry]:
        return []

    def projects(self) -> list[DirectoryEntry]:
        raw: list[dict[str, Any]] = self._jira._get("projects", "project")
        return [DirectoryEntry(id=str(p.get("key", "")), name=str(p.get("name", ""))) for p in raw]

    def organizations(self) -> list[DirectoryEntry]:
        return [
            DirectoryEntry(id=str(org.get("id", "")), name=str(org.get("name", "")))
            for org in self._jira._jsm_pages("organizations", "organization")
        ]

    def close(self) -> None:
        self._jira.close()
