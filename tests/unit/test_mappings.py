"""The example mappings load into the expected policy; versions, parsing and the JSON Schema."""

from __future__ import annotations

import json
import shutil
from datetime import timedelta
from pathlib import Path

import jsonschema
import pytest

from connector.domain.model import Priority, Status
from connector.domain.policy import ActionKind, ConditionKind, Metric, Policy, ReopenMode
from connector.mappings import check, json_schema, load_policy
from connector.mappings.loader import plain
from connector.mappings.values import parse_duration, parse_threshold

EXAMPLES = Path(__file__).resolve().parents[2] / "mappings"


@pytest.fixture(scope="module")
def policy() -> Policy:
    return load_policy(EXAMPLES)


def copy_examples(tmp_path: Path) -> Path:
    target = tmp_path / "mappings"
    shutil.copytree(EXAMPLES, target)
    return target


def test_example_set_has_no_errors() -> None:
    assert check(EXAMPLES) == []


def test_example_tiers_and_their_calendars(policy: Policy) -> None:
    assert list(policy.tiers) == ["enterprise", "priority", "standard"]
    assert {name: tier.calendar for name, tier in policy.tiers.items()} == {
        "enterprise": "24x7",
        "priority": "berlin-extended",
        "standard": "berlin-office",
    }
    assert policy.tiers["enterprise"].label == "Enterprise"
    assert set(policy.calendars) == {"24x7", "berlin-office", "berlin-extended", "new-york-office"}


def test_enterprise_critical_targets(policy: Policy) -> None:
    critical = policy.tiers["enterprise"].targets["critical"]
    assert critical == {
        Metric.FIRST_RESPONSE: timedelta(minutes=15),
        Metric.NEXT_RESPONSE: timedelta(minutes=30),
        Metric.PERIODIC_UPDATE: timedelta(hours=1),
        Metric.RESOLUTION: timedelta(hours=8),
    }


def test_standard_targets_are_business_hours(policy: Policy) -> None:
    standard = policy.tiers["standard"]
    assert standard.targets["low"] == {
        Metric.FIRST_RESPONSE: timedelta(hours=14),
        Metric.RESOLUTION: timedelta(hours=70),
    }
    assert Metric.NEXT_RESPONSE not in standard.targets["critical"]
    assert standard.monthly_allowance == 50


def test_warnings_and_escalation_per_tier(policy: Policy) -> None:
    enterprise = policy.tiers["enterprise"]
    assert [(w.label, w.percent) for w in enterprise.warnings] == [
        ("50%", 50.0),
        ("75%", 75.0),
        ("90%", 90.0),
    ]
    standard = policy.tiers["standard"]
    assert [(w.label, w.percent, w.before) for w in standard.warnings] == [
        ("75%", 75.0, None),
        ("30m before", None, timedelta(minutes=30)),
    ]
    assert enterprise.escalation == "enterprise"
    assert standard.escalation == "standard"


def test_clock_settings_default_and_override(policy: Policy) -> None:
    enterprise = policy.tiers["enterprise"]
    resolution = enterprise.settings(Metric.RESOLUTION)
    assert resolution.on_reopen is ReopenMode.RESTART
    assert resolution.pause_statuses == {Status.PENDING, Status.ON_HOLD}
    assert enterprise.settings(Metric.FIRST_RESPONSE).pause_statuses == frozenset()
    assert policy.tiers["priority"].settings(Metric.RESOLUTION).on_reopen is ReopenMode.RESUME


def test_service_credit_terms(policy: Policy) -> None:
    credit = policy.tiers["enterprise"].service_credit
    assert credit is not None
    assert (credit.percent_per_breach, credit.cap_percent) == (5.0, 25.0)
    assert credit.metrics == {Metric.FIRST_RESPONSE, Metric.RESOLUTION}
    assert policy.tiers["standard"].service_credit is None


def test_customer_rules_in_order_with_sources(policy: Policy) -> None:
    assert policy.default_tier == "standard"
    assert [(rule.name, rule.result) for rule in policy.tier_rules] == [
        ("enterprise-organizations", "enterprise"),
        ("enterprise-organizations-by-name", "enterprise"),
        ("acme-by-e-mail-domain", "enterprise"),
        ("priority-us-desk", "priority"),
        ("priority-organizations", "priority"),
        ("priority-organizations-by-name", "priority"),
        ("jira-partner-project", "priority"),
        ("standard-organizations", "standard"),
        ("standard-organizations-by-name", "standard"),
    ]
    first = policy.tier_rules[0]
    assert first.source == f"{EXAMPLES / 'customers.yaml'}:10"
    assert first.conditions[0].kind is ConditionKind.ORGANIZATION_TAG
    assert first.conditions[0].values == ("enterprise",)
    assert policy.tier_rules[3].calendar == "new-york-office"


def test_triage_rules_and_regex(policy: Policy) -> None:
    assert policy.severities == ("critical", "high", "normal", "low")
    assert policy.default_severity == "normal"
    outage = policy.severity_rules[1]
    assert outage.result == "critical"
    pattern = outage.conditions[0].pattern
    assert pattern is not None
    assert pattern.search("Checkout DOWN since 10:00")
    field_rule = policy.severity_rules[0]
    assert (field_rule.conditions[0].field, field_rule.conditions[0].values) == (
        "uptime_impact",
        ("full_outage", "Full outage"),
    )


def test_escalation_levels_and_actions(policy: Policy) -> None:
    chain = policy.chains["enterprise"]
    assert chain.playbook == "https://wiki.example.com/support/playbooks/enterprise-sla"
    assert [level.threshold.label for level in chain.levels] == ["50%", "75%", "breach"]
    assert chain.levels[0].metrics == {Metric.FIRST_RESPONSE, Metric.NEXT_RESPONSE}
    assert chain.levels[2].threshold.is_breach
    breach_steps = [(step.kind, step.value) for step in chain.levels[2].steps[:2]]
    assert breach_steps == [(ActionKind.SET_PRIORITY, "urgent"), (ActionKind.ASSIGN_GROUP, "duty-managers")]
    assert chain.levels[2].steps[2].kind is ActionKind.ADD_NOTE


def test_writeback_and_connections(policy: Policy) -> None:
    assert policy.writeback.severity_priority["critical"] is Priority.URGENT
    assert policy.writeback.fields == {"tier", "sla_due", "sla_state"}
    zendesk, jira = policy.connections
    assert (zendesk.kind, zendesk.url, zendesk.token_env) == (
        "zendesk",
        "http://127.0.0.1:8081",
        "TIERDESK_ZENDESK_TOKEN",
    )
    assert (jira.kind, jira.url, jira.projects) == ("jira", "http://127.0.0.1:8082", ("SUP", "PARTNER"))
    assert jira.status_map["waiting for customer"] is Status.PENDING
    assert jira.priority_map["Highest"] is Priority.URGENT
    assert jira.pull_interval_seconds == 60
    for connection in policy.connections:
        assert {"tier", "sla_due", "sla_state", "uptime_impact"} <= set(connection.fields)


def test_version_ignores_comments_whitespace_and_spelling(tmp_path: Path, policy: Policy) -> None:
    directory = copy_examples(tmp_path)
    tiers = directory / "tiers.yaml"
    text = tiers.read_text()
    text = "# edited by the on-call admin\n\n" + text.replace(
        "first_response: 15m", "first_response:   PT15M"
    )
    tiers.write_text(text + "\n\n# end\n")

    assert load_policy(directory).version == policy.version


def test_version_ignores_how_sections_are_split_into_files(tmp_path: Path, policy: Policy) -> None:
    directory = copy_examples(tmp_path)
    merged = (directory / "customers.yaml").read_text() + "\n" + (directory / "triage.yaml").read_text()
    (directory / "rules.yaml").write_text(merged)
    (directory / "customers.yaml").unlink()
    (directory / "triage.yaml").unlink()

    assert load_policy(directory).version == policy.version


def test_version_changes_when_a_target_changes(tmp_path: Path, policy: Policy) -> None:
    directory = copy_examples(tmp_path)
    tiers = directory / "tiers.yaml"
    tiers.write_text(tiers.read_text().replace("first_response: 15m", "first_response: 20m", 1))

    changed = load_policy(directory)

    assert changed.tiers["enterprise"].targets["critical"][Metric.FIRST_RESPONSE] == timedelta(minutes=20)
    assert changed.version != policy.version
    assert len(changed.version) == 12


def test_opening_comment_is_no_reply_unless_a_tier_says_so(tmp_path: Path, policy: Policy) -> None:
    directory = copy_examples(tmp_path)
    tiers = directory / "tiers.yaml"
    tiers.write_text(
        tiers.read_text().replace(
            "    calendar: 24x7\n", "    calendar: 24x7\n    opening_comment_is_reply: true\n", 1
        )
    )

    changed = load_policy(directory)

    assert not any(tier.opening_comment_is_reply for tier in policy.tiers.values())
    assert {name for name, tier in changed.tiers.items() if tier.opening_comment_is_reply} == {"enterprise"}
    assert changed.version != policy.version
    tier_schema = json_schema()["$defs"]["TierModel"]["properties"]["opening_comment_is_reply"]
    assert (tier_schema["type"], tier_schema["default"]) == ("boolean", False)


def test_yaml_anchors_and_merge_keys_are_supported(tmp_path: Path) -> None:
    directory = copy_examples(tmp_path)
    tiers = directory / "tiers.yaml"
    text = tiers.read_text().replace(
        "  priority:\n    label: Priority\n", "  priority: &priority\n    label: Priority\n"
    )
    text += "  priority-eu:\n    <<: *priority\n    label: Priority EU\n"
    tiers.write_text(text)

    policy = load_policy(directory)

    assert policy.tiers["priority-eu"].label == "Priority EU"
    assert policy.tiers["priority-eu"].targets == policy.tiers["priority"].targets


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("15m", timedelta(minutes=15)),
        ("4h30m", timedelta(hours=4, minutes=30)),
        ("1d 2h", timedelta(hours=26)),
        ("90 minutes", timedelta(minutes=90)),
        ("PT15M", timedelta(minutes=15)),
        ("P1DT2H", timedelta(hours=26)),
        ("45s", timedelta(seconds=45)),
    ],
)
def test_duration_forms(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["1.5h", "15", "2w", "1mo", "P1M", "P1W", "0m", "30m1h", "15 parsecs", ""])
def test_ambiguous_or_malformed_durations_are_rejected(text: str) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("50%", "50%"),
        ("50.0%", "50%"),
        ("100%", "breach"),
        ("Breach", "breach"),
        ("PT30M before", "30m before"),
    ],
)
def test_threshold_labels_are_canonical(text: str, label: str) -> None:
    assert parse_threshold(text, allow_breach=True) == label


def test_json_schema_is_valid_and_lists_every_section() -> None:
    schema = json_schema()

    jsonschema.Draft202012Validator.check_schema(schema)
    assert set(schema["properties"]) == {
        "calendars",
        "severities",
        "tiers",
        "customers",
        "triage",
        "escalations",
        "writeback",
        "connections",
        "changes",
        "channels",
        "accounts",
    }
    assert schema["additionalProperties"] is False
    json.dumps(schema)


def test_every_example_file_satisfies_the_schema() -> None:
    from ruamel.yaml import YAML

    validator = jsonschema.Draft202012Validator(json_schema())
    for path in sorted(EXAMPLES.glob("*.yaml")):
        document = plain(YAML(typ="rt").load(path.read_text()))
        errors = [error.message for error in validator.iter_errors(document)]
        assert errors == [], path.name


def test_schema_rejects_a_misspelt_key() -> None:
    validator = jsonschema.Draft202012Validator(json_schema())
    document = {"tiers": {"gold": {"calender": "24x7", "calendar": "24x7", "targets": {}}}}

    assert not validator.is_valid(document)
