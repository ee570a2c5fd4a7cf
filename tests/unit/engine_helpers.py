"""Builders for engine tests: a small policy in code and tickets with event histories."""

from __future__ import annotations

import itertools
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from connector.domain.calendar import BusinessCalendar
from connector.domain.model import Event, EventKind, Organization, Priority, Status, Ticket
from connector.domain.policy import (
    DEFAULT_METRIC_SETTINGS,
    ActionKind,
    Condition,
    ConditionKind,
    EscalationChain,
    EscalationLevel,
    EscalationStep,
    Metric,
    MetricSettings,
    Policy,
    Rule,
    Threshold,
    Tier,
    WritebackSettings,
)

H = timedelta(hours=1)
M = timedelta(minutes=1)
# Monday 2026-11-23 09:00 in Berlin is 08:00 UTC
MON_0900_BERLIN = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)

BERLIN_HOURS = BusinessCalendar.from_spec(
    {"timezone": "Europe/Berlin", "hours": {"mon-fri": ["09:00-17:00"]}}, name="berlin"
)
ALWAYS = BusinessCalendar.from_spec("24x7", name="24x7")

_ids = itertools.count()


def thresholds(*labels: str) -> tuple[Threshold, ...]:
    out = []
    for label in labels:
        if label.endswith("%"):
            out.append(Threshold(label=label, percent=float(label[:-1])))
        else:
            minutes = int(re.match(r"(\d+)m before", label).group(1))  # type: ignore[union-attr]
            out.append(Threshold(label=label, before=timedelta(minutes=minutes)))
    return tuple(out)


def chain_with_notes(*labels: str, playbook: str = "https://wiki.example/playbook") -> EscalationChain:
    levels = [
        EscalationLevel(
            threshold=th,
            steps=(
                EscalationStep(
                    ActionKind.ADD_NOTE,
                    value="{metric} at {threshold}: target {target}, due {due}. {playbook}",
                ),
            ),
            name=f"L{i + 1}",
        )
        for i, th in enumerate(thresholds(*labels))
    ]
    levels.append(
        EscalationLevel(
            threshold=Threshold(label="breach", percent=100.0),
            steps=(
                EscalationStep(
                    ActionKind.ADD_NOTE, value="BREACH {metric}: target {target} elapsed {elapsed}"
                ),
                EscalationStep(ActionKind.ASSIGN_GROUP, value="900"),
                EscalationStep(ActionKind.SET_PRIORITY, value="urgent"),
            ),
            name="breach",
        )
    )
    return EscalationChain(name="standard", levels=tuple(levels), playbook=playbook)


def make_policy(
    *,
    calendar: BusinessCalendar = BERLIN_HOURS,
    targets: dict[str, dict[Metric, timedelta]] | None = None,
    settings: dict[Metric, MetricSettings] | None = None,
    warnings: tuple[Threshold, ...] = thresholds("50%", "75%"),
    chain: EscalationChain | None = None,
    priority_mode: str = "raise_only",
) -> Policy:
    targets = targets or {
        "critical": {Metric.FIRST_RESPONSE: H, Metric.RESOLUTION: 8 * H},
        "normal": {
            Metric.FIRST_RESPONSE: 4 * H,
            Metric.NEXT_RESPONSE: 4 * H,
            Metric.PERIODIC_UPDATE: 8 * H,
            Metric.RESOLUTION: 16 * H,
        },
    }
    merged = dict(DEFAULT_METRIC_SETTINGS)
    merged.update(settings or {})
    tier = Tier(
        name="standard",
        label="Standard",
        calendar=calendar.name or "cal",
        targets=targets,
        warnings=warnings,
        escalation="standard" if chain else None,
        metric_settings=merged,
    )
    enterprise = replace(tier, name="enterprise", label="Enterprise")
    return Policy(
        version="test",
        calendars={calendar.name or "cal": calendar},
        tiers={"standard": tier, "enterprise": enterprise},
        tier_rules=(
            Rule(
                name="enterprise orgs",
                result="enterprise",
                conditions=(Condition(ConditionKind.ORGANIZATION_TAG, values=("enterprise",)),),
                source="customers.yaml:3",
            ),
        ),
        default_tier="standard",
        severities=("critical", "normal"),
        severity_rules=(
            Rule(
                name="outage",
                result="critical",
                conditions=(
                    Condition(ConditionKind.SUBJECT_REGEX, pattern=re.compile(r"(?i)\bdown\b|outage")),
                ),
                source="triage.yaml:4",
            ),
        ),
        default_severity="normal",
        chains={"standard": chain} if chain else {},
        writeback=WritebackSettings(
            severity_priority={"critical": Priority.URGENT, "normal": Priority.NORMAL},
            priority_mode=priority_mode,
        ),
    )


def ticket(
    *,
    created: datetime = MON_0900_BERLIN,
    status: Status = Status.OPEN,
    subject: str = "Cannot export report",
    tags: frozenset[str] = frozenset(),
    priority: Priority | None = Priority.NORMAL,
    org_tags: frozenset[str] = frozenset(),
    updated: datetime | None = None,
    fields: dict[str, str] | None = None,
) -> Ticket:
    return Ticket(
        connection="zd",
        id="42",
        created_at=created,
        updated_at=updated or created,
        status=status,
        subject=subject,
        priority=priority,
        tags=tags,
        organization=Organization(id="7", name="Acme", tags=org_tags) if org_tags else None,
        fields=fields or {},
    )


def ev(kind: EventKind, at: datetime, **kw: object) -> Event:
    return Event(id=f"e{next(_ids)}", at=at, kind=kind, **kw)  # type: ignore[arg-type]


def status(at: datetime, new: Status) -> Event:
    return ev(EventKind.STATUS_CHANGE, at, status=new)


def agent(at: datetime) -> Event:
    return ev(EventKind.PUBLIC_AGENT_REPLY, at, author_id="agent-1")


def customer(at: datetime) -> Event:
    return ev(EventKind.PUBLIC_CUSTOMER_COMMENT, at, author_id="cust-1")


def created(at: datetime = MON_0900_BERLIN) -> Event:
    return ev(EventKind.CREATED, at)
