"""The Zendesk adapter: implements `connector.ports.Helpdesk` over `zenpy` (the only module that
imports it).

HTTP and retries
  One `requests.Session` carries every call: zenpy's and the direct ones (incremental exports,
  show_many with sideloads, job statuses, Update Many: the hot paths, read and written as JSON
  with orjson instead of zenpy's objects). It counts requests (`api_calls`), mounts adapters without urllib3
  retries, and renames a 429's `Retry-After` header before zenpy sees it, so zenpy's own unbounded
  429 sleep loop never runs. The one retry layer is `connector.retry` (tenacity, `RetryPolicy`):
  429, 5xx, timeouts and connection errors are retried, honouring `Retry-After` (whole seconds) up
  to a cap, else exponential backoff with jitter, bounded in attempts and total wait; `sleep` is
  injectable.
  Other 4xx fail that call's actions (FAILED), 409 answers CONFLICT.

Pull
  Cursor-based ticket export (1000 per page, `include=users,organizations`) joined with the ticket
  events export (`include=comment_events`) by time: a page of tickets up to generated timestamp G
  gets every event up to G; events of tickets that appear in a later page wait (in memory while
  few, then in a temporary SQLite file: `plugins.zendesk.waiting_events`), and the
  persisted cursor remembers the oldest of them, so a restart re-reads from there and nothing is
  lost. At the end of the stream, waiting events whose ticket did not show up are delivered with
  the ticket read through show_many.

Push
  `plugins.zendesk.push`: one Update Many entry per ticket (100 per call), job statuses polled with
  show_many, note markers, and rounds that isolate a step Zendesk rejects as invalid.
"""

from __future__ import annotations

import functools
import json
import random
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, TypeVar
from urllib.parse import urlsplit

import orjson
import requests
import structlog
from requests.adapters import HTTPAdapter
from tenacity import Retrying
from zenpy import Zenpy
from zenpy.lib.api import BaseApi
from zenpy.lib.exception import APIException, RatelimitBudgetExceeded, ZenpyException

from connector.domain.model import Event, EventKind, Organization
from connector.domain.results import Action
from connector.ports import ActionResult, PullPage, SkippedRecord, TicketRecord
from connector.retry import (
    ConflictError,
    HelpdeskError,
    PermanentError,
    TransientError,
    retrying,
)
from connector.retry import RetryPolicy as SharedRetryPolicy
from plugins.zendesk.accessors import MalformedRecord, req_int, req_time
from plugins.zendesk.doubts import raw_updated_at
from plugins.zendesk.pull_state import EventWindow, PullCursor
from plugins.zendesk.push import Push
from plugins.zendesk.rejections import RejectedUpdate, from_error_body
from plugins.zendesk.translate import (
    STATUS_MAP,
    People,
    ReadContext,
    custom_status_map,
    events_from_audit,
    events_from_ticket_event,
    is_deleted,
    markers_in,
    organization_from_json,
    ticket_from_json,
)
from plugins.zendesk.waiting_events import SPILL_AFTER

log = structlog.get_logger("tierdesk.zendesk")

T = TypeVar("T")
BATCH = 100
EXPORT_INCLUDE = "users,organizations"
RETRY_AFTER_STASH = "X-Tierdesk-Retry-After"


# ------------------------------------------------------------------------------------ retries
@dataclass(frozen=True)
class RetryPolicy(SharedRetryPolicy):
    """The bounds of the one retry layer (per call, see `connector.retry.RetryPolicy`) and of
    job-status polling (per push)."""

    job_poll_interval: float = 1.0
    job_poll_budget: float = 120.0


ZendeskError = HelpdeskError  # this plugin's name for the shared base of the failure groups


def _body_text(response: requests.Response | None) -> str:
    if response is None:
        return ""
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    if isinstance(body, Mapping):
        parts = [str(body.get(k)) for k in ("error", "description", "details") if body.get(k)]
        return ": ".join(parts) if parts else json.dumps(body)[:200]
    return str(body)[:200]


def classify_response(response: requests.Response) -> HelpdeskError:
    status = response.status_code
    text = (
        f"HTTP {status} {response.request.method if response.request else ''} "
        f"{urlsplit(response.url).path}: {_body_text(response)}"
    )
    if status == 429:
        raw = response.headers.get(RETRY_AFTER_STASH) or response.headers.get("Retry-After")
        retry_after: float | None = None
        if raw is not None:
            try:
                retry_after = max(float(raw), 0.0)
            except ValueError:
                retry_after = None
        return TransientError(text, status, retry_after=retry_after)
    if status >= 500:
        raw = response.headers.get("Retry-After")
        return TransientError(
            text, status, retry_after=float(raw) if raw and raw.isdigit() else None, ambiguous=True
        )
    if status == 409:
        return ConflictError(text, status)
    return PermanentError(text, status)


def classify(exc: BaseException) -> HelpdeskError:
    """Map zenpy/requests exceptions onto the three groups."""
    if isinstance(exc, HelpdeskError):
        return exc
    if isinstance(exc, requests.Timeout | requests.ConnectionError):
        return TransientError(f"{type(exc).__name__}: {exc}", ambiguous=True)
    response = getattr(exc, "response", None)
    if isinstance(response, requests.Response):
        return classify_response(response)
    if isinstance(exc, RatelimitBudgetExceeded):
        return TransientError("rate limited")
    if isinstance(exc, APIException | ZenpyException | requests.RequestException):
        return PermanentError(str(exc)[:300])
    raise exc


class CountingSession(requests.Session):
    """Counts requests; keeps a 429's Retry-After away from zenpy's built-in wait loop."""

    def __init__(self) -> None:
        super().__init__()
        self.requests_sent = 0
        no_retries = HTTPAdapter(max_retries=0)
        self.mount("https://", no_retries)
        self.mount("http://", no_retries)

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        self.requests_sent += 1
        response = super().send(request, **kwargs)
        if response.status_code == 429 and "Retry-After" in response.headers:
            response.headers[RETRY_AFTER_STASH] = response.headers.pop("Retry-After")
        return response


def update_many_body(payloads: Sequence[Mapping[str, Any]]) -> bytes:
    """The Update Many request body for these ticket payloads (`plugins.zendesk.update`)."""
    return orjson.dumps({"tickets": list(payloads)})


# ------------------------------------------------------------------------------------ adapter
def _point_zenpy_at(client: Zenpy, scheme: str) -> None:
    """Use `scheme` for every zenpy API object (the emulator speaks plain http)."""
    seen: set[int] = set()
    stack: list[Any] = [client]
    while stack:
        obj = stack.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        if isinstance(obj, BaseApi):
            obj.protocol = scheme
        for value in getattr(obj, "__dict__", {}).values():
            if type(value).__module__.startswith("zenpy.lib.api"):
                stack.append(value)


def build_zenpy(url: str, email: str, token: str, session: requests.Session, timeout: float) -> Zenpy:
    """A zenpy client for `url`: `https://<sub>.zendesk.com` or an emulator such as
    `http://127.0.0.1:8081` (split into zenpy's subdomain/domain so its URLs land there)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if host == "localhost":
        host = "127.0.0.1"
    netloc = host + (f":{parts.port}" if parts.port else "")
    subdomain, _, domain = netloc.partition(".")
    if not domain:
        raise ValueError(f"cannot address {url!r} through zenpy: use a dotted host (e.g. 127.0.0.1)")
    client = Zenpy(
        subdomain=subdomain,
        domain=domain,
        email=email,
        token=token,
        session=session,
        timeout=timeout,
        disable_cache=True,
    )
    _point_zenpy_at(client, parts.scheme or "https")
    return client


class ZendeskHelpdesk:
    """`connector.ports.Helpdesk` for one Zendesk Support account (see module docstring)."""

    kind = "zendesk"
    refuses_stale_updates = True  # safe_update + updated_stamp: a 409 when the ticket moved on

    def __init__(
        self,
        name: str,
        url: str,
        email: str,
        token: str,
        *,
        field_ids: Mapping[str, str] | None = None,
        aliases: Mapping[str, str] | None = None,
        context: ReadContext | None = None,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.name = name
        self.url = url.rstrip("/")
        self.retry = retry or RetryPolicy()
        self.field_ids = dict(field_ids or {})
        self.aliases = dict(aliases or {})  # escalation alias -> Zendesk id, named in FAILED fixes
        self.context = context or ReadContext(
            connection=name, field_names={v: k for k, v in self.field_ids.items()}
        )
        self._sleep = sleep
        self._rng = rng or random.Random()
        self.session = CountingSession()
        self.zenpy = build_zenpy(self.url, email, token, self.session, self.retry.request_timeout)
        self._roles: dict[str, str] = {}
        self._emails: dict[str, str | None] = {}
        self._orgs: dict[str, Organization] = {}
        self._me: str | None = None
        self._uncertain: set[str] = set()  # note keys whose send outcome is unknown (this process)
        self._titles: dict[str, str] | None = None  # ticket field titles, read on first need
        self._custom_statuses_failed = False  # said once until custom statuses are read again
        self._unknown_custom_statuses: list[str] = []  # status_map names said to be unknown
        self.spill_after = SPILL_AFTER  # waiting events kept in memory before they go to a file

    # ------------------------------------------------------------------ plumbing
    @property
    def api_calls(self) -> int:
        return self.session.requests_sent

    def _retrying(self) -> Retrying:
        return retrying(self.retry, sleep=self._sleep, rng=self._rng, on_retry=self._log_retry)

    def _log_retry(self, attempt: int, wait: float, error: BaseException | None) -> None:
        log.info(
            "zendesk.retry",
            connection=self.name,
            attempt=attempt,
            wait=round(wait, 2),
            error=str(error),
        )

    def _call(self, fn: Callable[[], T]) -> T:
        """Run one API call under the retry policy; zenpy/requests errors come out classified."""
        for attempt in self._retrying():
            with attempt:
                try:
                    return fn()
                except Exception as exc:
                    raise classify(exc) from exc
        raise AssertionError("unreachable")

    def _get_json(self, path: str, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        def get() -> dict[str, Any]:
            response = self.session.get(self.url + path, params=params, timeout=self.retry.request_timeout)
            if not 200 <= response.status_code < 300:
                raise classify_response(response)
            try:
                data = orjson.loads(response.content)  # several times the speed of response.json()
            except orjson.JSONDecodeError as exc:
                raise PermanentError(f"{path}: the answer is not JSON ({exc})") from exc
            if not isinstance(data, dict):
                raise PermanentError(f"{path}: expected a JSON object")
            return data

        return self._call(get)

    def _ticket_count(self) -> int | None:
        """Zendesk's approximate ticket count (Count Tickets); None when it is refused or not a
        number (progress then shows no total). Transient failures propagate, as the export would
        meet them too."""
        try:
            count = self._get_json("/api/v2/tickets/count.json").get("count")
        except PermanentError:
            return None
        value = count.get("value") if isinstance(count, Mapping) else None
        return value if isinstance(value, int) else None

    def me(self) -> str:
        """The integration user's id (the author of everything tierdesk writes)."""
        if self._me is None:
            user = self._call(self.zenpy.users.me)
            self._me = str(user.id)
            self._roles[self._me] = str(user.role)
        return self._me

    # ------------------------------------------------------------------ lookups
    def _remember_users(self, users: Sequence[Mapping[str, Any]]) -> None:
        for user in users:
            if isinstance(user, Mapping) and isinstance(user.get("id"), int):
                uid = str(user["id"])
                self._roles[uid] = str(user.get("role") or "end-user")
                self._emails[uid] = user.get("email")

    def _remember_orgs(self, orgs: Sequence[Mapping[str, Any]]) -> None:
        for raw in orgs:
            try:
                org = organization_from_json(raw)
            except MalformedRecord as exc:
                log.warning("zendesk.malformed_organization", connection=self.name, error=str(exc))
                continue
            self._orgs[org.id] = org

    def _lookup_users(self, ids: set[str]) -> None:
        missing = sorted(i for i in ids if i not in self._roles and i.isdigit() and int(i) > 0)
        for start in range(0, len(missing), BATCH):
            chunk = [int(i) for i in missing[start : start + BATCH]]
            users: list[Any] = self._call(functools.partial(self._list_users, chunk))
            for user in users:
                self._roles[str(user.id)] = str(user.role)
                self._emails[str(user.id)] = user.email
            for uid in chunk:  # deleted users: remember as unknown end users
                self._roles.setdefault(str(uid), "end-user")

    def _list_users(self, ids: list[int]) -> list[Any]:
        return list(self.zenpy.users(ids=ids))

    def _list_orgs(self, ids: list[int]) -> list[Any]:
        return list(self.zenpy.organizations(ids=ids))

    def _job_statuses(self, ids: list[str]) -> list[Mapping[str, Any]]:
        """Show Many Job Statuses, under the retry policy. Read as JSON, not as zenpy objects: a
        push polls a job per 100 tickets, and building zenpy's objects for every per-ticket
        result cost more than the call."""
        found = self._get_json("/api/v2/job_statuses/show_many.json", {"ids": ",".join(ids)}).get(
            "job_statuses"
        )
        return [s for s in found or [] if isinstance(s, Mapping)]

    def _lookup_orgs(self, ids: set[str]) -> None:
        missing = sorted(i for i in ids if i not in self._orgs)
        for start in range(0, len(missing), BATCH):
            chunk = [int(i) for i in missing[start : start + BATCH]]
            orgs: list[Any] = self._call(functools.partial(self._list_orgs, chunk))
            self._remember_orgs([o.to_dict() for o in orgs])

    # ------------------------------------------------------------------ pull
    def pull(self, cursor: str | None, since: datetime | None = None) -> Iterator[PullPage]:
        """Incremental pull (see module docstring). Every page's cursor can be stored and handed
        to a new instance to resume right after that page."""
        if cursor:
            state = PullCursor.decode(cursor)
        else:
            start = int(since.timestamp()) if since is not None else 0
            state = PullCursor(None, start, start - 1, None)
        me = self.me()
        self._read_custom_statuses()
        # a first sync says how many tickets it will fetch (progress and ETA); later pulls are small
        total = self._ticket_count() if not cursor and since is None else None
        events = EventWindow(self, state)
        try:
            export_cursor = state.export_cursor
            while True:
                params: dict[str, Any] = {"include": EXPORT_INCLUDE}
                if export_cursor:
                    params["cursor"] = export_cursor
                else:
                    params["start_time"] = state.start_time
                page = self._get_json("/api/v2/incremental/tickets/cursor.json", params)
                tickets = page.get("tickets") or []
                self._remember_users(page.get("users") or [])
                self._remember_orgs(page.get("organizations") or [])
                export_cursor = page.get("after_cursor") or export_cursor
                end_of_stream = bool(page.get("end_of_stream"))
                top = max(
                    (t.get("generated_timestamp") or 0 for t in tickets if isinstance(t, Mapping)),
                    default=None,
                )
                if top is not None:
                    events.consume_through(int(top))
                by_ticket = events.take({str(t.get("id")) for t in tickets if isinstance(t, Mapping)})
                records, skipped = self._records(tickets, by_ticket, me)
                if end_of_stream:
                    more, more_skipped = self._flush(events, me)
                    records += more
                    skipped += more_skipped
                next_cursor = PullCursor(
                    export_cursor,
                    state.start_time,
                    events.done,
                    events.oldest_waiting(),
                    events.waiting_tickets(),
                )
                yield PullPage(tuple(records), next_cursor.encode(), end_of_stream, tuple(skipped), total)
                if end_of_stream or not tickets:
                    return
        finally:
            events.close()  # a spill file goes with the pull, finished or abandoned

    def _read_custom_statuses(self) -> None:
        """Read the account's custom statuses when `status_map` names one (by agent label or id),
        once per pull or re-read so a status an admin adds or renames is seen on the next cycle.
        Without such a name the ticket's `status` (the category) is all tierdesk needs."""
        status_map = self.context.status_map
        if all(key.strip().lower() in STATUS_MAP for key in status_map):
            return
        try:
            raw = self._get_json("/api/v2/custom_statuses.json").get("custom_statuses") or []
            statuses = custom_status_map(raw if isinstance(raw, list) else [], status_map)
        except (PermanentError, MalformedRecord) as exc:
            if not self._custom_statuses_failed:
                log.warning(
                    "zendesk.custom_statuses_unreadable",
                    connection=self.name,
                    error=str(exc),
                    fix="run tierdesk doctor; custom statuses need a plan with them and an admin token",
                )
            self._custom_statuses_failed = True
            return  # keep what was read last; statuses fall back to their category
        self._custom_statuses_failed = False
        known = {label.lower() for label, _ in statuses.values()} | set(statuses)
        unknown = sorted(k for k in status_map if k.strip().lower() not in known | set(STATUS_MAP))
        if unknown and unknown != self._unknown_custom_statuses:
            log.warning("zendesk.unknown_custom_status", connection=self.name, names=unknown)
        self._unknown_custom_statuses = unknown
        self.context = replace(self.context, custom_statuses=statuses)

    def _records(
        self, tickets: Sequence[Any], by_ticket: Mapping[str, list[Mapping[str, Any]]], me: str
    ) -> tuple[list[TicketRecord], list[SkippedRecord]]:
        authors: set[str] = set()
        orgs: set[str] = set()
        for raw in tickets:
            if isinstance(raw, Mapping):
                for key in ("requester_id",):
                    if isinstance(raw.get(key), int):
                        authors.add(str(raw[key]))
                if isinstance(raw.get("organization_id"), int):
                    orgs.add(str(raw["organization_id"]))
        for evs in by_ticket.values():
            for ev in evs:
                for child in ev.get("child_events") or ev.get("events") or []:
                    if isinstance(child, Mapping) and isinstance(child.get("author_id"), int):
                        authors.add(str(child["author_id"]))
                updater = ev.get("updater_id", ev.get("author_id"))
                if isinstance(updater, int) and updater > 0:
                    authors.add(str(updater))
        self._lookup_users(authors)
        self._lookup_orgs(orgs)
        records: list[TicketRecord] = []
        skipped: list[SkippedRecord] = []
        for i, raw in enumerate(tickets):
            tid = str(raw.get("id", "?")) if isinstance(raw, Mapping) else "?"
            if is_deleted(raw):
                skipped.append(SkippedRecord(tid, "deleted"))
                continue
            try:
                records.append(self._record(raw, by_ticket.get(tid, []), me, f"tickets[{i}]"))
            except MalformedRecord as exc:
                log.warning("zendesk.malformed_ticket", connection=self.name, ticket=tid, error=str(exc))
                skipped.append(SkippedRecord(tid, f"malformed: {exc}"))
        return records, skipped

    def _record(
        self, raw: Mapping[str, Any], raw_events: Sequence[Mapping[str, Any]], me: str, path: str
    ) -> TicketRecord:
        requester = raw.get("requester_id")
        org_id = raw.get("organization_id")
        organization = self._orgs.get(str(org_id)) if org_id is not None else None
        ticket = ticket_from_json(
            raw,
            self.context,
            organization=organization,
            requester_email=self._emails.get(str(requester)),
            path=path,
        )
        people = People(roles=self._roles, me=me, requester_id=ticket.requester_id)
        events: dict[str, Event] = {}
        for j, ev in enumerate(raw_events):
            try:
                if "child_events" in ev:
                    found = events_from_ticket_event(ev, self.context, people, f"ticket_events[{j}]")
                else:
                    found = events_from_audit(ev, self.context, people, f"audits[{j}]")
            except MalformedRecord as exc:
                log.warning("zendesk.malformed_event", connection=self.name, ticket=ticket.id, error=str(exc))
                continue
            for event in found:
                events[event.id] = event
        ordered = tuple(sorted(events.values(), key=lambda e: (e.at, e.kind != EventKind.CREATED, e.id)))
        return TicketRecord(ticket=ticket, events=ordered)

    def _flush(self, window: EventWindow, me: str) -> tuple[list[TicketRecord], list[SkippedRecord]]:
        """Deliver events still waiting for their ticket, with the ticket read now."""
        waiting = window.take_all()
        if not waiting:
            return [], []
        tickets = self._show_many(sorted(waiting, key=int))
        found = {str(t["id"]) for t in tickets if isinstance(t, Mapping) and "id" in t}
        records, skipped = self._records(tickets, waiting, me)
        skipped += [SkippedRecord(tid, "deleted") for tid in waiting if tid not in found]
        return records, skipped

    def _show_many(self, ids: Sequence[str]) -> list[dict[str, Any]]:
        tickets: list[dict[str, Any]] = []
        for start in range(0, len(ids), BATCH):
            chunk = ",".join(ids[start : start + BATCH])
            page = self._get_json("/api/v2/tickets/show_many.json", {"ids": chunk, "include": EXPORT_INCLUDE})
            self._remember_users(page.get("users") or [])
            self._remember_orgs(page.get("organizations") or [])
            tickets.extend(page.get("tickets") or [])
        return tickets

    def fetch(
        self, ticket_ids: Sequence[str], known: Mapping[str, datetime] | None = None
    ) -> list[TicketRecord]:
        """Re-read tickets (show_many, 100 per call) and the full audit history of each one that
        changed since `known` (a ticket still at its known `updated_at` comes back without events)."""
        me = self.me()
        self._read_custom_statuses()
        ids = [str(i) for i in ticket_ids if str(i).isdigit()]
        tickets = self._show_many(ids)
        audits: dict[str, list[Mapping[str, Any]]] = {}
        for raw in tickets:
            tid = str(raw.get("id"))
            if known is not None and tid in known and raw_updated_at(raw) == known[tid]:
                continue
            audits[tid] = self._audits(tid)
        records, _ = self._records(tickets, audits, me)
        return records

    def _audits(self, ticket_id: str) -> list[Mapping[str, Any]]:
        out: list[Mapping[str, Any]] = []
        params: dict[str, Any] | None = {"page[size]": BATCH}
        path = f"/api/v2/tickets/{ticket_id}/audits.json"
        while True:
            page = self._get_json(path, params)
            out.extend(page.get("audits") or [])
            meta = page.get("meta") or {}
            if not meta.get("has_more") or not meta.get("after_cursor"):
                return out
            params = {"page[size]": BATCH, "page[after]": meta["after_cursor"]}

    # ------------------------------------------------------------------ push
    def push(self, actions: Sequence[Action], uncertain: frozenset[str] = frozenset()) -> list[ActionResult]:
        """Apply `actions` (see `connector.ports.Helpdesk.push` and `plugins.zendesk.push`); one
        result per action, in order."""
        return Push(self, actions, uncertain).run()

    def _markers_on(self, ticket_id: str) -> set[str]:
        def read() -> set[str]:
            markers: set[str] = set()
            for comment in self.zenpy.tickets.comments(ticket=int(ticket_id)):
                markers |= markers_in(comment.body or "")
            return markers

        return self._call(read)

    def _update_many(self, payloads: Sequence[Mapping[str, Any]]) -> str:
        """Submit one Update Many batch (one attempt); returns the job id. Errors come out
        classified; a 422 naming invalid parts as `RejectedUpdate`.

        Sent on zenpy's session as the JSON body zenpy would build from `Ticket` objects (a unit
        test pins the two equal), without building them: zenpy serialises each object twice over
        the standard library, which cost more than the call for 100 tickets a batch."""
        body = update_many_body(payloads)
        try:
            response = self.session.put(
                self.url + "/api/v2/tickets/update_many.json",
                data=body,
                headers={"Content-Type": "application/json"},
                timeout=self.retry.request_timeout,
            )
        except Exception as exc:
            raise classify(exc) from exc
        if not 200 <= response.status_code < 300:
            error = classify_response(response)
            if error.status == 422:
                try:
                    rejections = from_error_body(orjson.loads(response.content))
                except ValueError:
                    rejections = None
                if rejections is not None:
                    raise RejectedUpdate(str(error), rejections)
            raise error
        try:
            job = orjson.loads(response.content).get("job_status") or {}
        except (ValueError, AttributeError) as exc:
            raise TransientError(
                f"update_many: the answer is not a job status ({exc})", ambiguous=True
            ) from exc
        if not isinstance(job, Mapping) or job.get("id") is None:
            raise TransientError("update_many: the answer names no job", ambiguous=True)
        return str(job["id"])

    def _updated_at(self, ticket_ids: Sequence[int]) -> dict[int, datetime]:
        """The current `updated_at` of tickets (show_many, 100 per call)."""
        found: dict[int, datetime] = {}
        for raw in self._show_many([str(t) for t in ticket_ids]):
            try:
                found[req_int(raw, "id", "tickets[]")] = req_time(raw, "updated_at", "tickets[]")
            except MalformedRecord as exc:
                log.warning("zendesk.malformed_ticket", connection=self.name, error=str(exc))
        return found

    def _field_titles(self) -> dict[str, str]:
        """Ticket field titles (lower case) -> field ids, read once per process; empty when the
        fields cannot be read (a rejection naming a field by title then stays unplaced)."""
        if self._titles is None:
            try:
                fields: list[Any] = self._call(lambda: list(self.zenpy.ticket_fields()))
            except HelpdeskError as exc:
                log.info("zendesk.ticket_fields_unreadable", connection=self.name, error=str(exc))
                return {}
            self._titles = {str(f.title).strip().lower(): str(f.id) for f in fields}
        return self._titles
