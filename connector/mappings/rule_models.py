"""Mapping models of the rules: customer -> tier (`customers`) and ticket -> severity (`triage`)."""

from __future__ import annotations

from pydantic import Field, field_validator

from connector.mappings.field_types import Name, Priorities, RegexText, StrictModel, Values

# -------------------------------------------------------------------------------------- rules


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
