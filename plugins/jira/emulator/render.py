"""JSON shapes of the Jira Cloud REST API (v2 and v3) and of the JSM API, from the site's data.

Timestamps are rendered like Jira Cloud does, `2022-05-17T04:06:55.076-0700`, in the caller's time
zone; `self` links carry real paths on the emulator's host. Shapes follow the Jira Cloud OpenAPI
schemas (IssueBean, Comment, Changelog, User ...) and the recorded v3 comments.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from plugins.jira.emulator.model import (
    STATUS_CATEGORIES,
    Comment,
    FieldDef,
    History,
    Issue,
    JiraSite,
    NamedDef,
    Organization,
    PriorityDef,
    Project,
    StatusDef,
    User,
    adf_to_text,
)

AVATAR = "https://avatar-management--avatars.us-west-2.prod.public.atl-paas.net/initials/{initials}-5.png"

# Fields returned by `*navigable` (everything but the comment page); `*all` adds the rest.
SEARCH_MAX_EMBEDDED_COMMENTS = 100


@lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def format_ms(ms: int, time_zone: str) -> str:
    moment = datetime.fromtimestamp(ms // 1000, _zone(time_zone))
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{ms % 1000:03d}{moment:%z}"


@dataclass(frozen=True)
class FieldSelection:
    """Which fields to render, from `fields=` (comma lists, repeated params, `*all`, `*navigable`,
    `-field` exclusions)."""

    include_all: bool
    include_navigable: bool
    names: frozenset[str]
    excluded: frozenset[str]

    @classmethod
    def parse(cls, values: Iterable[str] | None, default: str) -> FieldSelection:
        tokens = [t.strip() for v in (values or [default]) for t in str(v).split(",") if t.strip()]
        if not tokens:
            tokens = [default]
        include_all = "*all" in tokens
        navigable = "*navigable" in tokens
        excluded = frozenset(t[1:] for t in tokens if t.startswith("-"))
        names = frozenset(t for t in tokens if not t.startswith(("-", "*")))
        if excluded and not include_all and not names:
            navigable = True
        return cls(include_all, navigable, names, excluded)

    def wants(self, definition: FieldDef) -> bool:
        if definition.id in self.excluded:
            return False
        if self.include_all or definition.id in self.names:
            return True
        return self.include_navigable and definition.navigable

    @property
    def only_ids(self) -> bool:
        return not self.include_all and not self.include_navigable and self.names <= {"id", "key"}


class View:
    """Renders for one request: API version, host and the caller's time zone."""

    def __init__(self, site: JiraSite, base_url: str, version: str, viewer: User) -> None:
        self.site = site
        self.base = base_url.rstrip("/")
        self.version = "2" if version == "latest" else version
        self.viewer = viewer
        self.api = f"{self.base}/rest/api/{self.version}"
        self._selection_cache: dict[FieldSelection, list[FieldDef]] = {}
        # one request renders the same users and statuses many times; the JSON is identical
        self._users: dict[str, dict[str, Any] | None] = {}
        self._statuses: dict[str, dict[str, Any]] = {}

    @property
    def adf(self) -> bool:
        return self.version == "3"

    def dt(self, ms: int | None) -> str | None:
        return None if ms is None else format_ms(ms, self.viewer.time_zone)

    def rich_text(self, document: dict[str, Any] | None) -> Any:
        if document is None:
            return None
        return document if self.adf else adf_to_text(document)

    # -- reference data ---------------------------------------------------------------------------

    def user(self, account_id: str | None) -> dict[str, Any] | None:
        if account_id is None:
            return None
        if account_id in self._users:
            return self._users[account_id]
        rendered = self._render_user(account_id)
        self._users[account_id] = rendered
        return rendered

    def _render_user(self, account_id: str) -> dict[str, Any] | None:
        user = self.site.users.get(account_id)
        if user is None:
            return None
        initials = "".join(part[:1] for part in user.display_name.split()[:2]).upper() or "U"
        avatar = AVATAR.format(initials=initials)
        return {
            "self": f"{self.api}/user?accountId={user.account_id}",
            "accountId": user.account_id,
            "emailAddress": user.email,
            "avatarUrls": {size: avatar for size in ("48x48", "24x24", "16x16", "32x32")},
            "displayName": user.display_name,
            "active": user.active,
            "timeZone": user.time_zone,
            "accountType": user.account_type,
        }

    def myself(self, user: User) -> dict[str, Any]:
        body = dict(self.user(user.account_id) or {})
        body.update(
            {
                "locale": user.locale,
                "groups": {"size": 1, "items": []},
                "applicationRoles": {"size": 1, "items": []},
                "expand": "groups,applicationRoles",
            }
        )
        return body

    def status(self, status: StatusDef) -> dict[str, Any]:
        if status.id not in self._statuses:
            self._statuses[status.id] = self._render_status(status)
        return self._statuses[status.id]

    def _render_status(self, status: StatusDef) -> dict[str, Any]:
        category_id, category_name, color = STATUS_CATEGORIES[status.category]
        return {
            "self": f"{self.api}/status/{status.id}",
            "description": "",
            "iconUrl": f"{self.base}/images/icons/statuses/generic.png",
            "name": status.name,
            "id": status.id,
            "statusCategory": {
                "self": f"{self.api}/statuscategory/{category_id}",
                "id": category_id,
                "key": status.category,
                "colorName": color,
                "name": category_name,
            },
        }

    def priority(self, priority: PriorityDef) -> dict[str, Any]:
        return {
            "self": f"{self.api}/priority/{priority.id}",
            "iconUrl": f"{self.base}/images/icons/priorities/{priority.name.lower()}.svg",
            "name": priority.name,
            "id": priority.id,
        }

    def priority_full(self, priority: PriorityDef) -> dict[str, Any]:
        body = self.priority(priority)
        body.update({"statusColor": priority.color, "description": f"{priority.name} priority"})
        body["isDefault"] = priority.name == "Medium"
        return body

    def issuetype(self, issuetype: NamedDef) -> dict[str, Any]:
        return {
            "self": f"{self.api}/issuetype/{issuetype.id}",
            "id": issuetype.id,
            "description": issuetype.description,
            "iconUrl": f"{self.base}/images/icons/issuetypes/task.svg",
            "name": issuetype.name,
            "subtask": False,
            "hierarchyLevel": 0,
        }

    def resolution(self, resolution: NamedDef) -> dict[str, Any]:
        return {
            "self": f"{self.api}/resolution/{resolution.id}",
            "id": resolution.id,
            "description": resolution.description,
            "name": resolution.name,
        }

    def project(self, project: Project, full: bool = False) -> dict[str, Any]:
        avatar = f"{self.api}/universal_avatar/view/type/project/avatar/10425"
        body: dict[str, Any] = {
            "self": f"{self.api}/project/{project.id}",
            "id": str(project.id),
            "key": project.key,
            "name": project.name,
            "projectTypeKey": project.type_key,
            "simplified": False,
            "avatarUrls": {"48x48": avatar, "24x24": avatar, "16x16": avatar, "32x32": avatar},
        }
        if full:
            body.update(
                {
                    "expand": "description,lead,issueTypes,url,projectKeys,permissions,insight",
                    "style": "classic",
                    "isPrivate": False,
                    "properties": {},
                    "lead": self.user(project.lead),
                }
            )
        return body

    def field(self, definition: FieldDef) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": definition.type}
        if definition.items:
            schema["items"] = definition.items
        if definition.custom:
            schema["custom"] = definition.custom_type
            schema["customId"] = definition.custom_id
        else:
            schema["system"] = definition.system or definition.id
        body: dict[str, Any] = {
            "id": definition.id,
            "key": definition.id,
            "name": definition.name,
            "custom": definition.custom,
            "orderable": definition.orderable,
            "navigable": definition.navigable,
            "searchable": definition.searchable,
            "clauseNames": definition.clause_names,
            "schema": schema,
        }
        return body

    def organization(self, org: Organization) -> dict[str, Any]:
        return {
            "id": str(org.id),
            "name": org.name,
            "_links": {"self": f"{self.base}/rest/servicedeskapi/organization/{org.id}"},
        }

    # -- issues -----------------------------------------------------------------------------------

    def comment(self, comment: Comment, with_properties: bool = False) -> dict[str, Any]:
        body: dict[str, Any] = {
            "self": f"{self.api}/issue/{comment.issue_id}/comment/{comment.id}",
            "id": str(comment.id),
            "author": self.user(comment.author),
            "body": self.rich_text(comment.body),
            "updateAuthor": self.user(comment.author),
            "created": self.dt(comment.created_ms),
            "updated": self.dt(comment.updated_ms),
        }
        if comment.visibility:
            body["visibility"] = comment.visibility
        issue = self.site.issues.get(comment.issue_id)
        if issue is not None and issue.project.type_key == "service_desk":
            body["jsdPublic"] = not comment.internal
        if with_properties:
            body["properties"] = [{"key": key, "value": value} for key, value in comment.properties.items()]
        return body

    def history(self, history: History) -> dict[str, Any]:
        body: dict[str, Any] = {"id": str(history.id)}
        author = self.user(history.author)
        if author is not None:
            body["author"] = author
        body["created"] = self.dt(history.created_ms)
        # the spec declares from/to strings as not nullable: an empty side is left out
        body["items"] = [{k: v for k, v in item.items() if v is not None} for item in history.items]
        return body

    def field_value(self, definition: FieldDef, issue: Issue) -> Any:
        value = issue.custom.get(definition.id)
        if value is None:
            return [] if definition.items == "sd-customerorganization" else None
        kind = definition.type
        if kind == "datetime":
            return self.dt(int(value))
        if kind == "option":
            return self._option(definition, str(value))
        if kind == "array" and definition.items == "option":
            return [self._option(definition, str(v)) for v in value]
        if kind == "array" and definition.items == "user":
            return [u for u in (self.user(v) for v in value) if u is not None]
        if kind == "array" and definition.items == "sd-customerorganization":
            orgs = (self.site.organizations.get(int(v)) for v in value)
            return [self.organization(org) for org in orgs if org is not None]
        if kind == "user":
            return self.user(str(value))
        if kind == "group":
            return {"name": value, "groupId": f"group-{value}", "self": f"{self.api}/group?groupname={value}"}
        if kind == "string" and isinstance(value, dict):
            return self.rich_text(value)
        return value

    def _option(self, definition: FieldDef, option_id: str) -> dict[str, Any]:
        return {
            "self": f"{self.api}/customFieldOption/{option_id}",
            "value": definition.options.get(option_id, ""),
            "id": option_id,
        }

    def issue(
        self,
        issue: Issue,
        selection: FieldSelection,
        expand: frozenset[str] = frozenset(),
        properties: Iterable[str] = (),
        changelog_cap: int = 100,
        comment_cap: int = SEARCH_MAX_EMBEDDED_COMMENTS,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "expand": "operations,versionedRepresentations,editmeta,changelog,renderedFields",
            "id": str(issue.id),
            "self": f"{self.api}/issue/{issue.id}",
            "key": issue.key,
        }
        if selection.only_ids and "key" not in selection.names:
            body = {"id": str(issue.id)}
        fields: dict[str, Any] = {}
        for definition in self._wanted(selection):
            fields[definition.id] = self._system_field(definition, issue, comment_cap)
        if fields or not selection.only_ids:
            body["fields"] = fields
        if "changelog" in expand:
            newest_first = list(reversed(issue.histories))[:changelog_cap]
            body["changelog"] = {
                "startAt": 0,
                "maxResults": len(newest_first),
                "total": len(issue.histories),
                "histories": [self.history(h) for h in newest_first],
            }
        if "names" in expand:
            body["names"] = {d.id: d.name for d in self.site.fields.values() if d.id in fields}
        if "transitions" in expand:
            body["transitions"] = [self.transition(t) for t in self.available_transitions(issue)]
        wanted_properties = [p for p in properties if p]
        if wanted_properties:
            body["properties"] = {
                key: issue.properties[key] for key in wanted_properties[:5] if key in issue.properties
            }
        return body

    def _wanted(self, selection: FieldSelection) -> list[FieldDef]:
        cached = self._selection_cache.get(selection)
        if cached is None:
            cached = [d for d in self.site.fields.values() if selection.wants(d)]
            self._selection_cache[selection] = cached
        return cached

    def _system_field(self, definition: FieldDef, issue: Issue, comment_cap: int) -> Any:
        if definition.custom:
            return self.field_value(definition, issue)
        return _SYSTEM_FIELDS[definition.id](self, issue, comment_cap)

    def _watches(self, issue: Issue) -> dict[str, Any]:
        return {
            "self": f"{self.api}/issue/{issue.key}/watchers",
            "watchCount": len(issue.watchers),
            "isWatching": self.viewer.account_id in issue.watchers,
        }

    def _priority_of(self, issue: Issue) -> dict[str, Any] | None:
        found = self.site.priority_by_name_or_id(issue.priority_id) if issue.priority_id else None
        return self.priority(found) if found else None

    def _issuetype_of(self, issue: Issue) -> dict[str, Any] | None:
        found = self.site.issuetype_by_name_or_id(issue.issuetype)
        return self.issuetype(found) if found else None

    def _resolution_of(self, issue: Issue) -> dict[str, Any] | None:
        found = self.site.resolution_by_name_or_id(issue.resolution) if issue.resolution else None
        return self.resolution(found) if found else None

    def comment_page(self, issue: Issue, cap: int) -> dict[str, Any]:
        shown = issue.comments[:cap]
        return {
            "comments": [self.comment(c) for c in shown],
            "self": f"{self.api}/issue/{issue.id}/comment",
            "maxResults": len(shown),
            "total": len(issue.comments),
            "startAt": 0,
        }

    def available_transitions(self, issue: Issue) -> list[Any]:
        current = self.site.statuses[issue.status_id]
        result = []
        for transition in self.site.transitions:
            if transition.to_status == issue.status_id:
                continue
            target = self.site.statuses[transition.to_status]
            # from a Done status only reopening or closing makes sense
            if current.category == "done" and target.category == "done" and target.id != "6":
                continue
            result.append(transition)
        return result

    def transition(self, transition: Any) -> dict[str, Any]:
        return {
            "id": transition.id,
            "name": transition.name,
            "to": self.status(self.site.statuses[transition.to_status]),
            "hasScreen": False,
            "isGlobal": True,
            "isInitial": False,
            "isAvailable": True,
            "isConditional": False,
            "looped": False,
        }

    # -- JSM ----------------------------------------------------------------------------------------

    def jsm_user(self, account_id: str) -> dict[str, Any] | None:
        user = self.site.users.get(account_id)
        if user is None:
            return None
        avatar = AVATAR.format(initials=(user.display_name[:1] or "U").upper())
        return {
            "accountId": user.account_id,
            "emailAddress": user.email,
            "displayName": user.display_name,
            "active": user.active,
            "timeZone": user.time_zone,
            "_links": {
                "jiraRest": f"{self.base}/rest/api/2/user?accountId={user.account_id}",
                "avatarUrls": {size: avatar for size in ("48x48", "24x24", "16x16", "32x32")},
                "self": f"{self.base}/rest/api/2/user?accountId={user.account_id}",
            },
        }

    def jsm_date(self, ms: int) -> dict[str, Any]:
        moment = datetime.fromtimestamp(ms / 1000, UTC).astimezone(_zone(self.viewer.time_zone))
        return {
            "iso8601": f"{moment:%Y-%m-%dT%H:%M:%S}{moment.strftime('%z')}",
            "jira": format_ms(ms, self.viewer.time_zone),
            "friendly": f"{moment:%d/%b/%y %I:%M %p}",
            "epochMillis": ms,
        }

    def jsm_comment(self, comment: Comment) -> dict[str, Any]:
        return {
            "id": str(comment.id),
            "body": adf_to_text(comment.body),
            "public": not comment.internal,
            "author": self.jsm_user(comment.author),
            "created": self.jsm_date(comment.created_ms),
            "_links": {
                "self": f"{self.base}/rest/servicedeskapi/request/{comment.issue_id}/comment/{comment.id}"
            },
        }


def jsm_page(values: list[Any], start: int, limit: int, base: str, path: str) -> dict[str, Any]:
    """The JSM paged envelope (`size/start/limit/isLastPage/values/_links`)."""
    page = values[start : start + limit]
    last = start + limit >= len(values)
    links: dict[str, Any] = {"base": base, "context": "", "self": f"{base}{path}?start={start}&limit={limit}"}
    if not last:
        links["next"] = f"{base}{path}?start={start + limit}&limit={limit}"
    if start > 0:
        links["prev"] = f"{base}{path}?start={max(0, start - limit)}&limit={limit}"
    return {
        "size": len(page),
        "start": start,
        "limit": limit,
        "isLastPage": last,
        "values": page,
        "_links": links,
    }


_SYSTEM_FIELDS: dict[str, Callable[[View, Issue, int], Any]] = {
    "summary": lambda v, i, _c: i.summary,
    "description": lambda v, i, _c: v.rich_text(i.description),
    "status": lambda v, i, _c: v.status(v.site.statuses[i.status_id]),
    "priority": lambda v, i, _c: v._priority_of(i),
    "labels": lambda v, i, _c: list(i.labels),
    "reporter": lambda v, i, _c: v.user(i.reporter),
    "creator": lambda v, i, _c: v.user(i.creator),
    "assignee": lambda v, i, _c: v.user(i.assignee),
    "created": lambda v, i, _c: v.dt(i.created_ms),
    "updated": lambda v, i, _c: v.dt(i.updated_ms),
    "project": lambda v, i, _c: v.project(i.project),
    "issuetype": lambda v, i, _c: v._issuetype_of(i),
    "resolution": lambda v, i, _c: v._resolution_of(i),
    "resolutiondate": lambda v, i, _c: v.dt(i.resolution_ms),
    "statuscategorychangedate": lambda v, i, _c: v.dt(i.status_changed_ms),
    "comment": lambda v, i, cap: v.comment_page(i, cap),
    "watches": lambda v, i, _c: v._watches(i),
}
