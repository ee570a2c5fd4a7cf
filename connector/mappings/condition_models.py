"""Mapping models of a tier's clock conditions: per-severity clock settings, a target read from a
ticket field, and manual exemptions or pauses by tag or field value."""

from __future__ import annotations

from pydantic import Field, field_validator, model_validator

from connector.domain.model import Status
from connector.domain.policy import Metric, ReopenMode, TargetKind
from connector.mappings.field_types import Name, StrictModel, Values


class TargetFromModel(StrictModel):
    """A metric's target taken from a ticket field; the configured target is the fallback."""

    field: str = Field(description="logical field name (mapped under a connection's fields) or a field id")
    kind: TargetKind = Field(
        description="hours: a number of hours on the metric's calendar (e.g. 6); date: a negotiated "
        "due date (YYYY-MM-DD, the end of that day, or an ISO 8601 instant)"
    )


class SeverityClockModel(StrictModel):
    """Clock settings of one metric for one severity; what is left out comes from `clocks:`."""

    pause_on: list[Status] | None = Field(
        default=None, description="statuses that pause the clock ([] = none)"
    )
    on_reopen: ReopenMode | None = Field(default=None, description="resume or restart after a reopen")
    calendar: Name | None = Field(default=None, description="a calendar name, or 24x7 for calendar hours")
    target_from: TargetFromModel | None = None

    @field_validator("pause_on")
    @classmethod
    def _pausable(cls, value: list[Status] | None) -> list[Status] | None:
        stopping = [status.value for status in value or () if status.is_done]
        if stopping:
            them, verb = ("it", "stops") if len(stopping) == 1 else ("them", "stop")
            raise ValueError(f"{' and '.join(stopping)} {verb} the clock and cannot pause it; remove {them}")
        return value


class ManualWhenModel(StrictModel):
    """The ticket has the tag, or the field has one of the values (case-insensitive)."""

    tag: str | None = None
    field: str | None = Field(default=None, description="logical field name or field id")
    values: Values | None = Field(default=None, description="with field: any of these values")

    @model_validator(mode="after")
    def _tag_or_field(self) -> ManualWhenModel:
        if (self.tag is None) == (self.field is None):
            raise ValueError("give either tag: (e.g. tag: exempt_sla) or field: with values:")
        if self.field is not None and not self.values:
            raise ValueError(f"field: {self.field} needs values: (e.g. values: [vendor])")
        if self.tag is not None and self.values is not None:
            raise ValueError("values: goes with field:, not with tag:; remove values:")
        return self


class ManualConditionModel(StrictModel):
    """A manual exemption (`exempt:`: the metric is not measured) or pause (`pause:`: the clock
    stops while the condition holds), with the reason `tierdesk explain` shows."""

    exempt: ManualWhenModel | None = None
    pause: ManualWhenModel | None = None
    reason: str = Field(description="why, shown by tierdesk explain")
    metrics: list[Metric] | None = Field(default=None, description="only these metrics (default: all)")

    @field_validator("reason")
    @classmethod
    def _said(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("say why (it is shown by tierdesk explain), e.g. reason: credited separately")
        return value

    @model_validator(mode="after")
    def _one_effect(self) -> ManualConditionModel:
        if (self.exempt is None) == (self.pause is None):
            raise ValueError(
                "a manual condition needs exactly one of exempt: or pause: (e.g. exempt: {tag: exempt_sla})"
            )
        return self

    @property
    def when(self) -> ManualWhenModel:
        found = self.exempt or self.pause
        assert found is not None
        return found
