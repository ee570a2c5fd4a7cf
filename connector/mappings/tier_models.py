"""Mapping models of calendars, tiers (targets, clocks, service credits) and escalation chains."""

from __future__ import annotations

import re
import zoneinfo
from datetime import timedelta
from functools import lru_cache
from typing import Annotated, Any

from pydantic import (
    Discriminator,
    Field,
    Tag,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from connector.domain.model import Priority, Status
from connector.domain.policy import Metric, ReopenMode
from connector.mappings.condition_models import ManualConditionModel, SeverityClockModel, TargetFromModel
from connector.mappings.errors import did_you_mean
from connector.mappings.field_types import (
    Duration,
    LevelThreshold,
    MessageTemplate,
    Name,
    NoteTemplate,
    Percent,
    StrictModel,
    Values,
    WarningThreshold,
)
from connector.mappings.values import format_duration

# ---------------------------------------------------------------------------------- calendars


@lru_cache(maxsize=1)
def _time_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


class IcsFeedModel(StrictModel):
    """A holiday feed with its own refresh interval: `{url: https://..., refresh: 6h}`."""

    url: str = Field(description="an http(s) URL, or a file relative to the mappings directory")
    refresh: Duration | None = Field(
        default=None, description="how often a running worker fetches the URL again (default 24h)"
    )


def _feed_kind(value: Any) -> str:
    # one branch per shape, so a mistake is reported once for what was written, not per branch
    return "list" if isinstance(value, list) else "feed" if isinstance(value, dict) else "source"


IcsFeed = Annotated[
    Annotated[str, Tag("source")] | Annotated[IcsFeedModel, Tag("feed")], Discriminator(_feed_kind)
]


class HolidaysModel(StrictModel):
    """Public holidays of a country (and subdivision) from the `holidays` package, plus dates."""

    country: str | None = Field(default=None, description="ISO 3166 code, e.g. DE, US, GB")
    subdivision: str | None = Field(default=None, description="e.g. BE (Berlin) for DE, CA for US")
    dates: list[Any] = Field(default_factory=list, description="extra closed days, YYYY-MM-DD")
    ics: (
        Annotated[
            Annotated[str, Tag("source")]
            | Annotated[IcsFeedModel, Tag("feed")]
            | Annotated[list[IcsFeed], Tag("list")],
            Discriminator(_feed_kind),
        ]
        | None
    ) = Field(
        default=None,
        description="iCalendar feeds whose all-day events are closed days: a file (relative to the "
        "mappings directory) or an http(s) URL ({url, refresh} to set how often it is fetched "
        "again), or a list of them",
    )


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
    calendar: Name | None = Field(
        default=None, description="this metric's calendar (24x7 = calendar hours); default the tier's"
    )
    target_from: TargetFromModel | None = None

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
    severity_clocks: dict[str, dict[Metric, SeverityClockModel]] = Field(
        default_factory=dict, description="severity -> metric -> clock settings replacing clocks: for it"
    )
    manual: list[ManualConditionModel] = Field(
        default_factory=list, description="manual exemptions and pauses by tag or field, with a reason"
    )
    monthly_allowance: int | None = Field(default=None, ge=1, description="tickets per month included")
    service_credit: ServiceCreditModel | None = None
    target_adherence: Percent | None = Field(
        default=None,
        description="the share of clock cycles meant to be met (e.g. 95%); reports draw it as the goal line",
    )
    opening_comment_is_reply: bool = Field(
        default=False,
        description="true: an agent's public opening comment (a ticket an agent logged, e.g. a phone "
        "call) answers first response and starts periodic updates; default false: the agent's next "
        "public reply does, as Zendesk's first reply time",
    )


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
