"""Engine throughput: evaluate synthetic tickets (~10 events each) on a business-hours calendar
with holidays and print evaluations per second and peak memory.

    python bench/engine.py [--tickets 100000] [--seed 7] [--passes 1] [--no-phases] [--rules]

The headline is one untraced pass over every ticket (``--passes N`` runs N and also reports
the median and best as well); "settled" is a pass with each ticket's settled outcomes passed in,
as a worker re-evaluates a ticket it has evaluated before. A last, instrumented pass over a sample
splits the time between the engine's phases: rules view (the ticket as people left it, what tier
and severity rules read), history (events folded into status segments), clocks (cycles measured
on the calendar, thresholds, clock records: the rest of evaluate), plan (tags, fields,
escalations, keys, panel); its timers per ticket add a little overhead of their own.

``--rules`` adds tier and triage rules shaped like the example mappings (organization tags,
e-mail domain, fields, regexes, priority, tags) and gives every ticket tierdesk's own tags, as a
worker's tickets have after their first sync; one in ten carries a tag a person set that a rule
tests, one in ten a priority tierdesk raised.
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from connector.domain import engine
from connector.domain.calendar import BusinessCalendar
from connector.domain.engine import evaluate
from connector.domain.model import Event, EventKind, Organization, Priority, Status, Ticket
from connector.domain.policy import (
    ActionKind,
    Condition,
    ConditionKind,
    EscalationChain,
    EscalationLevel,
    EscalationStep,
    Metric,
    Policy,
    Rule,
    Threshold,
    Tier,
    WritebackSettings,
)

H = timedelta(hours=1)


def _rule(name: str, result: str, *conditions: Condition) -> Rule:
    return Rule(name, result, conditions, source=f"bench:{name}")


TIER_RULES = (
    _rule("enterprise-organizations", "standard", Condition(ConditionKind.ORGANIZATION_TAG, ("enterprise",))),
    _rule("acme-by-domain", "standard", Condition(ConditionKind.REQUESTER_DOMAIN, ("acme.example",))),
    _rule(
        "priority-us-desk",
        "standard",
        Condition(ConditionKind.ORGANIZATION_TAG, ("priority",)),
        Condition(ConditionKind.FIELD, ("americas",), field="region"),
    ),
)
SEVERITY_RULES = (
    _rule("full-outage", "critical", Condition(ConditionKind.FIELD, ("full_outage",), field="uptime_impact")),
    _rule(
        "outage-in-subject",
        "critical",
        Condition(ConditionKind.SUBJECT_REGEX, pattern=re.compile(r"\b(outage|down)\b", re.IGNORECASE)),
    ),
    _rule("partial-outage", "high", Condition(ConditionKind.FIELD, ("degraded",), field="uptime_impact")),
    _rule("urgent-priority", "high", Condition(ConditionKind.PRIORITY, ("urgent",))),
    _rule("questions", "low", Condition(ConditionKind.TAG, ("question", "how_to"))),
)


def build_policy(rules: bool = False) -> Policy:
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
        tier_rules=TIER_RULES if rules else (),
        default_tier="standard",
        severities=("critical", "high", "normal", "low"),
        severity_rules=SEVERITY_RULES if rules else (),
        default_severity="normal",
        chains={"std": chain},
        writeback=WritebackSettings(severity_priority={"critical": Priority.URGENT}),
    )


def synth(
    n: int, rng: random.Random, now: datetime, own_writes: bool = False
) -> list[tuple[Ticket, list[Event]]]:
    out = []
    for i in range(n):
        created = now - timedelta(minutes=rng.randint(30, 60 * 24 * 20))
        at = created
        events = [Event(id=f"{i}-0", at=created, kind=EventKind.CREATED)]
        tags: frozenset[str] = frozenset()
        priority = Priority.NORMAL
        if own_writes:
            roll = rng.random()
            people_tags = "question" if roll < 0.1 else ""
            tags = frozenset(t for t in (people_tags, "tier_standard", "sev_normal") if t)
            events.append(
                Event(
                    id=f"{i}-0t",
                    at=created + timedelta(minutes=1),
                    kind=EventKind.FIELD_CHANGE,
                    field="tags",
                    value=",".join(sorted(tags)),
                    previous=people_tags,
                    by_tierdesk=True,
                )
            )
            if roll > 0.9:
                priority = Priority.URGENT
                events.append(
                    Event(
                        id=f"{i}-0p",
                        at=created + timedelta(minutes=2),
                        kind=EventKind.PRIORITY_CHANGE,
                        value="urgent",
                        previous="normal",
                        by_tierdesk=True,
                    )
                )
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
            priority=priority,
            organization=Organization(id="1", name="Org"),
            tags=tags,
        )
        out.append((ticket, events))
    return out


# phase -> the function evaluate() calls for it (once per ticket, so the timers cost little); the
# rest of evaluate() is the clocks: cycles measured on the calendar, thresholds, clock records.
PHASES = {"rules view": "as_people_left_it", "history": "history", "plan": "plan"}


def phase_split(data: list[tuple[Ticket, list[Event]]], policy: Policy, now: datetime) -> dict[str, float]:
    """Seconds spent per phase while evaluating `data`, by wrapping the functions `evaluate`
    calls (looked up in the engine module at call time) with timers."""
    spent = dict.fromkeys(PHASES, 0.0)
    originals = {name: getattr(engine, name) for name in PHASES.values()}

    def timed(phase: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any) -> Any:
            start = time.perf_counter()
            try:
                return fn(*args)
            finally:
                spent[phase] += time.perf_counter() - start

        return wrapper

    for phase, name in PHASES.items():
        setattr(engine, name, timed(phase, originals[name]))
    try:
        start = time.perf_counter()
        for ticket, events in data:
            evaluate(ticket, events, policy, now)
        spent["total"] = time.perf_counter() - start
    finally:
        for name, fn in originals.items():
            setattr(engine, name, fn)
    return spent


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--passes", type=int, default=1, help="untraced passes (headline: the first)")
    parser.add_argument("--no-phases", dest="phases", action="store_false", help="skip the phase split")
    parser.add_argument(
        "--rules", action="store_true", help="example-shaped rules; tickets carry tierdesk's own writes"
    )
    args = parser.parse_args()
    now = datetime(2026, 12, 28, 11, 0, tzinfo=UTC)  # spans Christmas holidays
    rng = random.Random(args.seed)
    policy = build_policy(args.rules)
    data = synth(args.tickets, rng, now, args.rules)
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

    # tracemalloc slows allocation-heavy code; time untraced passes for the headline figure
    passes = []
    for _ in range(max(args.passes, 1)):
        start = time.perf_counter()
        for ticket, events in data:
            evaluate(ticket, events, policy, now)
        passes.append(time.perf_counter() - start)
    clean = passes[0]

    print(f"tickets                 {args.tickets:>10,}")
    print(f"events                  {events_total:>10,} ({events_total / args.tickets:.1f} per ticket)")
    print(f"clocks computed         {clocks:>10,}")
    print(f"actions planned         {actions:>10,}")
    print(f"evaluations/s           {args.tickets / clean:>10,.0f}  (one core, {clean:.2f} s)")
    print(f"time per evaluation     {clean / args.tickets * 1e6:>10.1f} µs")
    if len(passes) > 1:
        print(
            f"evaluations/s, {len(passes)} passes {args.tickets / statistics.median(passes):>9,.0f} median, "
            f"{args.tickets / min(passes):,.0f} best"
        )
    # a worker re-evaluates tickets whose decided cycles are already settled (the first
    # evaluation's `decided` are stored and passed back): the steady state
    settled = [evaluate(ticket, events, policy, now).decided for ticket, events in data]
    start = time.perf_counter()
    for (ticket, events), record in zip(data, settled, strict=True):
        evaluate(ticket, events, policy, now, settled=record)
    steady = time.perf_counter() - start
    outcomes = sum(len(record) for record in settled)
    print(
        f"evaluations/s, settled  {args.tickets / steady:>10,.0f}  ({outcomes:,} settled outcomes passed in)"
    )
    print(f"evaluations/s (traced)  {args.tickets / elapsed:>10,.0f}")
    print(f"peak traced memory      {peak / 1e6:>10.1f} MB (evaluation pass, inputs excluded)")

    if args.phases:
        sample = data[: min(len(data), 20_000)]
        spent = phase_split(sample, policy, now)
        total = spent.pop("total")
        phases = {
            "rules view": spent["rules view"],
            "history": spent["history"],
            "clocks": total - sum(spent.values()),
            "plan": spent["plan"],
        }
        print(f"phases ({len(sample):,} tickets):")
        for phase, seconds in phases.items():
            print(f"  {phase:<21} {seconds / len(sample) * 1e6:>10.1f} µs  {seconds / total:>5.0%}")


if __name__ == "__main__":
    main()
