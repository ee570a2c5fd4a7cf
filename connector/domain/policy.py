"""Policy types: what the admin's `mappings/*.yaml` mean once validated.

`connector.mappings` builds these from YAML; the engine reads only these. Everything is frozen so a
policy can be shared between threads and hashed into a version.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from connector.domain.calendar import BusinessCalendar
from connector.domain.model import Priority, Status


class Metric(StrEnum):
    FIRST_RESPONSE = "first_response"
    NEXT_RESPONSE = "next_response"
    PERIODIC_UPDATE = "periodic_update"
    RESOLUTION = "resolution"


class ReopenMode(StrEnum):
    RESUME = "resume"  # the clock continues from the elapsed time it had when solved
    RESTART = "restart"  # a new cycle starts at the reopen instant


@dataclass(frozen=True, slots=True)
class MetricSettings:
    """How one metric behaves for a tier."""

    pause_statuses: frozenset[Status] = frozenset()
    on_reopen: ReopenMode = ReopenMode.RESUME


DEFAULT_METRIC_SETTINGS: Mapping[Metric, MetricSettings] = {
    Metric.FIRST_RESPONSE: MetricSettings(),
    Metric.NEXT_RESPONSE: MetricSettings(),
    Metric.PERIODIC_UPDATE: MetricSettings(pause_statuses=frozenset({Status.PENDING, Status.ON_HOLD})),
    Metric.RESOLUTION: MetricSettings(pause_statuses=frozenset({Status.PENDING, Status.ON_HOLD})),
}


@dataclass(frozen=True, slots=True)
class Threshold:
    """A point on a clock: a percentage of the target, or a business duration before the breach.

    `label` is what admins write (`50%`, `30m before`, `breach`) and what idempotency keys use.
    """

    label: str
    percent: float | None = None
    before: timedelta | None = None

    @property
    def is_breach(self) -> bool:
        return self.percent is not None and self.percent >= 100.0

    def offset(self, target: timedelta) -> timedelta:
        """Business time from the clock's start to this threshold, for a given target."""
        if self.percent is not None:
            return target * (self.percent / 100.0)
        assert self.before is not None
        return max(target - self.before, timedelta(0))


BREACH = Threshold(label="breach", percent=100.0)


class ActionKind(StrEnum):
    ADD_TAGS = "add_tags"
    REMOVE_TAGS = "remove_tags"
    SET_PRIORITY = "set_priority"
    SET_FIELD = "set_field"
    ADD_NOTE = "add_note"
    ASSIGN_GROUP = "assign_group"
    ASSIGN_ASSIGNEE = "assign_assignee"
    ADD_FOLLOWERS = "add_followers"
    SET_PROPERTY = "set_property"


@dataclass(frozen=True, slots=True)
class EscalationStep:
    """One thing an escalation level does.

    kind ADD_TAGS (values), SET_PRIORITY (value: a priority, raise only), ASSIGN_GROUP /
    ASSIGN_ASSIGNEE (value: helpdesk id), ADD_FOLLOWERS (values), ADD_NOTE (value: a template with
    `{placeholders}` from `NOTE_PLACEHOLDERS`).
    """

    kind: ActionKind
    value: str | None = None
    values: tuple[str, ...] = ()


NOTE_PLACEHOLDERS = frozenset(
    {
        "ticket",
        "tier",
        "severity",
        "metric",
        "threshold",
        "target",
        "elapsed",
        "remaining",
        "due",
        "playbook",
        "level",
        "calendar",
    }
)


@dataclass(frozen=True, slots=True)
class EscalationLevel:
    threshold: Threshold
    steps: tuple[EscalationStep, ...]
    metrics: frozenset[Metric] | None = None  # None = every metric
    name: str = ""


@dataclass(frozen=True, slots=True)
class EscalationChain:
    name: str
    levels: tuple[EscalationLevel, ...]
    playbook: str | None = None


@dataclass(frozen=True, slots=True)
class ServiceCredit:
    """Service-credit terms: `percent_per_breach` of the monthly fee, capped at `cap_percent`."""

    percent_per_breach: float
    cap_percent: float
    metrics: frozenset[Metric] = frozenset({Metric.FIRST_RESPONSE, Metric.RESOLUTION})


@dataclass(frozen=True, slots=True)
class Tier:
    name: str
    label: str
    calendar: str
    # severity name -> metric -> business-time target; a missing metric is not tracked
    targets: Mapping[str, Mapping[Metric, timedelta]]
    warnings: tuple[Threshold, ...] = ()
    escalation: str | None = None
    metric_settings: Mapping[Metric, MetricSettings] = field(default_factory=lambda: DEFAULT_METRIC_SETTINGS)
    monthly_allowance: int | None = None
    service_credit: ServiceCredit | None = None
    # An agent's public opening comment (a logged phone call) answers first response and starts
    # periodic updates; by default it does not, as Zendesk's first reply time.
    opening_comment_is_reply: bool = False

    def settings(self, metric: Metric) -> MetricSettings:
        return self.metric_settings.get(metric, DEFAULT_METRIC_SETTINGS[metric])


class ConditionKind(StrEnum):
    ORGANIZATION_NAME = "organization_name"
    ORGANIZATION_ID = "organization_id"
    ORGANIZATION_EXTERNAL_ID = "organization_external_id"
    ORGANIZATION_TAG = "organization_tag"
    REQUESTER_DOMAIN = "requester_domain"
    FIELD = "field"
    TAG = "tag"
    PRIORITY = "priority"
    BRAND = "brand"  # Zendesk brand or Jira project key
    CONNECTION = "connection"
    SUBJECT_REGEX = "subject_regex"
    DESCRIPTION_REGEX = "description_regex"


@dataclass(frozen=True, slots=True)
class Condition:
    """One test on a ticket. `values` match case-insensitively (any of them); regex kinds use
    `pattern`; FIELD names the field in `field`."""

    kind: ConditionKind
    values: tuple[str, ...] = ()
    field: str | None = None
    pattern: re.Pattern[str] | None = None


@dataclass(frozen=True, slots=True)
class Rule:
    """First-match rule: all conditions must hold; `result` is the tier or severity chosen.

    `source` is `file:line` of the rule in the mappings, shown by `tierdesk explain`. `calendar`
    (customer rules only) names a calendar that replaces the tier's for the customers it matches,
    e.g. a customer served in its own time zone; None keeps the tier's calendar.
    """

    name: str
    result: str
    conditions: tuple[Condition, ...]
    source: str = ""
    calendar: str | None = None


@dataclass(frozen=True, slots=True)
class WritebackSettings:
    tag_prefix: str = ""
    severity_priority: Mapping[str, Priority] = field(default_factory=dict)
    # "raise_only": never lower; an agent's manual priority change wins afterwards.
    # "enforce": raise only, but raise again even after an agent lowered it.
    priority_mode: str = "raise_only"
    # logical field -> written or not; the connection maps logical names to helpdesk field ids
    fields: frozenset[str] = frozenset({"tier", "sla_due", "sla_state"})
    notes: bool = True


@dataclass(frozen=True, slots=True)
class NamedReference:
    """A field, group or person the mappings name instead of giving its id; resolved to the id
    through the helpdesk when tierdesk starts (`connector.mappings.references`). `section` is
    `fields` or `aliases`, `key` the logical field name or alias; `path:line:col` is where the
    name is written."""

    section: str
    key: str
    kind: str  # "field" | "group" | "user"
    name: str
    path: str
    line: int
    col: int


@dataclass(frozen=True, slots=True)
class ConnectionConfig:
    """A helpdesk connection. Credentials are read from the environment variables named here."""

    name: str
    kind: str  # "zendesk" | "jira"
    url: str
    email_env: str | None = None
    token_env: str | None = None
    # logical field name (tier, sla_due, sla_state, or any alias used by rules) -> helpdesk field id
    fields: Mapping[str, str] = field(default_factory=dict)
    # vendor status name (lower case) -> canonical status; vendor priority name -> canonical priority
    status_map: Mapping[str, Status] = field(default_factory=dict)
    priority_map: Mapping[str, Priority] = field(default_factory=dict)
    projects: tuple[str, ...] = ()  # Jira project keys to sync
    # escalation targets by name (group, assignee, follower) -> this helpdesk's id; "-" = not here
    aliases: Mapping[str, str] = field(default_factory=dict)
    pull_interval_seconds: int = 60
    options: Mapping[str, str] = field(default_factory=dict)
    webhook_secret_env: str | None = None  # signed webhooks are accepted when set
    webhook_path: str | None = None  # default /webhooks/<name>
    # fields / aliases given by name, not yet in `fields` / `aliases` (empty once resolved)
    named: tuple[NamedReference, ...] = ()


class ApplyTo(StrEnum):
    """Which clock cycles an edit of the policy's targets, warnings, calendars and clock settings
    reaches (see `connector.domain.record`)."""

    NEW = "new"  # cycles that start at or after the version takes effect
    RUNNING = "running"  # also cycles still running when it takes effect (never decided ones)


@dataclass(frozen=True, slots=True)
class Policy:
    """The whole validated configuration. `version` is a content hash of the mappings.

    `effective_from` / `apply_to` are what the mappings say about when this version takes effect
    (None: when a worker first runs it)."""

    version: str
    calendars: Mapping[str, BusinessCalendar]
    tiers: Mapping[str, Tier]
    tier_rules: tuple[Rule, ...]
    default_tier: str
    severities: tuple[str, ...]  # most severe first
    severity_rules: tuple[Rule, ...]
    default_severity: str
    chains: Mapping[str, EscalationChain]
    writeback: WritebackSettings
    connections: tuple[ConnectionConfig, ...] = ()
    effective_from: datetime | None = None
    apply_to: ApplyTo = ApplyTo.NEW
