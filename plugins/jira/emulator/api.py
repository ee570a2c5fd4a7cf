"""The Jira Cloud / JSM REST API served by the emulator (`JiraEmulator`, a `VendorAPI`).

Routing, authentication, rate limits and every handler live here; data lives in `model.JiraSite`,
JSON shapes in `render.View`, JQL in `jql`. Behaviour follows reference/helpdesk-apis.md section 2:
`serverInfo` with `deploymentType: Cloud`, enhanced search with `nextPageToken` (absent on the last
page) and a bounded-JQL check, 410 on the removed `/search`, 204 edits with labels add/remove/set,
v3 comments that must be ADF, JSM internal comments through the `sd.public.comment` property,
`/rest/api/latest/...` aliases, JSM organizations and SLA objects, 429 with `Retry-After`,
`X-RateLimit-*` and `RateLimit-Reason`, platform (`errorMessages`/`errors`) and JSM (`errorMessage`)
error bodies.

`nextPageToken` is a search-after position (the last returned sort key), so an issue updated while
a client pages moves behind the cursor instead of shifting unread issues onto an earlier page.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import math
import re
import secrets
import time
from bisect import bisect_left, bisect_right
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from werkzeug.wrappers import Request, Response

from connector.emulation.base import SimClock
from plugins.jira.emulator import jql, permissions, project_search
from plugins.jira.emulator.model import (
    CUSTOM_FIELD_TYPES,
    Comment,
    FieldDef,
    History,
    Issue,
    JiraSite,
    Organization,
    User,
    adf_to_text,
    text_to_adf,
)
from plugins.jira.emulator.render import FieldSelection, View, format_ms, jsm_page
from plugins.jira.emulator.sla import render_sla

REMOVED_SEARCH_MESSAGE = (
    "The requested API has been removed. Please migrate to the /rest/api/3/search/jql API. "
    "A full migration guideline is available at https://developer.atlassian.com/changelog/#CHANGE-2046"
)
UNBOUNDED_MESSAGE = (
    "Unbounded JQL queries are not allowed here. Please add a search restriction to your query."
)
NOT_AUTHENTICATED = "Client must be authenticated to access this resource."
ISSUE_NOT_FOUND = "Issue does not exist or you do not have permission to see it."
DATETIME_INPUT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?[+-]\d{4}$")


class ApiError(Exception):
    def __init__(self, response: Response) -> None:
        super().__init__(response.status)
        self.response = response


def _json(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    response = Response(json.dumps(payload), status=status, mimetype="application/json")
    response.headers["Content-Type"] = "application/json;charset=UTF-8"
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def platform_error(
    status: int, messages: list[str] | None = None, errors: dict[str, str] | None = None
) -> ApiError:
    return ApiError(_json({"errorMessages": messages or [], "errors": errors or {}}, status))


def jsm_error(status: int, message: str, i18n_key: str) -> ApiError:
    body = {"errorMessage": message, "i18nErrorMessage": {"i18nKey": i18n_key, "parameters": []}}
    return ApiError(_json(body, status))


def _no_content() -> Response:
    return Response(status=204)


@dataclass(frozen=True)
class RateLimits:
    """Per-account burst bucket plus a per-issue write cap, like Jira Cloud's burst and
    `jira-per-issue-on-write` limits. Measured on the real monotonic clock, because rate limits are
    about request pacing, not about the simulated business time."""

    burst: int = 100
    per_second: float = 50.0
    issue_writes_per_second: int | None = 20


@dataclass
class _Bucket:
    tokens: float
    stamp: float


@dataclass
class Ctx:
    request: Request
    view: View
    caller: User
    now_ms: int
    body_cache: Any = field(default=None)

    @property
    def version(self) -> str:
        return self.view.version

    def body(self) -> Any:
        if self.body_cache is None:
            raw = self.request.get_data(cache=True)
            if not raw:
                self.body_cache = {}
            else:
                try:
                    self.body_cache = json.loads(raw)
                except ValueError as exc:
                    raise platform_error(
                        400, [f"Unexpected character in the request body: {str(exc)[:80]}"]
                    ) from exc
        return self.body_cache


Handler = Callable[..., Response]


class FieldError(Exception):
    def __init__(self, field_id: str, message: str) -> None:
        super().__init__(message)
        self.field_id = field_id
        self.message = message


class JiraEmulator:
    """A Jira Cloud site with Jira Service Management, served over the real REST paths."""

    def __init__(
        self,
        clock: SimClock,
        *,
        credentials: str | None = None,
        rate_limits: RateLimits | None = None,
        time_zone: str = "America/Los_Angeles",
        page_cap: int = 100,
        changelog_cap: int = 100,
        comment_cap: int = 100,
    ) -> None:
        self.clock = clock
        self.site = JiraSite(default_time_zone=time_zone)
        self.rate_limits = rate_limits
        self.page_cap = page_cap
        self.changelog_cap = changelog_cap
        self.comment_cap = comment_cap
        self._token: str | None = None
        admin_email = "admin@tierdesk.example"
        if credentials:
            admin_email, _, self._token = credentials.partition(":")
            if not self._token:
                raise ValueError("credentials must be EMAIL:TOKEN")
        with self.site.lock:
            self.admin = self.site.add_user(admin_email, "Site Admin", "atlassian")
        self._buckets: dict[str, _Bucket] = {}
        self._issue_writes: dict[int, list[float]] = {}
        self._platform_routes: list[tuple[str, re.Pattern[str], Handler]] = []
        self._jsm_routes: list[tuple[str, re.Pattern[str], Handler]] = []
        self._register()

    # ------------------------------------------------------------------------------------------
    # VendorAPI

    def now_ms(self) -> int:
        return int(self.clock.now().timestamp() * 1000)

    def dispatch(self, request: Request) -> Response:
        with self.site.lock:
            try:
                response = self._dispatch(request)
            except ApiError as exc:
                response = exc.response
        response.headers["X-Arequestid"] = secrets.token_hex(8)
        response.headers["Server"] = "AtlassianEdge"
        return response

    def fault_response(self, request: Request, status: int, retry_after: int | None) -> Response:
        jsm = request.path.startswith("/rest/servicedeskapi/")
        messages = {
            429: "Rate limit exceeded.",
            500: "Internal server error",
            502: "Bad gateway",
            503: "Service Unavailable",
            504: "Gateway timeout",
            409: "Conflict",
        }
        message = messages.get(status, f"HTTP {status}")
        if status == 200:
            response = _json({})
        elif jsm:
            response = _json({"errorMessage": message}, status)
        else:
            response = _json({"errorMessages": [message], "errors": {}}, status)
        if retry_after is not None:
            response.headers["Retry-After"] = str(retry_after)
        if status == 429:
            reset = self.clock.now() + timedelta(seconds=retry_after or 60)
            response.headers["X-RateLimit-Limit"] = str(self.rate_limits.burst if self.rate_limits else 350)
            response.headers["X-RateLimit-Remaining"] = "0"
            response.headers["X-RateLimit-Reset"] = reset.astimezone(UTC).strftime("%Y-%m-%dT%H:%MZ")
            response.headers["RateLimit-Reason"] = "jira-burst-based"
        return response

    # ------------------------------------------------------------------------------------------
    # Dispatch, auth, limits

    def _dispatch(self, request: Request) -> Response:
        path = request.path
        caller = self._authenticate(request)
        base = f"{request.scheme}://{request.host}"
        platform = re.match(r"^/rest/api/(2|3|latest)/(.*)$", path)
        if platform:
            version, rest = platform.group(1), platform.group(2).rstrip("/")
            routes = self._platform_routes
        elif path.startswith("/rest/servicedeskapi/"):
            version, rest = "2", path.removeprefix("/rest/servicedeskapi/").rstrip("/")
            routes = self._jsm_routes
        else:
            raise platform_error(404, ["The requested resource could not be found."])
        ctx = Ctx(
            request=request, view=View(self.site, base, version, caller), caller=caller, now_ms=self.now_ms()
        )
        allowed: list[str] = []
        for method, pattern, handler in routes:
            match = pattern.fullmatch(rest)
            if match is None:
                continue
            if method != request.method:
                allowed.append(method)
                continue
            limited = self._rate_limit(request, caller, match.groupdict().get("ref"))
            if limited is not None:
                return limited
            return handler(ctx, **match.groupdict())
        if allowed:
            raise platform_error(
                405, [f"Method {request.method} is not allowed; use {', '.join(sorted(set(allowed)))}."]
            )
        raise platform_error(404, ["The requested resource could not be found."])

    def _authenticate(self, request: Request) -> User:
        auth = request.authorization
        email = auth.username if auth is not None and auth.type == "basic" else None
        if self._token is not None:
            user = self.site.user_by_email(email) if email else None
            if auth is None or auth.password != self._token or user is None:
                raise ApiError(self._unauthorized())
            return user
        if not email:
            return self.admin
        user = self.site.user_by_email(email)
        if user is None:
            user = self.site.add_user(email, email.split("@")[0].replace(".", " ").title(), "atlassian")
        return user

    def _unauthorized(self) -> Response:
        response = Response(NOT_AUTHENTICATED, status=401, mimetype="text/plain")
        response.headers["WWW-Authenticate"] = 'Basic realm="protected-area"'
        response.headers["X-Seraph-LoginReason"] = "AUTHENTICATED_FAILED"
        return response

    def _rate_limit(self, request: Request, caller: User, ref: str | None) -> Response | None:
        limits = self.rate_limits
        if limits is None:
            return None
        now = time.monotonic()
        bucket = self._buckets.setdefault(caller.account_id, _Bucket(float(limits.burst), now))
        bucket.tokens = min(float(limits.burst), bucket.tokens + (now - bucket.stamp) * limits.per_second)
        bucket.stamp = now
        if bucket.tokens < 1.0:
            wait = max(1, math.ceil((1.0 - bucket.tokens) / limits.per_second))
            return self._limited(wait, "jira-burst-based", limits.burst)
        bucket.tokens -= 1.0
        if limits.issue_writes_per_second and ref and request.method in ("POST", "PUT", "DELETE"):
            issue = self.site.issue_by_ref(ref)
            if issue is not None:
                recent = [t for t in self._issue_writes.get(issue.id, []) if now - t < 1.0]
                if len(recent) >= limits.issue_writes_per_second:
                    self._issue_writes[issue.id] = recent
                    return self._limited(1, "jira-per-issue-on-write", limits.issue_writes_per_second)
                recent.append(now)
                self._issue_writes[issue.id] = recent
        return None

    def _limited(self, wait: int, reason: str, limit: int) -> Response:
        reset = (self.clock.now() + timedelta(seconds=wait)).astimezone(UTC)
        return _json(
            {"errorMessages": ["Rate limit exceeded."], "errors": {}},
            429,
            {
                "Retry-After": str(wait),
                "X-RateLimit-Limit": str(limit),
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset": reset.strftime("%Y-%m-%dT%H:%MZ"),
                "X-RateLimit-NearLimit": "true",
                "RateLimit-Reason": reason,
            },
        )

    # ------------------------------------------------------------------------------------------
    # Routes

    def _register(self) -> None:
        ref = r"(?P<ref>[A-Za-z0-9_-]+)"
        platform: list[tuple[str, str, Handler]] = [
            ("GET", r"serverInfo", self.server_info),
            ("GET", r"myself", self.myself),
            ("GET", r"mypermissions", self.my_permissions),
            ("GET", r"field", self.list_fields),
            ("POST", r"field", self.create_field),
            ("GET", r"field/(?P<field_id>[^/]+)/context", self.field_contexts),
            ("GET", r"field/(?P<field_id>[^/]+)/context/(?P<context_id>\d+)/option", self.field_options),
            ("POST", r"field/(?P<field_id>[^/]+)/context/(?P<context_id>\d+)/option", self.add_field_options),
            ("GET", r"user", self.get_user),
            ("POST", r"user", self.create_user),
            ("GET", r"user/search", self.search_users),
            ("GET", r"priority", self.list_priorities),
            ("GET", r"status", self.list_statuses),
            ("GET", r"issuetype", self.list_issuetypes),
            ("GET", r"resolution", self.list_resolutions),
            ("GET", r"project", self.list_projects),
            ("POST", r"project", self.create_project),
            ("GET", r"project/search", self.search_projects),
            ("GET", r"project/(?P<project_ref>[^/]+)", self.get_project),
            ("GET", r"search/jql", self.search),
            ("POST", r"search/jql", self.search),
            ("POST", r"search/approximate-count", self.approximate_count),
            ("GET", r"search", self.removed_search),
            ("POST", r"search", self.removed_search),
            ("POST", r"issue", self.create_issue),
            ("POST", r"issue/bulk", self.create_issues),
            ("GET", rf"issue/{ref}", self.get_issue),
            ("PUT", rf"issue/{ref}", self.edit_issue),
            ("DELETE", rf"issue/{ref}", self.delete_issue),
            ("GET", rf"issue/{ref}/changelog", self.changelog),
            ("GET", rf"issue/{ref}/comment", self.list_comments),
            ("POST", rf"issue/{ref}/comment", self.add_comment),
            ("GET", rf"issue/{ref}/comment/(?P<comment_id>\d+)", self.get_comment),
            ("GET", rf"issue/{ref}/transitions", self.list_transitions),
            ("POST", rf"issue/{ref}/transitions", self.do_transition),
            ("PUT", rf"issue/{ref}/assignee", self.assign),
            ("GET", rf"issue/{ref}/properties", self.property_keys),
            ("GET", rf"issue/{ref}/properties/(?P<key>[^/]+)", self.get_property),
            ("PUT", rf"issue/{ref}/properties/(?P<key>[^/]+)", self.put_property),
            ("DELETE", rf"issue/{ref}/properties/(?P<key>[^/]+)", self.delete_property),
            ("GET", rf"issue/{ref}/watchers", self.list_watchers),
            ("POST", rf"issue/{ref}/watchers", self.add_watcher),
        ]
        jsm: list[tuple[str, str, Handler]] = [
            ("GET", r"servicedesk", self.jsm_servicedesks),
            ("GET", r"organization", self.jsm_organizations),
            ("POST", r"organization", self.jsm_create_organization),
            ("GET", r"organization/(?P<org_id>\d+)", self.jsm_organization),
            ("GET", r"organization/(?P<org_id>\d+)/user", self.jsm_organization_users),
            ("POST", r"organization/(?P<org_id>\d+)/user", self.jsm_add_organization_users),
            ("POST", r"customer", self.jsm_create_customer),
            ("GET", rf"request/{ref}/sla", self.jsm_sla),
            ("GET", rf"request/{ref}/comment", self.jsm_comments),
            ("POST", rf"request/{ref}/comment", self.jsm_add_comment),
        ]
        self._platform_routes = [(m, re.compile(p), h) for m, p, h in platform]
        self._jsm_routes = [(m, re.compile(p), h) for m, p, h in jsm]

    # ------------------------------------------------------------------------------------------
    # Site information

    def server_info(self, ctx: Ctx) -> Response:
        return _json(
            {
                "baseUrl": ctx.view.base,
                "version": "1001.0.0-SNAPSHOT",
                "versionNumbers": [1001, 0, 0],
                "deploymentType": "Cloud",
                "buildNumber": 100288,
                "buildDate": "2025-12-01T00:00:00.000+0000",
                "serverTime": ctx.view.dt(ctx.now_ms),
                "scmInfo": "57a0ca5b0000000000000000000000000000000",
                "serverTitle": "Jira",
            }
        )

    def myself(self, ctx: Ctx) -> Response:
        return _json(ctx.view.myself(ctx.caller))

    def my_permissions(self, ctx: Ctx) -> Response:
        return _json(*permissions.answer(self.site, ctx.caller, ctx.request.args))

    def list_fields(self, ctx: Ctx) -> Response:
        return _json([ctx.view.field(d) for d in self.site.fields.values()])

    def create_field(self, ctx: Ctx) -> Response:
        body = ctx.body()
        name, custom_type = body.get("name"), body.get("type")
        if not name or custom_type not in CUSTOM_FIELD_TYPES:
            raise platform_error(400, [], {"type": f"Custom field type '{custom_type}' is not supported."})
        return _json(ctx.view.field(self.site.add_field(str(name), str(custom_type))), 201)

    def _field(self, field_id: str) -> FieldDef:
        definition = self.site.fields.get(field_id)
        if definition is None or not definition.custom:
            raise platform_error(404, [f"The custom field was not found: {field_id}"])
        return definition

    def field_contexts(self, ctx: Ctx, field_id: str) -> Response:
        definition = self._field(field_id)
        value = {
            "id": definition.context_id,
            "name": f"Default Configuration Scheme for {definition.name}",
            "description": "",
            "isGlobalContext": True,
            "isAnyIssueType": True,
        }
        return _json({"maxResults": 50, "startAt": 0, "total": 1, "isLast": True, "values": [value]})

    def field_options(self, ctx: Ctx, field_id: str, context_id: str) -> Response:
        definition = self._field(field_id)
        if context_id != definition.context_id:
            raise platform_error(404, ["The context was not found."])
        values = [{"id": oid, "value": v, "disabled": False} for oid, v in definition.options.items()]
        start, limit = _int_arg(ctx, "startAt", 0), _int_arg(ctx, "maxResults", 100)
        page = values[start : start + limit]
        return _json(
            {
                "maxResults": limit,
                "startAt": start,
                "total": len(values),
                "isLast": start + limit >= len(values),
                "values": page,
            }
        )

    def add_field_options(self, ctx: Ctx, field_id: str, context_id: str) -> Response:
        definition = self._field(field_id)
        if context_id != definition.context_id:
            raise platform_error(404, ["The context was not found."])
        created = []
        for option in ctx.body().get("options") or []:
            value = str(option.get("value", "")).strip()
            if not value:
                raise platform_error(400, ["The option value must not be empty."])
            option_id = self.site.add_option(definition, value)
            created.append({"id": option_id, "value": value, "disabled": False})
        return _json({"options": created})

    # ------------------------------------------------------------------------------------------
    # Users

    def get_user(self, ctx: Ctx) -> Response:
        account_id = ctx.request.args.get("accountId", "")
        rendered = ctx.view.user(account_id)
        if rendered is None:
            raise platform_error(
                404, [f"Specified user does not exist or you do not have required permissions: {account_id}"]
            )
        return _json(rendered)

    def create_user(self, ctx: Ctx) -> Response:
        body = ctx.body()
        email = str(body.get("emailAddress") or "")
        if "@" not in email:
            raise platform_error(400, [], {"emailAddress": "You must specify a valid email address."})
        name = str(body.get("displayName") or email.split("@", maxsplit=1)[0])
        user = self.site.add_user(email, name, "atlassian")
        zone = body.get("timeZone")
        if isinstance(zone, str) and zone:
            user.time_zone = zone
        return _json(ctx.view.user(user.account_id), 201)

    def search_users(self, ctx: Ctx) -> Response:
        args = ctx.request.args
        account_id = args.get("accountId")
        query = (args.get("query") or args.get("username") or "").lower()
        if not account_id and not query:
            raise platform_error(400, ["The query parameter 'query' is required."])
        matches: list[User] = []
        for user in self.site.users.values():
            if account_id and user.account_id != account_id:
                continue
            if query and not (
                user.account_id.lower() == query
                or user.email.lower().startswith(query)
                or any(part.lower().startswith(query) for part in user.display_name.split())
                or user.display_name.lower().startswith(query)
            ):
                continue
            matches.append(user)
        start, limit = _int_arg(ctx, "startAt", 0), _int_arg(ctx, "maxResults", 50)
        return _json([ctx.view.user(u.account_id) for u in matches[start : start + limit]])

    # ------------------------------------------------------------------------------------------
    # Reference data

    def list_priorities(self, ctx: Ctx) -> Response:
        return _json([ctx.view.priority_full(p) for p in self.site.priorities])

    def list_statuses(self, ctx: Ctx) -> Response:
        return _json([ctx.view.status(s) for s in self.site.statuses.values()])

    def list_issuetypes(self, ctx: Ctx) -> Response:
        return _json([ctx.view.issuetype(t) for t in self.site.issuetypes])

    def list_resolutions(self, ctx: Ctx) -> Response:
        return _json([ctx.view.resolution(r) for r in self.site.resolutions])

    def list_projects(self, ctx: Ctx) -> Response:
        return _json([ctx.view.project(p, full=True) for p in self.site.projects.values()])

    def search_projects(self, ctx: Ctx) -> Response:
        try:
            body = project_search.search_page(
                list(self.site.projects.values()),
                ctx.request.args,
                f"{ctx.view.api}/project/search",
                ctx.view.project,
            )
        except project_search.BadArgument as exc:
            raise platform_error(400, [str(exc)]) from None
        return _json(body)

    def get_project(self, ctx: Ctx, project_ref: str) -> Response:
        project = self.site.project_by_ref(project_ref)
        if project is None:
            raise platform_error(404, [f"No project could be found with key '{project_ref}'."])
        return _json(ctx.view.project(project, full=True))

    def create_project(self, ctx: Ctx) -> Response:
        body = ctx.body()
        key = str(body.get("key") or "").upper()
        if not re.fullmatch(r"[A-Z][A-Z0-9_]{1,9}", key):
            raise platform_error(400, [], {"projectKey": "Project keys must start with an uppercase letter."})
        if key in self.site.projects_by_key:
            raise platform_error(400, [], {"projectKey": f"Project '{key}' uses this project key."})
        lead = str(body.get("leadAccountId") or ctx.caller.account_id)
        type_key = str(body.get("projectTypeKey") or "software")
        project = self.site.add_project(key, str(body.get("name") or key), type_key, lead)
        return _json(
            {"self": f"{ctx.view.api}/project/{project.id}", "id": project.id, "key": project.key}, 201
        )

    # ------------------------------------------------------------------------------------------
    # Search

    def removed_search(self, ctx: Ctx) -> Response:
        raise platform_error(410, [REMOVED_SEARCH_MESSAGE])

    def _search_params(self, ctx: Ctx) -> dict[str, Any]:
        if ctx.request.method == "POST":
            body = ctx.body()
            if not isinstance(body, dict):
                raise platform_error(400, ["The request body must be a JSON object."])
            properties = body.get("properties") or []
            return {
                "jql": body.get("jql"),
                "token": body.get("nextPageToken"),
                "max": body.get("maxResults"),
                "fields": body.get("fields"),
                "expand": body.get("expand") or "",
                "properties": properties if isinstance(properties, list) else str(properties).split(","),
            }
        args = ctx.request.args
        return {
            "jql": args.get("jql"),
            "token": args.get("nextPageToken"),
            "max": args.get("maxResults"),
            "fields": args.getlist("fields") or None,
            "expand": ",".join(args.getlist("expand")),
            "properties": [p for value in args.getlist("properties") for p in value.split(",")],
        }

    def _compile(self, ctx: Ctx, text: str | None) -> jql.CompiledQuery:
        if not text or not str(text).strip():
            raise platform_error(400, [UNBOUNDED_MESSAGE])
        try:
            query = jql.parse(str(text))
            if query.where is None:
                raise platform_error(400, [UNBOUNDED_MESSAGE])
            caller = jql.Caller(ctx.caller.account_id, ctx.caller.time_zone, ctx.now_ms)
            return jql.compile_query(query, self.site, caller)
        except jql.JqlError as exc:
            raise platform_error(400, [exc.message]) from exc

    def search(self, ctx: Ctx) -> Response:
        params = self._search_params(ctx)
        compiled = self._compile(ctx, params["jql"])
        selection = FieldSelection.parse(params["fields"], default="id")
        cap = 5000 if selection.only_ids else self.page_cap
        try:
            requested = int(params["max"]) if params["max"] not in (None, "") else 50
        except (TypeError, ValueError) as exc:
            raise platform_error(400, ["maxResults must be a number."]) from exc
        limit = max(1, min(requested, cap))
        order = compiled.order or (("key", False),)
        digest = hashlib.sha1(str(params["jql"]).encode(), usedforsecurity=False).hexdigest()[:12]
        after = _decode_token(params["token"], digest) if params["token"] else None
        if compiled.updated_index_order:
            issues, more, last_key = self._page_by_updated(compiled, after, limit)
        else:
            issues, more, last_key = self._page_sorted(compiled, order, after, limit)
        expand = frozenset(e.strip() for e in str(params["expand"]).split(",") if e.strip())
        payload: dict[str, Any] = {
            "issues": [
                ctx.view.issue(
                    issue, selection, expand, params["properties"], self.changelog_cap, self.comment_cap
                )
                for issue in issues
            ],
        }
        if more and last_key is not None:
            payload["nextPageToken"] = _encode_token(digest, last_key)
        payload["isLast"] = not more
        return _json(payload)

    def _page_by_updated(
        self, compiled: jql.CompiledQuery, after: list[Any] | None, limit: int
    ) -> tuple[list[Issue], bool, list[Any] | None]:
        index = self.site.updated_index
        if after is not None:
            position = bisect_right(index, tuple(after))
        else:
            position = (
                bisect_left(index, (compiled.updated_from,)) if compiled.updated_from is not None else 0
            )
        page: list[Issue] = []
        more = False
        while position < len(index):
            issue = self.site.issues[index[position][3]]
            position += 1
            if not compiled.predicate(issue):
                continue
            if len(page) == limit:
                more = True
                break
            page.append(issue)
        last = list(page[-1].index_key()) if page else None
        return page, more, last

    def _page_sorted(
        self,
        compiled: jql.CompiledQuery,
        order: tuple[tuple[str, bool], ...],
        after: list[Any] | None,
        limit: int,
    ) -> tuple[list[Issue], bool, list[Any] | None]:
        try:
            keyed = sorted(
                (
                    (jql.comparable(jql.raw_sort_key(issue, order, self.site), order), issue)
                    for issue in self.site.issues.values()
                    if compiled.predicate(issue)
                ),
                key=lambda pair: pair[0],
            )
        except jql.JqlError as exc:
            raise platform_error(400, [exc.message]) from exc
        start = 0
        if after is not None:
            start = bisect_right([k for k, _ in keyed], jql.comparable(after, order))
        page = [issue for _, issue in keyed[start : start + limit]]
        more = start + limit < len(keyed)
        last = jql.raw_sort_key(page[-1], order, self.site) if page else None
        return page, more, last

    def approximate_count(self, ctx: Ctx) -> Response:
        compiled = self._compile(ctx, ctx.body().get("jql"))
        return _json({"count": sum(1 for issue in self.site.issues.values() if compiled.predicate(issue))})

    # ------------------------------------------------------------------------------------------
    # Issues

    def _issue(self, ref: str) -> Issue:
        issue = self.site.issue_by_ref(ref)
        if issue is None:
            raise platform_error(404, [ISSUE_NOT_FOUND])
        return issue

    def get_issue(self, ctx: Ctx, ref: str) -> Response:
        issue = self._issue(ref)
        args = ctx.request.args
        selection = FieldSelection.parse(args.getlist("fields") or None, default="*all")
        expand = frozenset(e.strip() for v in args.getlist("expand") for e in v.split(",") if e.strip())
        properties = [p for v in args.getlist("properties") for p in v.split(",")]
        return _json(ctx.view.issue(issue, selection, expand, properties, self.changelog_cap, 5000))

    def create_issue(self, ctx: Ctx) -> Response:
        body = ctx.body()
        issue = self._create(ctx, body if isinstance(body, dict) else {})
        return _json({"id": str(issue.id), "key": issue.key, "self": f"{ctx.view.api}/issue/{issue.id}"}, 201)

    def create_issues(self, ctx: Ctx) -> Response:
        updates = ctx.body().get("issueUpdates") or []
        if len(updates) > 50:
            raise platform_error(400, ["You can create at most 50 issues in one request."])
        created: list[dict[str, Any]] = []
        errors: list[dict[str, Any]] = []
        for number, update in enumerate(updates):
            try:
                issue = self._create(ctx, update)
            except ApiError as exc:
                element = json.loads(exc.response.get_data())
                errors.append(
                    {
                        "status": exc.response.status_code,
                        "elementErrors": element,
                        "failedElementNumber": number,
                    }
                )
                continue
            created.append(
                {"id": str(issue.id), "key": issue.key, "self": f"{ctx.view.api}/issue/{issue.id}"}
            )
        return _json({"issues": created, "errors": errors}, 201 if created or not errors else 400)

    def _create(self, ctx: Ctx, body: dict[str, Any]) -> Issue:
        fields = dict(body.get("fields") or {})
        project_ref = fields.pop("project", None) or {}
        project = None
        if isinstance(project_ref, dict):
            project = self.site.project_by_ref(str(project_ref.get("key") or project_ref.get("id") or ""))
        if project is None:
            raise platform_error(400, [], {"project": "Specify a valid project ID or key"})
        summary = fields.pop("summary", None)
        if not isinstance(summary, str) or not summary.strip():
            raise platform_error(400, [], {"summary": "You must specify a summary of the issue."})
        issuetype_ref = fields.pop("issuetype", None) or {}
        issuetype = self.site.issuetype_by_name_or_id(
            str(issuetype_ref.get("id") or issuetype_ref.get("name") or "")
            if isinstance(issuetype_ref, dict)
            else ""
        )
        if issuetype is None:
            raise platform_error(400, [], {"issuetype": "Specify an issue type"})
        reporter = ctx.caller.account_id
        reporter_ref = fields.pop("reporter", None)
        if isinstance(reporter_ref, dict) and reporter_ref.get("accountId"):
            reporter = str(reporter_ref["accountId"])
            if reporter not in self.site.users:
                raise platform_error(
                    400, [], {"reporter": f"The reporter specified is not a user: {reporter}"}
                )
        issue = Issue(
            id=self.site.next_id("issue"),
            project=project,
            number=project.next_number,
            issuetype=issuetype.id,
            summary=summary.strip(),
            description=None,
            status_id="10001",
            priority_id="3",
            reporter=reporter,
            creator=ctx.caller.account_id,
            assignee=None,
            created_ms=ctx.now_ms,
            updated_ms=ctx.now_ms,
            status_changed_ms=ctx.now_ms,
        )
        changes = self._validate_edit(ctx, issue, fields, body.get("update") or {})
        project.next_number += 1
        for apply in changes:
            apply()
        for prop in body.get("properties") or []:
            if isinstance(prop, dict) and prop.get("key"):
                issue.properties[str(prop["key"])] = prop.get("value")
        self.site.insert_issue(issue)
        return issue

    def edit_issue(self, ctx: Ctx, ref: str) -> Response:
        issue = self._issue(ref)
        body = ctx.body()
        if not isinstance(body, dict):
            raise platform_error(400, ["The request body must be a JSON object."])
        fields = body.get("fields") or {}
        update = body.get("update") or {}
        both = sorted(set(fields) & set(update))
        if both:
            raise platform_error(
                400, [], {f: f"Field '{f}' cannot be set in both 'fields' and 'update'." for f in both}
            )
        for prop in body.get("properties") or []:
            if not isinstance(prop, dict) or not prop.get("key"):
                raise platform_error(400, ["Each property needs a key and a value."])
        changes = self._validate_edit(ctx, issue, fields, update)
        items = [item for apply in changes for item in apply()]
        for prop in body.get("properties") or []:
            issue.properties[str(prop["key"])] = prop.get("value")
        self._record(issue, ctx, items)
        if ctx.request.args.get("returnIssue") == "true":
            return _json(ctx.view.issue(issue, FieldSelection.parse(None, "*all")))
        return _no_content()

    def delete_issue(self, ctx: Ctx, ref: str) -> Response:
        self.site.delete_issue(self._issue(ref))
        return _no_content()

    def _record(self, issue: Issue, ctx: Ctx, items: list[dict[str, Any]]) -> None:
        """Append a changelog entry and move `updated` when something actually changed."""
        if not items:
            return
        issue.histories.append(
            History(self.site.next_id("history"), ctx.caller.account_id, ctx.now_ms, items)
        )
        self.site.touch(issue, ctx.now_ms)

    # -- field validation and application ---------------------------------------------------------

    def _validate_edit(
        self, ctx: Ctx, issue: Issue, fields: dict[str, Any], update: dict[str, Any]
    ) -> list[Callable[[], list[dict[str, Any]]]]:
        """Check every field first (Jira rejects the whole edit on any error), then return the
        appliers, each returning its changelog items."""
        errors: dict[str, str] = {}
        changes: list[Callable[[], list[dict[str, Any]]]] = []
        operations: list[tuple[str, str, Any]] = [(fid, "set", value) for fid, value in fields.items()]
        for fid, ops in update.items():
            if not isinstance(ops, list):
                errors[fid] = f"Operations on field '{fid}' must be a list."
                continue
            for op in ops:
                if not isinstance(op, dict) or len(op) != 1:
                    errors[fid] = f"Operation on field '{fid}' is invalid."
                    continue
                ((verb, value),) = op.items()
                operations.append((fid, verb, value))
        pending: dict[str, Any] = {}
        for fid, verb, value in operations:
            try:
                definition = self.site.fields.get(fid)
                if definition is None or fid in (
                    "status",
                    "created",
                    "updated",
                    "resolution",
                    "resolutiondate",
                    "creator",
                    "project",
                    "comment",
                    "watches",
                    "statuscategorychangedate",
                ):
                    raise FieldError(
                        fid, f"Field '{fid}' cannot be set. It is not on the appropriate screen, or unknown."
                    )
                current = pending.get(fid, _MISSING)
                if current is _MISSING:
                    current = self._current(issue, definition)
                pending[fid] = self._compute(ctx, definition, verb, value, current)
            except FieldError as exc:
                errors[exc.field_id] = exc.message
        if errors:
            raise platform_error(400, [], errors)
        for fid, new_value in pending.items():
            changes.append(self._applier(ctx, issue, self.site.fields[fid], new_value))
        return changes

    def _current(self, issue: Issue, definition: FieldDef) -> Any:
        system = {
            "summary": issue.summary,
            "description": issue.description,
            "priority": issue.priority_id,
            "labels": list(issue.labels),
            "reporter": issue.reporter,
            "assignee": issue.assignee,
            "issuetype": issue.issuetype,
        }
        if not definition.custom:
            return system.get(definition.id)
        value = issue.custom.get(definition.id)
        return list(value) if isinstance(value, list) else value

    def _compute(self, ctx: Ctx, definition: FieldDef, verb: str, value: Any, current: Any) -> Any:
        fid = definition.id
        multi = definition.type == "array"
        if verb not in ("set", "add", "remove", "edit") or (not multi and verb in ("add", "remove")):
            raise FieldError(fid, f"Operation '{verb}' is not supported for field '{fid}'.")
        if multi:
            items = list(current or [])
            if verb == "set":
                if value is not None and not isinstance(value, list):
                    raise FieldError(fid, f"Field '{fid}' takes a list.")
                return _dedupe([self._element(ctx, definition, v) for v in value or []])
            element = self._element(ctx, definition, value)
            if verb == "add":
                return items if element in items else [*items, element]
            return [item for item in items if item != element]
        return self._scalar(ctx, definition, value)

    def _element(self, ctx: Ctx, definition: FieldDef, value: Any) -> Any:
        fid = definition.id
        if definition.items == "string":
            if not isinstance(value, str) or not value:
                raise FieldError(fid, "Labels must be non-empty strings.")
            if " " in value:
                raise FieldError(fid, f"The label '{value}' contains spaces which is invalid.")
            if len(value) > 255:
                raise FieldError(fid, "The label must not exceed 255 characters.")
            return value
        if definition.items == "option":
            return self._option_id(definition, value)
        if definition.items == "user":
            return self._account(fid, value)
        if definition.items == "sd-customerorganization":
            org_id = value.get("id") if isinstance(value, dict) else value
            org = self.site.organizations.get(int(str(org_id))) if str(org_id).isdigit() else None
            if org is None:
                raise FieldError(fid, f"Organization with id '{org_id}' does not exist.")
            return org.id
        raise FieldError(fid, f"Field '{fid}' cannot be set.")

    def _scalar(self, ctx: Ctx, definition: FieldDef, value: Any) -> Any:
        fid = definition.id
        if fid == "summary":
            if not isinstance(value, str) or not value.strip():
                raise FieldError(fid, "You must specify a summary of the issue.")
            return value.strip()
        if value is None:
            if fid in ("priority", "issuetype"):
                raise FieldError(fid, f"Field '{fid}' is required.")
            return None
        if fid == "priority":
            ref = value.get("id") or value.get("name") if isinstance(value, dict) else None
            priority = self.site.priority_by_name_or_id(str(ref)) if ref else None
            if priority is None:
                raise FieldError(fid, f"The priority selected is invalid: {json.dumps(value)}")
            return priority.id
        if fid == "issuetype":
            ref = value.get("id") or value.get("name") if isinstance(value, dict) else None
            issuetype = self.site.issuetype_by_name_or_id(str(ref)) if ref else None
            if issuetype is None:
                raise FieldError(fid, "Specify an issue type")
            return issuetype.id
        if definition.type == "user":
            return self._account(fid, value)
        if fid == "description" or (definition.custom_type or "").endswith(":textarea"):
            if ctx.version == "3":
                if not (isinstance(value, dict) and value.get("type") == "doc"):
                    raise FieldError(
                        fid,
                        "Operation value must be an Atlassian Document (see the Atlassian Document Format)",
                    )
                return value
            if not isinstance(value, str):
                raise FieldError(fid, "Operation value must be a string")
            return text_to_adf(value)
        kind = definition.type
        if kind == "string":
            if not isinstance(value, str):
                raise FieldError(fid, "Operation value must be a string")
            if len(value) > 255:
                raise FieldError(
                    fid, "The entered text is too long. It exceeds the allowed limit of 255 characters."
                )
            return value
        if kind == "datetime":
            invalid_format = FieldError(
                fid,
                "Invalid date format. Please enter the date in the format \"yyyy-MM-dd'T'HH:mm:ss.SSSZ\".",
            )
            if not isinstance(value, str) or not DATETIME_INPUT.match(value):
                raise invalid_format
            try:
                return _parse_input_datetime(value)
            except ValueError:  # the right shape, an impossible instant (month 13)
                raise invalid_format from None
        if kind == "date":
            if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
                raise FieldError(
                    fid, 'Invalid date format. Please enter the date in the format "yyyy-MM-dd".'
                )
            return value
        if kind == "number":
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise FieldError(fid, "Operation value must be a number.")
            return float(value)
        if kind == "option":
            return self._option_id(definition, value)
        if kind == "group":
            name = value.get("name") or value.get("groupId") if isinstance(value, dict) else None
            if not name:
                raise FieldError(fid, "Specify a valid group name.")
            return str(name).removeprefix("group-")
        raise FieldError(fid, f"Field '{fid}' cannot be set.")

    def _account(self, fid: str, value: Any) -> str:
        if not isinstance(value, dict):
            raise FieldError(fid, "Specify the user as an object with an accountId.")
        if "accountId" not in value:
            raise FieldError(
                fid, "'accountId' must be the only user identifying parameter (GDPR strict mode)."
            )
        account = str(value["accountId"])
        if account not in self.site.users:
            raise FieldError(fid, f"User '{account}' does not exist.")
        return account

    def _option_id(self, definition: FieldDef, value: Any) -> str:
        if isinstance(value, dict) and value.get("id") is not None:
            option_id = str(value["id"])
            if option_id not in definition.options:
                raise FieldError(definition.id, f"Option id '{option_id}' is not valid")
            return option_id
        text = value.get("value") if isinstance(value, dict) else None
        found = definition.option_by_value(str(text)) if text is not None else None
        if found is None:
            raise FieldError(definition.id, f"Option value '{text}' is not valid")
        return found

    def _applier(
        self, ctx: Ctx, issue: Issue, definition: FieldDef, new_value: Any
    ) -> Callable[[], list[dict[str, Any]]]:
        def apply() -> list[dict[str, Any]]:
            old_value = self._current(issue, definition)
            if _same(old_value, new_value):
                return []
            self._store(issue, definition, new_value)
            return [self._change_item(definition, old_value, new_value)]

        return apply

    def _store(self, issue: Issue, definition: FieldDef, value: Any) -> None:
        if definition.custom:
            if value is None or value == []:
                issue.custom.pop(definition.id, None)
            else:
                issue.custom[definition.id] = value
            return
        if definition.id == "labels":
            issue.labels = list(value or [])
        else:
            setattr(issue, {"priority": "priority_id"}.get(definition.id, definition.id), value)

    def _change_item(self, definition: FieldDef, old: Any, new: Any) -> dict[str, Any]:
        raw_old, text_old = self._history_value(definition, old)
        raw_new, text_new = self._history_value(definition, new)
        return {
            "field": definition.name if definition.custom else definition.id,
            "fieldtype": "custom" if definition.custom else "jira",
            "fieldId": definition.id,
            "from": raw_old,
            "fromString": text_old,
            "to": raw_new,
            "toString": text_new,
        }

    def _history_value(self, definition: FieldDef, value: Any) -> tuple[str | None, str | None]:
        if value is None or value == []:
            return None, None
        fid, kind = definition.id, definition.type
        if fid == "priority":
            priority = self.site.priority_by_name_or_id(str(value))
            return str(value), priority.name if priority else None
        if fid == "labels" or definition.items == "string":
            return None, " ".join(value)
        if kind == "user":
            user = self.site.users.get(str(value))
            return str(value), user.display_name if user else None
        if kind == "datetime":
            return format_ms(int(value), "UTC"), format_ms(int(value), "UTC")
        if kind == "date":
            # Jira Cloud: the ISO date in `from`/`to`, the agent's display format in the strings
            return str(value), _display_date(str(value))
        if kind == "number":
            # Jira Cloud: no raw value, the number as shown ("5", not "5.0")
            return None, _display_number(float(value))
        if kind == "option":
            return str(value), definition.options.get(str(value))
        if kind == "array" and definition.items == "option":
            return "[" + ", ".join(value) + "]", ",".join(definition.options.get(v, "") for v in value)
        if kind == "array" and definition.items == "sd-customerorganization":
            names = [self.site.organizations[v].name for v in value if v in self.site.organizations]
            return "[" + ", ".join(str(v) for v in value) + "]", ", ".join(names)
        if kind == "array" and definition.items == "user":
            return "[" + ", ".join(value) + "]", ", ".join(
                self.site.users[v].display_name for v in value if v in self.site.users
            )
        if isinstance(value, dict):
            return None, adf_to_text(value)
        return None, str(value)

    # -- changelog, comments ------------------------------------------------------------------------

    def changelog(self, ctx: Ctx, ref: str) -> Response:
        issue = self._issue(ref)
        start, limit = _int_arg(ctx, "startAt", 0), min(_int_arg(ctx, "maxResults", 100), 100)
        histories = issue.histories[start : start + limit]
        last = start + limit >= len(issue.histories)
        body: dict[str, Any] = {
            "self": f"{ctx.view.api}/issue/{issue.key}/changelog?maxResults={limit}&startAt={start}",
            "maxResults": limit,
            "startAt": start,
            "total": len(issue.histories),
            "isLast": last,
            "values": [ctx.view.history(h) for h in histories],
        }
        if not last:
            body["nextPage"] = (
                f"{ctx.view.api}/issue/{issue.key}/changelog?maxResults={limit}&startAt={start + limit}"
            )
        return _json(body)

    def list_comments(self, ctx: Ctx, ref: str) -> Response:
        issue = self._issue(ref)
        start, limit = _int_arg(ctx, "startAt", 0), min(_int_arg(ctx, "maxResults", 5000), 5000)
        order = ctx.request.args.get("orderBy", "created")
        comments = list(issue.comments)
        if order.startswith("-"):
            comments.reverse()
        expand = {e.strip() for e in ctx.request.args.get("expand", "").split(",")}
        page = comments[start : start + limit]
        return _json(
            {
                "startAt": start,
                "maxResults": limit,
                "total": len(comments),
                "comments": [ctx.view.comment(c, with_properties="properties" in expand) for c in page],
            }
        )

    def get_comment(self, ctx: Ctx, ref: str, comment_id: str) -> Response:
        issue = self._issue(ref)
        comment = self.site.comments.get(int(comment_id))
        if comment is None or comment.issue_id != issue.id:
            raise platform_error(404, [f"Can not find a comment for the id: {comment_id}."])
        expand = {e.strip() for e in ctx.request.args.get("expand", "").split(",")}
        return _json(ctx.view.comment(comment, with_properties="properties" in expand))

    def add_comment(self, ctx: Ctx, ref: str) -> Response:
        issue = self._issue(ref)
        body = ctx.body()
        comment = self._new_comment(ctx, issue, body if isinstance(body, dict) else {})
        expand = {e.strip() for e in ctx.request.args.get("expand", "").split(",")}
        return _json(ctx.view.comment(comment, with_properties="properties" in expand), 201)

    def _new_comment(
        self, ctx: Ctx, issue: Issue, body: dict[str, Any], version: str | None = None
    ) -> Comment:
        raw = body.get("body")
        if (version or ctx.version) == "3":
            if not (
                isinstance(raw, dict) and raw.get("type") == "doc" and isinstance(raw.get("content"), list)
            ):
                raise platform_error(400, [], {"comment": "Comment body is not valid!"})
            document = raw
        else:
            if not isinstance(raw, str):
                raise platform_error(400, [], {"comment": "Comment body is not valid!"})
            document = text_to_adf(raw)
        if not any(block.get("content") for block in document["content"] if isinstance(block, dict)):
            raise platform_error(400, [], {"comment": "Comment body can not be empty!"})
        if len(issue.comments) >= 5000:
            raise platform_error(413, ["This issue has reached the maximum number of comments."])
        properties: dict[str, Any] = {}
        for prop in body.get("properties") or []:
            if isinstance(prop, dict) and prop.get("key"):
                properties[str(prop["key"])] = prop.get("value")
        comment = Comment(
            id=self.site.next_id("comment"),
            issue_id=issue.id,
            author=ctx.caller.account_id,
            body=document,
            created_ms=ctx.now_ms,
            updated_ms=ctx.now_ms,
            properties=properties,
            visibility=body.get("visibility") if isinstance(body.get("visibility"), dict) else None,
        )
        issue.comments.append(comment)
        self.site.comments[comment.id] = comment
        self.site.touch(issue, ctx.now_ms)
        return comment

    # -- transitions, assignee, properties, watchers ------------------------------------------------

    def list_transitions(self, ctx: Ctx, ref: str) -> Response:
        issue = self._issue(ref)
        transitions = [ctx.view.transition(t) for t in ctx.view.available_transitions(issue)]
        return _json({"expand": "transitions", "transitions": transitions})

    def do_transition(self, ctx: Ctx, ref: str) -> Response:
        issue = self._issue(ref)
        body = ctx.body()
        transition_id = str((body.get("transition") or {}).get("id", ""))
        available = {t.id: t for t in ctx.view.available_transitions(issue)}
        if transition_id not in available:
            raise platform_error(400, [f"Transition id '{transition_id}' is not valid for this issue."])
        update = dict(body.get("update") or {})
        comment_ops = update.pop("comment", [])
        fields = dict(body.get("fields") or {})
        resolution_ref = fields.pop("resolution", None)
        resolution = None
        if isinstance(resolution_ref, dict):
            resolution = self.site.resolution_by_name_or_id(
                str(resolution_ref.get("id") or resolution_ref.get("name"))
            )
            if resolution is None:
                raise platform_error(400, [], {"resolution": "The resolution selected is invalid."})
        changes = self._validate_edit(ctx, issue, fields, update)
        items = [item for apply in changes for item in apply()]
        target = self.site.statuses[available[transition_id].to_status]
        old = self.site.statuses[issue.status_id]
        items.append(
            {
                "field": "status",
                "fieldtype": "jira",
                "fieldId": "status",
                "from": old.id,
                "fromString": old.name,
                "to": target.id,
                "toString": target.name,
            }
        )
        if target.category == "done" and issue.resolution is None:
            chosen = resolution or self.site.resolutions[0]
            items.append(
                {
                    "field": "resolution",
                    "fieldtype": "jira",
                    "fieldId": "resolution",
                    "from": None,
                    "fromString": None,
                    "to": chosen.id,
                    "toString": chosen.name,
                }
            )
            issue.resolution, issue.resolution_ms = chosen.id, ctx.now_ms
        elif target.category != "done" and issue.resolution is not None:
            items.append(
                {
                    "field": "resolution",
                    "fieldtype": "jira",
                    "fieldId": "resolution",
                    "from": issue.resolution,
                    "fromString": "Done",
                    "to": None,
                    "toString": None,
                }
            )
            issue.resolution, issue.resolution_ms = None, None
        if old.category != target.category:
            issue.status_changed_ms = ctx.now_ms
        issue.status_id = target.id
        self._record(issue, ctx, items)
        for op in comment_ops:
            if isinstance(op, dict) and isinstance(op.get("add"), dict):
                self._new_comment(ctx, issue, op["add"])
        return _no_content()

    def assign(self, ctx: Ctx, ref: str) -> Response:
        issue = self._issue(ref)
        body = ctx.body()
        account = body.get("accountId") if isinstance(body, dict) else None
        if account is not None and account not in self.site.users:
            raise platform_error(400, [], {"assignee": f"User '{account}' does not exist."})
        definition = self.site.fields["assignee"]
        self._record(issue, ctx, self._applier(ctx, issue, definition, account)())
        return _no_content()

    def property_keys(self, ctx: Ctx, ref: str) -> Response:
        issue = self._issue(ref)
        keys = [
            {"self": f"{ctx.view.api}/issue/{issue.id}/properties/{k}", "key": k} for k in issue.properties
        ]
        return _json({"keys": keys})

    def get_property(self, ctx: Ctx, ref: str, key: str) -> Response:
        issue = self._issue(ref)
        if key not in issue.properties:
            raise platform_error(404, [f"The property with key '{key}' does not exist."])
        return _json({"key": key, "value": issue.properties[key]})

    def put_property(self, ctx: Ctx, ref: str, key: str) -> Response:
        issue = self._issue(ref)
        raw = ctx.request.get_data()
        if len(raw) > 32768:
            raise platform_error(400, ["The property value is too long (at most 32768 bytes)."])
        existed = key in issue.properties
        issue.properties[key] = ctx.body() if raw else None
        return Response(status=200 if existed else 201)

    def delete_property(self, ctx: Ctx, ref: str, key: str) -> Response:
        issue = self._issue(ref)
        if issue.properties.pop(key, _MISSING) is _MISSING:
            raise platform_error(404, [f"The property with key '{key}' does not exist."])
        return _no_content()

    def list_watchers(self, ctx: Ctx, ref: str) -> Response:
        issue = self._issue(ref)
        return _json(
            {
                "self": f"{ctx.view.api}/issue/{issue.key}/watchers",
                "isWatching": ctx.caller.account_id in issue.watchers,
                "watchCount": len(issue.watchers),
                "watchers": [ctx.view.user(a) for a in issue.watchers],
            }
        )

    def add_watcher(self, ctx: Ctx, ref: str) -> Response:
        issue = self._issue(ref)
        body = ctx.body()
        account = body if isinstance(body, str) and body else ctx.caller.account_id
        if account not in self.site.users:
            raise platform_error(400, [f'The user "{account}" does not have permission to view this issue.'])
        if account not in issue.watchers:
            issue.watchers.append(account)
        return _no_content()

    # ------------------------------------------------------------------------------------------
    # Jira Service Management

    def jsm_servicedesks(self, ctx: Ctx) -> Response:
        desks = [
            {
                "id": str(p.servicedesk_id),
                "projectId": str(p.id),
                "projectName": p.name,
                "projectKey": p.key,
                "_links": {"self": f"{ctx.view.base}/rest/servicedeskapi/servicedesk/{p.servicedesk_id}"},
            }
            for p in self.site.projects.values()
            if p.servicedesk_id is not None
        ]
        return _json(
            jsm_page(
                desks,
                _int_arg(ctx, "start", 0),
                _int_arg(ctx, "limit", 50),
                ctx.view.base,
                "/rest/servicedeskapi/servicedesk",
            )
        )

    def jsm_organizations(self, ctx: Ctx) -> Response:
        values = [ctx.view.organization(org) for org in self.site.organizations.values()]
        return _json(
            jsm_page(
                values,
                _int_arg(ctx, "start", 0),
                _int_arg(ctx, "limit", 50),
                ctx.view.base,
                "/rest/servicedeskapi/organization",
            )
        )

    def _org(self, org_id: str) -> Organization:
        org = self.site.organizations.get(int(org_id))
        if org is None:
            raise jsm_error(
                404, f"The organization {org_id} does not exist.", "sd.organization.error.not.found"
            )
        return org

    def jsm_organization(self, ctx: Ctx, org_id: str) -> Response:
        return _json(ctx.view.organization(self._org(org_id)))

    def jsm_create_organization(self, ctx: Ctx) -> Response:
        name = str(ctx.body().get("name") or "").strip()
        if not name:
            raise jsm_error(
                400, "The organization name must not be empty.", "sd.organization.error.name.empty"
            )
        if any(org.name.lower() == name.lower() for org in self.site.organizations.values()):
            raise jsm_error(
                400, f"An organization with name '{name}' already exists.", "sd.organization.error.duplicate"
            )
        org = Organization(id=self.site.next_id("org"), name=name)
        self.site.organizations[org.id] = org
        return _json(ctx.view.organization(org), 201)

    def jsm_organization_users(self, ctx: Ctx, org_id: str) -> Response:
        org = self._org(org_id)
        values = [u for u in (ctx.view.jsm_user(a) for a in org.members) if u is not None]
        return _json(
            jsm_page(
                values,
                _int_arg(ctx, "start", 0),
                _int_arg(ctx, "limit", 50),
                ctx.view.base,
                f"/rest/servicedeskapi/organization/{org.id}/user",
            )
        )

    def jsm_add_organization_users(self, ctx: Ctx, org_id: str) -> Response:
        org = self._org(org_id)
        for account in ctx.body().get("accountIds") or []:
            if account not in self.site.users:
                raise jsm_error(400, f"The user {account} does not exist.", "sd.customer.error.not.found")
            if account not in org.members:
                org.members.append(account)
        return _no_content()

    def jsm_create_customer(self, ctx: Ctx) -> Response:
        body = ctx.body()
        email = str(body.get("email") or "")
        if "@" not in email:
            raise jsm_error(400, "The email address is invalid.", "sd.customer.error.email.invalid")
        if self.site.user_by_email(email) is not None:
            raise jsm_error(
                400, "An account already exists for this email.", "sd.customer.error.email.exists"
            )
        name = str(body.get("displayName") or email.split("@", maxsplit=1)[0])
        user = self.site.add_user(email, name, "customer")
        return _json(ctx.view.jsm_user(user.account_id), 201)

    def _request(self, ref: str) -> Issue:
        issue = self.site.issue_by_ref(ref)
        if issue is None or issue.project.type_key != "service_desk":
            raise jsm_error(
                404,
                "Either you don't have access to this request type, or it doesn't exist.",
                "sd.customerview.error.vpOriginMissing",
            )
        return issue

    def jsm_sla(self, ctx: Ctx, ref: str) -> Response:
        issue = self._request(ref)
        values = render_sla(issue, self.site, ctx.view, ctx.now_ms)
        return _json(
            jsm_page(
                values,
                _int_arg(ctx, "start", 0),
                _int_arg(ctx, "limit", 50),
                ctx.view.base,
                f"/rest/servicedeskapi/request/{issue.id}/sla",
            )
        )

    def jsm_comments(self, ctx: Ctx, ref: str) -> Response:
        issue = self._request(ref)
        public_only = ctx.request.args.get("internal") == "false"
        values = [ctx.view.jsm_comment(c) for c in issue.comments if not (public_only and c.internal)]
        return _json(
            jsm_page(
                values,
                _int_arg(ctx, "start", 0),
                _int_arg(ctx, "limit", 50),
                ctx.view.base,
                f"/rest/servicedeskapi/request/{issue.id}/comment",
            )
        )

    def jsm_add_comment(self, ctx: Ctx, ref: str) -> Response:
        issue = self._request(ref)
        body = ctx.body()
        text = body.get("body")
        if not isinstance(text, str) or not text.strip():
            raise jsm_error(400, "The comment body must not be empty.", "sd.comment.error.empty")
        public = body.get("public", True) is not False
        if not public and ctx.caller.account_type == "customer":
            raise jsm_error(
                403, "Customers cannot add internal comments.", "sd.comment.error.internal.customer"
            )
        properties = [] if public else [{"key": "sd.public.comment", "value": {"internal": True}}]
        comment = self._new_comment(ctx, issue, {"body": text, "properties": properties}, version="2")
        return _json(ctx.view.jsm_comment(comment), 201)


_MISSING = object()


def _same(old: Any, new: Any) -> bool:
    return bool(old == new)


def _dedupe(values: list[Any]) -> list[Any]:
    seen: list[Any] = []
    for value in values:
        if value not in seen:
            seen.append(value)
    return seen


def _parse_input_datetime(value: str) -> int:
    text = value
    if len(text) >= 5 and text[-5] in "+-":
        text = f"{text[:-2]}:{text[-2:]}"
    return int(datetime.fromisoformat(text).timestamp() * 1000)


def _int_arg(ctx: Ctx, name: str, default: int) -> int:
    try:
        return max(0, int(ctx.request.args.get(name, default)))
    except ValueError as exc:
        raise platform_error(400, [f"The value of '{name}' must be a number."]) from exc


def _encode_token(digest: str, key: list[Any]) -> str:
    raw = json.dumps({"q": digest, "k": key}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_token(token: str, digest: str) -> list[Any]:
    try:
        padded = token + "=" * (-len(token) % 4)
        decoded = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if decoded.get("q") != digest or not isinstance(decoded.get("k"), list):
            raise ValueError("token belongs to another query")
        return list(decoded["k"])
    except (ValueError, binascii.Error, AttributeError) as exc:
        raise platform_error(400, ["The provided next page token is invalid or expired."]) from exc


_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _display_date(iso: str) -> str:
    """A date as Jira Cloud's changelog strings show it by default: `6/Mar/26`."""
    day = date.fromisoformat(iso)
    return f"{day.day}/{_MONTHS[day.month - 1]}/{day:%y}"


def _display_number(value: float) -> str:
    return str(int(value)) if value.is_integer() else repr(value)
