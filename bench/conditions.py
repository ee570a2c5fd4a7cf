"""Cost of clock conditions: evaluate the same synthetic Enterprise tickets with the example
mappings as shipped and with a field target plus a manual exemption and pause on the tier; print
CPU time per evaluation (time.process_time: the machine may be shared) and peak RSS.

    python bench/conditions.py [--tickets 20000] [--seed 7]
"""

from __future__ import annotations

import argparse
import random
import resource
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from connector.domain.engine import evaluate
from connector.domain.model import Event, EventKind, Organization, Status, Ticket
from connector.domain.policy import (
    ManualCondition,
    ManualEffect,
    Metric,
    Policy,
    TargetFrom,
    TargetKind,
)
from connector.mappings import load_policy

START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
ACME = Organization(id="1", name="Acme Corp", tags=frozenset({"enterprise"}))


def tickets(count: int, rng: random.Random) -> list[tuple[Ticket, list[Event]]]:
    made = []
    for n in range(count):
        created = START + timedelta(minutes=rng.randrange(0, 60 * 24 * 20))
        at = created
        events = [Event(id=f"{n}:c", at=created, kind=EventKind.CREATED)]
        for i in range(rng.randrange(2, 8)):
            at += timedelta(minutes=rng.randrange(5, 600))
            kind = rng.choice((EventKind.PUBLIC_AGENT_REPLY, EventKind.PUBLIC_CUSTOMER_COMMENT))
            events.append(Event(id=f"{n}:{i}", at=at, kind=kind))
        hours = str(rng.choice((4, 8, 24)))
        events.append(
            Event(
                f"{n}:f",
                created + timedelta(minutes=3),
                EventKind.FIELD_CHANGE,
                field="agreed_hours",
                value=hours,
                previous="",
            )
        )
        tags = "exempt_sla" if n % 10 == 0 else "vendor_hold" if n % 10 == 1 else ""
        if tags:
            events.append(
                Event(
                    f"{n}:t",
                    created + timedelta(hours=1),
                    EventKind.FIELD_CHANGE,
                    field="tags",
                    value=tags,
                    previous="",
                )
            )
        ticket = Ticket(
            connection="zendesk-main",
            id=str(n),
            created_at=created,
            updated_at=at,
            status=Status.OPEN,
            subject="Export fails",
            organization=ACME,
            tags=frozenset({tags} - {""}),
            fields={"agreed_hours": hours},
        )
        made.append((ticket, events))
    return made


def with_conditions(policy: Policy) -> Policy:
    tier = policy.tiers["enterprise"]
    settings = dict(tier.metric_settings)
    settings[Metric.RESOLUTION] = replace(
        tier.settings(Metric.RESOLUTION), target_from=TargetFrom("agreed_hours", TargetKind.HOURS)
    )
    manual = (
        ManualCondition(ManualEffect.EXEMPT, "waived", tag="exempt_sla"),
        ManualCondition(ManualEffect.PAUSE, "vendor", tag="vendor_hold"),
    )
    tiers = {**policy.tiers, "enterprise": replace(tier, metric_settings=settings, manual=manual)}
    return replace(policy, tiers=tiers)


def cpu_per_evaluation(policy: Policy, sample: list[tuple[Ticket, list[Event]]], now: datetime) -> float:
    start = time.process_time()
    for ticket, events in sample:
        evaluate(ticket, events, policy, now)
    return (time.process_time() - start) / len(sample)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=20000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    shipped = load_policy(Path(__file__).resolve().parent.parent / "mappings")
    conditioned = with_conditions(shipped)
    sample = tickets(args.tickets, random.Random(args.seed))
    now = START + timedelta(days=21)
    cpu_per_evaluation(shipped, sample[:500], now)  # warm the per-policy caches
    cpu_per_evaluation(conditioned, sample[:500], now)
    plain = cpu_per_evaluation(shipped, sample, now)
    with_them = cpu_per_evaluation(conditioned, sample, now)
    print(f"tickets                      {args.tickets:,}")
    print(f"CPU per evaluation, shipped  {plain * 1e6:8.1f} µs")
    print(f"CPU per evaluation, with conditions {with_them * 1e6:8.1f} µs  (x{with_them / plain:.2f})")
    print(f"peak RSS                     {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024} MB")


if __name__ == "__main__":
    main()
