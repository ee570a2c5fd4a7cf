"""Clock conditions in the mappings become the tier's domain settings (connector/mappings/build_conditions.py)."""

from __future__ import annotations

import shutil
from pathlib import Path

from connector.domain.model import Status
from connector.domain.policy import ManualEffect, Metric, ReopenMode, TargetFrom, TargetKind
from connector.mappings import load_policy

BASE = Path(__file__).parent / "broken_mappings" / "_base"

GOLD_CONDITIONS = """
    clocks:
      resolution: {pause_on: [pending, on_hold], calendar: office, target_from: {field: uptime_impact, kind: hours}}
    severity_clocks:
      critical:
        resolution: {pause_on: [], on_reopen: restart}
      high:
        first_response: {calendar: office}
    manual:
      - exempt: {tag: exempt_sla}
        metrics: [first_response]
        reason: credited through the incident review
      - pause: {field: uptime_impact, values: [vendor, third_party]}
        reason: waiting on a vendor
"""


def mappings_with_conditions(tmp_path: Path) -> Path:
    target = tmp_path / "mappings"
    shutil.copytree(BASE, target)
    tiers = (target / "tiers.yaml").read_text(encoding="utf-8")
    gold_end = tiers.index("  basic:")
    (target / "tiers.yaml").write_text(tiers[:gold_end] + GOLD_CONDITIONS.lstrip("\n") + tiers[gold_end:])
    return target


def test_a_severity_override_keeps_what_it_leaves_out_from_the_tiers_clocks(tmp_path: Path) -> None:
    gold = load_policy(mappings_with_conditions(tmp_path)).tiers["gold"]
    critical = gold.settings(Metric.RESOLUTION, "critical")
    assert critical.pause_statuses == frozenset()
    assert critical.on_reopen is ReopenMode.RESTART
    assert critical.calendar == "office"  # from clocks:
    assert critical.target_from == TargetFrom("uptime_impact", TargetKind.HOURS)
    normal = gold.settings(Metric.RESOLUTION, "normal")
    assert normal.pause_statuses == frozenset({Status.PENDING, Status.ON_HOLD})
    assert normal.on_reopen is ReopenMode.RESUME
    assert gold.settings(Metric.FIRST_RESPONSE, "high").calendar == "office"
    assert gold.settings(Metric.FIRST_RESPONSE, "normal").calendar is None


def test_manual_conditions_carry_their_reason_and_where_they_are_written(tmp_path: Path) -> None:
    gold = load_policy(mappings_with_conditions(tmp_path)).tiers["gold"]
    exempt, pause = gold.manual
    assert (exempt.effect, exempt.tag, exempt.metrics) == (
        ManualEffect.EXEMPT,
        "exempt_sla",
        frozenset({Metric.FIRST_RESPONSE}),
    )
    assert exempt.reason == "credited through the incident review"
    assert exempt.source.endswith("tiers.yaml:20")  # the line of its "- exempt:"
    assert (pause.effect, pause.field, pause.values, pause.metrics) == (
        ManualEffect.PAUSE,
        "uptime_impact",
        ("vendor", "third_party"),
        None,
    )


def test_conditions_change_the_policy_version_and_mappings_without_them_keep_theirs(tmp_path: Path) -> None:
    plain = load_policy(BASE).version
    conditioned = load_policy(mappings_with_conditions(tmp_path)).version
    assert conditioned != plain
    assert plain == "07e8e4156c7a"  # the version the base set had before clock conditions existed
