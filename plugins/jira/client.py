"""The Jira Cloud / JSM adapter: implements `connector.ports.Helpdesk` over the `jira` client (the
only module that imports it).

HTTP and retries
  Every request goes through the `jira` client's session: its `ResilientSession` is built with
  `max_retries=0` (it would otherwise re-send any request, POSTs included, on 429 and 503 - a
  comment posted twice), and an `HTTPAdapter` without urllib3 retries counts each request sent
  (`api_calls`). The one retry layer is `connector.retry` (tenacity, `RetryPolicy`): 429, 5xx,
  timeouts and connection errors are retried, honouring `Retry-After` (a longer one than
  `retry_after_cap` gives up at once so the outbox retries next cycle), else exponential backoff with
  jitter, bounded in attempts and in total wait; `sleep` is injectable. Other 4xx fail the actions
  of that call (FAILED, logged), 409 answers CONFLICT.

Pull
  Enhanced search (`POST /rest/api/3/search/jql`) with `project in (...) AND updated >= <epoch ms>
  ORDER BY updated ASC, key ASC`, `expand=changelog` and the fields tierdesk reads, following
  `nextPageToken`. The cursor holds the highest `updated` seen (ms) and the ids seen at or shortly
  before it (`search_lag_seconds`, for the search index's eventual consistency): a restart queries
  from a little before that instant and skips exactly what it already delivered, so issues updated
  in the same minute or millisecond are neither lost nor delivered twice. Changelogs and comment
  lists truncated in search results are completed from `/issue/{id}/changelog` and `/comment`.

Push
  One `PUT /issue/{id}` per issue carrying every field change (labels via `update` add/remove, never
  `set`; priority raised only - the current priority is read first; assignee; custom fields in their
  Jira format; the `tierdesk` entity property), in `plugins.jira.push`. A 400 naming a field fails
  only the actions that touched it, with Jira's message and the fix, and the rest is re-sent; one
  naming no field sends the steps one by one. Notes are JSM internal comments (`sd.public.comment`
  internal) carrying the marker as the hidden comment property `tierdesk`; a note whose send timed
  out is not re-sent in that push, and the next push looks it up by marker before any resend.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

import requests
import structlog
from jira import JIRA, JIRAError
from requests.adapters import HTTPAdapter

from connector.domain.model import Organization
from connector.domain.policy import ConnectionConfig
from connector.domain.results import Action
from connector.ports import ActionResult, PullPage, SecretSource, SkippedRecord, TicketRecord
from connector.retry import (
    ConflictError,
    HelpdeskError,
    MissingCredentials,
    PermanentError,
    TransientError,
    credentials_for,
    policy_from_options,
    retrying,
)
from connector.retry import RetryPolicy as SharedRetryPolicy
from plugins.jira.translate import (
    ORGANIZATIONS_FIELD_TYPE,
    FieldInfo,
    IssueContext,
    MalformedRecord,
    epoch_ms,
    issue_to_record,
    parse_jira_datetime,
)

log = structlog.get_logger("tierdesk.jira")

T = TypeVar("T")
REST_API_VERSION = "3"
SEARCH_FIELDS = (
    "summary",
    "description",
    "status",
    "priority",
    "labels",
    "reporter",
    "creator",
    "assignee",
    "created",
    "updated",
    "project",
    "issuetype",
    "resolution",
    "comment",
)
METADATA_TTL_SECONDS = 3600.0
EMULATOR_EMAIL = "tierdesk@tierdesk.example"
EMULATOR_TOKEN = "emulator"  # noqa: S105 - any token is accepted by a local emulator


# --------------------------------------------------------------------------------------- retries
@dataclass(frozen=True)
class RetryPolicy(SharedRetryPolicy):
    """The bounds of the one retry layer, per call (see `connector.retry.RetryPolicy`)."""

    settle_wait: float = 5.0  # after an ambiguous failure of an edit, before sending it again


JiraError = HelpdeskError  # this plugin's name for the shared base of the failure groups


def _error_body(response: requests.Response | None) -> tuple[str, dict[str, str]]:
    if response is None:
        return "", {}
    try:
        body = response.json()
    except ValueError:
        return response.text[:200], {}
    if not isinstance(body, Mapping):
        return str(body)[:200], {}
    messages = [str(m) for m in body.get("errorMessages") or []]
    if body.get("errorMessage"):
        messages.append(str(body["errorMessage"]))
    errors = body.get("errors") if isinstance(body.get("errors"), Mapping) else {}
    field_errors = {str(k): str(v) for k, v in (errors or {}).items()}
    parts = messages + [f"{k}: {v}" for k, v in field_errors.items()]
    return "; ".join(parts) or json.dumps(body)[:200], field_errors


def _retry_after(response: requests.Response | None) -> float | None:
    raw = response.headers.get("Retry-After") if response is not None else None
    if raw is None:
        return None
    try:
        return max(float(raw), 0.0)
    except ValueError:
        return None


def classify(exc: BaseException, what: str) -> HelpdeskError:
    """Map `jira`/`requests` exceptions onto transient / conflict / permanent."""
    if isinstance(exc, HelpdeskError):
        return exc
    if isinstance(exc, requests.ConnectTimeout):
        return TransientError(f"{what}: could not connect ({exc})")
    if isinstance(exc, requests.Timeout | requests.ConnectionError):
        return TransientError(f"{what}: {type(exc).__name__}", ambiguous=True)
    response = getattr(exc, "response", None)
    status = getattr(exc, "status_code", None) or (response.status_code if response is not None else None)
    text, field_errors = _error_body(response if isinstance(response, requests.Response) else None)
    if not text:
        text = str(getattr(exc, "text", "") or exc)[:200]
    message = f"{what}: HTTP {status} {text}".strip()
    if status == 429:
        return TransientError(message, status, retry_after=_retry_after(response))
    if status is not None and status >= 500:
        return TransientError(message, status, retry_after=_retry_after(response), ambiguous=True)
    if status == 409:
        return ConflictError(message, status)
    if isinstance(exc, JIRAError | requests.RequestException):
        return PermanentError(message, status, field_errors)
    raise exc


class CountingAdapter(HTTPAdapter):
    """An adapter without urllib3 retries that counts the requests it sends."""

    def __init__(self) -> None:
        super().__init__(max_retries=0)
        self._lock = threading.Lock()
        self.sent = 0

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        with self._lock:
            self.sent += 1
        return super().send(request, *args, **kwargs)


# --------------------------------------------------------------------------------------- cursor
@dataclass
class PullCursor:
    """Position of an incremental pull: the highest `updated` delivered (epoch ms) and, for every
    issue delivered with `updated` within the lag window below it, that `updated`."""

    watermark_ms: int
    seen: dict[str, int] = field(default_factory=dict)

    def encode(self) -> str:
        by_ms: dict[str, list[int]] = {}
        for issue_id, updated in sorted(self.seen.items(), key=lambda item: (item[1], int(item[0]))):
            by_ms.setdefault(str(updated), []).append(int(issue_id))
        return "jira1:" + json.dumps({"w": self.watermark_ms, "s": by_ms}, separators=(",", ":"))

    @classmethod
    def decode(cls, text: str) -> PullCursor:
        if not text.startswith("jira1:"):
            raise ValueError(f"not a Jira pull cursor: {text[:20]!r}")
        raw = json.loads(text[len("jira1:") :])
        seen = {str(issue_id): int(ms) for ms, ids in raw.get("s", {}).items() for issue_id in ids}
        return cls(int(raw["w"]), seen)

    def delivered(self, issue_id: str, updated_ms: int) -> bool:
        return self.seen.get(issue_id) == updated_ms

    def advance(self, issue_id: str, updated_ms: int, lag_ms: int) -> None:
        self.seen[issue_id] = updated_ms
        if updated_ms > self.watermark_ms:
            self.watermark_ms = updated_ms
            floor = self.watermark_ms - lag_ms
            self.seen = {k: v for k, v in self.seen.items() if v >= floor}


# --------------------------------------------------------------------------------------- adapter
@dataclass
class _Metadata:
    account_id: str | None
    fields: dict[str, FieldInfo]
    status_categories: dict[str, str]
    organizations_field: str | None
    loaded_at: float


class JiraHelpdesk:
    """`connector.ports.Helpdesk` for one Jira Cloud site (see the module docstring)."""

    kind = "jira"
    refuses_stale_updates = False  # no conditional edit: a write needs a fresh view

    def __init__(
        self,
        config: ConnectionConfig,
        email: str | None,
        token: str | None,
        *,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.config = config
        self.name = config.name
        self.url = config.url.rstrip("/")
        self.retry = retry or RetryPolicy()
        options = config.options
        self.page_size = int(options.get("page_size", "100"))
        self.lag_ms = int(float(options.get("search_lag_seconds", "10")) * 1000)
        self.organization_lookup = options.get("organization_lookup", "reporter") != "off"
        self._organizations_field_option = options.get("organizations_field")
        self._email = email
        self._token = token
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._adapter = CountingAdapter()
        self._client: JIRA | None = None
        self._meta: _Metadata | None = None
        self._members: tuple[float, dict[str, Organization]] | None = None
        self._options_cache: dict[str, dict[str, str]] = {}

    @classmethod
    def from_config(
        cls,
        config: ConnectionConfig,
        secrets: SecretSource | Mapping[str, str] | None = None,
        *,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> JiraHelpdesk:
        email, token = credentials_for(
            config,
            secrets,
            emulator_email=EMULATOR_EMAIL,
            emulator_token=EMULATOR_TOKEN,
            what="the integration user's e-mail and Atlassian API token",
        )
        policy = policy_from_options(retry or RetryPolicy(), config.options)
        return cls(config, email, token, retry=policy, sleep=sleep)

    # ------------------------------------------------------------------------------ plumbing
    @property
    def api_calls(self) -> int:
        return self._adapter.sent

    def _call(self, what: str, fn: Callable[[], T]) -> T:
        """Run one request under the retry policy; errors come out classified."""

        def once() -> T:
            try:
                return fn()
            except (JIRAError, requests.RequestException) as exc:
                raise classify(exc, what) from exc

        def log_retry(attempt: int, wait: float, error: BaseException | None) -> None:
            log.info(
                "jira.retry",
                connection=self.name,
                call=what,
                attempt=attempt,
                wait=round(wait, 2),
                error=str(error),
            )

        return retrying(self.retry, sleep=self._sleep, rng=self._rng, on_retry=log_retry)(once)

    def _jira(self) -> JIRA:
        if self._client is None:
            client = JIRA(
                server=self.url,
                basic_auth=(self._email, self._token) if self._email and self._token else None,
                options={"rest_api_version": REST_API_VERSION, "check_update": False},
                get_server_info=False,
                max_retries=0,
                timeout=self.retry.request_timeout,
                logging=False,
            )
            session = client._session
            session.mount("https://", self._adapter)
            session.mount("http://", self._adapter)
            # Read proxy / CA-bundle environment settings once instead of on every request
            # (requests re-scans the whole environment per call when trust_env is on).
            settings = session.merge_environment_settings(self.url, {}, None, session.verify, None)
            session.proxies.update(settings.get("proxies") or {})
            session.verify = settings.get("verify", session.verify)
            session.trust_env = False
            info: dict[str, Any] = self._call("serverInfo", client.server_info)
            if info.get("deploymentType") != "Cloud":
                raise PermanentError(
                    f"{self.url} reports deploymentType {info.get('deploymentType')!r}; tierdesk supports Jira Cloud"
                )
            # What JIRA(get_server_info=True) would have stored, read here under our retry layer.
            client.deploymentType = "Cloud"
            client._version = tuple(info.get("versionNumbers") or (0, 0, 0))
            self._client = client
        return self._client

    def _url(self, path: str) -> str:
        return str(self._jira()._get_url(path))

    def _get(self, what: str, path: str, params: Mapping[str, Any] | None = None) -> Any:
        session = self._jira()._session
        return self._call(what, lambda: session.get(self._url(path), params=params).json())

    def _send(self, what: str, method: str, path: str, body: Any) -> requests.Response:
        session = self._jira()._session
        return self._call(what, lambda: session.request(method, self._url(path), data=json.dumps(body)))

    def _metadata(self) -> _Metadata:
        now = time.monotonic()
        if self._meta is not None and now - self._meta.loaded_at < METADATA_TTL_SECONDS:
            return self._meta
        client = self._jira()
        myself: dict[str, Any] = self._call("myself", client.myself)
        raw_fields: list[dict[str, Any]] = self._call("fields", client.fields)
        statuses = self._get("statuses", "status")
        fields: dict[str, FieldInfo] = {}
        organizations_field = self._organizations_field_option
        clause_cache: dict[str, str] = {}
        for raw in raw_fields:
            schema = raw.get("schema") or {}
            fields[str(raw["id"])] = FieldInfo(
                id=str(raw["id"]),
                name=str(raw.get("name", "")),
                type=str(schema.get("type", "string")),
                items=schema.get("items"),
                custom=schema.get("custom"),
                options=self._options_cache.get(str(raw["id"]), {}),
            )
            if organizations_field is None and schema.get("custom") == ORGANIZATIONS_FIELD_TYPE:
                organizations_field = str(raw["id"])
            for clause in raw.get("clauseNames") or ():
                clause_cache[str(clause)] = str(raw["id"])
        # The client translates search field names through this cache and would fetch /field
        # again to fill it; hand it the copy we already have.
        client._fields_cache_value = clause_cache
        categories: dict[str, str] = {}
        for status in statuses:
            key = (status.get("statusCategory") or {}).get("key")
            if key:
                categories[str(status["id"])] = str(key)
                categories[str(status.get("name", "")).lower()] = str(key)
        self._meta = _Metadata(
            account_id=myself.get("accountId"),
            fields=fields,
            status_categories=categories,
            organizations_field=organizations_field,
            loaded_at=now,
        )
        return self._meta

    def _organizations_by_account(self) -> dict[str, Organization]:
        """Reporter -> JSM organization, for issues whose Organizations field is empty (cached)."""
        now = time.monotonic()
        if self._members is not None and now - self._members[0] < 900:
            return self._members[1]
        members: dict[str, Organization] = {}
        try:
            for org in self._jsm_pages("organizations", "organization"):
                organization = Organization(id=str(org["id"]), name=str(org.get("name", "")))
                for user in self._jsm_pages("organization users", f"organization/{org['id']}/user"):
                    if user.get("accountId"):
                        members.setdefault(str(user["accountId"]), organization)
        except PermanentError as exc:
            log.warning("jira.organizations_unavailable", connection=self.name, error=str(exc))
            self.organization_lookup = False
        self._members = (now, members)
        return members

    def _jsm_pages(self, what: str, path: str) -> Iterator[dict[str, Any]]:
        start = 0
        while True:
            page = self._jsm_get(what, path, start)
            values = page.get("values") or []
            yield from values
            if page.get("isLastPage", True) or not values:
                return
            start += len(values)

    def _jsm_get(self, what: str, path: str, start: int) -> dict[str, Any]:
        session = self._jira()._session
        url = f"{self.url}/rest/servicedeskapi/{path}"
        params = {"start": start, "limit": 50}
        headers = {"X-ExperimentalApi": "opt-in"}
        page: dict[str, Any] = self._call(
            what, lambda: session.get(url, params=params, headers=headers).json()
        )
        return page

    def _context(
        self, meta: _Metadata, organizations: Mapping[str, Organization] | None = None
    ) -> IssueContext:
        return IssueContext(
            connection=self.name,
            browse_url=self.url,
            status_map=self.config.status_map,
            priority_map=self.config.priority_map,
            field_aliases=self.config.fields,
            organizations_field=meta.organizations_field,
            integration_account_id=meta.account_id,
            status_categories=meta.status_categories,
            organizations_by_account=organizations or {},
        )

    # ------------------------------------------------------------------------------ pull
    def _search_fields(self, meta: _Metadata) -> list[str]:
        wanted = list(SEARCH_FIELDS)
        extra = [meta.organizations_field, *self.config.fields.values()]
        wanted.extend(f for f in extra if f and f not in wanted and f in meta.fields)
        return wanted

    def _jql(self, from_ms: int | None, tail: str = "ORDER BY updated ASC, key ASC") -> str:
        clauses = []
        if self.config.projects:
            clauses.append("project in (" + ", ".join(f'"{p}"' for p in self.config.projects) + ")")
        clauses.append(f"updated >= {max(from_ms or 0, 0)}")
        return " AND ".join(clauses) + " " + tail

    def _search(self, jql: str, token: str | None, fields: list[str]) -> dict[str, Any]:
        client = self._jira()
        return self._call(
            "search",
            lambda: client.enhanced_search_issues(
                jql,
                nextPageToken=token,
                maxResults=self.page_size,
                fields=list(fields),
                expand="changelog",
                json_result=True,
                use_post=True,
            ),
        )

    def _approximate_count(self, jql: str) -> int | None:
        """Jira's approximate count of the issues `jql` matches (the ORDER BY left out); None
        when the site refuses it (progress then shows no total). Transient failures propagate,
        as the search would meet them too."""
        client = self._jira()
        condition = jql.split(" ORDER BY ", 1)[0]
        try:
            count = self._call("approximate count", lambda: client.approximate_issue_count(condition))
        except (PermanentError, ValueError):  # the search that follows reports a real refusal
            return None
        return count if isinstance(count, int) else None

    def pull(self, cursor: str | None, since: datetime | None = None) -> Iterator[PullPage]:
        meta = self._metadata()
        position = PullCursor.decode(cursor) if cursor else PullCursor(epoch_ms(since) if since else 0)
        jql = self._jql(position.watermark_ms - self.lag_ms if cursor else position.watermark_ms)
        fields = self._search_fields(meta)
        # a first sync says how many issues it will fetch (progress and ETA); later pulls are small
        total = None if cursor else self._approximate_count(jql)
        token: str | None = None
        while True:
            page = self._search(jql, token, fields)
            records, skipped = self._translate_page(page.get("issues") or [], meta, position)
            token = page.get("nextPageToken") or None
            yield PullPage(
                records=tuple(records),
                cursor=position.encode(),
                done=token is None,
                skipped=tuple(skipped),
                total=total,
            )
            if token is None:
                return

    def _translate_page(
        self, issues: list[dict[str, Any]], meta: _Metadata, position: PullCursor | None
    ) -> tuple[list[TicketRecord], list[SkippedRecord]]:
        fresh: list[tuple[dict[str, Any], str, int]] = []
        skipped: list[SkippedRecord] = []
        for issue in issues:
            issue_id = str(issue.get("id", "?"))
            try:
                updated_ms = epoch_ms(parse_jira_datetime(str((issue.get("fields") or {}).get("updated"))))
            except ValueError:
                skipped.append(SkippedRecord(issue_id, "fields.updated: missing or not a Jira timestamp"))
                continue
            if position is not None and position.delivered(issue_id, updated_ms):
                continue
            fresh.append((issue, issue_id, updated_ms))
        organizations: Mapping[str, Organization] = {}
        if self.organization_lookup and any(self._lacks_organization(i, meta) for i, _, _ in fresh):
            organizations = self._organizations_by_account()
        context = self._context(meta, organizations)
        records: list[TicketRecord] = []
        for issue, issue_id, updated_ms in fresh:
            try:
                histories, comments = self._complete(issue, issue_id)
                records.append(issue_to_record(issue, context, histories, comments))
            except MalformedRecord as exc:
                skipped.append(SkippedRecord(issue_id, f"malformed: {exc}"))
                log.warning("jira.record_skipped", connection=self.name, issue=issue_id, reason=str(exc))
            if position is not None:
                position.advance(issue_id, updated_ms, self.lag_ms)
        return records, skipped

    def _lacks_organization(self, issue: Mapping[str, Any], meta: _Metadata) -> bool:
        fields = issue.get("fields") or {}
        return not (meta.organizations_field and fields.get(meta.organizations_field))

    def _complete(
        self, issue: Mapping[str, Any], issue_id: str
    ) -> tuple[list[dict[str, Any]] | None, list[dict[str, Any]] | None]:
        """Full changelog / comment lists when the search result carried truncated ones."""
        histories: list[dict[str, Any]] | None = None
        changelog = issue.get("changelog")
        if isinstance(changelog, Mapping):
            embedded = changelog.get("histories") or []
            if int(changelog.get("total") or 0) > len(embedded):
                histories = list(self._paged(f"issue/{issue_id}/changelog", "values", "changelog"))
        comments: list[dict[str, Any]] | None = None
        comment_page = (issue.get("fields") or {}).get("comment")
        if isinstance(comment_page, Mapping):
            embedded = comment_page.get("comments") or []
            if int(comment_page.get("total") or 0) > len(embedded):
                comments = list(self._paged(f"issue/{issue_id}/comment", "comments", "comments"))
        return histories, comments

    def _paged(self, path: str, key: str, what: str) -> Iterator[dict[str, Any]]:
        start = 0
        while True:
            page = self._get(what, path, {"startAt": start, "maxResults": 100})
            values = page.get(key) or []
            yield from values
            start += len(values)
            if not values or start >= int(page.get("total") or 0):
                return

    def fetch(
        self, ticket_ids: Sequence[str], known: Mapping[str, datetime] | None = None
    ) -> list[TicketRecord]:
        """Issues by id or key, each with its changelog and comments (one search per 100; the
        search returns them whole, so `known` saves nothing here)."""
        meta = self._metadata()
        fields = self._search_fields(meta)
        records: list[TicketRecord] = []
        for start in range(0, len(ticket_ids), 100):
            chunk = list(ticket_ids[start : start + 100])
            numeric = all(t.isdigit() for t in chunk)
            clause = ("id" if numeric else "key") + " in (" + ", ".join(chunk) + ")"
            try:
                issues: list[dict[str, Any]] = []
                token: str | None = None
                while True:
                    page = self._search(f"{clause} ORDER BY key ASC", token, fields)
                    issues.extend(page.get("issues") or [])
                    token = page.get("nextPageToken") or None
                    if token is None:
                        break
            except PermanentError:
                # JQL rejects the whole query when one id no longer exists; read them one by one
                issues = [i for i in (self._get_issue(t, fields) for t in chunk) if i is not None]
            found, _skipped = self._translate_page(issues, meta, None)
            records.extend(found)
        return records

    def _get_issue(self, ref: str, fields: list[str]) -> dict[str, Any] | None:
        try:
            issue: dict[str, Any] = self._get(
                "issue", f"issue/{ref}", {"fields": ",".join(fields), "expand": "changelog"}
            )
        except PermanentError as exc:
            if exc.status == 404:
                log.info("jira.issue_gone", connection=self.name, issue=ref)
                return None
            raise
        return issue

    # ------------------------------------------------------------------------------ push
    def push(self, actions: Sequence[Action], uncertain: frozenset[str] = frozenset()) -> list[ActionResult]:
        """Apply `actions` (see `connector.ports.Helpdesk.push` and `plugins.jira.push`); one
        result per action, in order."""
        from plugins.jira.push import Push  # it builds on this module

        return Push(self, actions, uncertain).run()

    # ------------------------------------------------------------------------------ extras
    def vendor_sla(self, ticket_id: str) -> list[dict[str, Any]]:
        """JSM's own SLA objects for an issue (`/rest/servicedeskapi/request/{id}/sla`), for
        comparing with tierdesk's clocks in `tierdesk explain`."""
        return list(self._jsm_pages("sla", f"request/{ticket_id}/sla"))

    def close(self) -> None:
        if self._client is not None:
            self._client.close()  # type: ignore[no-untyped-call]
            self._client = None


__all__ = [
    "ConflictError",
    "JiraError",
    "JiraHelpdesk",
    "MissingCredentials",
    "PermanentError",
    "PullCursor",
    "RetryPolicy",
    "TransientError",
]
