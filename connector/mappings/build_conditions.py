"""Checked tier conditions -> domain settings: per-severity clocks, field targets, manual rules."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from connector.domain.policy import (
    DEFAULT_METRIC_SETTINGS,
    ManualCondition,
    ManualEffect,
    Metric,
    MetricSettings,
    TargetFrom,
)
from connector.mappings.condition_models import TargetFromModel
from connector.mappings.tier_models import TierModel


def target_from(model: TargetFromModel | None) -> TargetFrom | None:
    return None if model is None else TargetFrom(field=model.field, kind=model.kind)


def severity_settings(
    model: TierModel, tier_settings: Mapping[Metric, MetricSettings]
) -> dict[str, dict[Metric, MetricSettings]]:
    """Per severity, each overridden metric's settings: what the override gives, the rest from the
    tier's clocks."""
    built: dict[str, dict[Metric, MetricSettings]] = {}
    for severity, clocks in model.severity_clocks.items():
        own: dict[Metric, MetricSettings] = {}
        for metric, clock in clocks.items():
            base = tier_settings.get(metric, DEFAULT_METRIC_SETTINGS[metric])
            own[metric] = MetricSettings(
                pause_statuses=base.pause_statuses if clock.pause_on is None else frozenset(clock.pause_on),
                on_reopen=base.on_reopen if clock.on_reopen is None else clock.on_reopen,
                calendar=base.calendar if clock.calendar is None else clock.calendar,
                target_from=base.target_from if clock.target_from is None else target_from(clock.target_from),
            )
        built[severity] = own
    return built


def manual_conditions(
    tier: str, model: TierModel, sources: Mapping[tuple[str, int], str]
) -> tuple[ManualCondition, ...]:
    conditions = []
    for index, entry in enumerate(model.manual):
        when = entry.when
        conditions.append(
            ManualCondition(
                effect=ManualEffect.EXEMPT if entry.exempt is not None else ManualEffect.PAUSE,
                reason=entry.reason.strip(),
                tag=when.tag,
                field=when.field,
                values=tuple(when.values or ()),
                metrics=None if entry.metrics is None else frozenset(entry.metrics),
                source=sources.get((tier, index), ""),
            )
        )
    return tuple(conditions)


# tier keys added after versions were first recorded: left out at their defaults, so mappings
# that do not use them keep the version they always had
_LATER_TIER_DEFAULTS: dict[str, Any] = {"severity_clocks": {}, "manual": [], "target_adherence": None}
_LATER_CLOCK_DEFAULTS: dict[str, Any] = {"calendar": None, "target_from": None}


def tier_dump(model: TierModel) -> dict[str, Any]:
    dumped: dict[str, Any] = model.model_dump(mode="json")
    for key, default in _LATER_TIER_DEFAULTS.items():
        if dumped.get(key) == default:
            del dumped[key]
    for clock in dumped.get("clocks", {}).values():
        for key, default in _LATER_CLOCK_DEFAULTS.items():
            if key in clock and clock[key] == default:
                del clock[key]
    return dumped
