"""The result of validating the mappings: the checked sections a `Policy` is built from."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from connector.domain.calendar import BusinessCalendar
from connector.mappings.accounts import CheckedAccount
from connector.mappings.connection_models import ChannelModel, ConnectionModel, WritebackModel
from connector.mappings.errors import MappingError
from connector.mappings.models import ChangesModel
from connector.mappings.ola_models import OlaModel
from connector.mappings.rule_models import (
    CustomerRuleModel,
    TriageRuleModel,
    WhenModel,
)
from connector.mappings.tier_models import ChainModel, TierModel


@dataclass(frozen=True, slots=True)
class CheckedRule:
    index: int
    name: str
    result: str
    when: WhenModel | None
    model: CustomerRuleModel | TriageRuleModel
    source: str  # "file:line"
    calendar: str | None = None


@dataclass(frozen=True, slots=True)
class Checked:
    """The validated mappings, ready to become a `Policy` (only produced when there are no errors)."""

    calendars: dict[str, BusinessCalendar]
    severities: list[str]
    tiers: dict[str, TierModel]
    default_tier: str
    customer_rules: list[CheckedRule]
    default_severity: str
    triage_rules: list[CheckedRule]
    chains: dict[str, ChainModel]
    writeback: WritebackModel
    connections: list[ConnectionModel]
    changes: ChangesModel
    channels: dict[str, ChannelModel] = field(default_factory=dict)
    olas: dict[str, OlaModel] = field(default_factory=dict)
    ola_sources: dict[str, str] = field(default_factory=dict)  # name -> file:line
    # (connection, section, key) -> where a field / alias given by name is written
    named_at: dict[tuple[str, str, str], MappingError] = field(default_factory=dict)
    # holiday feed texts read, by source: kept with the policy version (`ics_feeds`)
    feeds_used: dict[str, str] = field(default_factory=dict)
    feed_refresh: dict[str, timedelta] = field(default_factory=dict)  # URL feed -> refresh interval
    # (tier, index) -> "file:line" of each manual exemption / pause
    manual_sources: dict[tuple[str, int], str] = field(default_factory=dict)
    accounts: dict[str, CheckedAccount] = field(default_factory=dict)
