"""The shape of `mappings/*.yaml` as pydantic models; also the source of `tierdesk schema`.

Every model forbids unknown keys, so a typo is reported instead of silently ignored. Values in the
small languages of `values.py` (durations, thresholds, percentages) are parsed here, so a bad one is
reported at its own line.

The sections' models live beside this module (`tier_models`, `rule_models`, `connection_models`,
their field types in `field_types`); this one holds the whole file and its `changes` section.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, ConfigDict, Field, field_validator

from connector.mappings.account_models import AccountModel
from connector.mappings.connection_models import ChannelModel, ConnectionModel, WritebackModel
from connector.mappings.field_types import Name, StrictModel
from connector.mappings.rule_models import CustomersModel, TriageModel
from connector.mappings.tier_models import CalendarModel, ChainModel, TierModel


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
    accounts: dict[Name, AccountModel] | None = Field(
        default=None, description="customer accounts: organizations across connections, tier, contract terms"
    )
