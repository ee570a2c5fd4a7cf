"""The Zendesk side of `tierdesk doctor` and of mappings that name things: `ZendeskDirectory`
implements `connector.ports.HelpdeskDirectory` over the plugin's own `ZendeskHelpdesk` plumbing
(zenpy's session and the one retry layer)."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from typing import Any
from urllib.parse import urlsplit

from connector.domain.policy import ConnectionConfig
from connector.ports import DirectoryEntry
from connector.retry import PermanentError
from plugins.zendesk.client import RetryPolicy, ZendeskHelpdesk

# Zendesk's ticket statuses as `status_map` names them (custom statuses map onto these).
STATUSES = ("new", "open", "pending", "hold", "solved", "closed")
PAGE_SIZE = 100


class ZendeskDirectory:
    kind = "zendesk"

    def __init__(self, config: ConnectionConfig, email: str, token: str, retry: RetryPolicy) -> None:
        self.url = config.url.rstrip("/")
        self.config = config
        self._zendesk = ZendeskHelpdesk(config.name, config.url, email, token, retry=retry)

    def _pages(self, path: str, key: str) -> Iterator[dict[str, Any]]:
        """Every item of a cursor-paginated list."""
        target: str | None = f"{path}?page[size]={PAGE_SIZE}"
        while target is not None:
            page = self._zendesk._get_json(target)
            yield from page.get(key) or []
            link = (page.get("links") or {}).get("next") or page.get("next_page")
            more = (page.get("meta") or {}).get("has_more", link is not None)
            if not (more and link):
                return
            parts = urlsplit(str(link))
            target = parts.path + (f"?{parts.query}" if parts.query else "")

    def account(self) -> DirectoryEntry:
        me = self._zendesk._get_json("/api/v2/users/me.json").get("user") or {}
        return DirectoryEntry(
            id=str(me.get("id") or ""), name=str(me.get("email") or ""), detail=str(me.get("role") or "")
        )

    def missing_permissions(
        self, projects: Sequence[str], escalations: Collection[str]
    ) -> list[tuple[str, str]]:
        me = self.account()
        if me.detail == "admin":
            return []
        variables = " / ".join(v for v in (self.config.email_env, self.config.token_env) if v)
        return [
            (
                f"the API user {me.name} has role '{me.detail or 'unknown'}'; reading the incremental "
                "ticket exports needs an admin",
                f"put an admin's e-mail and API token in {variables or 'email_env / token_env'}",
            )
        ]

    def fields(self) -> list[DirectoryEntry]:
        return [
            DirectoryEntry(
                id=str(raw.get("id")),
                name=str(raw.get("title") or ""),
                options=tuple(str(o.get("value")) for o in raw.get("custom_field_options") or ()),
                detail=str(raw.get("type") or ""),
            )
            for raw in self._pages("/api/v2/ticket_fields.json", "ticket_fields")
        ]

    def statuses(self) -> list[DirectoryEntry]:
        """The ticket statuses, then every active custom status under its agent label and under
        its id (`status_map` may write either)."""
        entries = [DirectoryEntry(id=status, name=status) for status in STATUSES]
        try:
            raw = self._zendesk._get_json("/api/v2/custom_statuses.json").get("custom_statuses") or []
        except PermanentError:
            return entries  # an account without custom statuses (plan or permission)
        for item in raw:
            if not isinstance(item, dict) or not item.get("active", True):
                continue
            status_id, label = str(item.get("id")), str(item.get("agent_label") or "")
            category = str(item.get("status_category") or "")
            entries.append(DirectoryEntry(id=status_id, name=label, detail=category))
            entries.append(DirectoryEntry(id=status_id, name=status_id, detail=category))
        return entries

    def groups(self) -> list[DirectoryEntry]:
        return [
            DirectoryEntry(id=str(raw.get("id")), name=str(raw.get("name") or ""))
            for raw in self._pages("/api/v2/groups.json", "groups")
            if not raw.get("deleted")
        ]

    def users(self, references: Sequence[str]) -> list[DirectoryEntry]:
        ids = sorted({ref for ref in references if ref.isdigit()})
        raw_users: list[dict[str, Any]] = []
        for start in range(0, len(ids), PAGE_SIZE):
            chunk = ",".join(ids[start : start + PAGE_SIZE])
            raw_users += (
                self._zendesk._get_json("/api/v2/users/show_many.json", {"ids": chunk}).get("users") or []
            )
        for ref in sorted({ref for ref in references if not ref.isdigit()}):
            found = self._zendesk._get_json("/api/v2/users/search.json", {"query": ref}).get("users") or []
            raw_users += found
        entries = {
            str(raw.get("id")): DirectoryEntry(
                id=str(raw.get("id")), name=str(raw.get("name") or ""), detail=str(raw.get("email") or "")
            )
            for raw in raw_users
            if raw.get("active", True) and raw.get("role") in ("agent", "admin")
        }
        return list(entries.values())

    def brands(self) -> list[DirectoryEntry]:
        return [
            DirectoryEntry(id=str(raw.get("id")), name=str(raw.get("name") or ""))
            for raw in self._pages("/api/v2/brands.json", "brands")
        ]

    def projects(self) -> list[DirectoryEntry]:
        return []

    def organizations(self) -> list[DirectoryEntry]:
        return [
            DirectoryEntry(
                id=str(raw.get("id")),
                name=str(raw.get("name") or ""),
                detail=str(raw.get("external_id") or ""),
            )
            for raw in self._pages("/api/v2/organizations.json", "organizations")
        ]

    def close(self) -> None:
        self._zendesk.session.close()
