"""In-memory Zendesk Support account: users, organizations, groups, ticket fields, tickets with
their audits and comments, job statuses and the incremental-export indexes.

Everything is keyed by integer ids in dicts; the exports read from sorted indexes
(`(generated_timestamp, id)` for tickets, `(timestamp, id)` for ticket events and metric events)
so a page costs O(log n + page), never a scan of the account. Times are whole epoch seconds, as
Zendesk reports them. The HTTP layer (`app.py`) renders these records as the vendor's JSON.

Simplifications, each documented in plugins/zendesk/README.md: bulk jobs apply their changes when
they are submitted (only the reported status moves over polls); comments are stored as sent;
no triggers, automations, SLA policies or business rules run.
"""

from __future__ import annotations

import bisect
import hashlib
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from plugins.zendesk.emulator.checks import (
    CheckedUpdate,
    as_tag_list,
    check_agent,
    check_custom_field,
    check_group,
    check_organization,
    check_update,
    check_user,
)
from plugins.zendesk.emulator.custom_statuses import CustomStatuses
from plugins.zendesk.emulator.records import (
    CONFLICT_DESCRIPTION,
    FIRST_EVENT_ID,
    FIRST_FIELD_ID,
    FIRST_GROUP_ID,
    FIRST_METRIC_EVENT_ID,
    FIRST_OPTION_ID,
    FIRST_ORG_ID,
    FIRST_USER_ID,
    PRIORITIES,
    STATUSES,
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
    not_found,
)


class SortedIndex:
    """Keys kept sorted for range reads; values in a dict beside them."""

    def __init__(self) -> None:
        self.keys: list[tuple[int, int]] = []

    def add(self, key: tuple[int, int]) -> None:
        if not self.keys or key > self.keys[-1]:
            self.keys.append(key)
        else:
            bisect.insort(self.keys, key)

    def remove(self, key: tuple[int, int]) -> None:
        i = bisect.bisect_left(self.keys, key)
        if i < len(self.keys) and self.keys[i] == key:
            del self.keys[i]

    def after(self, key: tuple[int, int]) -> int:
        """Position of the first key strictly greater than `key`."""
        return bisect.bisect_right(self.keys, key)

    def upto(self, key: tuple[int, int]) -> int:
        """Position after the last key <= `key`."""
        return bisect.bisect_right(self.keys, key)


def _text_to_html(body: str) -> str:
    paragraphs = [p for p in body.split("\n\n")]
    inner = "".join(f'<p dir="auto">{_escape(p).replace(chr(10), "<br>")}</p>' for p in paragraphs)
    return f'<div class="zd-comment" dir="auto">{inner}</div>'


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class Account:
    """The whole account. Thread-safe: every public method takes the account lock."""

    def __init__(self, now: int) -> None:
        self.lock = threading.RLock()
        self.users: dict[int, User] = {}
        self.users_by_email: dict[str, int] = {}
        self.organizations: dict[int, Organization] = {}
        self.groups: dict[int, Group] = {}
        self.fields: dict[int, TicketField] = {}
        self.tickets: dict[int, Ticket] = {}
        self.jobs: dict[str, Job] = {}
        self.ticket_index = SortedIndex()  # (generated_timestamp, ticket id)
        self.event_index = SortedIndex()  # (timestamp, audit id)
        self.audits_by_id: dict[int, Audit] = {}
        self.metric_index = SortedIndex()  # (time, metric event id)
        self.metric_events: dict[int, MetricEvent] = {}
        self._next_user = FIRST_USER_ID
        self._next_org = FIRST_ORG_ID
        self._next_group = FIRST_GROUP_ID
        self._next_field = FIRST_FIELD_ID
        self._next_option = FIRST_OPTION_ID
        self._next_event = FIRST_EVENT_ID
        self._next_metric = FIRST_METRIC_EVENT_ID
        self._next_ticket = 1
        self._job_counter = 0
        self._metrics_by_ticket: dict[int, list[MetricEvent]] = {}
        self.custom_statuses = CustomStatuses(now)
        # called under the lock after a ticket is created (not imported) or updated (webhooks)
        self.observers: list[Callable[[Ticket, Audit], None]] = []
        admin = self.create_user(
            {"name": "Tierdesk Admin", "email": "admin@example.com", "role": "admin"}, now
        )
        self.owner_id = admin.id

    # ---------------------------------------------------------------- ids
    def _event_id(self) -> int:
        self._next_event += 1
        return self._next_event

    # ---------------------------------------------------------------- users / orgs / groups / fields
    def create_user(self, raw: Mapping[str, Any], now: int) -> User:
        with self.lock:
            if not raw.get("name"):
                raise invalid("Name: is too short (minimum one character)")
            email = raw.get("email")
            if email and str(email).lower() in self.users_by_email:
                raise invalid(f"Email: {email} is already being used by another user")
            role = str(raw.get("role") or "end-user")
            if role not in ("end-user", "agent", "admin"):
                raise invalid(f"Role: {role} is not valid")
            org_id = raw.get("organization_id")
            if org_id is not None and int(org_id) not in self.organizations:
                raise invalid("Organization: is invalid")
            user = User(
                id=self._next_user,
                name=str(raw["name"]),
                email=str(email) if email else None,
                role=role,
                created_at=now,
                updated_at=now,
                organization_id=int(org_id) if org_id is not None else None,
                external_id=raw.get("external_id"),
                tags=as_tag_list(raw.get("tags")),
                default_group_id=raw.get("default_group_id"),
            )
            self._next_user += 1
            self.users[user.id] = user
            if user.email:
                self.users_by_email[user.email.lower()] = user.id
            return user

    def user_by_email(self, email: str) -> User | None:
        with self.lock:
            uid = self.users_by_email.get(email.lower())
            return self.users.get(uid) if uid is not None else None

    def create_organization(self, raw: Mapping[str, Any], now: int) -> Organization:
        with self.lock:
            name = raw.get("name")
            if not name:
                raise invalid("Name: cannot be blank")
            if any(o.name.lower() == str(name).lower() for o in self.organizations.values()):
                raise invalid("Name: has already been taken")
            org = Organization(
                id=self._next_org,
                name=str(name),
                created_at=now,
                updated_at=now,
                external_id=raw.get("external_id"),
                tags=as_tag_list(raw.get("tags")),
                domain_names=list(raw.get("domain_names") or []),
                details=raw.get("details"),
                notes=raw.get("notes"),
                group_id=raw.get("group_id"),
                organization_fields=dict(raw.get("organization_fields") or {}),
            )
            self._next_org += 1
            self.organizations[org.id] = org
            return org

    def create_group(self, raw: Mapping[str, Any], now: int) -> Group:
        with self.lock:
            if not raw.get("name"):
                raise invalid("Name: cannot be blank")
            group = Group(
                id=self._next_group,
                name=str(raw["name"]),
                created_at=now,
                updated_at=now,
                description=str(raw.get("description") or ""),
                is_public=bool(raw.get("is_public", True)),
            )
            self._next_group += 1
            self.groups[group.id] = group
            return group

    def create_field(self, raw: Mapping[str, Any], now: int) -> TicketField:
        with self.lock:
            kind = raw.get("type")
            title = raw.get("title")
            if not kind or not title:
                raise invalid("Type and title are required")
            options = []
            for i, opt in enumerate(raw.get("custom_field_options") or []):
                options.append(
                    {
                        "id": self._next_option,
                        "name": str(opt.get("name")),
                        "raw_name": str(opt.get("name")),
                        "value": str(opt.get("value")),
                        "default": bool(opt.get("default", False)) and i == 0,
                    }
                )
                self._next_option += 1
            if kind in ("tagger", "multiselect") and not options:
                raise invalid("Field options: must have at least one option")
            tfield = TicketField(
                id=self._next_field,
                type=str(kind),
                title=str(title),
                created_at=now,
                updated_at=now,
                description=str(raw.get("description") or ""),
                active=bool(raw.get("active", True)),
                required=bool(raw.get("required", False)),
                tag=raw.get("tag"),
                key=raw.get("key"),
                position=len(self.fields) + 1,
                options=options,
            )
            self._next_field += 1
            self.fields[tfield.id] = tfield
            return tfield

    # ---------------------------------------------------------------- tickets
    def _resolve_requester(self, raw: Mapping[str, Any], author_id: int, now: int) -> int:
        if raw.get("requester_id") is not None:
            return check_user(self, raw["requester_id"], "Requester")
        requester = raw.get("requester")
        if isinstance(requester, Mapping) and requester.get("email"):
            existing = self.user_by_email(str(requester["email"]))
            if existing is not None:
                return existing.id
            return self.create_user(
                {"name": requester.get("name") or requester["email"], "email": requester["email"]}, now
            ).id
        return author_id

    def create_ticket(
        self, raw: Mapping[str, Any], author_id: int, now: int, *, imported: bool = False
    ) -> tuple[Ticket, Audit]:
        """Create a ticket (Create Ticket or Ticket Import). Imports keep the given `created_at`,
        their comments' times and authors; their `generated_timestamp` is the import time."""
        with self.lock:
            requester_id = self._resolve_requester(raw, author_id, now)
            created = _epoch(raw.get("created_at"), now) if imported else now
            comments_raw: list[Mapping[str, Any]]
            if imported:
                comments_raw = list(raw.get("comments") or [])
                if not comments_raw and raw.get("description"):
                    comments_raw = [{"body": raw["description"], "author_id": requester_id}]
            else:
                comment = raw.get("comment")
                if not isinstance(comment, Mapping) or not (comment.get("body") or comment.get("html_body")):
                    if raw.get("description"):
                        comment = {"body": raw["description"]}
                    else:
                        raise invalid("Description: cannot be blank")
                comments_raw = [comment]
            status = str(raw.get("status") or ("open" if raw.get("assignee_id") else "new"))
            if raw.get("custom_status_id") is not None:
                custom = self.custom_statuses.get(raw["custom_status_id"])
                status, custom_status_id = custom.status_category, custom.id
            elif status in STATUSES:
                custom_status_id = self.custom_statuses.default_for(status)
            else:
                raise invalid(f"Status: {status} is not valid")
            priority = raw.get("priority")
            if priority is not None and priority not in PRIORITIES:
                raise invalid(f"Priority: {priority} is not valid")
            org_id = raw.get("organization_id")
            org_id = (
                self.users[requester_id].organization_id
                if org_id is None
                else check_organization(self, org_id)
            )
            first = comments_raw[0] if comments_raw else {"body": raw.get("subject") or ""}
            ticket = Ticket(
                id=self._next_ticket,
                created_at=created,
                updated_at=created,
                generated_timestamp=now,
                subject=str(raw.get("subject") or str(first.get("body") or "")[:80]),
                description=str(first.get("body") or first.get("html_body") or ""),
                status=status,
                custom_status_id=custom_status_id,
                requester_id=requester_id,
                submitter_id=author_id if not imported else requester_id,
                priority=priority,
                type=raw.get("type"),
                assignee_id=check_agent(self, raw["assignee_id"], "Assignee")
                if raw.get("assignee_id")
                else None,
                organization_id=int(org_id) if org_id is not None else None,
                group_id=check_group(self, raw.get("group_id")),
                external_id=raw.get("external_id"),
                is_public=bool(first.get("public", True)),
            )
            self._next_ticket += 1
            ticket.tags = []
            self._add_tags(ticket, as_tag_list(raw.get("tags")))
            for cf in raw.get("custom_fields") or []:
                found = check_custom_field(self, cf)
                if found is not None:
                    self._apply_custom_field(ticket, *found, [])
            self.tickets[ticket.id] = ticket
            create_events: list[dict[str, Any]] = []
            audit = self._new_audit(
                ticket, author_id if not imported else requester_id, created, create_events
            )
            for name in (
                "subject",
                "requester_id",
                "priority",
                "type",
                "status",
                "custom_status_id",
                "organization_id",
                "group_id",
                "assignee_id",
            ):
                value = getattr(ticket, name)
                create_events.append(
                    {
                        "id": self._event_id(),
                        "type": "Create",
                        "field_name": name,
                        "value": str(value) if isinstance(value, int) else value,
                    }
                )
            if ticket.tags:
                create_events.append(
                    {
                        "id": self._event_id(),
                        "type": "Create",
                        "field_name": "tags",
                        "value": list(ticket.tags),
                    }
                )
            for fid, value in ticket.custom_fields.items():
                create_events.append(
                    {"id": self._event_id(), "type": "Create", "field_name": str(fid), "value": value}
                )
            self._metric(ticket.id, "reply_time", "activate", created)
            self._metric(ticket.id, "resolution_time", "activate", created)
            self._metric(ticket.id, "requester_wait_time", "activate", created)
            for i, craw in enumerate(comments_raw):
                c_author = int(craw.get("author_id") or (requester_id if imported else author_id))
                c_at = _epoch(craw.get("created_at"), created) if imported else created
                if i == 0:
                    self._add_comment(ticket, audit, craw, c_author, c_at)
                    continue
                follow = self._new_audit(ticket, c_author, c_at, [])
                self._add_comment(ticket, follow, craw, c_author, c_at)
                self._index_audit(follow)
                ticket.updated_at = max(ticket.updated_at, c_at)
            if imported and raw.get("updated_at"):
                ticket.updated_at = max(ticket.updated_at, _epoch(raw["updated_at"], created))
            if status in ("solved", "closed"):
                self._metric(ticket.id, "resolution_time", "fulfill", ticket.updated_at)
            self._index_audit(audit)
            self.ticket_index.add((ticket.generated_timestamp, ticket.id))
            if not imported:
                self._changed(ticket, audit)
            return ticket, audit

    def _new_audit(self, ticket: Ticket, author_id: int, at: int, events: list[dict[str, Any]]) -> Audit:
        audit = Audit(
            id=self._event_id(),
            ticket_id=ticket.id,
            author_id=author_id,
            created_at=at,
            via_channel="api",
            events=events,
        )
        ticket.audits.append(audit)
        self.audits_by_id[audit.id] = audit
        return audit

    def _index_audit(self, audit: Audit) -> None:
        self.event_index.add((audit.created_at, audit.id))

    def _add_comment(
        self, ticket: Ticket, audit: Audit, raw: Mapping[str, Any], author_id: int, at: int
    ) -> None:
        if author_id not in self.users:
            raise invalid("Author: is invalid")
        body = raw.get("body")
        html = raw.get("html_body")
        if body is None and html is None:
            raise invalid("Comment: body cannot be blank")
        text = str(body) if body is not None else _strip_html(str(html))
        public = raw.get("public")
        public = ticket.is_public if public is None else bool(public)
        comment = Comment(
            id=self._event_id(),
            audit_id=audit.id,
            author_id=author_id,
            body=text,
            html_body=str(html) if html is not None else _text_to_html(text),
            public=public,
            created_at=at,
        )
        ticket.comments.append(comment)
        audit.comment = comment
        audit.events.insert(0, {"id": comment.id, "type": "Comment"})
        author = self.users[author_id]
        if public and author.role != "end-user":
            self._metric(ticket.id, "reply_time", "fulfill", at, once=True)
            self._metric(ticket.id, "periodic_update_time", "fulfill", at)

    def _metric(self, ticket_id: int, metric: str, kind: str, at: int, *, once: bool = False) -> None:
        if once and any(
            e.ticket_id == ticket_id and e.metric == metric and e.type == kind
            for e in self._ticket_metrics(ticket_id)
        ):
            return
        self._next_metric += 1
        event = MetricEvent(
            id=self._next_metric, ticket_id=ticket_id, metric=metric, instance_id=1, type=kind, time=at
        )
        self.metric_events[event.id] = event
        self.metric_index.add((at, event.id))
        self._metrics_by_ticket.setdefault(ticket_id, []).append(event)

    def _ticket_metrics(self, ticket_id: int) -> list[MetricEvent]:
        return self._metrics_by_ticket.get(ticket_id, [])

    def _add_tags(self, ticket: Ticket, tags: Iterable[str]) -> list[str]:
        added = []
        for raw in tags:
            tag = raw.lower()
            if tag and tag not in ticket.tags:
                ticket.tags.append(tag)
                added.append(tag)
        return added

    def _remove_tags(self, ticket: Ticket, tags: Iterable[str]) -> list[str]:
        removed = []
        for raw in tags:
            tag = raw.lower()
            if tag in ticket.tags:
                ticket.tags.remove(tag)
                removed.append(tag)
        return removed

    def _apply_custom_field(
        self, ticket: Ticket, tfield: TicketField, value: Any, events: list[dict[str, Any]]
    ) -> None:
        """Store a checked custom field value (see `check_custom_field`)."""
        fid = tfield.id
        previous = ticket.custom_fields.get(fid)
        if previous == value:
            return
        # dropdown values are tags too: swap the option tags like Zendesk does
        if tfield.type in ("tagger", "multiselect"):
            old = previous if isinstance(previous, list) else ([previous] if previous else [])
            new = value if isinstance(value, list) else ([value] if value else [])
            self._remove_tags(ticket, [v for v in old if v not in new])
            self._add_tags(ticket, new)
        ticket.custom_fields[fid] = value
        events.append(
            {
                "id": self._event_id(),
                "type": "Change",
                "field_name": str(fid),
                "value": value,
                "previous_value": previous,
            }
        )

    def update_ticket(
        self, ticket_id: int, raw: Mapping[str, Any], author_id: int, now: int
    ) -> tuple[Ticket, Audit | None]:
        """Apply one ticket update (Update Ticket or one entry of Update Many). Raises ApiError; a
        rejected update changes nothing, and its 422 lists every invalid part (see `checks`)."""
        with self.lock:
            ticket = self.tickets.get(ticket_id)
            if ticket is None or ticket.deleted:
                raise not_found()
            if ticket.status == "closed":
                raise invalid("Status: closed prevents ticket update")
            if "updated_stamp" in raw and "safe_update" in raw:
                stamp = _epoch(raw.get("updated_stamp"), None)
                if stamp is None or ticket.updated_at > stamp:
                    raise ApiError(409, {"error": "UpdateConflict", "description": CONFLICT_DESCRIPTION})
            return self._apply_update(ticket, check_update(self, raw, author_id), raw, author_id, now)

    def _apply_update(
        self, ticket: Ticket, checked: CheckedUpdate, raw: Mapping[str, Any], author_id: int, now: int
    ) -> tuple[Ticket, Audit | None]:
        events: list[dict[str, Any]] = []

        def change(name: str, new: Any) -> None:
            old = getattr(ticket, name)
            if old != new:
                setattr(ticket, name, new)
                events.append(
                    {
                        "id": self._event_id(),
                        "type": "Change",
                        "field_name": name,
                        "value": str(new) if isinstance(new, int) and not isinstance(new, bool) else new,
                        "previous_value": str(old)
                        if isinstance(old, int) and not isinstance(old, bool)
                        else old,
                    }
                )

        for name, value in checked.scalars:
            change(name, value)
        if checked.custom_status_id is not None:
            change("status", self.custom_statuses.by_id[checked.custom_status_id].status_category)
            change("custom_status_id", checked.custom_status_id)
        elif ticket.custom_status_id is None or (
            self.custom_statuses.by_id[ticket.custom_status_id].status_category
            != ("solved" if ticket.status == "closed" else ticket.status)
        ):
            change("custom_status_id", self.custom_statuses.default_for(ticket.status))
        before_tags = list(ticket.tags)
        if checked.replace_tags is not None:
            ticket.tags = []
            self._add_tags(ticket, checked.replace_tags)
        self._add_tags(ticket, checked.add_tags)
        self._remove_tags(ticket, checked.remove_tags)
        for tfield, value in checked.custom_fields:
            self._apply_custom_field(ticket, tfield, value, events)
        if ticket.tags != before_tags and set(ticket.tags) != set(before_tags):
            events.append(
                {
                    "id": self._event_id(),
                    "type": "Change",
                    "field_name": "tags",
                    "value": list(ticket.tags),
                    "previous_value": before_tags,
                }
            )
        for uid, add in checked.followers:
            if add == (uid in ticket.follower_ids):
                continue
            if add:
                ticket.follower_ids.append(uid)
            else:
                ticket.follower_ids.remove(uid)
            events.append(
                {
                    "id": self._event_id(),
                    "type": "FollowerChange",
                    "previous_followers": [],
                    "current_followers": list(ticket.follower_ids),
                }
            )
        if not events and checked.comment is None:
            return ticket, None  # nothing changed: no audit, updated_at stays
        audit = self._new_audit(ticket, author_id, now, events)
        if checked.comment is not None:
            self._add_comment(ticket, audit, checked.comment, checked.comment_author, now)
        for ev in events:
            if ev.get("field_name") == "status":
                if ev["value"] == "solved":
                    self._metric(ticket.id, "resolution_time", "fulfill", now)
                elif ev["previous_value"] in ("solved",):
                    self._metric(ticket.id, "resolution_time", "activate", now)
                if ev["value"] in ("pending", "hold"):
                    self._metric(ticket.id, "pausable_update_time", "pause", now)
        metadata = raw.get("metadata")
        if isinstance(metadata, Mapping):
            audit.custom_metadata = dict(metadata)
        if ticket.status == "new" and ticket.assignee_id is not None and "status" not in raw:
            change("status", "open")  # assigning a new ticket opens it
            change("custom_status_id", self.custom_statuses.default_for("open"))
        self._touch(ticket, now, event=True)
        self._index_audit(audit)
        self._changed(ticket, audit)
        return ticket, audit

    def _changed(self, ticket: Ticket, audit: Audit) -> None:
        for observe in self.observers:
            observe(ticket, audit)

    def _touch(self, ticket: Ticket, now: int, *, event: bool) -> None:
        """Record a change: `updated_at` moves only for event-generating changes, the export's
        `generated_timestamp` for every change (system updates included)."""
        self.ticket_index.remove((ticket.generated_timestamp, ticket.id))
        if event:
            ticket.updated_at = now
        ticket.generated_timestamp = max(now, ticket.generated_timestamp)
        self.ticket_index.add((ticket.generated_timestamp, ticket.id))

    def system_touch(self, ticket_id: int, now: int) -> None:
        """A system update (no ticket event): only `generated_timestamp` moves."""
        with self.lock:
            ticket = self.tickets.get(ticket_id)
            if ticket is None:
                raise not_found()
            self._touch(ticket, now, event=False)

    def delete_ticket(self, ticket_id: int, now: int) -> None:
        with self.lock:
            ticket = self.tickets.get(ticket_id)
            if ticket is None or ticket.deleted:
                raise not_found()
            ticket.deleted = True
            self._touch(ticket, now, event=True)

    def set_tags(self, ticket_id: int, tags: Any, mode: str, author_id: int, now: int) -> Ticket:
        """Tags endpoints: mode add (PUT), set (POST), remove (DELETE)."""
        key = {"add": "additional_tags", "set": "tags", "remove": "remove_tags"}[mode]
        ticket, _ = self.update_ticket(ticket_id, {key: as_tag_list(tags)}, author_id, now)
        return ticket

    # ---------------------------------------------------------------- jobs
    def new_job(self, job_type: str, results: list[dict[str, Any]], now: int, verb: str) -> Job:
        with self.lock:
            self._job_counter += 1
            digest = hashlib.md5(f"{job_type}:{self._job_counter}:{now}".encode(), usedforsecurity=False)
            job = Job(
                id=f"V3-{digest.hexdigest()}",
                job_type=job_type,
                total=len(results),
                results=results,
                created_at=now,
                action_verb=verb,
            )
            self.jobs[job.id] = job
            return job

    def poll_job(self, job_id: str) -> Job:
        with self.lock:
            job = self.jobs.get(job_id)
            if job is None:
                raise not_found()
            job.polls += 1
            return job

    # ---------------------------------------------------------------- exports
    def tickets_after(self, key: tuple[int, int], cutoff: int, limit: int) -> tuple[list[Ticket], bool]:
        """Tickets with (generated_timestamp, id) > key and generated_timestamp <= cutoff, in order;
        the flag says whether more remain."""
        with self.lock:
            start = self.ticket_index.after(key)
            end = self.ticket_index.upto((cutoff, 2**62))
            keys = self.ticket_index.keys[start : min(end, start + limit)]
            return [self.tickets[tid] for _, tid in keys], start + limit < end

    def tickets_time_page(
        self, start_time: int, cutoff: int, per_page: int
    ) -> tuple[list[Ticket], int, bool]:
        """Time-based ticket export page, modelled on the recordings: fill to `per_page`, then finish
        the current second unless the hard cap of 1000 cuts it (then the next page starts at the
        same second and repeats its tickets). Returns (tickets, end_time, end_of_stream)."""
        with self.lock:
            keys = self.ticket_index.keys
            start = bisect.bisect_left(keys, (start_time, -1))
            end = self.ticket_index.upto((cutoff, 2**62))
            return _time_page(keys, start, end, per_page, start_time, lambda k: self.tickets[k[1]])

    def events_time_page(self, start_time: int, cutoff: int, per_page: int) -> tuple[list[Audit], int, bool]:
        with self.lock:
            keys = self.event_index.keys
            start = bisect.bisect_left(keys, (start_time, -1))
            end = self.event_index.upto((cutoff, 2**62))
            return _time_page(keys, start, end, per_page, start_time, lambda k: self.audits_by_id[k[1]])

    def metric_events_page(
        self, start_time: int, cutoff: int, per_page: int
    ) -> tuple[list[MetricEvent], int, bool]:
        with self.lock:
            keys = self.metric_index.keys
            start = bisect.bisect_left(keys, (start_time, -1))
            end = self.metric_index.upto((cutoff, 2**62))
            return _time_page(keys, start, end, per_page, start_time, lambda k: self.metric_events[k[1]])


HARD_CAP = 1000


def _time_page(
    keys: list[tuple[int, int]], start: int, end: int, per_page: int, start_time: int, load: Any
) -> tuple[list[Any], int, bool]:
    items: list[Any] = []
    i = start
    last_ts: int | None = None
    cut = False
    while i < end:
        ts = keys[i][0]
        if len(items) >= per_page and ts != last_ts:
            break
        if len(items) >= HARD_CAP and ts != keys[start][0]:
            cut = True  # the next page starts at this same second and repeats it
            break
        items.append(load(keys[i]))
        last_ts = ts
        i += 1
    end_of_stream = i >= end
    if last_ts is None:
        return [], start_time, True
    if end_of_stream or cut:
        return items, last_ts, end_of_stream
    return items, last_ts + 1, False


def _strip_html(html: str) -> str:
    out = []
    inside = False
    for ch in html:
        if ch == "<":
            inside = True
        elif ch == ">":
            inside = False
        elif not inside:
            out.append(ch)
    return "".join(out)


def _epoch(value: Any, default: int | None) -> Any:
    """Parse an ISO 8601 instant or epoch number to whole epoch seconds (`default` when absent)."""
    from datetime import UTC, datetime

    if value is None or value == "":
        return default
    if isinstance(value, int | float):
        return int(value)
    text = str(value).strip()
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise invalid(f"{text!r} is not a valid time") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return int(parsed.timestamp())
