"""Accounts (`accounts:`): one customer across connections, its tier winning over the customer
rules, and the checks of `tierdesk check` (an organization claimed twice, overlapping terms)."""

from __future__ import annotations

import re
import shutil
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from connector.domain.accounts import account_index, account_of
from connector.domain.engine import evaluate
from connector.domain.model import Event, EventKind, Organization, Status, Ticket
from connector.domain.policy import Metric
from connector.mappings import check, load_policy

EXAMPLES = Path(__file__).resolve().parents[2] / "mappings"
NOW = datetime(2026, 11, 10, 12, 0, tzinfo=UTC)


def _copy(tmp_path: Path, accounts: str) -> Path:
    target = tmp_path / "m"
    shutil.copytree(EXAMPLES, target)
    (target / "accounts.yaml").write_text(accounts, encoding="utf-8")
    return target


def _line(path: Path, needle: str, nth: int = 1) -> int:
    found = [n for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if needle in line]
    return found[nth - 1]


def _ticket(connection: str, organization: Organization, email: str | None = None) -> Ticket:
    return Ticket(
        connection=connection,
        id="7",
        created_at=NOW,
        updated_at=NOW,
        status=Status.OPEN,
        organization=organization,
        requester_email=email,
    )


def test_the_shipped_accounts_make_initech_one_customer_in_both_helpdesks() -> None:
    policy = load_policy(EXAMPLES)
    index = account_index(policy)

    zendesk = index.for_organization("zendesk-main", Organization("361", "Initech", external_id="crm-2001"))
    jira = index.for_organization("jira-main", Organization("4", "initech "))

    assert zendesk is not None and jira is not None
    assert zendesk is jira and zendesk.id == "initech" and zendesk.tier == "priority"
    # an organization no account claims is its own pseudo-account in reports
    wayne = index.key("jira-main", Organization("9", "Wayne Enterprises"))
    assert wayne is not None and wayne.pseudo and wayne.id == "jira-main:9"


def test_an_account_tier_wins_over_the_customer_rules_and_says_so(tmp_path: Path) -> None:
    # Hooli's customer rules say standard; its account says enterprise on every helpdesk
    mappings = _copy(
        tmp_path,
        "accounts:\n"
        "  hooli:\n"
        "    name: Hooli\n"
        "    tier: enterprise\n"
        "    organizations:\n"
        "      - {connection: zendesk-main, name: Hooli}\n"
        "      - {connection: jira-main, id: 5}\n",
    )
    policy = load_policy(mappings)
    events = [Event(id="c", at=NOW, kind=EventKind.CREATED)]

    by_id = evaluate(_ticket("jira-main", Organization("5", "Hooli Ltd")), events, policy, NOW)
    by_name = evaluate(
        _ticket("zendesk-main", Organization("77", "HOOLI", tags=frozenset({"standard"}))),
        events,
        policy,
        NOW,
    )
    other = evaluate(_ticket("jira-main", Organization("6", "Hooli")), events, policy, NOW)

    assert by_id.tier.value == by_name.tier.value == "enterprise"
    assert by_id.tier.rule is not None and "account Hooli (hooli)" in by_id.tier.rule
    assert "wins over the customer rules" in by_id.tier.rule
    assert by_id.tier.source == f"{mappings / 'accounts.yaml'}:{_line(mappings / 'accounts.yaml', 'hooli:')}"
    assert other.tier.value == "standard"  # jira org 6 is not linked: the customer rule by name decides
    assert account_of(policy, "jira-main", "5") is not None
    assert account_of(policy, "jira-main", "6") is None


def test_an_organization_claimed_by_two_accounts_is_reported_at_both_places(tmp_path: Path) -> None:
    mappings = _copy(
        tmp_path,
        "accounts:\n"
        "  initech:\n"
        "    organizations:\n"
        "      - {connection: zendesk-main, name: Initech}\n"
        "  initech-emea:\n"
        "    organizations:\n"
        "      - {connection: jira-main, name: Initech}\n"
        "      - {connection: zendesk-main, name: initech}\n",
    )
    path = mappings / "accounts.yaml"
    first, second = _line(path, "zendesk-main, name: Initech"), _line(path, "zendesk-main, name: initech")

    errors = [str(error) for error in check(mappings)]

    assert errors == [
        f"{path}:{first}:9: zendesk-main organization name 'Initech' is also claimed by account "
        f"'initech-emea' at {path}:{second}; an organization belongs to one account: remove one of the two",
        f"{path}:{second}:9: zendesk-main organization name 'initech' is already claimed by account "
        f"'initech' at {path}:{first}; an organization belongs to one account: remove one of the two",
    ]


def test_account_mistakes_are_reported_at_their_lines(tmp_path: Path) -> None:
    mappings = _copy(
        tmp_path,
        "accounts:\n"
        "  acme:\n"
        "    tier: enterprize\n"
        "    organizations:\n"
        "      - {connection: zendesk-mian, name: Acme Corp}\n"
        "      - {connection: jira-main, name: Acme, id: 3}\n"
        "    contracts:\n"
        "      - start: 2026-01-01\n"
        "        currency: euro\n"
        "      - start: 2026-06-01\n",
    )
    path = mappings / "accounts.yaml"

    errors = [str(error) for error in check(mappings)]

    assert len(errors) == 4, errors
    assert re.match(
        rf"{re.escape(str(path))}:3:\d+: unknown tier 'enterprize'; did you mean 'enterprise'", errors[0]
    )
    assert re.match(rf"{re.escape(str(path))}:5:\d+: unknown connection 'zendesk-mian'", errors[1])
    assert (
        errors[2].startswith(f"{path}:6:") and "exactly one of id, external_id, name or domain" in errors[2]
    )
    assert errors[3].startswith(f"{path}:9:") and "not an ISO 4217 currency code" in errors[3]


def test_overlapping_contract_terms_are_reported(tmp_path: Path) -> None:
    mappings = _copy(
        tmp_path,
        "accounts:\n"
        "  acme:\n"
        "    organizations:\n"
        "      - {connection: zendesk-main, name: Acme Corp}\n"
        "    contracts:\n"
        "      - start: 2026-01-01\n"
        "      - start: 2026-06-01\n",
    )
    path = mappings / "accounts.yaml"

    errors = [str(error) for error in check(mappings)]

    assert errors == [
        f"{path}:7:16: these terms start 2026-06-01 while the terms at {path}:6 are still in force; "
        "give the earlier terms end: 2026-06-01"
    ]


def test_contract_target_overrides_apply_to_tickets_created_while_the_contract_is_in_force() -> None:
    # Initech's shipped second-half contract (from 2026-07-01) sets critical first response to 20m;
    # the Priority tier's own target is 30m
    policy = load_policy(EXAMPLES)

    def first_response_target(created: datetime) -> timedelta:
        ticket = replace(
            _ticket("jira-main", Organization("4", "Initech")),
            created_at=created,
            updated_at=created,
            subject="Checkout is down",
        )
        result = evaluate(ticket, [Event(id="c", at=created, kind=EventKind.CREATED)], policy, created)
        assert (result.tier.value, result.severity.value) == ("priority", "critical")
        return next(c.target for c in result.clocks if c.metric is Metric.FIRST_RESPONSE)

    assert first_response_target(datetime(2026, 3, 2, 15, tzinfo=UTC)) == timedelta(minutes=30)
    assert first_response_target(datetime(2026, 8, 3, 15, tzinfo=UTC)) == timedelta(minutes=20)
    # the tier itself is unchanged for everyone else
    assert policy.tiers["priority"].targets["critical"][Metric.FIRST_RESPONSE] == timedelta(minutes=30)
