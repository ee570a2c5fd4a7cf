"""A generated ticket history with a known answer, for capacity forecasts and their backtests.

`generate_history` draws ticket arrivals hour by hour from a Poisson process whose rate is known:
a weekly volume per tier and severity (`WEEKLY_BASE`) growing linearly by `trend` per week, spread
over the week by an office-hours profile (`hour_weight`: weekdays 08:00-18:00 Berlin time busiest,
Monday the peak, evenings, nights and weekends quiet; enterprise customers also write at night).
`expected_weekly` is the rate's weekly total, what a perfect forecast would say.
`seed_history` imports such a history into the emulator through the Ticket Import API, each ticket
with the organization, priority, subject and tags the shipped mappings triage into its tier and
severity.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from connector.emulation.base import EmulatorApp, SimClock
from plugins.zendesk.emulator.seed import (
    INTEGRATION_EMAIL,
    SeedInfo,
    _customers,
    _finish_job,
    http_caller,
    seed_account,
)

PROFILE_ZONE = ZoneInfo("Europe/Berlin")
WEEKLY_BASE: dict[tuple[str, str], float] = {
    ("enterprise", "critical"): 4.0,
    ("enterprise", "high"): 12.0,
    ("enterprise", "normal"): 40.0,
    ("enterprise", "low"): 14.0,
    ("priority", "critical"): 2.0,
    ("priority", "high"): 8.0,
    ("priority", "normal"): 30.0,
    ("priority", "low"): 10.0,
    ("standard", "critical"): 1.0,
    ("standard", "high"): 5.0,
    ("standard", "normal"): 45.0,
    ("standard", "low"): 20.0,
}
# an organization the shipped customer rules put in the tier, and what triages each severity
TIER_ORGANIZATION = {"enterprise": "Acme Corp", "priority": "Umbrella", "standard": "Hooli"}
SEVERITY_TICKET: dict[str, dict[str, Any]] = {
    "critical": {"subject": "Outage in EU region", "priority": "urgent", "tags": []},
    "high": {"subject": "Export fails with error 500", "priority": "urgent", "tags": []},
    "normal": {"subject": "Dashboard is slow", "priority": "normal", "tags": []},
    "low": {"subject": "How do I export a report?", "priority": "low", "tags": ["question"]},
}
_DAY_WEIGHT = (1.3, 1.15, 1.1, 1.05, 0.9, 0.25, 0.2)  # Monday .. Sunday


@dataclass(frozen=True, slots=True)
class HistoryTicket:
    tier: str
    severity: str
    created_at: datetime


def hour_weight(tier: str, hour_of_week: int) -> float:
    """The relative arrival rate in hour of the week `hour_of_week` (Berlin time, 0 = Monday 00:00)."""
    day, hour = divmod(hour_of_week, 24)
    office = 1.0 if 8 <= hour < 18 else 0.35 if 6 <= hour < 8 or 18 <= hour < 21 else 0.05
    if tier == "enterprise" and office < 1.0:
        office = max(office, 0.2)
    return _DAY_WEIGHT[day] * office


def hour_shares(tier: str) -> tuple[float, ...]:
    """`hour_weight` normalised to shares of a week (summing to 1)."""
    weights = [hour_weight(tier, h) for h in range(168)]
    total = sum(weights)
    return tuple(w / total for w in weights)


def expected_weekly(
    tier: str, severity: str, week: int, trend: float, scale: float = 1.0, yearly: float = 0.0
) -> float:
    """The mean number of tickets of `tier` and `severity` in week `week` (0 = the first);
    `yearly` is the amplitude of a 52-week cycle (0.3: 30 % above the level at its peak)."""
    season = 1.0 + yearly * math.sin(2 * math.pi * week / 52)
    return WEEKLY_BASE[(tier, severity)] * scale * (1.0 + trend * week) * season


def _poisson(rng: random.Random, mean: float) -> int:
    # Knuth's method: means here are a few tickets an hour at most
    limit, count, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count


def generate_history(
    start: datetime,
    weeks: int,
    *,
    seed: int = 7,
    trend: float = 0.01,
    scale: float = 1.0,
    yearly: float = 0.0,
) -> list[HistoryTicket]:
    """Arrivals over `weeks` weeks from the Monday 00:00 (Berlin) of the week `start` falls in,
    sorted by creation time; `scale` multiplies every volume (see `expected_weekly`)."""
    local = start.astimezone(PROFILE_ZONE)
    monday = datetime.combine(
        local.date() - timedelta(days=local.weekday()), datetime.min.time(), PROFILE_ZONE
    )
    rng = random.Random(seed)
    shares = {tier: hour_shares(tier) for tier in TIER_ORGANIZATION}
    tickets: list[HistoryTicket] = []
    for week in range(weeks):
        week_start = monday + timedelta(days=7 * week)
        for (tier, severity), _base in WEEKLY_BASE.items():
            mean = expected_weekly(tier, severity, week, trend, scale, yearly)
            for hour, share in enumerate(shares[tier]):
                day, clock_hour = divmod(hour, 24)
                slot = datetime.combine(
                    (week_start + timedelta(days=day)).date(), datetime.min.time(), PROFILE_ZONE
                )
                slot += timedelta(hours=clock_hour)
                for _ in range(_poisson(rng, mean * share)):
                    at = slot + timedelta(seconds=rng.randrange(3600))
                    tickets.append(HistoryTicket(tier, severity, at))
    tickets.sort(key=lambda t: t.created_at)
    return tickets


def seed_history(
    target: str | EmulatorApp,
    weeks: int,
    *,
    clock: SimClock | None = None,
    seed: int = 7,
    trend: float = 0.01,
    scale: float = 1.0,
    info: SeedInfo | None = None,
    email: str = INTEGRATION_EMAIL,
    token: str = "emulator",
) -> tuple[SeedInfo, list[HistoryTicket]]:
    """Import `generate_history` for the `weeks` weeks before the emulator's clock (100 tickets
    per Ticket Import call), each answered by an agent within the hour and solved. Returns the seed
    info and the generated arrivals (the known answer)."""
    call = http_caller(target, email, token)
    info = info or seed_account(call)
    people = _customers(call, info, per_org=2)
    requester_of = {org: user for user, org in people}
    now = (
        clock.now()
        if clock is not None
        else datetime.fromisoformat(call("GET", "/_emulator/health", None)["now"])
    )
    history = [
        t
        for t in generate_history(now - timedelta(weeks=weeks), weeks, seed=seed, trend=trend, scale=scale)
        if t.created_at < now
    ]
    agent = info.agents[0]
    batch: list[dict[str, Any]] = []

    def flush() -> None:
        job = call("POST", "/api/v2/imports/tickets/create_many.json", {"tickets": batch})["job_status"]
        info.ticket_ids.extend(r["id"] for r in _finish_job(call, job)["results"])
        batch.clear()
        if clock is not None:
            clock.advance(1)  # the export then spreads the imports over distinct seconds

    for n, ticket in enumerate(history):
        org_id = info.organizations[TIER_ORGANIZATION[ticket.tier]]
        shape = SEVERITY_TICKET[ticket.severity]
        created = ticket.created_at.astimezone(ZoneInfo("UTC"))
        replied = min(created + timedelta(minutes=20 + n % 40), now - timedelta(seconds=1))
        batch.append(
            {
                "subject": shape["subject"],
                "requester_id": requester_of[org_id],
                "organization_id": org_id,
                "assignee_id": agent,
                "status": "solved",
                "priority": shape["priority"],
                "tags": ["history", *shape["tags"]],
                "created_at": created.isoformat(),
                "comments": [
                    {
                        "author_id": requester_of[org_id],
                        "body": f"Request {n}",
                        "public": True,
                        "created_at": created.isoformat(),
                    },
                    {
                        "author_id": agent,
                        "body": f"Answer {n}",
                        "public": True,
                        "created_at": replied.isoformat(),
                    },
                ],
            }
        )
        if len(batch) == 100:
            flush()
    if batch:
        flush()
    return info, history
