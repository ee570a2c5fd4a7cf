"""The Zendesk adapter: implements `connector.ports.Helpdesk` over `zenpy` (the only module that
imports it).

HTTP and retries
  One `requests.Session` carries every call: zenpy's and the few direct reads (incremental exports,
  show_many with sideloads). It counts requests (`api_calls`), mounts adapters without urllib3
  retries, and renames a 429's `Retry-After` header before zenpy sees it, so zenpy's own unbounded
  429 sleep loop never runs. The one retry layer is `connector.retry` (tenacity, `RetryPolicy`):
  429, 5xx, timeouts and connection errors are retried, honouring `Retry-After` (whole seconds) up
  to a cap, else exponential backoff with jitter, bounded in attempts and total wait; `sleep` is
  injectable.
  Other 4xx fail that call's actions (FAILED), 409 answers CONFLICT.

Pull
  Cursor-based ticket export (1000 per page, `include=users,organizations`) joined with the ticket
  events export (`include=comment_events`) by time: a page of tickets up to generated timestamp G
  gets every event up to G; events of tickets that appear in a later page wait in memory, and the
  persisted cursor remembers the oldest of them, so a restart re-reads from there and nothing is
  lost. At the end of the stream, waiting events whose ticket did not show up are delivered with
  the ticket read through show_many.

Push
  Actions are grouped per ticket into one Update Many entry (100 per call); job statuses are polled
  with show_many; each ticket's result answers its actions. Notes carry a marker line; for notes
  whose earlier send is uncertain the ticket's comments are searched first. A write whose outcome
  is unknown (timeout, connection error, 5xx) is re-sent without its notes, which are answered
  RETRY with `uncertain=True` and checked next time.
"""

from __future__ import annotations

import base64
import functools
import itertools
import json
import random
import time
import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar
from urllib.parse import urlsplit

import requests
import structlog
from requests.adapters import HTTPAdapter
from tenacity import Retrying
from zenpy import Zenpy
from zenpy.lib.api import BaseApi
from zenpy.lib.api_objects import Ticket as ZTicket
from zenpy.lib.exception import APIException, RatelimitBudgetExceeded, ZenpyException

from connector.domain.model import Event, EventKind, Organization
from connector.domain.policy import ActionKind
from connector.domain.results import Action
from connector.ports import ActionResult, Outcome, PullPage, SkippedRecord, TicketRecord
from connector.retry import (
    ConflictError,
    HelpdeskError,
    PermanentError,
    TransientError,
    retrying,
)
from connector.retry import RetryPolicy as SharedRetryPolicy
from plugins.zendesk.translate import (
    MalformedRecord,
    People,
    ReadContext,
    TicketUpdate,
    events_from_audit,
    events_from_ticket_event,
    is_deleted,
    markers_in,
    organization_from_json,
    parse_time,
    ticket_from_json,
)

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


# ------------------------------------------------------------------------------------ cursor
@dataclass(frozen=True)
class PullCursor:
    """What a restart needs: the export cursor (or start time), the instant up to which ticket
    events were consumed, and the events still waiting for their ticket (the oldest one's time and
    the tickets they belong to; on an initial sync these can be thousands, kept compressed)."""

    export_cursor: str | None
    start_time: int
    events_done: int
    oldest_waiting: int | None = None
    waiting_tickets: tuple[int, ...] = ()

    def encode(self) -> str:
        raw = json.dumps(
            {
                "c": self.export_cursor,
                "s": self.start_time,
                "e": self.events_done,
                "w": self.oldest_waiting,
                "i": _pack_ids(self.waiting_tickets),
            },
            separators=(",", ":"),
        )
        return "zd1." + base64.urlsafe_b64encode(raw.encode()).decode()

    @classmethod
    def decode(cls, text: str) -> PullCursor:
        if not text.startswith("zd1."):
            raise ValueError(f"not a Zendesk pull cursor: {text[:20]!r}")
        raw = json.loads(base64.urlsafe_b64decode(text[4:].encode()))
        return cls(raw["c"], int(raw["s"]), int(raw["e"]), raw.get("w"), _unpack_ids(raw.get("i") or ""))


def _pack_ids(ids: tuple[int, ...]) -> str:
    if not ids:
        return ""
    ordered = sorted(set(ids))
    deltas = [ordered[0]] + [b - a for a, b in itertools.pairwise(ordered)]
    packed = zlib.compress(",".join(map(str, deltas)).encode(), 9)
    return base64.urlsafe_b64encode(packed).decode()


def _unpack_ids(text: str) -> tuple[int, ...]:
    if not text:
        return ()
    deltas = [int(x) for x in zlib.decompress(base64.urlsafe_b64decode(text.encode())).decode().split(",")]
    out: list[int] = []
    total = 0
    for d in deltas:
        total += d
        out.append(total)
    return tuple(out)


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

    def __init__(
        self,
        name: str,
        url: str,
        email: str,
        token: str,
        *,
        field_ids: Mapping[str, str] | None = None,
        context: ReadContext | None = None,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.name = name
        self.url = url.rstrip("/")
        self.retry = retry or RetryPolicy()
        self.field_ids = dict(field_ids or {})
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
            data = response.json()
            if not isinstance(data, dict):
                raise PermanentError(f"{path}: expected a JSON object")
            return data

        return self._call(get)

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

    def _job_statuses(self, ids: list[str]) -> list[Any]:
        return list(self.zenpy.job_status(ids=ids)["job_statuses"])

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
        events = _EventWindow(self, state)
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
                (t.get("generated_timestamp") or 0 for t in tickets if isinstance(t, Mapping)), default=None
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
            yield PullPage(tuple(records), next_cursor.encode(), end_of_stream, tuple(skipped))
            if end_of_stream or not tickets:
                return

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

    def _flush(self, window: _EventWindow, me: str) -> tuple[list[TicketRecord], list[SkippedRecord]]:
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
        ids = [str(i) for i in ticket_ids if str(i).isdigit()]
        tickets = self._show_many(ids)
        audits: dict[str, list[Mapping[str, Any]]] = {}
        for raw in tickets:
            tid = str(raw.get("id"))
            if known is not None and tid in known and _updated_at(raw) == known[tid]:
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
        """Apply `actions` (see `connector.ports.Helpdesk.push`); one result per action, in order."""
        results: dict[str, ActionResult] = {}
        by_ticket: dict[str, list[Action]] = {}
        for action in actions:
            by_ticket.setdefault(action.ticket_id, []).append(action)
        doubtful = set(uncertain) | self._uncertain
        me = int(self.me())
        updates: list[TicketUpdate] = []
        for ticket_id, planned in by_ticket.items():
            if not ticket_id.isdigit():
                for a in planned:
                    results[a.key] = self._failed(a, f"not a Zendesk ticket id: {ticket_id!r}")
                continue
            group = self._skip_notes_already_there(ticket_id, planned, doubtful, results)
            update = TicketUpdate.build(int(ticket_id), group, self.field_ids, author_id=me)
            for key in update.applied_without_call:
                results[key] = ActionResult(
                    key, Outcome.APPLIED, "nothing to send: Zendesk has no issue properties"
                )
            by_key = {a.key: a for a in group}
            for key, why in update.failed.items():
                results[key] = self._failed(by_key[key], why)
            if update.action_keys and update.has_changes:
                updates.append(update)
            else:
                for key in update.action_keys:
                    results[key] = ActionResult(key, Outcome.APPLIED, "no change to send")
        jobs: list[tuple[str, list[TicketUpdate]]] = []
        for start in range(0, len(updates), BATCH):
            batch = updates[start : start + BATCH]
            job_id, sent = self._submit(batch, results)
            if job_id is not None:
                jobs.append((job_id, sent))
        self._collect(jobs, results)
        for key, result in results.items():
            if result.outcome in (Outcome.APPLIED, Outcome.ALREADY_APPLIED, Outcome.FAILED, Outcome.CONFLICT):
                self._uncertain.discard(key)
        return [results.get(a.key) or ActionResult(a.key, Outcome.RETRY, "not attempted") for a in actions]

    def _failed(self, action: Action, why: str) -> ActionResult:
        log.warning(
            "zendesk.action_failed",
            connection=self.name,
            key=action.key,
            ticket=action.ticket_id,
            kind=action.kind.value,
            error=why,
        )
        return ActionResult(action.key, Outcome.FAILED, why)

    def _skip_notes_already_there(
        self, ticket_id: str, group: list[Action], doubtful: set[str], results: dict[str, ActionResult]
    ) -> list[Action]:
        """Answer ALREADY_APPLIED for uncertain notes whose marker is on the ticket."""
        check = [a for a in group if a.kind == ActionKind.ADD_NOTE and a.key in doubtful and a.marker]
        if not check:
            return group
        try:
            found = self._markers_on(ticket_id)
        except TransientError as exc:
            for a in check:
                results[a.key] = ActionResult(a.key, Outcome.RETRY, f"could not check the note marker: {exc}")
            return [a for a in group if a not in check]
        except HelpdeskError as exc:
            for a in check:
                results[a.key] = self._failed(a, f"could not check the note marker: {exc}")
            return [a for a in group if a not in check]
        keep = []
        for a in group:
            if a in check and a.marker in found:
                results[a.key] = ActionResult(
                    a.key, Outcome.ALREADY_APPLIED, "note marker found on the ticket"
                )
            else:
                keep.append(a)
        return keep

    def _markers_on(self, ticket_id: str) -> set[str]:
        def read() -> set[str]:
            markers: set[str] = set()
            for comment in self.zenpy.tickets.comments(ticket=int(ticket_id)):
                markers |= markers_in(comment.body or "")
            return markers

        return self._call(read)

    def _submit(
        self, batch: list[TicketUpdate], results: dict[str, ActionResult]
    ) -> tuple[str | None, list[TicketUpdate]]:
        """Send one Update Many batch; returns the job id and the updates it carried."""
        pending = list(batch)
        try:
            for attempt in self._retrying():
                with attempt:
                    try:
                        job = self.zenpy.tickets.update([ZTicket(**u.payload) for u in pending])
                        return str(job.id), pending
                    except Exception as exc:
                        error = classify(exc)
                        if isinstance(error, TransientError) and error.ambiguous:
                            pending = self._hold_notes(pending, results, str(error))
                            if not pending:
                                return None, []
                        raise error from exc
        except ConflictError as exc:
            self._answer(pending, Outcome.CONFLICT, str(exc), results)
        except TransientError as exc:
            self._answer(pending, Outcome.RETRY, f"gave up after retries: {exc}", results)
        except HelpdeskError as exc:
            self._answer(pending, Outcome.FAILED, str(exc), results)
        return None, []

    def _hold_notes(
        self, pending: list[TicketUpdate], results: dict[str, ActionResult], why: str
    ) -> list[TicketUpdate]:
        """After a write with unknown outcome, keep re-sending everything but the notes."""
        kept: list[TicketUpdate] = []
        for u in pending:
            for key in u.note_keys:
                self._uncertain.add(key)
                results[key] = ActionResult(
                    key,
                    Outcome.RETRY,
                    f"send outcome unknown ({why}); the marker is checked before the next send",
                    uncertain=True,
                )
            rest = u.without_notes() if u.note_keys else u
            if rest.action_keys and rest.has_changes:
                kept.append(rest)
        return kept

    def _answer(
        self,
        updates: Sequence[TicketUpdate],
        outcome: Outcome,
        message: str,
        results: dict[str, ActionResult],
    ) -> None:
        """Answer every action of `updates`; a FAILED answer is logged, a RETRY of a note is
        remembered as uncertain."""
        for u in updates:
            for key in u.action_keys:
                if outcome == Outcome.FAILED:
                    log.warning(
                        "zendesk.action_failed",
                        connection=self.name,
                        key=key,
                        ticket=u.ticket_id,
                        error=message,
                    )
                doubtful = outcome == Outcome.RETRY and key in u.note_keys
                if doubtful:
                    self._uncertain.add(key)
                results[key] = ActionResult(key, outcome, message, uncertain=doubtful)

    def _collect(self, jobs: list[tuple[str, list[TicketUpdate]]], results: dict[str, ActionResult]) -> None:
        """Poll all jobs together (show_many) until each is done or the poll budget is spent."""
        open_jobs = dict(jobs)
        waited = 0.0
        while open_jobs:
            if waited >= self.retry.job_poll_budget:
                for updates in open_jobs.values():
                    self._answer(updates, Outcome.RETRY, "job did not finish in time", results)
                return
            self._sleep(self.retry.job_poll_interval)
            waited += self.retry.job_poll_interval
            ids = list(open_jobs)
            for start in range(0, len(ids), BATCH):
                chunk = ids[start : start + BATCH]
                try:
                    statuses = self._call(functools.partial(self._job_statuses, chunk))
                except HelpdeskError as exc:
                    if isinstance(exc, TransientError):
                        continue
                    for job_id in chunk:
                        self._answer(
                            open_jobs.pop(job_id), Outcome.RETRY, f"job status unreadable: {exc}", results
                        )
                    continue
                for status in statuses:
                    job_id = str(status.id)
                    if job_id not in open_jobs or status.status not in ("completed", "failed", "killed"):
                        continue
                    self._job_done(status, open_jobs.pop(job_id), results)

    def _job_done(self, status: Any, updates: list[TicketUpdate], results: dict[str, ActionResult]) -> None:
        per_ticket: dict[int, Any] = {}
        for item in status.results or []:
            tid = getattr(item, "id", None)
            if tid is not None:
                per_ticket[int(tid)] = item
        for u in updates:
            item = per_ticket.get(u.ticket_id)
            if status.status != "completed" or item is None:
                self._answer(
                    [u],
                    Outcome.RETRY,
                    f"job {status.id} ended {status.status} without a result for this ticket",
                    results,
                )
                continue
            if getattr(item, "success", False):
                self._answer([u], Outcome.APPLIED, "", results)
                continue
            error = str(getattr(item, "error", "") or "")
            details = str(getattr(item, "details", "") or "")
            message = f"{error}: {details}".strip(": ")
            if error == "UpdateConflict":
                self._answer([u], Outcome.CONFLICT, message, results)
            else:
                self._answer([u], Outcome.FAILED, message, results)


def _updated_at(raw: Mapping[str, Any]) -> datetime | None:
    value = raw.get("updated_at")
    if not isinstance(value, str):
        return None
    try:
        return parse_time(value, "ticket.updated_at")
    except MalformedRecord:
        return None


class _EventWindow:
    """The ticket events export, read forward in time and handed out per ticket.

    `done`: events up to this instant have been consumed (delivered or waiting). Waiting events
    belong to tickets not seen yet; `oldest_waiting` goes into the cursor so a restart re-reads
    from there."""

    def __init__(self, client: ZendeskHelpdesk, state: PullCursor) -> None:
        self.client = client
        self.done = state.events_done
        start = state.events_done + 1
        if state.oldest_waiting is not None:
            start = min(start, state.oldest_waiting)
        self.next_start = max(start, 0)
        self.fetched: list[Mapping[str, Any]] = []  # read but not consumed (later than `done`)
        self.waiting: dict[str, list[Mapping[str, Any]]] = {}
        self.seen: set[int] = set()
        # re-read after a restart: events up to `replay_until` matter only for tickets that were
        # waiting then; every other ticket's events were delivered before the restart
        self.replay_until = state.events_done if state.oldest_waiting is not None else None
        self.replay_tickets = {str(t) for t in state.waiting_tickets}

    def _read_until(self, instant: int) -> None:
        while self.next_start <= instant:
            try:
                page = self.client._get_json(
                    "/api/v2/incremental/ticket_events.json",
                    {"start_time": self.next_start, "include": "comment_events"},
                )
            except PermanentError as exc:
                if "StartTimeTooRecent" in str(exc):
                    return
                raise
            for ev in page.get("ticket_events") or []:
                ev_id = ev.get("id") if isinstance(ev, Mapping) else None
                if not isinstance(ev_id, int) or ev_id in self.seen:
                    continue
                ts = ev.get("timestamp")
                if (
                    self.replay_until is not None
                    and isinstance(ts, int)
                    and ts <= self.replay_until
                    and str(ev.get("ticket_id")) not in self.replay_tickets
                ):
                    continue
                self.seen.add(ev_id)
                self.fetched.append(ev)
            end_time = int(page.get("end_time") or self.next_start)
            if page.get("end_of_stream"):
                self.next_start = max(end_time, self.next_start)
                return
            if end_time <= self.next_start:
                # a page that did not move forward would be served again forever
                log.warning(
                    "zendesk.events_page_stuck", connection=self.client.name, start_time=self.next_start
                )
                end_time = self.next_start + 1
            self.next_start = end_time

    def consume_through(self, instant: int) -> None:
        """Read every event up to `instant` and sort it to its ticket."""
        self._read_until(instant)
        later: list[Mapping[str, Any]] = []
        for ev in self.fetched:
            ts = ev.get("timestamp")
            if isinstance(ts, int) and ts > instant:
                later.append(ev)
                continue
            self.waiting.setdefault(str(ev.get("ticket_id")), []).append(ev)
        self.fetched = later
        self.done = max(self.done, instant)

    def take(self, ticket_ids: set[str]) -> dict[str, list[Mapping[str, Any]]]:
        return {tid: self.waiting.pop(tid) for tid in ticket_ids if tid in self.waiting}

    def take_all(self) -> dict[str, list[Mapping[str, Any]]]:
        out, self.waiting = self.waiting, {}
        return out

    def waiting_tickets(self) -> tuple[int, ...]:
        return tuple(int(t) for t in self.waiting if t.isdigit())

    def oldest_waiting(self) -> int | None:
        times = [ev.get("timestamp") for evs in self.waiting.values() for ev in evs]
        valid = [t for t in times if isinstance(t, int)]
        return min(valid) if valid else None
