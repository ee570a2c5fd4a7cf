"""Policy types: what the admin's `mappings/*.yaml` mean once validated.

`connector.mappings` builds these from YAML; the engine reads only these. Everything is frozen so a
policy can be shared between threads and hashed into a version.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING

from connector.domain.calendar import BusinessCalendar
from connector.domain.group_clocks import Ola
from connector.domain.model import Priority, Status

if TYPE_CHECKING:
    from connector.domain.accounts import Account


class Metric(StrEnum):
    FIRST_RESPONSE = "first_response"
    NEXT_RESPONSE = "next_response"
    PERIODIC_UPDATE = "periodic_update"
    RESOLUTION = "resolution"


class ReopenMode(StrEnum):
    RESUME = "resume"  # the clock continues from the elapsed time it had when solved
    RESTART = "restart"  # a new cycle starts at the reopen instant


class TargetKind(StrEnum):
    """How a ticket field gives a metric's target (`MetricSettings.target_from`)."""

    HOURS = "hours"  # a number of hours of the metric's calendar, e.g. 6 or 1.5
    DATE = "date"  # a negotiated due date (YYYY-MM-DD: the end of that day) or an ISO 8601 instant


@dataclass(frozen=True, slots=True)
class TargetFrom:
    """A metric's target read from a ticket field (logical name or helpdesk field id); the
    configured target applies while the field is empty or not a valid value."""

    field: str
    kind: TargetKind


@dataclass(frozen=True, slots=True)
class MetricSettings:
    """How one metric behaves for a tier. `calendar` names the calendar the metric counts on
    (None: the tier's or customer's; `24x7`: calendar hours)."""

    pause_statuses: frozenset[Status] = frozenset()
    on_reopen: ReopenMode = ReopenMode.RESUME
    calendar: str | None = None
    target_from: TargetFrom | None = None


class ManualEffect(StrEnum):
    EXEMPT = "exempt"  # the cycle is not measured: reported as exempt, neither met nor breached
    PAUSE = "pause"  # the clock stops counting while the condition holds


@dataclass(frozen=True, slots=True)
class ManualCondition:
    """A manual exemption or pause of a tier's clocks, held while the ticket has the tag `tag` or
    its field `field` has one of `values` (case-insensitive). `metrics` None = every metric;
    `source` is `file:line` in the mappings, shown with `reason` by `tierdesk explain`."""

    effect: ManualEffect
    reason: str
    tag: str | None = None
    field: str | None = None
    values: tuple[str, ...] = ()
    metrics: frozenset[Metric] | None = None
    source: str = ""

    @property
    def describe(self) -> str:
        """What the condition tests, as admins write it."""
        if self.tag is not None:
            return f"tag {self.tag}"
        return f"{self.field} = {'|'.join(self.values)}"


DEFAULT_METRIC_SETTINGS: Mapping[Metric, MetricSettings] = {
    Metric.FIRST_RESPONSE: MetricSettings(),
    Metric.NEXT_RESPONSE: MetricSettings(),
    Metric.PERIODIC_UPDATE: MetricSettings(pause_statuses=frozenset({Status.PENDING, Status.ON_HOLD})),
    Metric.RESOLUTION: MetricSettings(pause_statuses=frozenset({Status.PENDING, Status.ON_HOLD})),
}


@dataclass(frozen=True, slots=True)
class Threshold:
    """A point on a clock: a percentage of the target, a business duration before the breach, or
    one after it (`after`: an after-breach level's occurrence, counted on the clock's own hours).

    `label` is what admins write (`50%`, `30m before`, `breach`) and what idempotency keys use;
    after-breach occurrences are labelled `after:<after>:<n>` (n = 0 for the first one).
    """

    label: str
    percent: float | None = None
    before: timedelta | None = None
    after: timedelta | None = None

    @property
    def is_breach(self) -> bool:
        return self.percent is not None and self.percent >= 100.0

    def offset(self, target: timedelta) -> timedelta:
        """Business time from the clock's start to this threshold, for a given target."""
        if self.percent is not None:
            return target * (self.percent / 100.0)
        if self.after is not None:
            return target + self.after
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
    NOTIFY = "notify"


# What a state diff writes: what agents should see, planned against the ticket's `basis`. A newer
# plan replaces such a row while it is unsent; it claims nothing happened, so it needs no fresh view.
STATE_DIFF_KINDS = frozenset(
    {
        ActionKind.ADD_TAGS,
        ActionKind.REMOVE_TAGS,
        ActionKind.SET_FIELD,
        ActionKind.SET_PRIORITY,
        ActionKind.SET_PROPERTY,
    }
)


@dataclass(frozen=True, slots=True)
class EscalationStep:
    """One thing an escalation level does.

    kind ADD_TAGS (values), SET_PRIORITY (value: a priority, raise only), ASSIGN_GROUP /
    ASSIGN_ASSIGNEE (value: helpdesk id), ADD_FOLLOWERS (values), ADD_NOTE (value: a template with
    `{placeholders}` from `NOTE_PLACEHOLDERS`), NOTIFY (value: channel name, values: recipients,
    text: the message template, same placeholders as notes).
    """

    kind: ActionKind
    value: str | None = None
    values: tuple[str, ...] = ()
    text: str | None = None


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
# notification messages may also link the ticket
NOTIFY_PLACEHOLDERS = NOTE_PLACEHOLDERS | {"link", "subject"}

DEFAULT_NOTIFY_TEXT = (
    "[{tier} {severity}] {metric} {threshold} on ticket {ticket}: {elapsed} of {target} used, "
    "due {due}. {link}"
)


@dataclass(frozen=True, slots=True)
class NotificationChannel:
    """Where notifications go: the Apprise URL is read from the environment variable `url_env` at
    send time, so the outbox and logs only ever carry the channel's name.

    `include_notes` lets the level's internal note text go with the message (off by default: chat
    channels and e-mail are outside the helpdesk). `on_uncertain` is what a restart does with a
    send whose outcome is unknown: "skip" (at most once; chat cannot be read back) or "resend"
    (at least once, for targets that drop repeats of the same `X-Tierdesk-Key`)."""

    name: str
    url_env: str
    include_notes: bool = False
    on_uncertain: str = "skip"


@dataclass(frozen=True, slots=True)
class EscalationLevel:
    """A level of a chain. `on_arrival` levels run once per ticket and tier, when the ticket first
    gets the tier (their threshold is unused); after-breach levels (`after`) fire at the breach
    plus `after`, then every `repeat`, at most `times` occurrences."""

    threshold: Threshold
    steps: tuple[EscalationStep, ...]
    metrics: frozenset[Metric] | None = None  # None = every metric
    name: str = ""
    on_arrival: bool = False
    after: timedelta | None = None
    repeat: timedelta | None = None
    times: int = 1

    @property
    def thresholds(self) -> tuple[Threshold, ...]:
        """The points on a clock this level fires at (none for an on-arrival level)."""
        if self.on_arrival:
            return ()
        if self.after is None:
            return (self.threshold,)
        step = self.repeat or timedelta(0)
        count = self.times if self.repeat is not None else 1
        return tuple(after_threshold(self.after, n, self.after + step * n) for n in range(count))


def after_threshold(after: timedelta, n: int, offset: timedelta) -> Threshold:
    """The n-th occurrence of an after-breach level (`offset` past the breach)."""
    return Threshold(label=f"after:{_compact(after)}:{n}", after=offset)


def _compact(value: timedelta) -> str:
    seconds = int(value.total_seconds())
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        amount, seconds = divmod(seconds, size)
        if amount:
            parts.append(f"{amount}{unit}")
    return "".join(parts) or "0s"


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
    target_adherence_percent: float | None = None  # the goal line of reports
    # An agent's public opening comment (a logged phone call) answers first response and starts
    # periodic updates; by default it does not, as Zendesk's first reply time.
    opening_comment_is_reply: bool = False
    # severity -> metric -> settings replacing `metric_settings` for tickets of that severity
    severity_settings: Mapping[str, Mapping[Metric, MetricSettings]] = field(default_factory=dict)
    manual: tuple[ManualCondition, ...] = ()  # manual exemptions and pauses, first match wins

    def settings(self, metric: Metric, severity: str | None = None) -> MetricSettings:
        if severity is not None:
            own = self.severity_settings.get(severity)
            if own is not None and metric in own:
                return own[metric]
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


def normalised(value: str) -> str:
    """A value as rules and account links compare it: stripped, case-folded."""
    return value.strip().casefold()


@dataclass(frozen=True, slots=True)
class Condition:
    """One test on a ticket. `values` match case-insensitively (any of them); regex kinds use
    `pattern`; FIELD names the field in `field`."""

    kind: ConditionKind
    values: tuple[str, ...] = ()
    field: str | None = None
    pattern: re.Pattern[str] | None = None
    # `values` as compared (stripped, case-folded), computed once: tested for every ticket
    wanted: frozenset[str] = dataclasses.field(init=False, repr=False, compare=False)  # `field` is taken

    def __post_init__(self) -> None:
        object.__setattr__(self, "wanted", frozenset(normalised(value) for value in self.values))


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
    channels: Mapping[str, NotificationChannel] = field(default_factory=dict)
    effective_from: datetime | None = None
    apply_to: ApplyTo = ApplyTo.NEW
    olas: Mapping[str, Ola] = field(default_factory=dict)  # group -> its own target per hold
    # account id -> account (mappings/accounts.yaml); `connector.domain.accounts` looks them up
    accounts: Mapping[str, Account] = field(default_factory=dict)
    # holiday feed URL -> how often a running worker fetches it again (not part of the version)
    feed_refresh: Mapping[str, timedelta] = field(default_factory=dict)
