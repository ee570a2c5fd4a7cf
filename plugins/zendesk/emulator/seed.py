"""Seed data for the Zendesk emulator, written through the public API like a real admin script.

- `seed_demo`: a small, realistic account: organizations per tier (tagged `enterprise`, `priority`,
  `standard`, plus one that matches nothing), agents, groups, the custom fields tierdesk writes,
  and a few hundred tickets with varied histories over the last business days. Histories are
  replayed in time order by moving the emulator clock (the `/_emulator/clock` control plane or the
  in-process `SimClock`), so audits, ticket events and metric events carry realistic times.
- `seed_volume`: many tickets fast, through the Ticket Import API (100 per call), for tests and
  benchmarks.

Both return a `SeedInfo` with the ids a connection needs (custom field ids by logical name, ...).
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from connector.emulation.base import EmulatorApp, SimClock

INTEGRATION_EMAIL = "tierdesk@example.com"

# name, tags (the example customer rules match `enterprise`, `priority`, `standard`), external id,
# e-mail domain, region (an organization field; the `priority-us-desk` rule reads `americas`).
ORGS: tuple[tuple[str, tuple[str, ...], str | None, str, str], ...] = (
    ("Acme Corp", ("enterprise",), "crm-1001", "acme.example", "americas"),
    ("Globex", ("enterprise", "emea"), "crm-1002", "globex.example", "emea"),
    ("Initech", ("priority",), "crm-2001", "initech.example", "americas"),
    ("Umbrella", ("priority", "emea"), "crm-2002", "umbrella.example", "emea"),
    ("Hooli", ("standard",), "crm-3001", "hooli.example", "americas"),
    ("Stark Industries", ("standard",), "crm-3002", "stark.example", "americas"),
    ("Wayne Enterprises", (), None, "wayne.example", "americas"),  # matches no tier rule
)
AGENTS = (
    ("Alice Agent", "alice@support.example"),
    ("Bob Agent", "bob@support.example"),
    ("Carol Lead", "carol@support.example"),
    ("Dan Agent", "dan@support.example"),
)
GROUPS = ("Tier 1", "Tier 2", "Escalations")
SUBJECTS = (
    "Cannot log in",
    "Export fails with error 500",
    "API returns 429",
    "Billing question",
    "Dashboard is slow",
    "SSO misconfigured",
    "Webhook not delivered",
    "Data missing after import",
    "Outage in EU region",
    "Feature request: dark mode",
    "Password reset mail not arriving",
    "Mobile app crashes on start",
)


@dataclass
class SeedInfo:
    """What a connection needs to know about the seeded account."""

    fields: dict[str, str] = field(default_factory=dict)  # logical name -> ticket field id
    groups: dict[str, int] = field(default_factory=dict)
    organizations: dict[str, int] = field(default_factory=dict)
    agents: list[int] = field(default_factory=list)
    customers: list[int] = field(default_factory=list)
    integration_user: int | None = None
    ticket_ids: list[int] = field(default_factory=list)


Call = Callable[[str, str, Any], Any]


def http_caller(target: str | EmulatorApp, email: str = INTEGRATION_EMAIL, token: str = "emulator") -> Call:
    """A JSON caller over real HTTP (`target` is a base URL) or straight into the WSGI app."""
    if isinstance(target, str):
        import requests

        session = requests.Session()
        session.auth = (f"{email}/token", token)
        base = target.rstrip("/")

        def call_http(method: str, path: str, body: Any = None) -> Any:
            response = session.request(method, base + path, json=body, timeout=30)
            if response.status_code >= 400:
                raise RuntimeError(f"{method} {path} -> {response.status_code} {response.text[:300]}")
            return response.json() if response.content else None

        return call_http

    from werkzeug.test import Client

    client = Client(target)
    import base64

    auth = "Basic " + base64.b64encode(f"{email}/token:{token}".encode()).decode()

    def call_wsgi(method: str, path: str, body: Any = None) -> Any:
        response = client.open(
            path,
            method=method,
            data=json.dumps(body) if body is not None else None,
            headers={"Authorization": auth, "Content-Type": "application/json"},
        )
        if response.status_code >= 400:
            raise RuntimeError(
                f"{method} {path} -> {response.status_code} {response.get_data(as_text=True)[:300]}"
            )
        data = response.get_data()
        return json.loads(data) if data else None

    return call_wsgi


def _clock_mover(call: Call, clock: SimClock | None) -> Callable[[datetime], None]:
    if clock is not None:
        return clock.set
    return lambda when: call("POST", "/_emulator/clock", {"now": when.isoformat()})


def _now(call: Call, clock: SimClock | None) -> datetime:
    if clock is not None:
        return clock.now()
    return datetime.fromisoformat(call("GET", "/_emulator/health", None)["now"])


def seed_account(call: Call) -> SeedInfo:
    """Fields, groups, organizations, agents, customers and the integration user."""
    info = SeedInfo()
    for logical, title, kind, options in (
        ("tier", "Support tier", "text", None),
        ("sla_due", "Next SLA due (ISO 8601)", "text", None),
        ("sla_state", "SLA state", "text", None),
        (
            "uptime_impact",
            "Uptime impact",
            "tagger",
            [
                {"name": "No impact", "value": "no_impact"},
                {"name": "Degraded", "value": "degraded"},
                {"name": "Outage", "value": "full_outage"},
            ],
        ),
        (
            "data_sensitivity",
            "Data sensitivity",
            "tagger",
            [
                {"name": "None", "value": "no_sensitive_data"},
                {"name": "Personal data", "value": "personal_data"},
                {"name": "Credentials", "value": "credentials"},
            ],
        ),
        (
            "regulatory_exposure",
            "Regulatory exposure",
            "tagger",
            [
                {"name": "No", "value": "regulatory_no"},
                {"name": "Likely", "value": "regulatory_likely"},
                {"name": "Yes", "value": "regulatory_yes"},
            ],
        ),
        ("region", "Region", "text", None),
    ):
        body: dict[str, Any] = {"type": kind, "title": title, "key": logical}
        if options:
            body["custom_field_options"] = options
        created = call("POST", "/api/v2/ticket_fields.json", {"ticket_field": body})["ticket_field"]
        info.fields[logical] = str(created["id"])
    for name in GROUPS:
        info.groups[name] = call("POST", "/api/v2/groups.json", {"group": {"name": name}})["group"]["id"]
    me = call("GET", "/api/v2/users/me.json", None)["user"]
    if me.get("email") != INTEGRATION_EMAIL:
        me = call(
            "POST",
            "/api/v2/users.json",
            {"user": {"name": "Tierdesk Integration", "email": INTEGRATION_EMAIL, "role": "admin"}},
        )["user"]
    info.integration_user = me["id"]
    for name, email in AGENTS:
        user = call("POST", "/api/v2/users.json", {"user": {"name": name, "email": email, "role": "agent"}})
        info.agents.append(user["user"]["id"])
    for name, tags, external_id, domain, region in ORGS:
        org = call(
            "POST",
            "/api/v2/organizations.json",
            {
                "organization": {
                    "name": name,
                    "tags": list(tags),
                    "external_id": external_id,
                    "domain_names": [domain],
                    "organization_fields": {"region": region},
                }
            },
        )["organization"]
        info.organizations[name] = org["id"]
    return info


def _customers(call: Call, info: SeedInfo, per_org: int) -> list[tuple[int, int]]:
    """Create `per_org` end users per organization (bulk); returns (user id, org id) pairs."""
    users: list[dict[str, Any]] = []
    owners: list[int] = []
    for name, _tags, _ext, domain, _region in ORGS:
        org_id = info.organizations[name]
        for i in range(per_org):
            users.append(
                {
                    "name": f"{name} user {i}",
                    "email": f"user{i}@{domain}",
                    "role": "end-user",
                    "organization_id": org_id,
                }
            )
            owners.append(org_id)
    created: list[int] = []
    for start in range(0, len(users), 100):
        job = call("POST", "/api/v2/users/create_many.json", {"users": users[start : start + 100]})[
            "job_status"
        ]
        created.extend(r["id"] for r in _finish_job(call, job)["results"])
    info.customers.extend(created)
    return list(zip(created, owners, strict=True))


def _finish_job(call: Call, job: dict[str, Any]) -> dict[str, Any]:
    for _ in range(10):
        if job["status"] in ("completed", "failed", "killed"):
            return job
        job = call("GET", f"/api/v2/job_statuses/{job['id']}.json", None)["job_status"]
    raise RuntimeError(f"job {job['id']} did not finish")


def _business_instants(end: datetime, days: int, rng: random.Random, count: int) -> list[datetime]:
    """`count` random instants inside Mon-Fri 08:00-18:00 UTC over the `days` business days before
    `end` (and at least two hours before it)."""
    slots: list[datetime] = []
    day = end.replace(hour=0, minute=0, second=0, microsecond=0)
    while len(slots) < days:
        if day.weekday() < 5:
            slots.append(day)
        day -= timedelta(days=1)
    latest = end - timedelta(hours=2)
    out: list[datetime] = []
    while len(out) < count:
        base = rng.choice(slots)
        when = base + timedelta(hours=8, seconds=rng.randrange(10 * 3600))
        if when < latest:
            out.append(when)
    return sorted(out)


@contextmanager
def _time_travel(call: Call, clock: SimClock | None) -> Iterator[tuple[datetime, Callable[[datetime], None]]]:
    start = _now(call, clock)
    was_real = clock is not None and clock.mode == "real"
    move = _clock_mover(call, clock)
    try:
        yield start, move
    finally:
        move(start)
        if was_real and clock is not None:
            clock.mode = "real"


def seed_demo(
    target: str | EmulatorApp,
    clock: SimClock | None = None,
    *,
    tickets: int = 300,
    seed: int = 7,
    email: str = INTEGRATION_EMAIL,
    token: str = "emulator",
) -> SeedInfo:
    """Seed the demo account (see module docstring). `clock` is the emulator's clock when it runs
    in-process; without it the clock is moved through `/_emulator/clock`. The clock is put back to
    where it was (and to real time, if it was real) afterwards."""
    call = http_caller(target, email, token)
    rng = random.Random(seed)
    info = seed_account(call)
    people = _customers(call, info, per_org=4)
    with _time_travel(call, clock) as (now, move):
        created_times = _business_instants(now, 4, rng, tickets)
        ops: list[tuple[datetime, int, Callable[[], None]]] = []
        ticket_ids: dict[int, int] = {}
        for n, created in enumerate(created_times):
            _plan_ticket(call, info, people, rng, n, created, now, ticket_ids, ops)
        ops.sort(key=lambda op: (op[0], op[1]))
        for when, _order, action in ops:
            move(when)
            action()
        info.ticket_ids = [ticket_ids[n] for n in sorted(ticket_ids)]
    return info


def _plan_ticket(
    call: Call,
    info: SeedInfo,
    people: list[tuple[int, int]],
    rng: random.Random,
    n: int,
    created: datetime,
    now: datetime,
    ticket_ids: dict[int, int],
    ops: list[tuple[datetime, int, Callable[[], None]]],
) -> None:
    requester, org_id = rng.choice(people)
    agent = rng.choice(info.agents)
    group = rng.choice(list(info.groups.values()))
    kind = rng.choices(
        ["new", "replied", "pending", "solved", "reopened", "noted"], weights=[20, 25, 15, 15, 10, 15]
    )[0]
    impact = rng.choices(["no_impact", "degraded", "full_outage", None], weights=[50, 25, 8, 17])[0]
    sensitivity = rng.choices(["no_sensitive_data", "personal_data", None], weights=[30, 5, 65])[0]
    exposure = rng.choices(["regulatory_no", "regulatory_likely", None], weights=[20, 4, 76])[0]
    subject = rng.choice(SUBJECTS)
    order = n * 10
    span = max((now - created).total_seconds() - 600, 600)

    def at(fraction: float) -> datetime:
        return created + timedelta(seconds=int(span * fraction))

    def create() -> None:
        body: dict[str, Any] = {
            "subject": f"{subject} (#{n})",
            "requester_id": requester,
            "organization_id": org_id,
            "comment": {"body": f"Hello, {subject.lower()}. Please help.", "author_id": requester},
            "tags": rng.sample(["web", "api", "billing", "mobile", "vip"], k=rng.randint(0, 2)),
        }
        if kind != "new":
            body["group_id"] = group
        chosen = {"uptime_impact": impact, "data_sensitivity": sensitivity, "regulatory_exposure": exposure}
        custom = [{"id": int(info.fields[name]), "value": value} for name, value in chosen.items() if value]
        if custom:
            body["custom_fields"] = custom
        ticket_ids[n] = call("POST", "/api/v2/tickets.json", {"ticket": body})["ticket"]["id"]

    def update(change: dict[str, Any]) -> Callable[[], None]:
        return lambda: call("PUT", f"/api/v2/tickets/{ticket_ids[n]}.json", {"ticket": change})

    def reply(
        text: str, public: bool = True, status: str | None = None, author: int | None = None
    ) -> dict[str, Any]:
        change: dict[str, Any] = {"comment": {"body": text, "public": public, "author_id": author or agent}}
        if status:
            change["status"] = status
        return change

    ops.append((created, order, create))
    if kind == "replied":
        ops.append(
            (
                at(0.2),
                order + 1,
                update({**reply("Thanks, we are looking into it.", status="open"), "assignee_id": agent}),
            )
        )
        if rng.random() < 0.5:
            ops.append((at(0.5), order + 2, update(reply("Any news?", author=requester))))
    elif kind == "pending":
        ops.append(
            (
                at(0.25),
                order + 1,
                update({**reply("Could you send the logs?", status="pending"), "assignee_id": agent}),
            )
        )
    elif kind == "solved":
        ops.append(
            (at(0.2), order + 1, update({**reply("Here is the fix.", status="open"), "assignee_id": agent}))
        )
        ops.append((at(0.4), order + 2, update(reply("Closing as solved.", status="solved"))))
    elif kind == "reopened":
        ops.append(
            (
                at(0.15),
                order + 1,
                update({**reply("Should be fixed now.", status="solved"), "assignee_id": agent}),
            )
        )
        ops.append(
            (at(0.45), order + 2, update({**reply("Still broken!", author=requester), "status": "open"}))
        )
    elif kind == "noted":
        ops.append(
            (
                at(0.1),
                order + 1,
                update(
                    {
                        **reply("Checked the logs, escalating internally.", public=False),
                        "assignee_id": agent,
                        "status": "open",
                    }
                ),
            )
        )
        ops.append((at(0.3), order + 2, update(reply("Please hurry, this blocks us.", author=requester))))
        if rng.random() < 0.5:
            ops.append((at(0.6), order + 3, update({"priority": rng.choice(["high", "urgent"])})))


def seed_volume(
    target: str | EmulatorApp,
    count: int,
    *,
    clock: SimClock | None = None,
    seed: int = 11,
    days: int = 3,
    info: SeedInfo | None = None,
    email: str = INTEGRATION_EMAIL,
    token: str = "emulator",
) -> SeedInfo:
    """Import `count` tickets with 1-4 comments each (customer, agent replies, internal notes),
    created over the last `days` days, 100 per Ticket Import call. With `clock`, the clock advances
    one second per call so the export spreads them over distinct seconds."""
    call = http_caller(target, email, token)
    rng = random.Random(seed)
    info = info or seed_account(call)
    people = _customers(call, info, per_org=max(2, min(40, count // 100)))
    now = _now(call, clock)
    statuses = ["new", "open", "open", "pending", "hold", "solved"]
    batch: list[dict[str, Any]] = []

    def flush() -> None:
        job = call("POST", "/api/v2/imports/tickets/create_many.json", {"tickets": batch})["job_status"]
        info.ticket_ids.extend(r["id"] for r in _finish_job(call, job)["results"])
        batch.clear()
        if clock is not None:
            clock.advance(1)

    for n in range(count):
        requester, org_id = people[n % len(people)]
        agent = info.agents[n % len(info.agents)]
        created = now - timedelta(seconds=rng.randrange(days * 86400 - 7200) + 3600)
        comments = [
            {
                "author_id": requester,
                "body": f"Problem report {n}",
                "public": True,
                "created_at": created.isoformat(),
            }
        ]
        at = created
        for k in range(rng.randint(0, 3)):
            at += timedelta(minutes=rng.randint(5, 240))
            if at >= now - timedelta(minutes=30):
                break
            public = k != 1
            author = agent if k != 2 else requester
            comments.append(
                {
                    "author_id": author,
                    "body": f"Update {k} on {n}",
                    "public": public,
                    "created_at": at.isoformat(),
                }
            )
        status = "new" if len(comments) == 1 else rng.choice(statuses[1:])
        batch.append(
            {
                "subject": f"Imported ticket {n}",
                "requester_id": requester,
                "organization_id": org_id,
                "assignee_id": agent if status != "new" else None,
                "status": status,
                "priority": rng.choice(["low", "normal", "normal", "high", None]),
                "tags": ["imported"] + (["vip"] if n % 17 == 0 else []),
                "created_at": created.isoformat(),
                "comments": comments,
            }
        )
        if len(batch) == 100:
            flush()
    if batch:
        flush()
    return info
