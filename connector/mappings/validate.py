"""Validation of the merged sections: shape (pydantic), then references and rule reachability.

Each calendar, tier, chain, rule and connection is validated on its own, so one broken entry does
not hide the problems of the others; references are checked against every *named* entry, valid or
not, so a broken tier is reported once rather than once per rule that uses it.
"""

from __future__ import annotations

from connector.domain.calendar import BUILTIN_CALENDARS
from connector.mappings.accounts import check_accounts
from connector.mappings.calendar_sections import CalendarSections
from connector.mappings.checked import Checked, CheckedRule
from connector.mappings.condition_check import condition_problems
from connector.mappings.connection_sections import ConnectionSections
from connector.mappings.errors import Issue
from connector.mappings.loader import Sections
from connector.mappings.notifications import check_channels, notify_references, repeated_notifications
from connector.mappings.ola_models import alias_names, check_olas
from connector.mappings.rule_models import (
    CustomerRuleModel,
    CustomersModel,
    TriageModel,
    TriageRuleModel,
)
from connector.mappings.rule_sections import RuleSections

__all__ = ["Checked", "CheckedRule", "validate"]


class _Validation(CalendarSections, RuleSections, ConnectionSections):
    """Every section check, run in order by `validate`."""


def validate(sections: Sections) -> tuple[Checked | None, list[Issue]]:
    """Validate every section; return the checked mappings (None if any error) and the issues."""
    run = _Validation(sections)
    calendars = run.calendars()
    severities = run.severities()
    tiers = run.tiers(calendars)
    chains = run.chains()
    writeback = run.writeback()
    connections = run.connections(writeback)
    changes = run.changes()
    channels = check_channels(run.mapping("channels"), run.model)
    olas = check_olas(
        run.mapping("olas"),
        run.model,
        run.report,
        run.names("calendars", BUILTIN_CALENDARS),
        alias_names(run.sections),
    )
    for loc, channel in notify_references(chains):
        run.reference(loc, "notification channel", channel, run.names("channels"))
    for loc, message in repeated_notifications(chains):
        run.report(loc, message)
    fields = run.mapped_fields()
    customers, customer_rules, customer_references = run.rules("customers", CustomersModel, CustomerRuleModel)
    triage, triage_rules, triage_references = run.rules("triage", TriageModel, TriageRuleModel)
    tier_names = run.names("tiers")
    severity_names = run.names("severities")
    if isinstance(customers, CustomersModel):
        run.reference(("customers", "default_tier"), "tier", customers.default_tier, tier_names)
    if isinstance(triage, TriageModel):
        run.reference(("triage", "default_severity"), "severity", triage.default_severity, severity_names)
    run.rule_references("customers", customer_references, "tier", tier_names, fields)
    run.rule_references("triage", triage_references, "severity", severity_names, fields)
    calendar_names = run.names("calendars", BUILTIN_CALENDARS)
    prefix = writeback.tag_prefix if writeback is not None else ""
    for loc, message, anchor in condition_problems(tiers, calendar_names, severity_names, fields, prefix):
        run.report(loc, message, anchor)
    manual_sources = {
        (name, index): sections.source(("tiers", name, "manual", index))
        for name, tier in tiers.items()
        for index in range(len(tier.manual))
    }
    accounts = check_accounts(run, run.sections.source, run.names, BUILTIN_CALENDARS)
    run.required_sections()

    if (
        run.issues
        or not isinstance(customers, CustomersModel)
        or not isinstance(triage, TriageModel)
        or writeback is None
        or changes is None
    ):
        return None, run.issues
    checked = Checked(
        calendars=calendars,
        severities=severities,
        tiers=tiers,
        default_tier=customers.default_tier,
        customer_rules=customer_rules,
        default_severity=triage.default_severity,
        triage_rules=triage_rules,
        chains=chains,
        writeback=writeback,
        connections=connections,
        changes=changes,
        channels=channels,
        olas=olas,
        ola_sources={name: sections.source(("olas", name)) for name in olas},
        named_at=run.named_at,
        feeds_used=dict(run.feeds.used),
        feed_refresh=dict(run.feeds.refresh),
        manual_sources=manual_sources,
        accounts=accounts,
    )
    return checked, []
