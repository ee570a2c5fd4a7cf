"""The shape of `mappings/*.yaml` as pydantic models; also the source of `tierdesk schema`.

Every model forbids unknown keys, so a typo is reported instead of silently ignored. Values in the
small languages of `values.py` (durations, thresholds, percentages) are parsed here, so a bad one is
reported at its own line.
"""

from __future__ import annotations

import re
import string
import zoneinfo
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from connector.domain.model import Priority, Status
from connector.domain.policy import NOTE_PLACEHOLDERS, NOTIFY_PLACEHOLDERS, Metric, ReopenMode
from connector.mappings.errors import did_you_mean
from connector.mappings.values import (
    DURATION_HELP,
    THRESHOLD_HELP,
    check_name,
    format_duration,
    parse_duration,
    parse_percent,
    parse_threshold,
)


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, coerce_numbers_to_str=True)


def _as_list(value: Any) -> Any:
    """A single value where a list is expected means a list of one; numbers become text."""
    items = value if isinstance(value, list) else [value]
    converted: list[Any] = []
    for item in items:
        if isinstance(item, bool):
            converted.append("true" if item else "false")
        elif isinstance(item, int | float):
            converted.append(str(item))
        else:
            converted.append(item)
    return converted


def _one_or_many(description: str) -> WithJsonSchema:
    return WithJsonSchema(
        {
            "description": description,
            "anyOf": [
                {"type": ["string", "number"]},
                {"type": "array", "items": {"type": ["string", "number"]}, "minItems": 1},
            ],
        }
    )


def _non_empty(values: list[str]) -> list[str]:
    cleaned = [value.strip() for value in values]
    if not cleaned or any(not value for value in cleaned):
        raise ValueError("expected at least one non-empty value")
    return cleaned


Name = Annotated[
    str,
    AfterValidator(check_name),
    WithJsonSchema({"type": "string", "pattern": r"^[a-z0-9][a-z0-9_-]*$"}),
]
Values = Annotated[
    list[str],
    BeforeValidator(_as_list),
    AfterValidator(_non_empty),
    _one_or_many("one value or a list of values; any of them matches (case-insensitive)"),
]
Duration = Annotated[
    timedelta,
    BeforeValidator(parse_duration),
    PlainSerializer(format_duration, return_type=str),
    WithJsonSchema(
        {
            "type": "string",
            "description": DURATION_HELP,
            "pattern": r"^(\s*\d+\s*[a-z]+)+\s*$|^P(\d+D)?(T(\d+H)?(\d+M)?(\d+S)?)?$",
        }
    ),
]
WarningThreshold = Annotated[
    str,
    BeforeValidator(lambda value: parse_threshold(value, allow_breach=False)),
    WithJsonSchema({"type": "string", "description": "a warning such as 50%, 90% or '30m before'"}),
]
LevelThreshold = Annotated[
    str,
    BeforeValidator(lambda value: parse_threshold(value, allow_breach=True)),
    WithJsonSchema({"type": "string", "description": THRESHOLD_HELP}),
]
Percent = Annotated[
    float,
    BeforeValidator(parse_percent),
    WithJsonSchema(
        {
            "description": "a percentage such as 5% (or the number 5)",
            "anyOf": [{"type": "number"}, {"type": "string", "pattern": r"^\d+(\.\d+)?\s*%$"}],
        }
    ),
]


def _compile(pattern: str) -> str:
    try:
        re.compile(pattern)
    except re.error as error:
        where = f" at position {error.pos}" if error.pos is not None else ""
        raise ValueError(f"invalid regular expression: {error.msg}{where}") from None
    return pattern


RegexText = Annotated[
    str,
    AfterValidator(_compile),
    WithJsonSchema({"type": "string", "description": "a Python regular expression, case-insensitive"}),
]


def _note_shape(value: Any) -> Any:
    if isinstance(value, dict):
        raise ValueError(
            "YAML read this note as a mapping because it starts with '{'; "
            "quote the template or write it as a block (note: |)"
        )
    return value


def _check_placeholders(
    template: str, known_names: frozenset[str] = NOTE_PLACEHOLDERS, what: str = "note template"
) -> str:
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as error:
        raise ValueError(
            f"{what}: {error}; write {{{{ or }}}} for a literal brace, {{name}} for a placeholder"
        ) from None
    known = sorted(known_names)
    for _, field_name, format_spec, conversion in parsed:
        if field_name is None:
            continue
        if field_name not in known_names:
            shown = field_name or ""
            raise ValueError(
                f"unknown placeholder '{{{shown}}}' in {what}{did_you_mean(shown, known)} "
                f"(placeholders: {', '.join(known)})"
            )
        if format_spec or conversion:
            raise ValueError(
                f"placeholder '{{{field_name}}}' takes no format or conversion; write {{{field_name}}}"
            )
    return template


NoteTemplate = Annotated[
    str,
    BeforeValidator(_note_shape),
    AfterValidator(_check_placeholders),
    WithJsonSchema(
        {
            "type": "string",
            "description": "internal note; placeholders: "
            + ", ".join(f"{{{p}}}" for p in sorted(NOTE_PLACEHOLDERS)),
        }
    ),
]


MessageTemplate = Annotated[
    str,
    BeforeValidator(_note_shape),
    AfterValidator(
        lambda template: _check_placeholders(template, NOTIFY_PLACEHOLDERS, "notification message")
    ),
    WithJsonSchema(
        {
            "type": "string",
            "description": "notification text; placeholders: "
            + ", ".join(f"{{{p}}}" for p in sorted(NOTIFY_PLACEHOLDERS)),
        }
    ),
]


# ---------------------------------------------------------------------------------- calendars


@lru_cache(maxsize=1)
def _time_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


class HolidaysModel(StrictModel):
    """Public holidays of a country (and subdivision) from the `holidays` package, plus dates."""

    country: str | None = Field(default=None, description="ISO 3166 code, e.g. DE, US, GB")
    subdivision: str | None = Field(default=None, description="e.g. BE (Berlin) for DE, CA for US")
    dates: list[Any] = Field(default_factory=list, description="extra closed days, YYYY-MM-DD")


class CalendarModel(StrictModel):
    """Opening hours in one time zone, minus holidays (`BusinessCalendar.from_spec`)."""

    timezone: str | None = Field(default=None, description="IANA time zone, e.g. Europe/Berlin")
    hours: Annotated[
        Any,
        WithJsonSchema(
            {
                "description": "'24x7', one window for every day, or days -> windows, "
                "e.g. {mon-fri: ['09:00-12:30', '13:30-17:00']}",
                "anyOf": [
                    {"type": "string"},
                    {
                        "type": "object",
                        "additionalProperties": {
                            "anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]
                        },
                    },
                ],
            }
        ),
    ]
    holidays: HolidaysModel | None = None

    @field_validator("timezone")
    @classmethod
    def _known_time_zone(cls, value: str | None) -> str | None:
        if value is not None and value.strip() not in _time_zones():
            raise ValueError(
                f"unknown time zone '{value}'{did_you_mean(value, _time_zones())} "
                "(use an IANA name such as Europe/Berlin, America/New_York or UTC)"
            )
        return value


# -------------------------------------------------------------------------------------- tiers


class TargetsModel(StrictModel):
    """Business-time targets of one severity; a metric left out is not tracked."""

    first_response: Duration | None = None
    next_response: Duration | None = None
    periodic_update: Duration | None = None
    resolution: Duration | None = None


class ClockModel(StrictModel):
    """How one metric's clock behaves for a tier."""

    pause_on: list[Status] | None = Field(
        default=None, description="statuses that pause the clock (default: pending, on_hold for resolution)"
    )
    on_reopen: ReopenMode = Field(default=ReopenMode.RESUME, description="resume or restart after a reopen")

    @field_validator("pause_on")
    @classmethod
    def _pausable(cls, value: list[Status] | None) -> list[Status] | None:
        if value is not None:
            stopping = [status.value for status in value if status.is_done]
            if stopping:
                them = "it" if len(stopping) == 1 else "them"
                verb = "stops" if len(stopping) == 1 else "stop"
                raise ValueError(
                    f"{' and '.join(stopping)} {verb} the clock and cannot pause it; remove {them}"
                )
        return value


class ServiceCreditModel(StrictModel):
    """Service credit owed per breached ticket, as a percent of the monthly fee, capped."""

    per_breach: Percent
    cap: Percent
    metrics: list[Metric] = Field(default_factory=lambda: [Metric.FIRST_RESPONSE, Metric.RESOLUTION])

    @field_validator("cap")
    @classmethod
    def _cap_covers_one_breach(cls, cap: float, info: ValidationInfo) -> float:
        per_breach = info.data.get("per_breach")
        if per_breach is not None and cap < per_breach:
            raise ValueError(f"cap ({cap:g}%) is below per_breach ({per_breach:g}%); raise the cap")
        return cap


class TierModel(StrictModel):
    label: str | None = Field(default=None, description="shown to agents; defaults to the name")
    calendar: Name = Field(description="a calendar name from calendars, or 24x7")
    targets: dict[str, TargetsModel] = Field(description="severity -> metric -> duration")
    warnings: list[WarningThreshold] = Field(default_factory=list)
    escalation: Name | None = Field(default=None, description="an escalation chain name")
    clocks: dict[Metric, ClockModel] = Field(default_factory=dict)
    monthly_allowance: int | None = Field(default=None, ge=1, description="tickets per month included")
    service_credit: ServiceCreditModel | None = None
    opening_comment_is_reply: bool = Field(
        default=False,
        description="true: an agent's public opening comment (a ticket an agent logged, e.g. a phone "
        "call) answers first response and starts periodic updates; default false: the agent's next "
        "public reply does, as Zendesk's first reply time",
    )


# -------------------------------------------------------------------------------------- rules


_PRIORITY_NAMES = [priority.value for priority in Priority]
Priorities = Annotated[
    list[Priority],
    BeforeValidator(_as_list),
    WithJsonSchema(
        {
            "description": "one priority or a list; any of them matches",
            "anyOf": [
                {"enum": _PRIORITY_NAMES},
                {"type": "array", "items": {"enum": _PRIORITY_NAMES}, "minItems": 1},
            ],
        }
    ),
]


class WhenModel(StrictModel):
    """Conditions of a rule: all must hold; a list of values means any of them."""

    organization_name: Values | None = None
    organization_id: Values | None = None
    organization_external_id: Values | None = None
    organization_tags: Values | None = None
    requester_domain: Values | None = None
    tags: Values | None = None
    fields: dict[str, Values] | None = Field(default=None, description="logical field name -> value(s)")
    priority: Priorities | None = None
    brand: Values | None = Field(default=None, description="Zendesk brand")
    project: Values | None = Field(default=None, description="Jira project key")
    connection: Values | None = None
    subject_matches: RegexText | None = None
    description_matches: RegexText | None = None

    @field_validator("requester_domain")
    @classmethod
    def _domains(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        domains = [domain.lower().removeprefix("@") for domain in value]
        for domain in domains:
            if "@" in domain or "." not in domain:
                raise ValueError(
                    f"'{domain}' is not an e-mail domain; write the part after @, e.g. example.com"
                )
        return domains


class CustomerRuleModel(StrictModel):
    name: str | None = Field(default=None, description="shown by tierdesk explain; defaults to 'rule N'")
    tier: Name
    when: WhenModel | None = Field(default=None, description="no conditions = every customer")
    calendar: Name | None = Field(
        default=None, description="overrides the tier's calendar for these customers"
    )


class CustomersModel(StrictModel):
    """Customer -> tier: the first matching rule wins; unmatched customers get `default_tier`."""

    default_tier: Name
    rules: list[CustomerRuleModel] = Field(default_factory=list)


class TriageRuleModel(StrictModel):
    name: str | None = None
    severity: Name
    when: WhenModel | None = None


class TriageModel(StrictModel):
    """Ticket -> severity: the first matching rule wins; otherwise `default_severity`."""

    default_severity: Name
    rules: list[TriageRuleModel] = Field(default_factory=list)


# -------------------------------------------------------------------------------- escalations

ACTION_KEYS = (
    "add_tags",
    "remove_tags",
    "raise_priority",
    "assign_group",
    "assign_assignee",
    "add_followers",
    "note",
    "notify",
)


class NotifyModel(StrictModel):
    """A notification through a channel of `notifications.yaml` (Slack, Teams, e-mail, ...)."""

    channel: Name = Field(description="a channel under `channels:` (notifications.yaml)")
    to: Values | None = Field(
        default=None, description="recipients (e-mail addresses, @handles), added to the channel's URL"
    )
    message: MessageTemplate | None = Field(
        default=None, description="text (default: metric, target, due, link)"
    )


class ActionModel(StrictModel):
    """One action; write one key per list item."""

    add_tags: Values | None = None
    remove_tags: Values | None = None
    raise_priority: Priority | None = None
    assign_group: str | None = Field(default=None, description="helpdesk group id")
    assign_assignee: str | None = Field(default=None, description="helpdesk user id")
    add_followers: Values | None = Field(default=None, description="helpdesk user id(s)")
    note: NoteTemplate | None = None
    notify: NotifyModel | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> ActionModel:
        given = [key for key in ACTION_KEYS if getattr(self, key) is not None]
        if not given:
            raise ValueError(f"an action needs one of: {', '.join(ACTION_KEYS)}")
        if len(given) > 1:
            raise ValueError(
                f"one action per list item: split {' and '.join(given)} into separate items ('- ')"
            )
        return self


class LevelModel(StrictModel):
    """When a level fires: `at` a threshold (`at: 0%` = on arrival), `on_arrival: true` (once per
    ticket and tier, when it first gets the tier), or `after` the breach (optionally `repeat`
    every duration, at most `times` occurrences)."""

    at: LevelThreshold | None = None
    on_arrival: bool = False
    after: Duration | None = Field(default=None, description="time after the breach, e.g. 1h")
    repeat: Duration | None = Field(default=None, description="with after: fire again every duration")
    times: int = Field(default=12, ge=1, le=100, description="with repeat: at most this many occurrences")
    name: str | None = None
    metrics: list[Metric] | None = Field(default=None, description="only these metrics (default: all)")
    actions: list[ActionModel] = Field(min_length=1)

    @model_validator(mode="before")
    @classmethod
    def _zero_is_arrival(cls, data: Any) -> Any:
        if isinstance(data, dict) and str(data.get("at", "")).strip() in ("0%", "0", "0.0%"):
            data = {key: value for key, value in data.items() if key != "at"}
            data["on_arrival"] = True
        return data

    @model_validator(mode="after")
    def _one_trigger(self) -> LevelModel:
        given = [
            name
            for name, present in (
                ("at", self.at is not None),
                ("on_arrival", self.on_arrival),
                ("after", self.after),
            )
            if present
        ]
        if len(given) != 1:
            raise ValueError(
                "a level needs exactly one of at: (50%, '30m before', breach, 0%), on_arrival: true or "
                f"after: (e.g. 1h after the breach); given: {', '.join(given) or 'none'}"
            )
        if self.on_arrival and self.metrics is not None:
            raise ValueError("an on_arrival level runs once per ticket, not per metric: remove metrics:")
        if self.repeat is not None and self.after is None:
            raise ValueError("repeat: goes with after: (e.g. after: 1h, repeat: 4h)")
        if self.after is not None and self.after <= timedelta(0):
            raise ValueError(
                "after: must be a positive duration (e.g. 1h); use at: breach for the breach itself"
            )
        if self.repeat is not None and self.repeat < timedelta(minutes=5):
            raise ValueError("repeat: must be at least 5m")
        return self

    @property
    def trigger(self) -> str:
        """What the level fires at, as a stable text (`50%`, `on_arrival`, `after:1h`)."""
        if self.on_arrival:
            return "on_arrival"
        if self.after is not None:
            return f"after:{format_duration(self.after)}"
        return self.at or ""


class ChainModel(StrictModel):
    playbook: str | None = Field(default=None, description="link for agents, available as {playbook}")
    levels: list[LevelModel] = Field(min_length=1)

    @field_validator("playbook")
    @classmethod
    def _link(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^https?://\S+$", value.strip()):
            raise ValueError("playbook must be an http(s) link, e.g. https://wiki.example.com/playbooks/sla")
        return value


# -------------------------------------------------------------------------- writeback, connections

WritebackField = Literal["tier", "sla_due", "sla_state"]
_WRITEBACK_FIELDS: tuple[WritebackField, ...] = ("tier", "sla_due", "sla_state")


class WritebackModel(StrictModel):
    tag_prefix: str = Field(default="", description="prefix for tier_/sev_/sla_ tags")
    priority_from_severity: dict[str, Priority] = Field(default_factory=dict)
    priority_mode: Literal["raise_only", "enforce"] = "raise_only"
    fields: list[WritebackField] = Field(default_factory=lambda: list(_WRITEBACK_FIELDS))
    notes: bool = True

    @field_validator("tag_prefix")
    @classmethod
    def _tag_safe(cls, value: str) -> str:
        if value and not re.match(r"^[a-z0-9][a-z0-9_-]*$", value):
            raise ValueError("tag_prefix may hold lower-case letters, digits, '-' and '_' only")
        return value


_ENV_NAME_RE = re.compile(r"^[A-Z_][A-Z0-9_]*$")


def _env_name(value: str) -> str:
    # The value is never echoed: it may be the secret itself.
    if _ENV_NAME_RE.match(value):
        return value
    if "://" in value:
        raise ValueError(
            "this looks like a URL; URLs carry tokens: put it in an environment variable and write "
            "the variable's name here (e.g. TIERDESK_SLACK_URL)"
        )
    if "@" in value:
        raise ValueError(
            "this looks like a literal e-mail address; put it in an environment variable "
            "and write the variable's name here (e.g. ZENDESK_EMAIL)"
        )
    if len(value) >= 16 or re.search(r"[a-z].*\d|\d.*[a-z]", value):
        raise ValueError(
            "this looks like a literal secret; never write credentials in mappings: put it in an "
            "environment variable and write the variable's name here (e.g. ZENDESK_TOKEN)"
        )
    raise ValueError("expected an environment variable name: upper-case letters, digits and '_'")


EnvName = Annotated[
    str,
    AfterValidator(_env_name),
    WithJsonSchema(
        {"type": "string", "pattern": "^[A-Z_][A-Z0-9_]*$", "description": "environment variable name"}
    ),
]


class FieldByName(StrictModel):
    """A field named as the helpdesk shows it (e.g. `{name: "Customer tier"}`); tierdesk looks up
    its id when the worker or a sync starts."""

    name: str = Field(min_length=1, description="the field's title in Zendesk / name in Jira")


class GroupByName(StrictModel):
    """A group named as the helpdesk shows it (e.g. `{group: "Duty managers"}`), looked up at start."""

    group: str = Field(min_length=1, description="the group's name")


class UserByName(StrictModel):
    """A person named by e-mail address or display name (e.g. `{user: "sla-watcher@example.com"}`),
    looked up at start."""

    user: str = Field(min_length=1, description="the agent's e-mail address or name")


def _field_reference(value: Any) -> Any:
    if isinstance(value, dict) and set(value) != {"name"}:
        keys = ", ".join(sorted(str(key) for key in value))
        raise ValueError(
            f'write the field\'s id, or its name as {{name: "Customer tier"}} (not {{{keys}: ...}})'
        )
    return value


def _alias_reference(value: Any) -> Any:
    if isinstance(value, dict) and set(value) not in ({"group"}, {"user"}):
        keys = ", ".join(sorted(str(key) for key in value))
        raise ValueError(
            'write an id, {group: "Duty managers"} or {user: "watcher@example.com"} '
            f"(not {{{keys}: ...}})"
        )
    return value


FieldReference = Annotated[str | FieldByName, BeforeValidator(_field_reference)]
AliasReference = Annotated[str | GroupByName | UserByName, BeforeValidator(_alias_reference)]


class ConnectionModel(StrictModel):
    name: Name
    kind: Literal["zendesk", "jira"]
    url: str = Field(description="the helpdesk's base URL, e.g. https://example.zendesk.com")
    email_env: EnvName | None = Field(default=None, description="env variable holding the API user's e-mail")
    token_env: EnvName | None = Field(default=None, description="env variable holding the API token")
    fields: dict[str, FieldReference] = Field(
        default_factory=dict,
        description="logical field name -> helpdesk field id, or {name: <the field's name>}",
    )
    status_map: dict[str, Status] = Field(default_factory=dict, description="helpdesk status -> canonical")
    priority_map: dict[str, Priority] = Field(
        default_factory=dict, description="helpdesk priority -> canonical"
    )
    projects: list[str] = Field(
        default_factory=list, validate_default=True, description="Jira project keys to sync"
    )
    aliases: dict[str, AliasReference] = Field(
        default_factory=dict,
        description="names used by escalation actions (groups, assignees, followers) -> this helpdesk's id, "
        "{group: <name>} or {user: <e-mail or name>}; '-' skips that action on this connection",
    )
    pull_interval: Duration = Field(default=timedelta(seconds=60))
    options: dict[str, str] = Field(default_factory=dict)
    webhook_secret_env: EnvName | None = Field(
        default=None,
        description="env variable holding the webhook signing secret; set it to accept signed webhooks",
    )
    webhook_path: str | None = Field(
        default=None,
        pattern=r"^/[A-Za-z0-9._~/-]*$",
        description="path the worker's webhook port serves this connection on (default /webhooks/<name>)",
    )

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        match = re.match(r"^(https?)://([^/\s?#]+)(\S*)$", value.strip())
        if match is None:
            raise ValueError("url must be an http(s) URL, e.g. https://example.zendesk.com")
        if "@" in match.group(2):
            raise ValueError(
                "the url holds credentials; remove them and name environment variables with "
                "email_env / token_env"
            )
        if re.search(r"[?&](token|key|password|secret)", match.group(3), re.IGNORECASE):
            raise ValueError(
                "the url holds a secret in its query; name an environment variable with token_env"
            )
        return value.strip().rstrip("/")

    @field_validator("options")
    @classmethod
    def _no_secret_options(cls, value: dict[str, str]) -> dict[str, str]:
        for key in value:
            if re.search(r"token|password|secret|api_?key", key, re.IGNORECASE):
                raise ValueError(
                    f"option '{key}' looks like a credential; never write credentials in mappings: "
                    "name an environment variable with token_env instead"
                )
        return value

    @field_validator("pull_interval")
    @classmethod
    def _sane_interval(cls, value: timedelta) -> timedelta:
        if value < timedelta(seconds=10):
            raise ValueError("pull_interval must be at least 10s (helpdesk APIs rate-limit)")
        return value

    @field_validator("projects")
    @classmethod
    def _projects_for_jira(cls, value: list[str], info: ValidationInfo) -> list[str]:
        # A field validator, not a model one: it runs (and reports) even when another key is bad.
        kind = info.data.get("kind")
        if kind == "jira" and not value:
            raise ValueError("a jira connection needs projects: the Jira project keys to sync, e.g. [SUP]")
        if kind == "zendesk" and value:
            raise ValueError("projects are Jira project keys; for Zendesk use brand conditions in rules")
        return value


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(
            "effective_from needs a time and a UTC offset, e.g. 2026-12-07T00:00:00+01:00 or ...Z"
        )
    return datetime.fromtimestamp(value.timestamp(), value.tzinfo)  # a plain datetime, same instant


class ChangesModel(StrictModel):
    """When this version of the mappings takes effect, and for which clocks."""

    effective_from: Annotated[datetime, AfterValidator(_aware)] | None = Field(
        default=None,
        description="the instant this version's targets, warnings, calendars and clock settings take "
        "effect (default: when a worker first runs it)",
    )
    apply_to: Literal["new", "running"] = Field(
        default="new",
        description="new: clocks that start from effective_from; running: also clocks still running "
        "then (decided clocks never change)",
    )

    @field_validator("effective_from", mode="before")
    @classmethod
    def _not_a_date(cls, value: Any) -> Any:
        if not isinstance(value, datetime) and hasattr(value, "isoformat") and not isinstance(value, str):
            raise ValueError(
                "effective_from needs a time and a UTC offset, e.g. 2026-12-07T00:00:00+01:00 or ...Z"
            )
        return value


# ------------------------------------------------------------------------------- notifications


class ChannelModel(StrictModel):
    """A notification channel: an Apprise URL (slack://, msteams://, mailto://, json://, ...) read
    from the environment variable `url_env` when a notification is sent; never the URL itself."""

    url_env: EnvName
    include_notes: bool = Field(
        default=False, description="send the level's internal note text too (off: it stays in the helpdesk)"
    )
    on_uncertain: Literal["skip", "resend"] = Field(
        default="skip",
        description="after a crash mid-send: skip (at most once, chat) or resend (at least once, "
        "for receivers that drop repeats of the X-Tierdesk-Key header)",
    )


# ------------------------------------------------------------------------------ the whole file


class MappingsFile(StrictModel):
    """One `mappings/*.yaml` file: any of the sections, each in one file only."""

    model_config = ConfigDict(title="tierdesk mappings file")

    calendars: (
        dict[Name, Annotated[CalendarModel | str, Field(description="a calendar, or '24x7'")]] | None
    ) = None
    severities: list[Name] | None = Field(default=None, description="most severe first")
    tiers: dict[Name, TierModel] | None = None
    customers: CustomersModel | None = None
    triage: TriageModel | None = None
    escalations: dict[Name, ChainModel] | None = None
    writeback: WritebackModel | None = None
    connections: list[ConnectionModel] | None = None
    changes: ChangesModel | None = None
    channels: dict[Name, ChannelModel] | None = None
