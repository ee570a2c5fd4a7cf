"""Engine throughput: evaluate synthetic tickets (~10 events each) on a business-hours calendar
with holidays and print evaluations per second and peak memory.

    python bench/engine.py [--tickets 100000] [--seed 7]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from connector.domain.calendar import BusinessCalendar
from connector.domain.engine import evaluate
from connector.domain.model import Event, EventKind, Organization, Priority, Status, Ticket
from connector.domain.policy import (
    ActionKind,
    EscalationChain,
    EscalationLevel,
    EscalationStep,
    Metric,
    Policy,
    Threshold,
    Tier,
    WritebackSettings,
)

H = timedelta(hours=1)


def build_policy() -> Policy:
    calendar = BusinessCalendar.from_spec(
        {
            "timezone": "Europe/Berlin",
            "hours": {"mon-fri": ["09:00-12:30", "13:30-17:00"]},
            "holidays": {"country": "DE", "subdivision": "BE", "dates": ["2026-12-24", "2026-12-31"]},
        },
        name="berlin",
    )
    targets = {
        sev: {
            Metric.FIRST_RESPONSE: f * H,
            Metric.NEXT_RESPONSE: f * 2 * H,
            Metric.PERIODIC_UPDATE: f * 4 * H,
            Metric.RESOLUTION: f * 16 * H,
        }
        for sev, f in (("critical", 1), ("high", 2), ("normal", 4), ("low", 8))
    }
    warnings = (
        Threshold("50%", percent=50.0),
        Threshold("75%", percent=75.0),
        Threshold("90%", percent=90.0),
    )
    chain = EscalationChain(
        name="std",
        playbook="https://wiki.example/sla",
        levels=(
            EscalationLevel(
                Threshold("75%", percent=75.0), (EscalationStep(ActionKind.ADD_NOTE, "{metric} at 75%"),)
            ),
            EscalationLevel(
                Threshold("breach", percent=100.0),
                (
                    EscalationStep(ActionKind.ADD_NOTE, "{metric} breached"),
                    EscalationStep(ActionKind.ASSIGN_GROUP, "9"),
                ),
            ),
        ),
    )
    tier = Tier(
        name="standard",
        label="Standard",
        calendar="berlin",
        targets=targets,
        warnings=warnings,
        escalation="std",
    )
    return Policy(
        version="bench",
        calendars={"berlin": calendar},
        tiers={"standard": tier},
        tier_rules=(),
        default_tier="standard",
        severities=("critical", "high", "normal", "low"),
        severity_rules=(),
        default_severity="normal",
        chains={"std": chain},
        writeback=WritebackSettings(severity_priority={"critical": Priority.URGENT}),
    )


def synth(n: int, rng: random.Random, now: datetime) -> list[tuple[Ticket, list[Event]]]:
    out = []
    for i in range(n):
        created = now - timedelta(minutes=rng.randint(30, 60 * 24 * 20))
        at = created
        events = [Event(id=f"{i}-0", at=created, kind=EventKind.CREATED)]
        status = Status.OPEN
        for j in range(1, 10):
            at = at + timedelta(minutes=rng.randint(5, 600))
            if at >= now:
                break
            roll = rng.random()
            if roll < 0.35:
                events.append(Event(id=f"{i}-{j}", at=at, kind=EventKind.PUBLIC_AGENT_REPLY, author_id="a"))
            elif roll < 0.6:
                events.append(
                    Event(id=f"{i}-{j}", at=at, kind=EventKind.PUBLIC_CUSTOMER_COMMENT, author_id="c")
                )
            elif roll < 0.7:
                events.append(Event(id=f"{i}-{j}", at=at, kind=EventKind.INTERNAL_NOTE, author_id="a"))
            else:
                status = rng.choice([Status.OPEN, Status.PENDING, Status.SOLVED, Status.OPEN, Status.ON_HOLD])
                events.append(Event(id=f"{i}-{j}", at=at, kind=EventKind.STATUS_CHANGE, status=status))
        ticket = Ticket(
            connection="bench",
            id=str(i),
            created_at=created,
            updated_at=at,
            status=status,
            subject="Synthetic",
            priority=Priority.NORMAL,
            organization=Organization(id="1", name="Org"),
        )
        out.append((ticket, events))
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    now = datetime(2026, 12, 28, 11, 0, tzinfo=UTC)  # spans Christmas holidays
    rng = random.Random(args.seed)
    policy = build_policy()
    data = synth(args.tickets, rng, now)
    events_total = sum(len(e) for _, e in data)

    tracemalloc.start()
    start = time.perf_counter()
    actions = clocks = 0
    for ticket, events in data:
        result = evaluate(ticket, events, policy, now)
        actions += len(result.actions)
        clocks += len(result.clocks)
    elapsed = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    # tracemalloc slows allocation-heavy code; time a second pass without it for the headline figure
    start = time.perf_counter()
    for ticket, events in data:
        evaluate(ticket, events, policy, now)
    clean = time.perf_counter() - start

    print(f"tickets                 {args.tickets:>10,}")
    print(f"events                  {events_total:>10,} ({events_total / args.tickets:.1f} per ticket)")
    print(f"clocks computed         {clocks:>10,}")
    print(f"actions planned         {actions:>10,}")
    print(f"evaluations/s           {args.tickets / clean:>10,.0f}  (one core, {clean:.2f} s)")
    print(f"evaluations/s (traced)  {args.tickets / elapsed:>10,.0f}")
    print(f"peak traced memory      {peak / 1e6:>10.1f} MB (evaluation pass, inputs excluded)")


if __name__ == "__main__":
    main()
