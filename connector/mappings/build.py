"""Checked mappings -> the domain `Policy`, and the policy's content-hash version."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from typing import Any

from connector.domain.model import Priority, Status
from connector.domain.policy import (
    BREACH,
    DEFAULT_METRIC_SETTINGS,
    ActionKind,
    ApplyTo,
    Condition,
    ConditionKind,
    ConnectionConfig,
    EscalationChain,
    EscalationLevel,
    EscalationStep,
    Metric,
    MetricSettings,
    NamedReference,
    Policy,
    Rule,
    ServiceCredit,
    Threshold,
    Tier,
    WritebackSettings,
)
from connector.mappings.accounts import build_accounts
from connector.mappings.build_conditions import manual_conditions, severity_settings, target_from, tier_dump
from connector.mappings.checked import Checked, CheckedRule
from connector.mappings.connection_models import ConnectionModel, FieldByName, GroupByName
from connector.mappings.models import ChangesModel
from connector.mappings.notifications import build_channels
from connector.mappings.ola_models import build_olas
from connector.mappings.rule_models import WhenModel
from connector.mappings.tier_models import ActionModel, ChainModel, TierModel
from connector.mappings.values import threshold_parts

VERSION_LENGTH = 12

_VALUE_CONDITIONS = (
    ("organization_name", ConditionKind.ORGANIZATION_NAME),
    ("organization_id", ConditionKind.ORGANIZATION_ID),
    ("organization_external_id", ConditionKind.ORGANIZATION_EXTERNAL_ID),
    ("organization_tags", ConditionKind.ORGANIZATION_TAG),
    ("requester_domain", ConditionKind.REQUESTER_DOMAIN),
    ("tags", ConditionKind.TAG),
    ("brand", ConditionKind.BRAND),
    ("project", ConditionKind.BRAND),
    ("connection", ConditionKind.CONNECTION),
)


def build_policy(checked: Checked) -> Policy:
    return Policy(
        version=policy_version(checked),
        calendars=dict(checked.calendars),
        tiers={name: _tier(name, model, checked.manual_sources) for name, model in checked.tiers.items()},
        tier_rules=tuple(_rule(rule) for rule in checked.customer_rules),
        default_tier=checked.default_tier,
        severities=tuple(checked.severities),
        severity_rules=tuple(_rule(rule) for rule in checked.triage_rules),
        default_severity=checked.default_severity,
        chains={name: _chain(name, model) for name, model in checked.chains.items()},
        writeback=WritebackSettings(
            tag_prefix=checked.writeback.tag_prefix,
            severity_priority=dict(checked.writeback.priority_from_severity),
            priority_mode=checked.writeback.priority_mode,
            fields=frozenset(checked.writeback.fields),
            notes=checked.writeback.notes,
        ),
        connections=tuple(_connection(model, checked) for model in checked.connections),
        channels=build_channels(checked.channels),
        effective_from=checked.changes.effective_from,
        apply_to=ApplyTo(checked.changes.apply_to),
        olas=build_olas(checked.olas, checked.ola_sources),
        accounts=build_accounts(checked.accounts),
        feed_refresh=dict(checked.feed_refresh),
    )


def canonical(checked: Checked) -> dict[str, Any]:
    """The validated configuration as plain JSON values, independent of how it was written.

    Comments, whitespace, key order, file layout and equivalent spellings (`PT15M` / `15m`,
    `50.0%` / `50%`) do not change it; any change of meaning does.
    """
    return {
        "calendars": {
            name: calendar.to_spec() for name, calendar in checked.calendars.items() if name != "24x7"
        },
        "severities": list(checked.severities),
        "tiers": {name: tier_dump(model) for name, model in checked.tiers.items()},
        "customers": {
            "default_tier": checked.default_tier,
            "rules": [_rule_dump(rule) for rule in checked.customer_rules],
        },
        "triage": {
            "default_severity": checked.default_severity,
            "rules": [_rule_dump(rule) for rule in checked.triage_rules],
        },
        "escalations": {name: _chain_dump(model) for name, model in checked.chains.items()},
        "writeback": checked.writeback.model_dump(mode="json"),
        "connections": [model.model_dump(mode="json") for model in checked.connections],
        **({"changes": checked.changes.model_dump(mode="json")} if checked.changes != ChangesModel() else {}),
        **(
            {"channels": {n: m.model_dump(mode="json") for n, m in checked.channels.items()}}
            if checked.channels
            else {}
        ),
        **({"olas": {n: m.model_dump(mode="json") for n, m in checked.olas.items()}} if checked.olas else {}),
        **(
            {"accounts": {n: a.model.model_dump(mode="json") for n, a in checked.accounts.items()}}
            if checked.accounts
            else {}
        ),
    }


# keys added to levels and actions after versions were first recorded: left out at their defaults,
# so mappings that do not use them keep the version they always had
_LATER_DEFAULTS = {"on_arrival": False, "after": None, "repeat": None, "times": 12, "notify": None}


def _chain_dump(model: ChainModel) -> dict[str, Any]:
    dumped: dict[str, Any] = model.model_dump(mode="json")
    for level in dumped["levels"]:
        for entry in (level, *level["actions"]):
            for key, default in _LATER_DEFAULTS.items():
                if key in entry and entry[key] == default:
                    del entry[key]
    return dumped


def policy_version(checked: Checked) -> str:
    text = json.dumps(canonical(checked), sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode()).hexdigest()[:VERSION_LENGTH]


def _rule_dump(rule: CheckedRule) -> dict[str, Any]:
    dumped: dict[str, Any] = rule.model.model_dump(mode="json")
    dumped["name"] = rule.name
    return dumped


def threshold(label: str) -> Threshold:
    if label == "breach":
        return BREACH
    percent, before = threshold_parts(label)
    return Threshold(label=label, percent=percent, before=before)


def _tier(name: str, model: TierModel, manual_sources: Mapping[tuple[str, int], str]) -> Tier:
    settings = dict(DEFAULT_METRIC_SETTINGS)
    for metric, clock in model.clocks.items():
        pause = settings[metric].pause_statuses if clock.pause_on is None else frozenset(clock.pause_on)
        settings[metric] = MetricSettings(
            pause_statuses=pause,
            on_reopen=clock.on_reopen,
            calendar=clock.calendar,
            target_from=target_from(clock.target_from),
        )
    targets = {
        severity: {
            Metric(metric): value
            for metric, value in (
                ("first_response", metrics.first_response),
                ("next_response", metrics.next_response),
                ("periodic_update", metrics.periodic_update),
                ("resolution", metrics.resolution),
            )
            if value is not None
        }
        for severity, metrics in model.targets.items()
    }
    credit = model.service_credit
    return Tier(
        name=name,
        label=model.label or name.replace("_", " ").replace("-", " ").title(),
        calendar=model.calendar,
        targets=targets,
        warnings=tuple(threshold(label) for label in model.warnings),
        escalation=model.escalation,
        metric_settings=settings,
        monthly_allowance=model.monthly_allowance,
        target_adherence_percent=model.target_adherence,
        opening_comment_is_reply=model.opening_comment_is_reply,
        severity_settings=severity_settings(model, settings),
        manual=manual_conditions(name, model, manual_sources),
        service_credit=None
        if credit is None
        else ServiceCredit(
            percent_per_breach=credit.per_breach,
            cap_percent=credit.cap,
            metrics=frozenset(credit.metrics),
        ),
    )


def _rule(rule: CheckedRule) -> Rule:
    return Rule(
        name=rule.name,
        result=rule.result,
        conditions=_conditions(rule.when),
        source=rule.source,
        calendar=rule.calendar,
    )


def _conditions(when: WhenModel | None) -> tuple[Condition, ...]:
    if when is None:
        return ()
    conditions: list[Condition] = []
    for key, kind in _VALUE_CONDITIONS:
        values = getattr(when, key)
        if values is not None:
            conditions.append(Condition(kind=kind, values=tuple(values)))
    for name, values in (when.fields or {}).items():
        conditions.append(Condition(kind=ConditionKind.FIELD, field=name, values=tuple(values)))
    if when.priority is not None:
        conditions.append(
            Condition(kind=ConditionKind.PRIORITY, values=tuple(priority.value for priority in when.priority))
        )
    if when.subject_matches is not None:
        conditions.append(
            Condition(
                kind=ConditionKind.SUBJECT_REGEX, pattern=re.compile(when.subject_matches, re.IGNORECASE)
            )
        )
    if when.description_matches is not None:
        conditions.append(
            Condition(
                kind=ConditionKind.DESCRIPTION_REGEX,
                pattern=re.compile(when.description_matches, re.IGNORECASE),
            )
        )
    return tuple(conditions)


def _chain(name: str, model: ChainModel) -> EscalationChain:
    return EscalationChain(
        name=name,
        playbook=model.playbook,
        levels=tuple(
            EscalationLevel(
                threshold=threshold(level.at) if level.at else BREACH,
                steps=tuple(_step(action) for action in level.actions),
                metrics=None if level.metrics is None else frozenset(level.metrics),
                name=level.name or level.trigger,
                on_arrival=level.on_arrival,
                after=level.after,
                repeat=level.repeat,
                times=level.times if level.repeat is not None else 1,
            )
            for level in model.levels
        ),
    )


def _step(action: ActionModel) -> EscalationStep:
    if action.add_tags is not None:
        return EscalationStep(ActionKind.ADD_TAGS, values=tuple(action.add_tags))
    if action.remove_tags is not None:
        return EscalationStep(ActionKind.REMOVE_TAGS, values=tuple(action.remove_tags))
    if action.raise_priority is not None:
        return EscalationStep(ActionKind.SET_PRIORITY, value=action.raise_priority.value)
    if action.assign_group is not None:
        return EscalationStep(ActionKind.ASSIGN_GROUP, value=action.assign_group)
    if action.assign_assignee is not None:
        return EscalationStep(ActionKind.ASSIGN_ASSIGNEE, value=action.assign_assignee)
    if action.add_followers is not None:
        return EscalationStep(ActionKind.ADD_FOLLOWERS, values=tuple(action.add_followers))
    if action.notify is not None:
        notify = action.notify
        return EscalationStep(
            ActionKind.NOTIFY, value=notify.channel, values=tuple(notify.to or ()), text=notify.message
        )
    assert action.note is not None  # ActionModel guarantees exactly one key
    return EscalationStep(ActionKind.ADD_NOTE, value=action.note)


def _named(model: ConnectionModel, checked: Checked) -> tuple[NamedReference, ...]:
    named: list[NamedReference] = []
    for section, values in (("fields", model.fields), ("aliases", model.aliases)):
        for key, value in values.items():
            if isinstance(value, str):
                continue
            if isinstance(value, FieldByName):
                kind, name = "field", value.name
            elif isinstance(value, GroupByName):
                kind, name = "group", value.group
            else:
                kind, name = "user", value.user
            where = checked.named_at[(model.name, section, key)]
            named.append(NamedReference(section, key, kind, name.strip(), where.path, where.line, where.col))
    return tuple(named)


def _connection(model: ConnectionModel, checked: Checked) -> ConnectionConfig:
    return ConnectionConfig(
        name=model.name,
        kind=model.kind,
        url=model.url,
        email_env=model.email_env,
        token_env=model.token_env,
        fields={key: value for key, value in model.fields.items() if isinstance(value, str)},
        status_map={status.strip().lower(): Status(value) for status, value in model.status_map.items()},
        priority_map={name: Priority(value) for name, value in model.priority_map.items()},
        projects=tuple(model.projects),
        aliases={key: value for key, value in model.aliases.items() if isinstance(value, str)},
        pull_interval_seconds=int(model.pull_interval.total_seconds()),
        options=dict(model.options),
        webhook_secret_env=model.webhook_secret_env,
        webhook_path=model.webhook_path,
        named=_named(model, checked),
    )
