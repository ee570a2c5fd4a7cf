"""HTTP face of the Zendesk emulator: routing, authentication, rate limits and the vendor's JSON.

Implements `connector.emulation.VendorAPI`. Paths are served with and without the `.json` suffix,
as Zendesk does; next-page URLs are absolute on the host the request came to, so `zenpy` (which
follows them verbatim) stays on the emulator.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlencode

from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from connector.emulation.base import SimClock
from plugins.zendesk.emulator import directory, metric_events
from plugins.zendesk.emulator.ratelimit import RateLimiter, Verdict
from plugins.zendesk.emulator.records import (
    ACCOUNT_ID,
    BRAND_ID,
    CONFLICT_DESCRIPTION,
    TICKET_FORM_ID,
    ApiError,
    Audit,
    Comment,
    Group,
    Job,
    MetricEvent,
    Organization,
    Ticket,
    TicketField,
    User,
    invalid,
    job_failure,
    not_found,
    too_many_values,
)
from plugins.zendesk.emulator.store import Account

MAX_BULK = 100
EXPORT_PAGE = 1000
CBP_PAGE = 100


def iso(ts: int | None) -> str | None:
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _json(payload: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    response = Response(
        json.dumps(payload, separators=(",", ":")), status=status, mimetype="application/json"
    )
    response.headers["Content-Type"] = "application/json; charset=utf-8"
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def encode_export_cursor(generated_timestamp: int, ticket_id: int) -> str:
    """The cursor format of the recordings: base64("<ts>.0||<id>|")."""
    return base64.b64encode(f"{generated_timestamp}.0||{ticket_id}|".encode()).decode()


def decode_export_cursor(cursor: str) -> tuple[int, int]:
    text = cursor.strip().replace(" ", "+")
    text += "=" * (-len(text) % 4)
    try:
        raw = base64.b64decode(text, validate=False).decode()
        ts_part, _, rest = raw.partition("||")
        return int(float(ts_part)), int(rest.strip("|") or 0)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise ApiError(
            400, {"error": "InvalidPaginationParameter", "description": "cursor is invalid"}
        ) from None


def encode_cbp_cursor(created_at: int, item_id: int) -> str:
    inner = base64.b64encode(f"{created_at}:{item_id}".encode()).decode()
    return base64.b64encode(
        json.dumps({"o": "created_at,id", "v": inner}, separators=(",", ":")).encode()
    ).decode()


def decode_cbp_cursor(cursor: str) -> tuple[int, int]:
    try:
        outer = json.loads(base64.b64decode(cursor + "=" * (-len(cursor) % 4)))
        created, _, item = base64.b64decode(outer["v"]).decode().partition(":")
        return int(created), int(item)
    except (binascii.Error, ValueError, KeyError, TypeError):
        raise ApiError(
            400, {"error": "InvalidPaginationParameter", "description": "cursor is invalid"}
        ) from None


class ZendeskAPI:
    """The vendor side of the emulator (see `connector.emulation.base.VendorAPI`)."""

    def __init__(
        self, clock: SimClock, *, credentials: str | None = None, rate_limit_per_minute: int = 700
    ) -> None:
        self.clock = clock
        self.account = Account(self.now())
        self.limits = RateLimiter(rate_limit_per_minute)
        self._credentials: tuple[str, str] | None = None
        if credentials:
            email, _, token = credentials.partition(":")
            self._credentials = (email, token)
        self._routes = Map(
            [
                Rule("/api/v2/users/me", endpoint="users_me", methods=["GET"]),
                Rule("/api/v2/users/show_many", endpoint="users_show_many", methods=["GET"]),
                Rule("/api/v2/users/create_many", endpoint="users_create_many", methods=["POST"]),
                Rule("/api/v2/users", endpoint="users", methods=["GET", "POST"]),
                Rule("/api/v2/users/<int:item_id>", endpoint="user", methods=["GET"]),
                Rule("/api/v2/organizations/show_many", endpoint="orgs_show_many", methods=["GET"]),
                Rule("/api/v2/organizations/create_many", endpoint="orgs_create_many", methods=["POST"]),
                Rule("/api/v2/organizations", endpoint="orgs", methods=["GET", "POST"]),
                Rule("/api/v2/organizations/<int:item_id>", endpoint="org", methods=["GET"]),
                Rule("/api/v2/groups", endpoint="groups", methods=["GET", "POST"]),
                Rule("/api/v2/groups/<int:item_id>", endpoint="group", methods=["GET"]),
                Rule("/api/v2/custom_statuses", endpoint="custom_statuses", methods=["GET", "POST"]),
                Rule("/api/v2/custom_statuses/<int:item_id>", endpoint="custom_status", methods=["GET"]),
                Rule("/api/v2/ticket_fields", endpoint="fields", methods=["GET", "POST"]),
                Rule("/api/v2/ticket_fields/<int:item_id>", endpoint="field", methods=["GET"]),
                Rule("/api/v2/tickets/count", endpoint="tickets_count", methods=["GET"]),
                Rule("/api/v2/tickets/show_many", endpoint="tickets_show_many", methods=["GET"]),
                Rule("/api/v2/tickets/update_many", endpoint="tickets_update_many", methods=["PUT"]),
                Rule("/api/v2/tickets", endpoint="tickets", methods=["POST"]),
                Rule("/api/v2/tickets/<int:item_id>", endpoint="ticket", methods=["GET", "PUT", "DELETE"]),
                Rule("/api/v2/tickets/<int:item_id>/comments", endpoint="comments", methods=["GET"]),
                Rule("/api/v2/tickets/<int:item_id>/audits", endpoint="audits", methods=["GET"]),
                Rule(
                    "/api/v2/tickets/<int:item_id>/tags",
                    endpoint="tags",
                    methods=["GET", "PUT", "POST", "DELETE"],
                ),
                Rule("/api/v2/imports/tickets", endpoint="import_ticket", methods=["POST"]),
                Rule("/api/v2/imports/tickets/create_many", endpoint="import_many", methods=["POST"]),
                Rule("/api/v2/job_statuses/show_many", endpoint="jobs_show_many", methods=["GET"]),
                Rule("/api/v2/job_statuses/<job_id>", endpoint="job", methods=["GET"]),
                Rule("/api/v2/incremental/tickets/cursor", endpoint="export_cursor", methods=["GET"]),
                Rule("/api/v2/incremental/tickets", endpoint="export_time", methods=["GET"]),
                Rule("/api/v2/incremental/ticket_events", endpoint="export_events", methods=["GET"]),
                Rule(
                    "/api/v2/incremental/ticket_metric_events",
                    endpoint="export_metric_events",
                    methods=["GET"],
                ),
            ]
        )
        self._handlers: dict[str, Callable[..., Response]] = {
            name.removeprefix("_h_"): getattr(self, name) for name in dir(self) if name.startswith("_h_")
        }
        directory.register(self)

    def now(self) -> int:
        return int(self.clock.now().timestamp())

    # ------------------------------------------------------------------ VendorAPI
    def dispatch(self, request: Request) -> Response:
        path = request.path
        if path.endswith(".json"):
            path = path[: -len(".json")]
        verdict = self.limits.status(self.clock.now().timestamp())
        try:
            user = self._authenticate(request)
            verdict = self.limits.check(self.clock.now().timestamp(), path.startswith("/api/v2/incremental/"))
            if not verdict.allowed:
                limited = self._limited(verdict)
                self._rate_headers(limited, verdict)
                return limited
            adapter = self._routes.bind(request.host, path_info=path)
            try:
                endpoint, args = adapter.match(method=request.method)
            except NotFound:
                raise ApiError(404, {"error": "InvalidEndpoint", "description": "Not found"}) from None
            except MethodNotAllowed:
                raise ApiError(
                    405, {"error": "MethodNotAllowed", "description": "Method not allowed"}
                ) from None
            response = self._handlers[endpoint](request, user, **args)
        except ApiError as exc:
            response = _json(exc.body, exc.status)
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            response = _json({"error": "InvalidValue", "description": f"Invalid request: {exc}"}, 400)
        self._rate_headers(response, verdict)
        return response

    def fault_response(self, request: Request, status: int, retry_after: int | None) -> Response:
        if status == 429:
            if retry_after is None:
                # observed in the wild: plain text, no Retry-After
                response = Response(
                    "Rate limit exceeded. Please wait and try again.", status=429, mimetype="text/plain"
                )
            else:
                response = _json(
                    {
                        "error": "APIRateLimitExceeded",
                        "description": "Number of allowed API requests per minute exceeded",
                    },
                    429,
                )
        elif status == 409:
            response = _json({"error": "UpdateConflict", "description": CONFLICT_DESCRIPTION}, 409)
        elif status == 404:
            response = _json(not_found().body, 404)
        elif status == 401:
            response = _json({"error": "Couldn't authenticate you"}, 401)
        elif status >= 500:
            response = Response(
                f"<html><body><h1>{status} Server Error</h1></body></html>",
                status=status,
                mimetype="text/html",
            )
        else:
            response = _json({"error": "InvalidValue", "description": "Injected error"}, status)
        if retry_after is not None:
            response.headers["Retry-After"] = str(int(retry_after))
        self._rate_headers(response, self.limits.status(self.clock.now().timestamp()))
        return response

    # ------------------------------------------------------------------ plumbing
    def _authenticate(self, request: Request) -> User:
        auth = request.authorization
        email: str | None = None
        secret: str | None = None
        if auth is not None and auth.type == "basic":
            email, secret = auth.username, auth.password
        elif auth is not None and auth.type == "bearer":
            email, secret = None, auth.token
        if secret is None:
            raise ApiError(401, {"error": "Couldn't authenticate you"})
        login = (email or "").removesuffix("/token")
        if self._credentials is not None and (login, secret) != self._credentials:
            raise ApiError(401, {"error": "Couldn't authenticate you"})
        user = self.account.user_by_email(login) if login else None
        return user or self.account.users[self.account.owner_id]

    def _limited(self, verdict: Verdict) -> Response:
        response = _json(
            {
                "error": "APIRateLimitExceeded",
                "description": "Number of allowed API requests per minute exceeded",
            },
            429,
        )
        response.headers["Retry-After"] = str(verdict.retry_after)
        return response

    @staticmethod
    def _rate_headers(response: Response, verdict: Verdict) -> None:
        response.headers["X-Rate-Limit"] = str(verdict.limit)
        response.headers["X-Rate-Limit-Remaining"] = str(verdict.remaining)

    @staticmethod
    def _body(request: Request) -> dict[str, Any]:
        if not request.data:
            return {}
        try:
            data = json.loads(request.data)
        except ValueError:
            raise ApiError(
                400, {"error": "InvalidJSON", "description": "The request body is not valid JSON"}
            ) from None
        if not isinstance(data, dict):
            raise ApiError(400, {"error": "InvalidJSON", "description": "The request body must be an object"})
        return data

    @staticmethod
    def _ids(request: Request, name: str = "ids") -> list[int]:
        raw = request.args.get(name, "")
        try:
            ids = [int(x) for x in raw.split(",") if x.strip()]
        except ValueError:
            raise ApiError(
                400, {"error": "InvalidValue", "description": f"{name} must be integers"}
            ) from None
        if len(ids) > MAX_BULK:
            raise too_many_values()
        return ids

    @staticmethod
    def _base(request: Request) -> str:
        return request.host_url.rstrip("/")

    # ------------------------------------------------------------------ renderers
    def _user_json(self, base: str, user: User, me: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": user.id,
            "url": f"{base}/api/v2/users/{user.id}.json",
            "name": user.name,
            "email": user.email,
            "created_at": iso(user.created_at),
            "updated_at": iso(user.updated_at),
            "time_zone": user.time_zone,
            "iana_time_zone": user.time_zone,
            "phone": None,
            "shared_phone_number": None,
            "photo": None,
            "locale_id": 1,
            "locale": "en-US",
            "organization_id": user.organization_id,
            "role": user.role,
            "verified": True,
            "external_id": user.external_id,
            "tags": list(user.tags),
            "alias": None,
            "active": True,
            "shared": False,
            "shared_agent": False,
            "last_login_at": None,
            "two_factor_auth_enabled": None if user.role != "end-user" else False,
            "signature": None,
            "details": None,
            "notes": None,
            "role_type": {"admin": 4, "agent": 0}.get(user.role),
            "custom_role_id": None,
            "moderator": user.role == "admin",
            "ticket_restriction": None if user.role != "end-user" else "requested",
            "only_private_comments": False,
            "restricted_agent": user.role == "end-user",
            "suspended": False,
            "default_group_id": user.default_group_id,
            "report_csv": user.role == "admin",
            "user_fields": {},
        }
        if me:
            out["authenticity_token"] = base64.b64encode(f"token-{user.id}".encode()).decode()
        return out

    @staticmethod
    def _org_json(base: str, org: Organization) -> dict[str, Any]:
        return {
            "url": f"{base}/api/v2/organizations/{org.id}.json",
            "id": org.id,
            "name": org.name,
            "shared_tickets": False,
            "shared_comments": False,
            "external_id": org.external_id,
            "created_at": iso(org.created_at),
            "updated_at": iso(org.updated_at),
            "domain_names": list(org.domain_names),
            "details": org.details,
            "notes": org.notes,
            "group_id": org.group_id,
            "tags": list(org.tags),
            "organization_fields": dict(org.organization_fields),
        }

    @staticmethod
    def _group_json(base: str, group: Group) -> dict[str, Any]:
        return {
            "url": f"{base}/api/v2/groups/{group.id}.json",
            "id": group.id,
            "is_public": group.is_public,
            "name": group.name,
            "description": group.description,
            "default": group.default,
            "deleted": False,
            "created_at": iso(group.created_at),
            "updated_at": iso(group.updated_at),
        }

    @staticmethod
    def _field_json(base: str, f: TicketField) -> dict[str, Any]:
        out: dict[str, Any] = {
            "url": f"{base}/api/v2/ticket_fields/{f.id}.json",
            "id": f.id,
            "type": f.type,
            "title": f.title,
            "raw_title": f.title,
            "description": f.description,
            "raw_description": f.description,
            "position": f.position,
            "active": f.active,
            "required": f.required,
            "collapsed_for_agents": False,
            "regexp_for_validation": None,
            "title_in_portal": f.title,
            "raw_title_in_portal": f.title,
            "visible_in_portal": False,
            "editable_in_portal": False,
            "required_in_portal": False,
            "tag": f.tag,
            "created_at": iso(f.created_at),
            "updated_at": iso(f.updated_at),
            "removable": True,
            "key": f.key,
            "agent_description": None,
        }
        if f.type in ("tagger", "multiselect"):
            out["custom_field_options"] = [dict(o) for o in f.options]
        return out

    def _ticket_json(self, base: str, t: Ticket, *, export: bool = False) -> dict[str, Any]:
        custom = [{"id": fid, "value": t.custom_fields.get(fid)} for fid in self.account.fields]
        out: dict[str, Any] = {
            "url": f"{base}/api/v2/tickets/{t.id}.json",
            "id": t.id,
            "external_id": t.external_id,
            "via": {"channel": t.via_channel, "source": {"from": {}, "to": {}, "rel": None}},
            "created_at": iso(t.created_at),
            "updated_at": iso(t.updated_at),
            "type": t.type,
            "subject": t.subject,
            "raw_subject": t.subject,
            "description": t.description,
            "priority": t.priority,
            "status": "deleted" if t.deleted else t.status,
            "recipient": None,
            "requester_id": t.requester_id,
            "submitter_id": t.submitter_id,
            "assignee_id": t.assignee_id,
            "organization_id": t.organization_id,
            "group_id": t.group_id,
            "collaborator_ids": list(t.collaborator_ids),
            "follower_ids": list(t.follower_ids),
            "email_cc_ids": [],
            "forum_topic_id": None,
            "problem_id": None,
            "has_incidents": False,
            "is_public": t.is_public,
            "due_at": iso(t.due_at),
            "tags": list(t.tags),
            "custom_fields": custom,
            "satisfaction_rating": None,
            "sharing_agreement_ids": [],
            "custom_status_id": t.custom_status_id,
            "fields": [dict(c) for c in custom],
            "followup_ids": [],
            "ticket_form_id": TICKET_FORM_ID,
            "brand_id": BRAND_ID,
            "allow_channelback": False,
            "allow_attachments": True,
            "from_messaging_channel": False,
        }
        if export:
            out["generated_timestamp"] = t.generated_timestamp
        return out

    @staticmethod
    def _comment_json(c: Comment, *, with_meta: bool = True) -> dict[str, Any]:
        plain = c.body
        out: dict[str, Any] = {
            "id": c.id,
            "type": "Comment",
            "author_id": c.author_id,
            "body": c.body,
            "html_body": c.html_body,
            "plain_body": plain,
            "public": c.public,
            "attachments": [],
            "audit_id": c.audit_id,
        }
        if with_meta:
            out["via"] = {"channel": c.via_channel, "source": {"from": {}, "to": {}, "rel": None}}
            out["created_at"] = iso(c.created_at)
            out["metadata"] = {"system": {"client": "tierdesk-emulator"}, "custom": {}}
        return out

    def _audit_json(self, a: Audit) -> dict[str, Any]:
        events: list[dict[str, Any]] = []
        for ev in a.events:
            if ev.get("type") == "Comment" and a.comment is not None:
                item = self._comment_json(a.comment, with_meta=False)
            else:
                item = dict(ev)
            events.append(item)
        return {
            "id": a.id,
            "ticket_id": a.ticket_id,
            "created_at": iso(a.created_at),
            "author_id": a.author_id,
            "metadata": {"system": {"client": "tierdesk-emulator"}, "custom": dict(a.custom_metadata)},
            "events": events,
            "via": {"channel": a.via_channel, "source": {"from": {}, "to": {}, "rel": None}},
        }

    def _ticket_event_json(self, a: Audit, with_comments: bool) -> dict[str, Any]:
        """One entry of the ticket events export: the audit with field-named child events."""
        via = "Web form" if a.via_channel == "web" else "Web Service"
        children: list[dict[str, Any]] = []
        for ev in a.events:
            kind = ev.get("type")
            base = {"id": ev["id"], "via": via, "via_reference_id": None}
            if kind == "Comment" and a.comment is not None:
                if with_comments:
                    item = {
                        **base,
                        **self._comment_json(a.comment, with_meta=False),
                        "created_at": iso(a.comment.created_at),
                        "event_type": "Comment",
                    }
                else:
                    item = {
                        **base,
                        "comment_present": True,
                        "comment_public": a.comment.public,
                        "event_type": "Comment",
                    }
            elif kind in ("Create", "Change"):
                item = {**base, str(ev["field_name"]): ev.get("value"), "event_type": kind}
                if kind == "Change":
                    item["previous_value"] = ev.get("previous_value")
                if ev.get("field_name") == "tags":
                    old = set(ev.get("previous_value") or [])
                    new = set(ev.get("value") or [])
                    item["added_tags"] = sorted(new - old)
                    item["removed_tags"] = sorted(old - new)
            else:
                item = {
                    **base,
                    **{k: v for k, v in ev.items() if k not in ("id", "type")},
                    "event_type": kind,
                }
            children.append(item)
        return {
            "id": a.id,
            "ticket_id": a.ticket_id,
            "timestamp": a.created_at,
            "created_at": iso(a.created_at),
            "updater_id": a.author_id,
            "via": via,
            "system": {"client": "tierdesk-emulator"},
            "metadata": {"system": {}, "custom": dict(a.custom_metadata)},
            "event_type": "Audit",
            "child_events": children,
            "merged_ticket_ids": [],
        }

    @staticmethod
    def _metric_event_json(e: MetricEvent) -> dict[str, Any]:
        return {
            "id": e.id,
            "ticket_id": e.ticket_id,
            "metric": e.metric,
            "instance_id": e.instance_id,
            "type": e.type,
            "time": iso(e.time),
            **e.extra,
        }

    def _job_json(self, base: str, job: Job) -> dict[str, Any]:
        """Reported state moves one step per poll: queued (submit), working, completed."""
        out: dict[str, Any] = {
            "id": job.id,
            "url": f"{base}/api/v2/job_statuses/{job.id}.json",
            "total": job.total,
        }
        if job.polls == 0:
            out.update(progress=None, status="queued", message=None, results=None)
        elif job.polls == 1:
            done = max(1, job.total // 3)
            out.update(
                progress=done, status="working", message=f"{job.action_verb} ticket #{done}", results=None
            )
        else:
            stamp = datetime.fromtimestamp(self.now(), UTC).strftime("%Y-%m-%d %H:%M:%S +0000")
            out.update(
                progress=job.total,
                status="completed",
                message=f"Completed at {stamp}",
                results=[dict(r) for r in job.results],
            )
        return out

    def _sideload(self, base: str, request: Request, tickets: list[Ticket], payload: dict[str, Any]) -> None:
        include = {x.strip() for x in request.args.get("include", "").split(",") if x.strip()}
        if "users" in include:
            ids: dict[int, None] = {}
            for t in tickets:
                for uid in (t.requester_id, t.submitter_id, t.assignee_id):
                    if uid is not None:
                        ids[uid] = None
            payload["users"] = [
                self._user_json(base, self.account.users[u]) for u in ids if u in self.account.users
            ]
        if "organizations" in include:
            org_ids = dict.fromkeys(t.organization_id for t in tickets if t.organization_id is not None)
            payload["organizations"] = [
                self._org_json(base, self.account.organizations[o])
                for o in org_ids
                if o in self.account.organizations
            ]
        if "groups" in include:
            group_ids = dict.fromkeys(t.group_id for t in tickets if t.group_id is not None)
            payload["groups"] = [self._group_json(base, self.account.groups[g]) for g in group_ids]

    # ------------------------------------------------------------------ users, orgs, groups, fields
    def _h_users_me(self, request: Request, user: User) -> Response:
        return _json({"user": self._user_json(self._base(request), user, me=True)})

    def _h_user(self, request: Request, user: User, item_id: int) -> Response:
        found = self.account.users.get(item_id)
        if found is None:
            raise not_found()
        return _json({"user": self._user_json(self._base(request), found)})

    def _h_users(self, request: Request, user: User) -> Response:
        base = self._base(request)
        if request.method == "POST":
            body = self._body(request).get("user") or {}
            created = self.account.create_user(body, self.now())
            return _json(
                {"user": self._user_json(base, created)},
                201,
                {"Location": f"{base}/api/v2/users/{created.id}.json"},
            )
        users = sorted(self.account.users.values(), key=lambda u: u.id)
        return self._offset_list(request, "users", [self._user_json(base, u) for u in users])

    def _h_users_show_many(self, request: Request, user: User) -> Response:
        base = self._base(request)
        ids = self._ids(request)
        users = [self._user_json(base, self.account.users[i]) for i in ids if i in self.account.users]
        return _json({"users": users, "next_page": None, "previous_page": None, "count": len(users)})

    def _h_users_create_many(self, request: Request, user: User) -> Response:
        items = self._body(request).get("users") or []
        if len(items) > MAX_BULK:
            raise too_many_values()
        results = []
        for i, raw in enumerate(items):
            created = self.account.create_user(raw, self.now())
            results.append({"index": i, "id": created.id})
        job = self.account.new_job("bulk_create_users", results, self.now(), "Creating")
        return _json({"job_status": self._job_json(self._base(request), job)})

    def _h_org(self, request: Request, user: User, item_id: int) -> Response:
        org = self.account.organizations.get(item_id)
        if org is None:
            raise not_found()
        return _json({"organization": self._org_json(self._base(request), org)})

    def _h_orgs(self, request: Request, user: User) -> Response:
        base = self._base(request)
        if request.method == "POST":
            body = self._body(request).get("organization") or {}
            org = self.account.create_organization(body, self.now())
            return _json(
                {"organization": self._org_json(base, org)},
                201,
                {"Location": f"{base}/api/v2/organizations/{org.id}.json"},
            )
        orgs = sorted(self.account.organizations.values(), key=lambda o: o.id)
        return self._offset_list(request, "organizations", [self._org_json(base, o) for o in orgs])

    def _h_orgs_show_many(self, request: Request, user: User) -> Response:
        base = self._base(request)
        orgs = [
            self._org_json(base, self.account.organizations[i])
            for i in self._ids(request)
            if i in self.account.organizations
        ]
        return _json({"organizations": orgs, "next_page": None, "previous_page": None, "count": len(orgs)})

    def _h_orgs_create_many(self, request: Request, user: User) -> Response:
        items = self._body(request).get("organizations") or []
        if len(items) > MAX_BULK:
            raise too_many_values()
        results = []
        for i, raw in enumerate(items):
            created = self.account.create_organization(raw, self.now())
            results.append({"index": i, "id": created.id})
        job = self.account.new_job("bulk_create_organizations", results, self.now(), "Creating")
        return _json({"job_status": self._job_json(self._base(request), job)})

    def _h_group(self, request: Request, user: User, item_id: int) -> Response:
        group = self.account.groups.get(item_id)
        if group is None:
            raise not_found()
        return _json({"group": self._group_json(self._base(request), group)})

    def _h_groups(self, request: Request, user: User) -> Response:
        base = self._base(request)
        if request.method == "POST":
            group = self.account.create_group(self._body(request).get("group") or {}, self.now())
            return _json(
                {"group": self._group_json(base, group)},
                201,
                {"Location": f"{base}/api/v2/groups/{group.id}.json"},
            )
        groups = sorted(self.account.groups.values(), key=lambda g: g.id)
        return self._offset_list(request, "groups", [self._group_json(base, g) for g in groups])

    def _h_custom_status(self, request: Request, user: User, item_id: int) -> Response:
        statuses = self.account.custom_statuses
        found = statuses.by_id.get(item_id)
        if found is None:
            raise not_found()
        return _json({"custom_status": statuses.to_json(self._base(request), found)})

    def _h_custom_statuses(self, request: Request, user: User) -> Response:
        """List (not paginated, as Zendesk; `active` filters) or create a custom status."""
        statuses, base = self.account.custom_statuses, self._base(request)
        if request.method == "POST":
            created = statuses.create(self._body(request).get("custom_status") or {}, self.now())
            return _json(
                {"custom_status": statuses.to_json(base, created)},
                201,
                {"Location": f"{base}/api/v2/custom_statuses/{created.id}.json"},
            )
        listed = sorted(statuses.by_id.values(), key=lambda s: s.id)
        active = request.args.get("active")
        if active is not None:
            listed = [s for s in listed if s.active == (active.lower() == "true")]
        return _json({"custom_statuses": [statuses.to_json(base, s) for s in listed]})

    def _h_field(self, request: Request, user: User, item_id: int) -> Response:
        tfield = self.account.fields.get(item_id)
        if tfield is None:
            raise not_found()
        return _json({"ticket_field": self._field_json(self._base(request), tfield)})

    def _h_fields(self, request: Request, user: User) -> Response:
        base = self._base(request)
        if request.method == "POST":
            tfield = self.account.create_field(self._body(request).get("ticket_field") or {}, self.now())
            return _json(
                {"ticket_field": self._field_json(base, tfield)},
                201,
                {"Location": f"{base}/api/v2/ticket_fields/{tfield.id}.json"},
            )
        fields = [self._field_json(base, f) for f in self.account.fields.values()]
        return _json(
            {"ticket_fields": fields, "next_page": None, "previous_page": None, "count": len(fields)}
        )

    def _offset_list(self, request: Request, key: str, items: list[dict[str, Any]]) -> Response:
        """Offset pagination (the classic `page`/`per_page` form) or CBP when `page[size]` is sent."""
        base = self._base(request)
        path = request.path
        if "page[size]" in request.args or "page[after]" in request.args:
            size = min(int(request.args.get("page[size]", CBP_PAGE)), CBP_PAGE)
            start = int(request.args.get("page[after]", "0") or 0)
            page = items[start : start + size]
            more = start + size < len(items)
            after = str(start + size) if page else None
            before = str(start) if page else None
            nxt = f"{base}{path}?{urlencode({'page[after]': after, 'page[size]': size})}" if more else None
            return _json(
                {
                    key: page,
                    "meta": {"has_more": more, "after_cursor": after, "before_cursor": before},
                    "links": {"prev": None, "next": nxt},
                }
            )
        per_page = min(int(request.args.get("per_page", 100)), 100)
        page_no = max(int(request.args.get("page", 1)), 1)
        page = items[(page_no - 1) * per_page : page_no * per_page]
        more = page_no * per_page < len(items)
        nxt = f"{base}{path}?page={page_no + 1}&per_page={per_page}" if more else None
        prev = f"{base}{path}?page={page_no - 1}&per_page={per_page}" if page_no > 1 else None
        return _json({key: page, "next_page": nxt, "previous_page": prev, "count": len(items)})

    # ------------------------------------------------------------------ tickets
    def _h_tickets(self, request: Request, user: User) -> Response:
        base = self._base(request)
        body = self._body(request).get("ticket")
        if not isinstance(body, dict):
            raise invalid("Ticket: is required")
        ticket, audit = self.account.create_ticket(body, user.id, self.now())
        return _json(
            {"ticket": self._ticket_json(base, ticket), "audit": self._audit_json(audit)},
            201,
            {"Location": f"{base}/api/v2/tickets/{ticket.id}.json"},
        )

    def _h_ticket(self, request: Request, user: User, item_id: int) -> Response:
        base = self._base(request)
        if request.method == "DELETE":
            self.account.delete_ticket(item_id, self.now())
            return Response(status=204)
        if request.method == "PUT":
            body = self._body(request).get("ticket")
            if not isinstance(body, dict):
                raise invalid("Ticket: is required")
            ticket, audit = self.account.update_ticket(item_id, body, user.id, self.now())
            payload: dict[str, Any] = {"ticket": self._ticket_json(base, ticket)}
            payload["audit"] = self._audit_json(audit) if audit is not None else None
            return _json(payload)
        found = self.account.tickets.get(item_id)
        if found is None or found.deleted:
            raise not_found()
        payload = {"ticket": self._ticket_json(base, found)}
        self._sideload(base, request, [found], payload)
        return _json(payload)

    def _h_tickets_count(self, request: Request, user: User) -> Response:
        """Count Tickets: `{"count": {"value", "refreshed_at"}}`, deleted tickets left out (Zendesk
        answers an approximate count refreshed in the background; the emulator's is exact)."""
        value = sum(1 for t in self.account.tickets.values() if not t.deleted)
        return _json({"count": {"value": value, "refreshed_at": iso(self.now())}})

    def _h_tickets_show_many(self, request: Request, user: User) -> Response:
        base = self._base(request)
        tickets = [
            self.account.tickets[i]
            for i in self._ids(request)
            if i in self.account.tickets and not self.account.tickets[i].deleted
        ]
        payload: dict[str, Any] = {"tickets": [self._ticket_json(base, t) for t in tickets]}
        self._sideload(base, request, tickets, payload)
        payload.update(next_page=None, previous_page=None, count=len(tickets))
        return _json(payload)

    def _h_tickets_update_many(self, request: Request, user: User) -> Response:
        body = self._body(request)
        now = self.now()
        if "ids" in request.args:
            ids = self._ids(request)
            change = body.get("ticket")
            if not isinstance(change, dict):
                raise invalid("Ticket: is required")
            items = [(tid, change) for tid in ids]
        else:
            tickets = body.get("tickets")
            if not isinstance(tickets, list):
                raise ApiError(
                    400, {"error": "InvalidValue", "description": "Send ids= with a ticket, or tickets"}
                )
            if len(tickets) > MAX_BULK:
                raise too_many_values()
            items = []
            for entry in tickets:
                if not isinstance(entry, dict) or "id" not in entry:
                    raise invalid("Each ticket needs an id")
                items.append((int(entry["id"]), {k: v for k, v in entry.items() if k != "id"}))
        results: list[dict[str, Any]] = []
        for tid, change in items:
            try:
                self.account.update_ticket(tid, change, user.id, now)
                results.append({"action": "update", "status": "Updated", "success": True, "id": tid})
            except ApiError as exc:
                results.append(job_failure(tid, exc))
        job = self.account.new_job("bulk_update", results, now, "Updating")
        return _json({"job_status": self._job_json(self._base(request), job)})

    def _h_tags(self, request: Request, user: User, item_id: int) -> Response:
        if request.method == "GET":
            ticket = self.account.tickets.get(item_id)
            if ticket is None or ticket.deleted:
                raise not_found()
            return _json({"tags": list(ticket.tags)})
        body = self._body(request)
        change: dict[str, Any] = {}
        if "safe_update" in body:
            change.update(safe_update=body["safe_update"], updated_stamp=body.get("updated_stamp"))
        mode = {"PUT": "additional_tags", "POST": "tags", "DELETE": "remove_tags"}[request.method]
        change[mode] = body.get("tags") or []
        ticket, _ = self.account.update_ticket(item_id, change, user.id, self.now())
        if request.method == "DELETE":
            return Response(status=204)
        return _json({"tags": list(ticket.tags)}, 201 if request.method == "POST" else 200)

    def _h_comments(self, request: Request, user: User, item_id: int) -> Response:
        ticket = self.account.tickets.get(item_id)
        if ticket is None or ticket.deleted:
            raise not_found()
        items = sorted(ticket.comments, key=lambda c: (c.created_at, c.id))
        if request.args.get("sort") == "-created_at" or request.args.get("sort_order") == "desc":
            items.reverse()
        return self._cbp(request, "comments", items, lambda c: (c.created_at, c.id), self._comment_json)

    def _h_audits(self, request: Request, user: User, item_id: int) -> Response:
        ticket = self.account.tickets.get(item_id)
        if ticket is None or ticket.deleted:
            raise not_found()
        items = sorted(ticket.audits, key=lambda a: (a.created_at, a.id))
        return self._cbp(request, "audits", items, lambda a: (a.created_at, a.id), self._audit_json)

    def _cbp(
        self,
        request: Request,
        key: str,
        items: list[Any],
        sort_key: Callable[[Any], tuple[int, int]],
        render: Callable[[Any], dict[str, Any]],
    ) -> Response:
        """Cursor-based pagination (CBP) in the recorded shape: `meta` + `links`."""
        base = self._base(request)
        size = min(int(request.args.get("page[size]", CBP_PAGE) or CBP_PAGE), CBP_PAGE)
        keys = [sort_key(i) for i in items]
        start = 0
        after = request.args.get("page[after]")
        if after:
            position = decode_cbp_cursor(after)
            descending = len(keys) > 1 and keys[0] > keys[-1]
            start = next(
                (i for i, k in enumerate(keys) if (k < position if descending else k > position)), len(keys)
            )
        page = items[start : start + size]
        more = start + size < len(items)
        after_cursor = encode_cbp_cursor(*sort_key(page[-1])) if page else None
        before_cursor = encode_cbp_cursor(*sort_key(page[0])) if page else None
        extra = {k: v for k, v in request.args.items() if not k.startswith("page[")}

        def link(name: str, cursor: str | None) -> str | None:
            if cursor is None:
                return None
            query = urlencode(
                sorted({**extra, f"page[{name}]": cursor, "page[size]": str(size)}.items()), quote_via=quote
            )
            return f"{base}{request.path}?{query}"

        return _json(
            {
                key: [render(i) for i in page],
                "meta": {"has_more": more, "after_cursor": after_cursor, "before_cursor": before_cursor},
                "links": {"prev": link("before", before_cursor), "next": link("after", after_cursor)},
            }
        )

    def _h_import_ticket(self, request: Request, user: User) -> Response:
        base = self._base(request)
        body = self._body(request).get("ticket")
        if not isinstance(body, dict):
            raise invalid("Ticket: is required")
        ticket, _ = self.account.create_ticket(body, user.id, self.now(), imported=True)
        return _json(
            {"ticket": self._ticket_json(base, ticket)},
            201,
            {"Location": f"{base}/api/v2/tickets/{ticket.id}.json"},
        )

    def _h_import_many(self, request: Request, user: User) -> Response:
        items = self._body(request).get("tickets") or []
        if len(items) > MAX_BULK:
            raise too_many_values()
        results = []
        for i, raw in enumerate(items):
            ticket, _ = self.account.create_ticket(raw, user.id, self.now(), imported=True)
            results.append({"index": i, "id": ticket.id, "account_id": ACCOUNT_ID})
        job = self.account.new_job("ticket_import", results, self.now(), "Importing")
        return _json({"job_status": self._job_json(self._base(request), job)})

    # ------------------------------------------------------------------ jobs
    def _h_job(self, request: Request, user: User, job_id: str) -> Response:
        job = self.account.poll_job(job_id)
        return _json({"job_status": self._job_json(self._base(request), job)})

    def _h_jobs_show_many(self, request: Request, user: User) -> Response:
        ids = [x for x in request.args.get("ids", "").split(",") if x.strip()]
        if len(ids) > MAX_BULK:
            raise too_many_values()
        jobs = []
        for job_id in ids:
            if job_id in self.account.jobs:
                jobs.append(self._job_json(self._base(request), self.account.poll_job(job_id)))
        return _json({"job_statuses": jobs})

    # ------------------------------------------------------------------ incremental exports
    def _cutoff(self) -> int:
        return self.now() - 60  # the most recent minute is never exported

    @staticmethod
    def _start_time(request: Request) -> int:
        raw = request.args.get("start_time")
        if raw is None:
            raise ApiError(400, {"error": "InvalidValue", "description": "start_time is required"})
        try:
            return int(raw)
        except ValueError:
            raise ApiError(
                400, {"error": "InvalidValue", "description": "start_time must be an integer"}
            ) from None

    def _h_export_cursor(self, request: Request, user: User) -> Response:
        base = self._base(request)
        per_page = min(int(request.args.get("per_page", EXPORT_PAGE) or EXPORT_PAGE), EXPORT_PAGE)
        cursor = request.args.get("cursor")
        position = decode_export_cursor(cursor) if cursor else (self._start_time(request), 0)
        tickets, more = self.account.tickets_after(position, self._cutoff(), per_page)
        last = (tickets[-1].generated_timestamp, tickets[-1].id) if tickets else position
        after_cursor = encode_export_cursor(*last)
        extra = {k: v for k, v in request.args.items() if k in ("per_page", "include")}
        query = urlencode({"cursor": after_cursor, **extra}, quote_via=quote)
        payload: dict[str, Any] = {"tickets": [self._ticket_json(base, t, export=True) for t in tickets]}
        self._sideload(base, request, tickets, payload)
        payload.update(
            after_url=f"{base}/api/v2/incremental/tickets/cursor.json?{query}",
            before_url=None,
            after_cursor=after_cursor,
            before_cursor=None,
            end_of_stream=not more,
        )
        return _json(payload)

    def _time_export(
        self,
        request: Request,
        key: str,
        page: tuple[list[Any], int, bool],
        render: Callable[[Any], dict[str, Any]],
        path: str,
        extra_keys: tuple[str, ...],
    ) -> Response:
        items, end_time, end_of_stream = page
        base = self._base(request)
        params = {k: v for k, v in request.args.items() if k in extra_keys}
        params["start_time"] = str(end_time)
        next_page = f"{base}{path}?{urlencode(sorted(params.items()))}"
        return _json(
            {
                key: [render(i) for i in items],
                "count": len(items),
                "end_of_stream": end_of_stream,
                "next_page": next_page,
                "end_time": end_time,
            }
        )

    def _check_recent(self, start_time: int) -> None:
        if start_time > self._cutoff():
            raise ApiError(
                400,
                {
                    "error": "StartTimeTooRecent",
                    "description": "Too recent start_time. Use a start_time older than 1 minute",
                },
            )

    def _h_export_time(self, request: Request, user: User) -> Response:
        start = self._start_time(request)
        self._check_recent(start)
        per_page = min(int(request.args.get("per_page", EXPORT_PAGE) or EXPORT_PAGE), EXPORT_PAGE)
        base = self._base(request)
        page = self.account.tickets_time_page(start, self._cutoff(), per_page)
        return self._time_export(
            request,
            "tickets",
            page,
            lambda t: self._ticket_json(base, t, export=True),
            "/api/v2/incremental/tickets.json",
            ("per_page", "include"),
        )

    def _h_export_events(self, request: Request, user: User) -> Response:
        start = self._start_time(request)
        self._check_recent(start)
        per_page = min(int(request.args.get("per_page", EXPORT_PAGE) or EXPORT_PAGE), EXPORT_PAGE)
        with_comments = "comment_events" in request.args.get("include", "")
        page = self.account.events_time_page(start, self._cutoff(), per_page)
        return self._time_export(
            request,
            "ticket_events",
            page,
            lambda a: self._ticket_event_json(a, with_comments),
            "/api/v2/incremental/ticket_events.json",
            ("per_page", "include"),
        )

    def _h_export_metric_events(self, request: Request, user: User) -> Response:
        start = self._start_time(request)
        self._check_recent(start)
        if metric_events.wants_cursor(request.args):
            size = metric_events.page_size(request.args)
            after = request.args.get("page[after]")
            events, more = metric_events.cursor_page(
                self.account, start, self._cutoff(), size, decode_cbp_cursor(after) if after else None
            )
            body = metric_events.cursor_body(
                url=f"{self._base(request)}{request.path}",
                args=request.args,
                events=events,
                more=more,
                size=size,
                encode=encode_cbp_cursor,
                render=self._metric_event_json,
            )
            return _json(body)
        page = self.account.metric_events_page(start, self._cutoff(), EXPORT_PAGE)
        return self._time_export(
            request,
            "ticket_metric_events",
            page,
            self._metric_event_json,
            "/api/v2/incremental/ticket_metric_events.json",
            (),
        )
