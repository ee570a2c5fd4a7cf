"""The checks of `tierdesk doctor`, over each connection's `HelpdeskDirectory`.

Per connection: credentials set and accepted, permissions, then every reference the mappings make
on it (named references, field ids, statuses, groups, people, projects). Rules are checked once
every connection was read (a rule may list each helpdesk's spelling of a value), against the
connections they apply to: dropdown values against the field's options, brands/projects and
organizations against what those accounts hold."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from connector.doctor.account_checks import check_account_organizations
from connector.doctor.channels import check_channels
from connector.doctor.findings import (
    Finding,
    FindingKind,
    close_values,
    closest_entries,
    described,
    did_you_mean,
)
from connector.domain.policy import ActionKind, ConditionKind, ConnectionConfig, Policy, Rule
from connector.mappings.references import ReferenceResolver
from connector.ports import DirectoryEntry, HelpdeskDirectory, SecretSource
from connector.registry import plugin
from connector.retry import HelpdeskError

DirectoryOpener = Callable[[ConnectionConfig, str, str], HelpdeskDirectory]
SKIPPED = "-"  # an alias value that skips the action on a connection

_ORGANIZATION_KINDS = {
    ConditionKind.ORGANIZATION_NAME: "name",
    ConditionKind.ORGANIZATION_ID: "id",
    ConditionKind.ORGANIZATION_EXTERNAL_ID: "external id",
}


def open_directory(config: ConnectionConfig, email: str, token: str) -> HelpdeskDirectory:
    """The plugin's directory for `config` (each plugin module provides `directory`)."""
    secrets = {str(config.email_env): email, str(config.token_env): token}
    directory: HelpdeskDirectory = plugin(config.kind).directory(config, secrets)
    return directory


@dataclass
class _Account:
    """What one reached connection holds."""

    config: ConnectionConfig
    fields: dict[str, DirectoryEntry] = field(default_factory=dict)
    scopes: list[DirectoryEntry] = field(default_factory=list)  # brands (Zendesk) or projects (Jira)
    organizations: list[DirectoryEntry] = field(default_factory=list)


def run_doctor(
    policy: Policy,
    secrets: SecretSource,
    *,
    only: str | None = None,
    opener: DirectoryOpener = open_directory,
) -> tuple[list[Finding], list[str]]:
    """Every finding, and the names of the connections checked."""
    connections = [c for c in policy.connections if only is None or c.name == only]
    findings: list[Finding] = []
    accounts: list[_Account] = []
    for config in connections:
        account = _check_connection(policy, config, secrets, opener, findings)
        if account is not None:
            accounts.append(account)
    reached = {account.config.name for account in accounts}
    checked_all = reached == {c.name for c in policy.connections}
    for kind, rules in (("customer rule", policy.tier_rules), ("triage rule", policy.severity_rules)):
        for rule in rules:
            findings += _check_rule(kind, rule, accounts, checked_all)
    findings += check_account_organizations(policy, {a.config.name: a.organizations for a in accounts})
    if only is None:
        findings += check_channels(policy, secrets)
    return findings, [c.name for c in connections]


# ------------------------------------------------------------------------- one connection


def _credentials(config: ConnectionConfig, secrets: SecretSource) -> tuple[str, str] | Finding:
    names = {"email_env": config.email_env, "token_env": config.token_env}
    absent = [key for key, name in names.items() if not name]
    if absent:
        return Finding(
            config.name,
            f"no {' / '.join(absent)} in connections.yaml",
            "name the environment variables that hold the API user's e-mail and API token",
        )
    holds = {"email_env": "the API user's e-mail", "token_env": "its API token"}
    unset = [(str(name), holds[key]) for key, name in names.items() if name and not secrets.get(name)]
    if unset:
        listed = " and ".join(name for name, _ in unset)
        exports = " and ".join(f"{name} ({what})" for name, what in unset)
        return Finding(
            config.name,
            f"{listed} {'is' if len(unset) == 1 else 'are'} not set",
            f"export {exports} before running tierdesk",
        )
    return str(secrets.get(str(config.email_env))), str(secrets.get(str(config.token_env)))


def _reach_failure(config: ConnectionConfig, error: HelpdeskError) -> Finding:
    if error.status in (401, 403):
        return Finding(
            config.name,
            f"{config.url} refused the credentials (HTTP {error.status})",
            f"check {config.email_env} (the API user's e-mail) and {config.token_env} (a valid API token)",
            FindingKind.UNREACHABLE,
        )
    if error.status is None:
        return Finding(
            config.name,
            f"cannot reach {config.url}",
            "check the url in connections.yaml and that this machine can reach it",
            FindingKind.UNREACHABLE,
        )
    return Finding(
        config.name,
        f"{config.url} answered {error}",
        "check the url in connections.yaml points at the helpdesk's base URL",
        FindingKind.UNREACHABLE,
    )


def _check_connection(
    policy: Policy,
    config: ConnectionConfig,
    secrets: SecretSource,
    opener: DirectoryOpener,
    findings: list[Finding],
) -> _Account | None:
    credentials = _credentials(config, secrets)
    if isinstance(credentials, Finding):
        findings.append(credentials)
        return None
    directory = opener(config, *credentials)
    try:
        try:
            directory.account()
        except HelpdeskError as error:
            findings.append(_reach_failure(config, error))
            return None
        try:
            return _check_references(policy, config, directory, findings)
        except HelpdeskError as error:
            findings.append(
                Finding(
                    config.name,
                    f"a look-up failed: {error}",
                    "check the API user's permissions, then run doctor again",
                    FindingKind.UNREACHABLE if error.status is None else FindingKind.INVALID,
                )
            )
            return None
    finally:
        directory.close()


def _check_references(
    policy: Policy, config: ConnectionConfig, directory: HelpdeskDirectory, findings: list[Finding]
) -> _Account:
    name = config.name
    named_aliases = {ref.key for ref in config.named if ref.section == "aliases"}
    config, unresolved = ReferenceResolver(lambda _: directory).resolve_connection(config, directory)
    unresolved_aliases = named_aliases - set(config.aliases)  # reported just above, not again below
    for error in unresolved:
        findings.append(
            Finding(
                name,
                f"{error.path}:{error.line}: {error.message}",
                "write the name exactly as the helpdesk shows it, or the id",
            )
        )
    targets = _targets(policy, config, unresolved_aliases)
    escalations = [kind.value for kind, used in targets.items() if used]
    for problem, fix in directory.missing_permissions(config.projects, escalations):
        findings.append(Finding(name, problem, fix))
    account = _Account(config)
    account.scopes = directory.projects() + directory.brands()
    project_keys = {entry.id.upper() for entry in account.scopes}
    for key in config.projects:
        if key.upper() not in project_keys:
            findings.append(
                Finding(
                    name,
                    f"project '{key}' does not exist or the API user cannot see it"
                    + did_you_mean(key, account.scopes),
                    f"fix projects in connections.yaml ({_listing(account.scopes)})",
                )
            )
    account.fields = {entry.id: entry for entry in directory.fields()}
    for logical, field_id in config.fields.items():
        if field_id not in account.fields:
            findings.append(
                Finding(
                    name,
                    f"field '{logical}' is mapped to id {field_id}, which does not exist"
                    + did_you_mean(logical, account.fields.values()),
                    f"write the field's id under fields.{logical} in connections.yaml",
                )
            )
    statuses = directory.statuses()
    known = {entry.name.lower() for entry in statuses}
    for status in config.status_map:
        if status.lower() not in known:
            names = sorted({entry.name for entry in statuses})
            close = close_values(status, names)
            hint = f"; did you mean {' or '.join(repr(v) for v in close)}?" if close else ""
            findings.append(
                Finding(
                    name,
                    f"status_map names status '{status}', which does not exist{hint}",
                    f"use one of: {', '.join(names)}",
                )
            )
    findings += _check_people(policy, config, directory, unresolved_aliases)
    account.organizations = directory.organizations()
    return account


@dataclass(frozen=True, slots=True)
class _Target:
    """An escalation target as the mappings name it: the alias (or the id written in the chain)."""

    name: str
    chain: str
    aliased: bool

    def __str__(self) -> str:
        where = f"aliases.{self.name}" if self.aliased else f"'{self.name}'"
        return f"{where} in escalation '{self.chain}'"


def _targets(
    policy: Policy, config: ConnectionConfig, unresolved: set[str]
) -> dict[ActionKind, dict[str, _Target]]:
    """Escalation targets used on this connection: action kind -> {id: how the mappings name it}."""
    targets: dict[ActionKind, dict[str, _Target]] = {
        ActionKind.ASSIGN_GROUP: {},
        ActionKind.ASSIGN_ASSIGNEE: {},
        ActionKind.ADD_FOLLOWERS: {},
    }
    for chain in policy.chains.values():
        for level in chain.levels:
            for step in level.steps:
                if step.kind not in targets:
                    continue
                for value in (step.value,) if step.value is not None else step.values:
                    if value in unresolved:
                        continue
                    target = config.aliases.get(value, value)
                    if target != SKIPPED:
                        named = _Target(value, chain.name, aliased=value in config.aliases)
                        targets[step.kind].setdefault(target, named)
    return targets


def _check_people(
    policy: Policy, config: ConnectionConfig, directory: HelpdeskDirectory, unresolved: set[str]
) -> list[Finding]:
    findings: list[Finding] = []
    targets = _targets(policy, config, unresolved)
    groups_used = targets[ActionKind.ASSIGN_GROUP]
    if groups_used:
        groups = directory.groups()
        group_ids = {entry.id for entry in groups}
        for group_id, named in groups_used.items():
            if group_id in group_ids:
                continue
            if not groups:
                fix = "this helpdesk has no assignee groups; set the alias to '-' to skip the action here"
            else:
                fix = f'write an existing group\'s id, or name it: {{group: "..."}} ({_listing(groups)})'
            findings.append(
                Finding(
                    config.name,
                    f"group {group_id} ({named}) does not exist" + did_you_mean(named.name, groups),
                    fix,
                )
            )
    people = {**targets[ActionKind.ASSIGN_ASSIGNEE], **targets[ActionKind.ADD_FOLLOWERS]}
    if people:
        found = {entry.id for entry in directory.users(sorted(people))}
        for user_id, named in people.items():
            if user_id not in found:
                findings.append(
                    Finding(
                        config.name,
                        f"user {user_id} ({named}) does not exist or is not an agent",
                        'write an agent\'s id, or name the person: {user: "agent@example.com"}',
                    )
                )
    return findings


# ----------------------------------------------------------------------------------- rules


def _applies_to(rule: Rule, accounts: Sequence[_Account]) -> list[_Account]:
    for condition in rule.conditions:
        if condition.kind is ConditionKind.CONNECTION:
            wanted = {value.lower() for value in condition.values}
            return [a for a in accounts if a.config.name.lower() in wanted]
    return list(accounts)


def _check_rule(kind: str, rule: Rule, accounts: Sequence[_Account], checked_all: bool) -> list[Finding]:
    applicable = _applies_to(rule, accounts)
    if not applicable:
        return []
    where = f"{kind} '{rule.name}' ({rule.source})"
    findings: list[Finding] = []
    for condition in rule.conditions:
        if condition.kind is ConditionKind.FIELD and condition.field and checked_all:
            findings += _check_options(where, condition.field, condition.values, applicable)
        elif condition.kind is ConditionKind.BRAND and checked_all:
            findings += _check_known(
                where, "brand or project", condition.values, applicable, lambda a: a.scopes, "id"
            )
        elif condition.kind in _ORGANIZATION_KINDS and checked_all:
            how = _ORGANIZATION_KINDS[condition.kind]
            findings += _check_known(
                where, "organization", condition.values, applicable, lambda a: a.organizations, how
            )
    return findings


def _check_options(
    where: str, logical: str, values: Iterable[str], applicable: Sequence[_Account]
) -> list[Finding]:
    """A value must be an option of the field on at least one connection the rule applies to
    (one rule may list each helpdesk's spelling); free-text and unmapped fields are not checked
    here (a missing field is reported with its connection)."""
    dropdowns: list[tuple[_Account, DirectoryEntry]] = []
    for account in applicable:
        entry = account.fields.get(account.config.fields.get(logical) or "")
        if entry is not None and entry.options:
            dropdowns.append((account, entry))
    if not dropdowns:
        return []
    options = {option.strip().casefold() for _, entry in dropdowns for option in entry.options}
    findings: list[Finding] = []
    for value in values:
        if value.strip().casefold() in options:
            continue
        for account, entry in dropdowns:
            close = close_values(value, entry.options)
            hint = f"; did you mean {' or '.join(repr(v) for v in close)}?" if close else ""
            findings.append(
                Finding(
                    account.config.name,
                    f"{where} matches {logical} = '{value}', but field {described(entry)} has no such "
                    f"option{hint}",
                    f"use one of the field's values: {', '.join(entry.options)}",
                )
            )
    return findings


def _check_known(
    where: str,
    what: str,
    values: Iterable[str],
    applicable: Sequence[_Account],
    entries_of: Callable[[_Account], list[DirectoryEntry]],
    how: str,
) -> list[Finding]:
    pool = [entry for account in applicable for entry in entries_of(account)]
    if how == "name":
        known = {entry.name.lower() for entry in pool}
    elif how == "external id":
        known = {entry.detail.lower() for entry in pool if entry.detail}
    else:
        known = {entry.id.lower() for entry in pool}
    findings: list[Finding] = []
    names = ", ".join(account.config.name for account in applicable)
    for value in values:
        if value.lower() in known:
            continue
        close = closest_entries(value, pool)
        hint = f"; did you mean {' or '.join(described(e) for e in close)}?" if close else ""
        findings.append(
            Finding(
                applicable[0].config.name if len(applicable) == 1 else names,
                f"{where} names {what} {how} '{value}', which {names} "
                f"{'does' if len(applicable) == 1 else 'do'} not have{hint}",
                f"fix the rule's value ({_listing(pool)})",
            )
        )
    return findings


def _listing(entries: Sequence[DirectoryEntry], limit: int = 8) -> str:
    if not entries:
        return "none exist"
    shown = ", ".join(described(entry) for entry in entries[:limit])
    more = f", and {len(entries) - limit} more" if len(entries) > limit else ""
    return f"known: {shown}{more}"
