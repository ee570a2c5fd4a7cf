"""Mapping models of `accounts:` (mappings/accounts.yaml): customer accounts, the organizations
they link in each connection, and their effective-dated contract terms."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Annotated, Any

from pydantic import Field, WithJsonSchema, field_validator, model_validator

from connector.domain.policy import Metric
from connector.mappings.field_types import Duration, Name, Percent, StrictModel

_CURRENCY_RE = re.compile(r"^[A-Z]{3}$")
# YAML reads an unquoted 2026-01-01 as a date, which JSON Schema has no type for
Day = Annotated[date, WithJsonSchema({"description": "a date, YYYY-MM-DD (e.g. 2026-01-01)"})]


class OrganizationLinkModel(StrictModel):
    """One organization of the account in one connection, named one way."""

    connection: Name = Field(description="a connection name from connections")
    id: str | int | None = Field(default=None, description="the helpdesk's organization id")
    external_id: str | None = Field(default=None, description="the organization's external id (Zendesk)")
    name: str | None = Field(default=None, description="the organization's name (case-insensitive)")
    domain: str | None = Field(
        default=None, description="requester e-mail domain: tickets from it belong to the account"
    )

    @model_validator(mode="after")
    def _exactly_one(self) -> OrganizationLinkModel:
        given = [key for key in ("id", "external_id", "name", "domain") if getattr(self, key) is not None]
        if len(given) != 1:
            raise ValueError(
                "name the organization one way: exactly one of id, external_id, name or domain; "
                f"given: {', '.join(given) or 'none'}"
            )
        if self.domain is not None and ("@" in self.domain.strip("@") or "." not in self.domain):
            raise ValueError(
                f"'{self.domain}' is not an e-mail domain; write the part after @, e.g. example.com"
            )
        return self

    @property
    def by(self) -> str:
        return next(key for key in ("id", "external_id", "name", "domain") if getattr(self, key) is not None)

    @property
    def value(self) -> str:
        return str(getattr(self, self.by)).strip().removeprefix("@")


class ContractTargetsModel(StrictModel):
    """Target overrides of one severity; a metric left out keeps the tier's target."""

    first_response: Duration | None = None
    next_response: Duration | None = None
    periodic_update: Duration | None = None
    resolution: Duration | None = None


class CreditBandModel(StrictModel):
    below: Percent = Field(description="adherence below this earns the band's credit, e.g. 99%")
    credit: Percent = Field(description="percent of the monthly fee")


class ContractCreditModel(StrictModel):
    """Service credit: `per_breach` percent of the monthly fee per breached cycle, or `bands` by the
    month's adherence; capped at `cap` percent."""

    per_breach: Percent | None = None
    bands: list[CreditBandModel] | None = None
    cap: Percent
    metrics: list[Metric] = Field(default_factory=lambda: [Metric.FIRST_RESPONSE, Metric.RESOLUTION])

    @model_validator(mode="after")
    def _one_kind(self) -> ContractCreditModel:
        if (self.per_breach is None) == (self.bands is None):
            raise ValueError("a credit is per_breach: or bands:, exactly one of them")
        if self.per_breach is not None and self.cap < self.per_breach:
            raise ValueError(f"cap ({self.cap:g}%) is below per_breach ({self.per_breach:g}%); raise the cap")
        if self.bands is not None and not self.bands:
            raise ValueError("bands: needs at least one band, e.g. [{below: 99%, credit: 5%}]")
        return self


class CeilingModel(StrictModel):
    tickets: int | None = Field(default=None, ge=1)
    hours: float | None = Field(default=None, gt=0)


class AllowanceModel(StrictModel):
    """What a month includes: tickets and/or hours (time tracked on the helpdesk), and a ceiling."""

    tickets: int | None = Field(default=None, ge=1, description="tickets per month included")
    hours: float | None = Field(default=None, gt=0, description="tracked hours per month included")
    ceiling: CeilingModel | None = Field(
        default=None, description="the most a month may use; tickets beyond it are flagged over the ceiling"
    )

    @model_validator(mode="after")
    def _something(self) -> AllowanceModel:
        if self.tickets is None and self.hours is None:
            raise ValueError("an allowance needs tickets: and/or hours:")
        ceiling = self.ceiling
        if (
            ceiling is not None
            and ceiling.tickets is not None
            and self.tickets is not None
            and ceiling.tickets < self.tickets
        ):
            raise ValueError(
                f"ceiling tickets ({ceiling.tickets}) is below the allowance ({self.tickets}); raise it"
            )
        return self


class ChronicModel(StrictModel):
    months: int = Field(default=3, ge=1, description="over the allowance in this many months ...")
    of_last: int = Field(default=6, ge=1, le=36, description="... of the last this many months")

    @model_validator(mode="after")
    def _fits(self) -> ChronicModel:
        if self.months > self.of_last:
            raise ValueError(f"months ({self.months}) cannot exceed of_last ({self.of_last})")
        return self


class ContractModel(StrictModel):
    """Terms in force from `start` until `end` (or `renewal`, the day the next terms start)."""

    name: str | None = None
    start: Day
    end: Day | None = Field(default=None, description="first day no longer covered")
    renewal: Day | None = Field(default=None, description="the same as end: the next terms start then")
    currency: str = Field(default="EUR", description="ISO 4217 code, e.g. EUR, USD, GBP")
    monthly_fee: Decimal | None = Field(default=None, ge=0, description="credits are a percent of it")
    targets: dict[str, ContractTargetsModel] = Field(
        default_factory=dict, description="severity -> metric -> target override"
    )
    credit: ContractCreditModel | None = None
    allowance: AllowanceModel | None = None
    chronic_overuse: ChronicModel = Field(default_factory=ChronicModel)

    @field_validator("start", "end", "renewal", mode="before")
    @classmethod
    def _a_date(cls, value: Any) -> Any:
        if isinstance(value, str) and not re.match(r"^\d{4}-\d{2}-\d{2}$", value.strip()):
            raise ValueError(f"'{value}' is not a date; write YYYY-MM-DD, e.g. 2026-01-01")
        return value

    @field_validator("currency")
    @classmethod
    def _iso_4217(cls, value: str) -> str:
        if not _CURRENCY_RE.match(value.strip()):
            raise ValueError(f"'{value}' is not an ISO 4217 currency code; write e.g. EUR, USD or GBP")
        return value.strip()

    @field_validator("monthly_fee", mode="before")
    @classmethod
    def _exact(cls, value: Any) -> Any:
        return str(value) if isinstance(value, float) else value  # 0.1 stays 0.1, not its binary value

    @model_validator(mode="after")
    def _period(self) -> ContractModel:
        if self.end is not None and self.renewal is not None:
            raise ValueError("write end: or renewal:, not both")
        end = self.ends
        if end is not None and end <= self.start:
            raise ValueError(f"the contract ends ({end}) on or before it starts ({self.start})")
        return self

    @property
    def ends(self) -> date | None:
        return self.end or self.renewal


class AccountModel(StrictModel):
    name: str | None = Field(default=None, description="shown in reports; defaults to the id")
    tier: Name | None = Field(default=None, description="wins over the customer rules for its organizations")
    calendar: Name | None = Field(default=None, description="replaces the tier's calendar")
    organizations: list[OrganizationLinkModel] = Field(min_length=1)
    contracts: list[ContractModel] = Field(default_factory=list)
